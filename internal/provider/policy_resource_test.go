package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccPolicy(t *testing.T) {
	cfg := func(severity string) string {
		return providerConfig("") + `
resource "imagegate_policy" "p" {
  name        = "production"
  description = "What may run in production."
  vulnerabilities = {
    fail_on_severity = "` + severity + `"
    max_cvss_score   = 9
    ignore = [{
      id      = "CVE-2021-23337"
      package = "lodash"
      reason  = "not reachable"
      expires = "2027-01-31"
    }]
  }
  user       = { require_non_root = true }
  base_image = { trusted = ["cgr.dev/chainguard/*", "registry.example.com/base/debian:12"] }
  registries = { trusted = ["registry.example.com"], action = "warn" }
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("high"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("imagegate_policy.p", plancheck.ResourceActionCreate),
					// The document is known at plan time, so gates run in the same plan.
					plancheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`"fail_on_severity":"high"`))),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`^\{"version":1,"name":"production"`))),
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("vulnerabilities").AtMapKey("action"), knownvalue.StringExact("stop")),
				},
			},
			{
				// Unchanged configuration: an empty plan.
				Config:           cfg("high"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// A policy change is a diff on the resource, auditable in review.
				Config: cfg("critical"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("imagegate_policy.p", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`"fail_on_severity":"critical"`))),
				}},
			},
			{
				// Import adopts a hand-written document.
				ResourceName:      "imagegate_policy.p",
				ImportState:       true,
				ImportStateVerify: true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources["imagegate_policy.p"].Primary.Attributes["document"], nil
				},
				ImportStateVerifyIdentifierAttribute: "id",
			},
		},
	})
}

func TestAccPolicyValidation(t *testing.T) {
	policy := func(body string) string {
		return providerConfig("") + `
resource "imagegate_policy" "p" {
  name = "bad"
` + body + `
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: policy(`vulnerabilities = { fail_on_severity = "severe" }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*vulnerabilities\.fail_on_severity: "severe" is not a\s+severity`)},
			{Config: policy(`vulnerabilities = { max_cvss_score = -1 }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*vulnerabilities\.max_cvss_score: -1 is outside 0..10`)},
			{Config: policy(`vulnerabilities = { fail_on_severity = "high", ignore = [{ id = "CVE-1", reason = "x", expires = "2027-13-45" }] }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*2027-13-45.*not\s+an\s+RFC\s+3339`)},
			{Config: policy(`vulnerabilities = { fail_on_severity = "high", ignore = [{ id = "CVE-1", reason = "" }] }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*reason`)},
			{Config: policy(`base_image = { trusted = ["cgr.dev/chainguard/[*"] }`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*chainguard/\[\*`)},
			{Config: policy(`vulnerabilities = { action = "block", fail_on_severity = "high" }`), ExpectError: regexp.MustCompile(`(?s)vulnerabilities\.action: "block" is\s+not\s+an\s+action; use\s+"stop"\s+or\s+"warn"`)},
			{Config: policy(`vulnerabilities = {}`), ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*fail_on_severity`)},
		},
	})
}

// A rule that depends on a value known only at apply leaves the document
// unknown in the plan, and computes it at apply.
func TestAccPolicyUnknownAtPlan(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: providerConfig("") + `
resource "terraform_data" "severity" {
  input = "high"
}

resource "imagegate_policy" "p" {
  name            = "late"
  vulnerabilities = { fail_on_severity = terraform_data.severity.output }
}`,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectUnknownValue("imagegate_policy.p", tfjsonpath.New("document")),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`"fail_on_severity":"high"`))),
			},
		}},
	})
}
