package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-exec/tfexec"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// The secrets of TestAccSecretsNeverShown: each must appear nowhere.
const (
	secretRegistryPassword = "reg-s3cr3t-password"
	secretURLPassword      = "url-s3cr3t-password"
	secretURLToken         = "query-s3cr3t-token"
	secretEnvValue         = "env-s3cr3t-value"
)

var allSecrets = []string{secretRegistryPassword, secretURLPassword, secretURLToken, secretEnvValue}

// secretLines returns the lines of s that hold one of secrets, with the
// secret masked and the line shortened, to say where a leak is.
func secretLines(s string, secrets ...string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if found := findAny(line, secrets...); len(found) > 0 {
			for _, secret := range found {
				line = strings.ReplaceAll(line, secret, "[LEAKED "+secret[:4]+"]")
			}
			if len(line) > 400 {
				line = line[:400] + "…"
			}
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// findAny returns the secrets that s contains.
func findAny(s string, secrets ...string) []string {
	var found []string
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			found = append(found, secret)
		}
	}
	return found
}

func findSecrets(s string) []string { return findAny(s, allSecrets...) }

// traceLog sends the CLI's log and the in-process provider's
// (terraform-plugin-log's test sink) to one file, at TRACE, for the rest of
// the test; read returns what it holds.
func traceLog(t *testing.T) (read func() string) {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG", "TRACE")
	return func() string {
		b, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatalf("reading the trace log: %v", err)
		}
		return string(b)
	}
}

// stateJSON is the state as the test harness sees it, in JSON.
func stateJSON(s *terraform.State) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<redacted>" as written
	err := enc.Encode(s)
	return buf.String(), err
}

// secretsConfig is a provider with registry credentials and an update_url
// carrying a password and a query token, both from variables (the update_url
// is unreachable, so the update check fails with a warning that names the
// URL), an image data source and a report-only gate on ref.
func secretsConfig(regHost, ref, dbDir, sbomDir, archive string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}

# The secrets come from the environment (TF_VAR_*), as in real use, so the
# configuration text that the test harness itself logs holds none.
variable "update_url" {
  type = string
}
%[1]s
data "imagegate_image" "app" {
  reference = %[2]q
}

# A literal document, not imagegate_policy's: a data source that depends on
# a resource still to be created is read at apply, and the plan must show
# the gate's warnings.
data "imagegate_gate" "app" {
  reference = %[2]q
  policy = jsonencode({
    name            = "secrets"
    version         = 1
    vulnerabilities = { action = "stop", fail_on_severity = "critical" }
  })
  enforce = false
}

output "history" {
  value = data.imagegate_image.app.history
}

output "gate_warnings" {
  value = data.imagegate_gate.app.warnings
}
`, authProvider(regHost, sbomDir, fmt.Sprintf(`    cache_dir            = %q
    archive              = %q
    auto_update          = true
    require_update_check = false
    update_url           = var.update_url`, dbDir, archive)), ref)
}

// authProvider is a provider block for a registry that wants user deploy
// and the password in var.registry_password (declared here), with the
// given vulnerability_db settings.
func authProvider(host, sbomDir, vulnDB string) string {
	return fmt.Sprintf(`
variable "registry_password" {
  type = string
}

