package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

// TestAccGateUnknownSeverity: the standard image without lodash has one
// finding the database gives no severity and no score (GO-2021-0113 in
// golang.org/x/text). Under fail_on_severity = "high" it passes, and the
// gate's warnings say one finding was left unevaluated; with
// treat_unknown_as = "critical" it fails the gate.
func TestAccGateUnknownSeverity(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", NPM: map[string]string{"left-pad": "1.3.0"}})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "unscored:1", img)
	ref := e.reg.Ref("unscored:1")
	policyBody := func(treat string) string {
		return `
  vulnerabilities = {
    fail_on_severity = "high"
` + treat + `
  }`
	}
	warning := func(re string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("warnings"),
			knownvalue.ListPartial(map[int]knownvalue.Check{0: knownvalue.StringRegexp(regexp.MustCompile(re))}))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: e.provider("") + gateConfig(ref, policyBody(""), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("severity_counts").AtMapKey("unknown"), knownvalue.Int64Exact(1)),
					warning(`^vulnerabilities: 1 finding of unknown severity was left unevaluated: .*treat_unknown_as`),
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("vulnerabilities").AtMapKey("treat_unknown_as"), knownvalue.Null()),
				},
			},
			{
				Config: e.provider("") + gateConfig(ref, policyBody(`    treat_unknown_as = "critical"`), ""),
				ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*GO-2021-0113\s+in\s+golang\.org/x/text\s+v0\.3\.5\s+\(go-module\):\s+unknown\s+severity.*` +
					`severity\s+unknown,\s+counted\s+as\s+critical\s+by\s+treat_unknown_as,\s+severity\s+at\s+or\s+above\s+fail_on_severity\s+high`),
			},
			{
				// Treated as low: judged, below the threshold, and the warning says how.
				Config: e.provider("") + gateConfig(ref, policyBody(`    treat_unknown_as = "low"`), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					warning(`^vulnerabilities: 1 finding of unknown severity was evaluated as low, as the policy's vulnerabilities\.treat_unknown_as says\.$`),
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`"treat_unknown_as":"low"`))),
				},
			},
		},
	})
}
