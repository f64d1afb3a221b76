package provider

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

const logsRegistryPassword = "logs-s3cr3t-passw0rd"

// TestAccLogsTellTheStory: a plan with TF_LOG=trace logs, at INFO and in
// its subsystem, each step that takes time or decides something (the
// database check, the image resolved, the SBOM cache miss and catalog, the
// match, each policy rule's outcome, the gate decision), and never the
// registry password nor the base64 of user:password an Authorization
// header carries.
func TestAccLogsTellTheStory(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithBasicAuth("deploy", logsRegistryPassword))
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "private/app:v1", img)
	ref := reg.Ref("private/app:v1")
	dbs := testutil.VulnDBs(t)
	config := authProvider(reg.Host, t.TempDir(), fmt.Sprintf(`    cache_dir   = %q
    archive     = %q
    auto_update = false`, t.TempDir(), dbs.Old.Archive)) + fmt.Sprintf(`
data "imagegate_gate" "app" {
  reference = %q
  policy = jsonencode({
    name            = "logs"
    version         = 1
    vulnerabilities = { action = "stop", fail_on_severity = "critical" }
    user            = { require_non_root = true }
  })
}
`, ref)
	t.Setenv("TF_VAR_registry_password", logsRegistryPassword)
	readTrace := traceLog(t)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps:                    []resource.TestStep{{Config: config, Check: resource.TestCheckResourceAttr("data.imagegate_gate.app", "passed", "true")}},
	})

	trace := readTrace()
	basic := base64.StdEncoding.EncodeToString([]byte("deploy:" + logsRegistryPassword))
	if found := findAny(trace, logsRegistryPassword, basic); len(found) > 0 {
		t.Errorf("the trace log contains a credential, in:\n%s", secretLines(trace, found...))
	}
	// Not vacuous: the registry asked for the credentials and got them.
	if !regexp.MustCompile(`tf_rpc=ReadDataSource`).MatchString(trace) {
		t.Errorf("the trace log (%d bytes) has no ReadDataSource line", len(trace))
	}
	for _, want := range []struct{ subsystem, message string }{
		{"vulndb", "checking the vulnerability database"},
		{"vulndb", "vulnerability database ready"},
		{"registry", "resolved image reference"},
		{"scan", "SBOM cache miss: pulling and cataloging the image"},
		{"scan", "pulled and unpacked the image"},
		{"scan", "cataloged the image"},
		{"scan", "matched the SBOM against the vulnerability database"},
		{"policy", "policy rule outcome"},
		{"gate", "gate decision"},
	} {
		// terraform-plugin-log names a subsystem's lines <provider>.<subsystem>.
		re := regexp.MustCompile(`\[INFO\]\s+imagegate\.` + want.subsystem + `: ` + regexp.QuoteMeta(want.message) + `: `)
		if !re.MatchString(trace) {
			t.Errorf("no INFO line %q in subsystem %s; the lines with the message:\n%s", want.message, want.subsystem, linesWith(trace, want.message))
		}
	}
	for _, rule := range []string{"vulnerabilities", "user"} {
		found := false
		for l := range strings.SplitSeq(trace, "\n") {
			found = found || (strings.Contains(l, "[INFO]  imagegate.policy: policy rule outcome: ") && strings.Contains(l, " rule="+rule) && strings.Contains(l, " passed=true"))
		}
		if !found {
			t.Errorf("no outcome of rule %s; the lines of rule outcomes:\n%s", rule, linesWith(trace, "policy rule outcome"))
		}
	}
}

// linesWith returns the trace's lines holding s (at most 20, shortened),
// to show what was logged when an expected line is missing.
func linesWith(trace, s string) string {
	var out []string
	for l := range strings.SplitSeq(trace, "\n") {
		if strings.Contains(l, s) {
			if len(l) > 600 {
				l = l[:600] + "…"
			}
			out = append(out, l)
		}
	}
	if len(out) > 20 {
		out = out[:20]
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, "\n")
}
