package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// cliWriteOnly says whether the CLI under test (TF_ACC_TERRAFORM_PATH)
// sends write-only attributes: Terraform and OpenTofu 1.11 or later.
var cliWriteOnly = sync.OnceValues(func() (bool, error) {
	out, err := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "version", "-json").Output()
	if err != nil {
		return false, fmt.Errorf("%s version -json: %w", os.Getenv("TF_ACC_TERRAFORM_PATH"), err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return false, fmt.Errorf("reading the CLI version: %w", err)
	}
	got, err := version.NewVersion(v.Version)
	if err != nil {
		return false, err
	}
	return got.GreaterThanOrEqual(version.Must(version.NewVersion("1.11.0"))), nil
})

// verdictSigning gives imagegate_verdict its key as users do, never in the
// configuration text: the PEM and the password come from TF_VAR_* into
// sensitive variables, then into the resource's write-only signing_key
// where the CLI supports write-only attributes, else into the provider's
// registry_attestations.
type verdictSigning struct {
	writeOnly bool
}

func newVerdictSigning(t *testing.T, key []byte, password string) verdictSigning {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests need TF_ACC and TF_ACC_TERRAFORM_PATH (make test sets them)")
	}
	wo, err := cliWriteOnly()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_VAR_verdict_key", string(key))
	t.Setenv("TF_VAR_verdict_key_password", password)
	return verdictSigning{writeOnly: wo}
}

// variables declares the key's variables.
func (v verdictSigning) variables() string {
	return `
variable "verdict_key" {
  type      = string
  sensitive = true
}

variable "verdict_key_password" {
  type      = string
  sensitive = true
}
`
}

// provider is the provider's setting that carries the key, if any.
func (v verdictSigning) provider() string {
	if v.writeOnly {
		return ""
	}
	return `
  registry_attestations = {
    signing_key          = var.verdict_key
    signing_key_password = var.verdict_key_password
  }`
}

// resource is imagegate_verdict's arguments that carry the key, if any.
func (v verdictSigning) resource() string {
	if !v.writeOnly {
		return ""
	}
	return `
  signing_key          = var.verdict_key
  signing_key_password = var.verdict_key_password`
}

// keyBody is the first line of a PEM key's base64 body: what any copy of
// the key holds, however it is escaped.
func keyBody(pemKey []byte) string {
	for line := range strings.SplitSeq(string(pemKey), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			return line
		}
	}
	panic("no PEM body")
}

// TestAccVerdictKeyNeverShown: the verdict's signing key and its password
// reach neither the state, the plan output nor a TRACE log, whichever way
// the CLI can take them; and a CLI without write-only attributes is told
// where the key goes instead.
func TestAccVerdictKeyNeverShown(t *testing.T) {
	e := newScanEnv(t)
	e.reg.Push(t, "app:1", testutil.RandomImage(t, 1, v1.Config{User: "1000"}))
	keyPath, _ := testutil.CosignKeyPair(t)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	signing := newVerdictSigning(t, key, testutil.CosignPassword)
	secrets := []string{keyBody(key), testutil.CosignPassword}
	verdictRes := func(keyArgs string) string {
		return fmt.Sprintf(`
resource "imagegate_verdict" "v" {
  reference = %q
  policy    = jsonencode({ name = "p", version = 1, user = { require_non_root = true } })%s
}
`, e.reg.Ref("app:1"), keyArgs)
	}
	config := signing.variables() + e.providerWith("", signing.provider()) + verdictRes(signing.resource())
	if found := findAny(config, secrets...); len(found) > 0 {
		t.Fatalf("the configuration itself holds %v", found)
	}
	readTrace := traceLog(t)
	// No key anywhere: nothing can sign, so the plan fails.
	steps := []resource.TestStep{{
		Config:      signing.variables() + e.provider("") + verdictRes(""),
		ExpectError: regexp.MustCompile(`Missing Signing Key[\s\S]*registry_attestations\.signing_key`),
	}}
	if !signing.writeOnly {
		// First, while nothing is in the state: the post-test destroy
		// uses the last step's configuration.
		steps = append(steps, resource.TestStep{
			Config: config + `
resource "imagegate_verdict" "w" {
  reference            = "example.com/app:1"
  policy               = jsonencode({ name = "p", version = 1 })
  signing_key          = var.verdict_key
  signing_key_password = var.verdict_key_password
}
`,
			ExpectError: regexp.MustCompile(`Write-Only Signing Key Not Supported[\s\S]*registry_attestations\.signing_key`),
		})
	}
	steps = append(steps, resource.TestStep{
		Config:           config,
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{planHoldsNone(secrets)}},
		Check: func(s *terraform.State) error {
			state, err := stateJSON(s)
			if err != nil {
				return err
			}
			if !strings.Contains(state, "BEGIN PUBLIC KEY") {
				return fmt.Errorf("the state has no public_key: %s", state)
			}
			if found := findAny(state, secrets...); len(found) > 0 {
				return fmt.Errorf("the state holds %v:\n%s", found, secretLines(state, found...))
			}
			return nil
		},
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: factories(), Steps: steps})

	trace := readTrace()
	// Not vacuous: the CLI and the provider logged the apply that signed.
	if !regexp.MustCompile(`tf_rpc=ApplyResourceChange`).MatchString(trace) {
		t.Errorf("the trace log (%d bytes) has no ApplyResourceChange line", len(trace))
	}
	if found := findAny(trace, secrets...); len(found) > 0 {
		t.Errorf("the trace log holds %v, in:\n%s", found, secretLines(trace, found...))
	}
	out := planOutput(t, `
terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}
`+config)
	if !strings.Contains(out, "imagegate_verdict.v") {
		t.Errorf("the plan output does not show the verdict:\n%s", out)
	}
	if found := findAny(out, secrets...); len(found) > 0 {
		t.Errorf("the plan output holds %v:\n%s", found, out)
	}
}

// planHoldsNone fails when the planned values or resource changes, as
// `show -json` gives them (sensitive values in the clear), hold one of the
// secrets. The plan's input variables are left out: Terraform keeps them in
// every plan file, whatever the provider does.
type planHoldsNone []string

func (p planHoldsNone) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	b, err := json.Marshal(struct {
		Values  any `json:"planned_values"`
		Changes any `json:"resource_changes"`
	}{req.Plan.PlannedValues, req.Plan.ResourceChanges})
	if err != nil {
		resp.Error = err
		return
	}
	plan := string(b)
	if !strings.Contains(plan, `"imagegate_verdict"`) || !strings.Contains(plan, `"signing_key"`) {
		resp.Error = fmt.Errorf("the plan does not show the verdict and its signing_key attribute: %s", plan)
		return
	}
	if found := findAny(plan, p...); len(found) > 0 {
		resp.Error = fmt.Errorf("the plan holds %v:\n%s", found, secretLines(plan, found...))
	}
}
