package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

// TestAccNewAttribute: `new` is false for every finding of a digest's
// first scan; after a database update, the advisory published since is
// new = true on the scan's vulnerabilities and on the gate's violations,
// and the findings known at the first scan stay false. The violations are
// ordered by importance: the high finding before the medium ones.
func TestAccNewAttribute(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", img)
	ref := e.reg.Ref("app:1")
	cfg := e.provider("") + scanConfig("app", ref, "") + gateConfig(ref, `
  vulnerabilities = { fail_on_severity = "medium" }`, "  enforce = false") + `
check "no_new_findings" {
  assert {
    condition     = length([for v in data.imagegate_gate.app.violations : v if v.new]) == 0
    error_message = "a vulnerability was published after the image was first scanned"
  }
}`
	newCount := func(want int) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			for _, name := range []string{"data.imagegate_scan.app", "data.imagegate_gate.app"} {
				attrs := s.RootModule().Resources[name].Primary.Attributes
				list := "vulnerabilities"
				if name == "data.imagegate_gate.app" {
					list = "violations"
				}
				n := 0
				for i := 0; attrs[fmt.Sprintf("%s.%d.new", list, i)] != ""; i++ {
					if attrs[fmt.Sprintf("%s.%d.new", list, i)] == "true" {
						n++
					}
				}
				if n != want {
					return fmt.Errorf("%s has %d %s with new = true, want %d", name, n, list, want)
				}
			}
			return nil
		}
	}
	first := statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("violations").AtSliceIndex(0), knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"subject": knownvalue.StringExact("GHSA-35jh-r3h4-6jhm lodash@4.17.20"), "new": knownvalue.Bool(false),
	}))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config:            cfg,
				ConfigStateChecks: []statecheck.StateCheck{first, passed("app", false)},
				Check: resource.ComposeAggregateTestCheckFunc(newCount(0),
					resource.TestCheckTypeSetElemNestedAttrs("data.imagegate_scan.app", "vulnerabilities.*", map[string]string{"id": "GHSA-35jh-r3h4-6jhm", "new": "false"})),
			},
			{
				PreConfig:         func() { e.dbServer.Set(e.dbs.New) },
				Config:            cfg,
				ConfigStateChecks: []statecheck.StateCheck{first},
				Check: resource.ComposeAggregateTestCheckFunc(newCount(1),
					resource.TestCheckTypeSetElemNestedAttrs("data.imagegate_scan.app", "vulnerabilities.*", map[string]string{"id": fixtures.LodashReDoS.GHSAID, "new": "true"}),
					resource.TestCheckTypeSetElemNestedAttrs("data.imagegate_scan.app", "vulnerabilities.*", map[string]string{"id": "GHSA-35jh-r3h4-6jhm", "new": "false"}),
					resource.TestCheckTypeSetElemNestedAttrs("data.imagegate_gate.app", "violations.*", map[string]string{"subject": fixtures.LodashReDoS.GHSAID + " lodash@4.17.20", "new": "true"})),
			},
		},
	})
}
