package provider

import (
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// uid0Passwd is the /etc/passwd of the "Gate soundness" issue: runc,
// containerd and Docker take the first entry for app, whose UID field
// "1000 " does not parse and so reads as 0.
const uid0Passwd = "app:x:1000 :1000::/home/app:/bin/sh\n" +
	"app:x:1000:1000::/home/app:/bin/sh\n"

// uid0Message is the violation the gate must report for uid0Passwd.
const uid0Message = `USER "app" resolves to UID 0: the first /etc/passwd entry for "app" has a UID field "1000 " that does not parse as a number, which container runtimes read as 0`

// wrappedText matches s in CLI output, where long lines are wrapped at
// spaces.
func wrappedText(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(s), " ", `\s+`)
}

// TestAccGateUserResolvedAsRuntime gates an image whose USER the runtime
// resolves to UID 0 only because of how it reads /etc/passwd.
func TestAccGateUserResolvedAsRuntime(t *testing.T) {
	e := newScanEnv(t)
	push := func(repo, passwd string) string {
		files := fixtures.DebianFiles(fixtures.DefaultDebianPackages)
		files["etc/passwd"] = []byte(passwd)
		e.reg.Push(t, repo+":1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, files)}, Config: v1.Config{User: "app"}}))
		return e.reg.Ref(repo + ":1")
	}
	uid0 := push("uid0", uid0Passwd)
	// The same entries the other way round: the first entry is well formed.
	swapped := push("swapped", "app:x:1000:1000::/home/app:/bin/sh\napp:x:1000 :1000::/home/app:/bin/sh\n")

	report := e.provider("") + `
resource "imagegate_policy" "p" {
  name = "non-root"
  user = { require_non_root = true }
}

data "imagegate_gate" "uid0" {
  reference = "` + uid0 + `"
  policy    = imagegate_policy.p.document
  enforce   = false
}

data "imagegate_gate" "swapped" {
  reference = "` + swapped + `"
  policy    = imagegate_policy.p.document
  enforce   = false
}
`
	violation := tfjsonpath.New("violations").AtSliceIndex(0)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			// Enforced, the plan fails and says why the user is root.
			Config:      e.provider("") + gateConfig(uid0, `user = { require_non_root = true }`, ""),
			ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*` + wrappedText(uid0Message)),
		}, {
			Config: report,
			ConfigStateChecks: []statecheck.StateCheck{
				passed("uid0", false),
				statecheck.ExpectKnownValue("data.imagegate_gate.uid0", tfjsonpath.New("violations"), knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue("data.imagegate_gate.uid0", violation.AtMapKey("rule"), knownvalue.StringExact("user")),
				statecheck.ExpectKnownValue("data.imagegate_gate.uid0", violation.AtMapKey("message"), knownvalue.StringExact(uid0Message)),
				passed("swapped", true),
			},
		}},
	})
}