provider "imagegate" {
  insecure_registries = [%[1]q]
  max_retries         = 0
  registry_auth = [{
    address  = %[1]q
    username = "deploy"
    password = var.registry_password
  }]
  sbom_cache_dir = %[2]q
  vulnerability_db = {
%[3]s
  }
}
`, host, sbomDir, vulnDB)
}

// Nothing secret reaches state, plan output or logs: the registry
// password, update_url's password and query token, and an ENV value of the
// image (in its config and its history).
func TestAccSecretsNeverShown(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithBasicAuth("deploy", secretRegistryPassword))
	img := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"etc/passwd": []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")})},
		Config: v1.Config{User: "app", Env: []string{"API_TOKEN=" + secretEnvValue, "PATH=/bin"}},
		History: []v1.History{
			{CreatedBy: "COPY passwd /etc/passwd # buildkit"},
			{CreatedBy: "ENV API_TOKEN=" + secretEnvValue, EmptyLayer: true},
			{CreatedBy: "/bin/sh -c #(nop)  ENV LEGACY_TOKEN " + secretEnvValue, EmptyLayer: true},
		},
	})
	reg.Push(t, "private/app:v1", img)
	ref := reg.Ref("private/app:v1")
	dbs := testutil.VulnDBs(t)
	config := secretsConfig(reg.Host, ref, t.TempDir(), t.TempDir(), dbs.Old.Archive)

	t.Setenv("TF_VAR_registry_password", secretRegistryPassword)
	t.Setenv("TF_VAR_update_url", "http://deploy:"+secretURLPassword+"@127.0.0.1:1/latest.json?token="+secretURLToken)
	if found := findSecrets(config); len(found) > 0 {
		t.Fatalf("the configuration itself holds %v", found)
	}

	readTrace := traceLog(t)

	redactedURL := "http://<redacted>@127.0.0.1:1/latest.json?token=<redacted>"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("history"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectExact(map[string]knownvalue.Check{"created_by": knownvalue.StringExact("COPY passwd /etc/passwd # buildkit"), "empty_layer": knownvalue.Bool(false)}),
					knownvalue.ObjectExact(map[string]knownvalue.Check{"created_by": knownvalue.StringExact("ENV API_TOKEN=<redacted>"), "empty_layer": knownvalue.Bool(true)}),
					knownvalue.ObjectExact(map[string]knownvalue.Check{"created_by": knownvalue.StringExact("/bin/sh -c #(nop)  ENV LEGACY_TOKEN=<redacted>"), "empty_layer": knownvalue.Bool(true)}),
				})),
				statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("env_names"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("API_TOKEN"), knownvalue.StringExact("PATH")})),
			},
			Check: func(s *terraform.State) error {
				state, err := stateJSON(s)
				if err != nil {
					return err
				}
				// Not vacuous: the state holds the image, the redacted
				// history and the update warning with the redacted URL.
				for _, want := range []string{reg.Host + "/private/app", "ENV API_TOKEN=<redacted>", redactedURL} {
					if !strings.Contains(state, want) {
						return fmt.Errorf("the state does not contain %q: %s", want, state)
					}
				}
				if found := findSecrets(state); len(found) > 0 {
					return fmt.Errorf("the state contains %v", found)
				}
				return nil
			},
		}},
	})

	trace := readTrace()
	// Not vacuous: both the CLI and the provider under test wrote here at
	// TRACE, including the reads that handled the secrets.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\[TRACE\]`),
		regexp.MustCompile(`(Terraform|OpenTofu) version`),
		regexp.MustCompile(`tf_rpc=ReadDataSource`),
		regexp.MustCompile(`tf_rpc=ConfigureProvider`),
	} {
		if !want.MatchString(trace) {
			t.Errorf("the trace log (%d bytes) has no line matching %s", len(trace), want)
		}
	}
	if found := findSecrets(trace); len(found) > 0 {
		t.Errorf("the trace log contains %v, in:\n%s", found, secretLines(trace, allSecrets...))
	}

	out := planOutput(t, config)
	// Not vacuous: the plan shows the outputs (history and the warning) and
	// the update-check warning diagnostic.
	for _, want := range []string{"ENV API_TOKEN=<redacted>", "LEGACY_TOKEN=<redacted>", redactedURL, "gate_warnings"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan output does not contain %q:\n%s", want, out)
		}
	}
	if found := findSecrets(out); len(found) > 0 {
		t.Errorf("the plan output contains %v:\n%s", found, out)
	}
}

// planOutput runs `init` and `plan` of config with the CLI under test
// (TF_ACC_TERRAFORM_PATH) against this provider served in-process, and
// returns what plan prints, warnings included.
func planOutput(t *testing.T, config string) string {
	t.Helper()
	tfPath := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tfPath == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH must name the CLI under test")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reattachCh := make(chan *plugin.ReattachConfig)
	closeCh := make(chan struct{})
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- tf6server.Serve("imagegate", providerserver.NewProtocol6(New("test")()),
			tf6server.WithDebug(ctx, reattachCh, closeCh),
			tf6server.WithGoPluginLogger(hclog.NewNullLogger()),
			tf6server.WithLoggingSink(t))
	}()
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattachCh:
	case err := <-serveErr:
		t.Fatalf("serving the provider: %v", err)
	}
	cfg := tfexec.ReattachConfig{
		Protocol: string(rc.Protocol), ProtocolVersion: rc.ProtocolVersion, Pid: rc.Pid, Test: rc.Test,
		Addr: tfexec.ReattachConfigAddr{Network: rc.Addr.Network(), String: rc.Addr.String()},
	}
	reattach := tfexec.ReattachInfo{
		"registry.terraform.io/imagegate/imagegate": cfg,
		"registry.opentofu.org/imagegate/imagegate": cfg,
	}

	tf, err := tfexec.NewTerraform(dir, tfPath)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	tf.SetStdout(&out)
	tf.SetStderr(&errOut)
	if err := tf.Init(ctx, tfexec.Reattach(reattach)); err != nil {
		t.Fatalf("init: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	out.Reset()
	if _, err := tf.Plan(ctx, tfexec.Reattach(reattach)); err != nil {
		t.Fatalf("plan: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	cancel()
	<-closeCh
	return out.String() + errOut.String()
}
