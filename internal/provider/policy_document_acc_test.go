package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// policyRules exercises every rule, with defaults left unset and lists out
// of order, so the data source must fill and sort exactly as the resource.
func policyRules(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	return `
  name        = "production"
  description = "What may run in production."
  vulnerabilities = {
    fail_on_severity = "high"
    max_cvss_score   = 9
    treat_unknown_as = "medium"
    ignore = [{
      id      = "CVE-2021-23337"
      package = "lodash"
      reason  = "not reachable"
      expires = "2027-01-31"
    }]
  }
  user       = { require_non_root = true }
  base_image = { trusted = ["registry.example.com/base/debian:12", "cgr.dev/chainguard/*"] }
  registries = { trusted = ["registry.example.com"], action = "warn" }
  signatures = {
    keys         = [<<-EOT
` + key + `
    EOT
    ]
    attestations = [{ predicate_type = "https://slsa.dev/provenance/v1" }]
  }
  checks = {
    denied_packages   = ["sudo", "netcat*"]
    forbid_setuid     = true
    max_age           = "720h"
    actions           = { max_age = "warn" }
  }
`
}

// TestAccPolicyDocument checks that imagegate_policy_document computes the
// resource's document and id for the same rules, and refuses what the
// resource refuses, on the same attribute.
func TestAccPolicyDocument(t *testing.T) {
	doc := func(body string) string {
		return providerConfig("") + `
data "imagegate_policy_document" "p" {
  name = "bad"
` + body + `
}`
	}
	same := func(attr string) statecheck.StateCheck {
		return statecheck.CompareValuePairs("imagegate_policy.p", tfjsonpath.New(attr), "data.imagegate_policy_document.p", tfjsonpath.New(attr), compare.ValuesSame())
	}
	rules := policyRules(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			// The resource's validation, on the same attributes (before the valid
			// configuration, which the final destroy plans with).
			{Config: doc(`vulnerabilities = { fail_on_severity = "severe" }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*vulnerabilities\.fail_on_severity: "severe" is not a\s+severity`)},
			{Config: doc(`vulnerabilities = { max_cvss_score = 11 }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*vulnerabilities\.max_cvss_score: 11 is outside 0..10`)},
			{Config: doc(`vulnerabilities = { fail_on_severity = "high", ignore = [{ id = "CVE-1", reason = "x", expires = "2027-13-45" }] }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*2027-13-45.*not\s+an\s+RFC\s+3339`)},
			{Config: doc(`user = {}`), ExpectError: words("Invalid Policy", "user: the rule checks nothing: set require_non_root = true or remove it")},
			{Config: doc(``), ExpectError: words("Invalid Policy", "the policy has no rule, so it checks nothing")},
			{Config: doc(`checks = { forbid_add = true, actions = { max_age = "warn" } }`), ExpectError: words("Invalid Policy", "checks.actions.max_age")},
			{
				Config: providerConfig("") + `
resource "imagegate_policy" "p" {` + rules + `}

data "imagegate_policy_document" "p" {` + rules + `}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Read in the plan: nothing it depends on is pending.
					plancheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`"max_age":"720h0m0s"`))),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					same("document"),
					same("id"),
					statecheck.ExpectKnownValue("data.imagegate_policy_document.p", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue("data.imagegate_policy_document.p", tfjsonpath.New("document"),
						knownvalue.StringRegexp(regexp.MustCompile(`"base_image":\{"action":"stop","trusted":\["cgr.dev/chainguard/\*","registry.example.com/base/debian:12"\],"require":true\}`))),
				},
			},
		},
	})
}

// rootImageEnv is a scan environment with an image that runs as root.
func rootImageEnv(t *testing.T) (*scanEnv, string) {
	e := newScanEnv(t)
	files := fixtures.DebianFiles(fixtures.DefaultDebianPackages)
	e.reg.Push(t, "root:1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, files)}, Config: v1.Config{User: "root"}}))
	return e, e.reg.Ref("root:1")
}

// TestAccPolicyDocumentGateFailsFirstPlan is the CI gate: the first plan of a
// new configuration, with nothing in state, fails for a root image when the
// gate reads an imagegate_policy_document.
func TestAccPolicyDocumentGateFailsFirstPlan(t *testing.T) {
	e, ref := rootImageEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: e.provider("") + fmt.Sprintf(`
data "imagegate_policy_document" "p" {
  name = "non-root"
  user = { require_non_root = true }
}

data "imagegate_gate" "app" {
  reference = %q
  policy    = data.imagegate_policy_document.p.document
}`, ref),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*root`),
		}},
	})
}

// TestAccPolicyResourceGateDeferred backs the documentation's warning: with
// the imagegate_policy resource to create, Terraform defers the gate to
// apply, so the first plan succeeds for the same root image.
func TestAccPolicyResourceGateDeferred(t *testing.T) {
	e, ref := rootImageEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name = "non-root"
  user = { require_non_root = true }
}

data "imagegate_gate" "app" {
  reference = %q
  policy    = imagegate_policy.p.document
}`, ref),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPreRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("imagegate_policy.p", plancheck.ResourceActionCreate),
				// The gate is planned as a read at apply: not evaluated yet.
				plancheck.ExpectResourceAction("data.imagegate_gate.app", plancheck.ResourceActionRead),
				plancheck.ExpectUnknownValue("data.imagegate_gate.app", tfjsonpath.New("passed")),
			}},
		}},
	})
}
