package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// gateConfig is a policy resource with the given body and a gate on ref.
func gateConfig(ref, policyBody, gateExtra string) string {
	return fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name = "production"
%s
}

data "imagegate_gate" "app" {
  reference = %q
  policy    = imagegate_policy.p.document
%s
}`, policyBody, ref, gateExtra)
}

func passed(name string, want bool) statecheck.StateCheck {
	return statecheck.ExpectKnownValue("data.imagegate_gate."+name, tfjsonpath.New("passed"), knownvalue.Bool(want))
}

func TestAccGateVulnerabilities(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	pinned := e.reg.Push(t, "app:1", img)
	ref := e.reg.Ref("app:1")
	digest, _ := img.Digest()
	// The clock is fixed at 2027-02-01, so an exception valid through
	// 2027-01-31 has lapsed, and one through 2027-03-31 holds.
	clock := func() time.Time { return time.Date(2027, 2, 1, 12, 0, 0, 0, time.UTC) }
	// The database must still count as fresh at that time.
	fresh := `max_age = "100000h"`
	high := `
  vulnerabilities = {
    fail_on_severity = "high"
%s
  }`
	ignore := func(expires string) string {
		return fmt.Sprintf(`    ignore = [{
      id      = "CVE-2021-23337"
      package = "lodash"
      reason  = "template() is never called with user input"
      expires = %q
    }]`, expires)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(withClock(clock)),
		Steps: []resource.TestStep{
			{
				// A high finding fails the plan, with a message a developer can act on.
				Config: e.provider(fresh) + gateConfig(ref, fmt.Sprintf(high, ""), ""),
				ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*` + regexp.QuoteMeta(digest.String()) +
					`.*"production".*GHSA-35jh-r3h4-6jhm\s+in\s+lodash\s+4\.17\.20\s+\(npm\):\s+high\s+severity,\s+CVSS\s+7\.2,\s+fixed\s+in\s+4\.17\.21.*vulnerabilities\.ignore`),
			},
			{
				// An exception by CVE alias, valid through March, lets it pass.
				Config: e.provider(fresh) + gateConfig(ref, fmt.Sprintf(high, ignore("2027-03-31")), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("approved_reference"), knownvalue.StringExact(pinned)),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("violations"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("severity_counts").AtMapKey("high"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("suppressed"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"platform": knownvalue.Null(),
							"subject":  knownvalue.StringExact("GHSA-35jh-r3h4-6jhm lodash@4.17.20"),
							"source":   knownvalue.StringExact("ignore"),
							"reason":   knownvalue.StringRegexp(regexp.MustCompile(`template\(\) is never called with user input.*2027-03-31`)),
						}),
					})),
				},
			},
			{
				// The same exception, lapsed: the gate fails again and says why.
				Config:      e.provider(fresh) + gateConfig(ref, fmt.Sprintf(high, ignore("2027-01-31")), ""),
				ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*exception\s+for\s+CVE-2021-23337\s+lapsed\s+on\s+2027-01-31`),
			},
			{
				// enforce = false: no error, passed = false, no approved reference.
				Config: e.provider(fresh) + gateConfig(ref, fmt.Sprintf(high, ""), "enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", false),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("approved_reference"), knownvalue.Null()),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"rule": knownvalue.StringExact("vulnerabilities"), "action": knownvalue.StringExact("stop"),
							"subject": knownvalue.StringExact("GHSA-35jh-r3h4-6jhm lodash@4.17.20"),
						}),
					})),
				},
			},
			{
				// warn: reported, the gate passes.
				Config: e.provider(fresh) + gateConfig(ref, `
  vulnerabilities = {
    action           = "warn"
    fail_on_severity = "high"
  }`, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("warnings"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringRegexp(regexp.MustCompile(`^vulnerabilities: GHSA-35jh-r3h4-6jhm in lodash`)),
						// GO-2021-0113 has no severity and no score in the test database.
						knownvalue.StringRegexp(regexp.MustCompile(`^vulnerabilities: 1 finding of unknown severity was left unevaluated`)),
					})),
				},
			},
			{
				// max_cvss_score: 7.2 is below 7.5 ...
				Config:            e.provider(fresh) + gateConfig(ref, `vulnerabilities = { max_cvss_score = 7.5 }`, "enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{passed("app", true)},
			},
			{
				// ... and at or above 7.2.
				Config:            e.provider(fresh) + gateConfig(ref, `vulnerabilities = { max_cvss_score = 7.2 }`, "enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{passed("app", false)},
			},
			{
				// only_fixed: the tar finding has no fix, so it stops counting.
				Config: e.provider(fresh) + gateConfig(ref, `
  vulnerabilities = {
    fail_on_severity = "negligible"
    ignore = [
      { id = "CVE-2021-23337", reason = "not reachable" },
      { id = "CVE-2024-0727", reason = "no PKCS12 input" },
    ]
  }`, "enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", false),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("violations").AtSliceIndex(0).AtMapKey("subject"), knownvalue.StringExact("CVE-2005-2541 tar@1.34+dfsg-1.2+deb12u1")),
				},
			},
			{
				Config: e.provider(fresh) + gateConfig(ref, `
  vulnerabilities = {
    fail_on_severity = "negligible"
    only_fixed       = true
    ignore = [
      { id = "CVE-2021-23337", reason = "not reachable" },
      { id = "CVE-2024-0727", reason = "no PKCS12 input" },
    ]
  }`, "enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{passed("app", true)},
			},
		},
	})
}

// A CVE published after the first scan is called out as new.
func TestAccGateNewFinding(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", img)
	cfg := e.provider("") + gateConfig(e.reg.Ref("app:1"), `
  vulnerabilities = {
    fail_on_severity = "medium"
    ignore = [
      { id = "CVE-2021-23337", reason = "accepted" },
      { id = "CVE-2024-0727", reason = "accepted" },
    ]
  }`, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{passed("app", true)}},
			{
				PreConfig:   func() { e.dbServer.Set(e.dbs.New) },
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*GHSA-29mw-wpgm-hmr9.*new\s+since\s+first\s+scan`),
			},
		},
	})
}

func TestAccGateNonRoot(t *testing.T) {
	e := newScanEnv(t)
	base := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	cases := map[string]struct {
		user string
		pass bool
	}{
		"empty": {"", false}, "root": {"root", false}, "zero": {"0", false}, "zero_zero": {"0:0", false},
		"root_group": {"root:staff", false}, "zero_group": {"0:1000", false}, "uid0_alias": {"toor", false},
		"missing": {"ghost", false}, "named": {"app", true}, "named_group": {"app:app", true},
		"numeric": {"1000", true}, "numeric_pair": {"1000:1000", true},
	}
	var cfg strings.Builder
	cfg.WriteString(e.provider("") + `
resource "imagegate_policy" "p" {
  name = "non-root"
  user = { require_non_root = true }
}
`)
	var checks []statecheck.StateCheck
	for name, c := range cases {
		e.reg.Push(t, "user-"+strings.ReplaceAll(name, "_", "-")+":1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{base}, Config: v1.Config{User: c.user}}))
		fmt.Fprintf(&cfg, `
data "imagegate_gate" %q {
  reference = %q
  policy    = imagegate_policy.p.document
  enforce   = false
}
`, name, e.reg.Ref("user-"+strings.ReplaceAll(name, "_", "-")+":1"))
		checks = append(checks, passed(name, c.pass))
	}
	checks = append(checks, statecheck.ExpectKnownValue("data.imagegate_gate.missing", tfjsonpath.New("violations").AtSliceIndex(0).AtMapKey("message"),
		knownvalue.StringRegexp(regexp.MustCompile(`ghost.*/etc/passwd`))))
	checks = append(checks, statecheck.ExpectKnownValue("data.imagegate_gate.uid0_alias", tfjsonpath.New("violations").AtSliceIndex(0).AtMapKey("message"),
		knownvalue.StringRegexp(regexp.MustCompile(`UID 0`))))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps:                    []resource.TestStep{{Config: cfg.String(), ConfigStateChecks: checks}},
	})
}

func TestAccGateBaseImage(t *testing.T) {
	e := newScanEnv(t)
	debian := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	baseImg := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}})
	basePinned := e.reg.Push(t, "base/debian:12", baseImg)
	baseDigest, _ := baseImg.Digest()
	claim := map[string]string{registry.AnnotationBaseName: e.reg.Ref("base/debian:12"), registry.AnnotationBaseDigest: baseDigest.String()}

	honest, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{debian}, Annotations: claim})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "honest:1", honest)
	// Same claim, but built on a different bottom layer: a forged label.
	other := testutil.Layer(t, fixtures.DebianFiles([]fixtures.DebianPackage{{Name: "tar", Version: "1.34+dfsg-1.2+deb12u1"}}))
	forged, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{other}, Annotations: claim})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "forged:1", forged)
	// No annotations, but built on the trusted base: proved by layers alone.
	unlabelled, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{debian}})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "unlabelled:1", unlabelled)
	unproved, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{other}})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "unproved:1", unproved)

	gateOn := func(name, ref string) string {
		return fmt.Sprintf(`
data "imagegate_gate" %q {
  reference = %q
  policy    = imagegate_policy.p.document
  enforce   = false
}
`, name, ref)
	}
	cfg := e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name = "trusted-base"
  base_image = {
    trusted = [%q]
    require = true
  }
  registries = { trusted = [%q] }
}
`, e.reg.Ref("base/debian:12"), e.reg.Host) + gateOn("honest", e.reg.Ref("honest:1")) + gateOn("forged", e.reg.Ref("forged:1")) +
		gateOn("unlabelled", e.reg.Ref("unlabelled:1")) + gateOn("unproved", e.reg.Ref("unproved:1"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_gate.honest", tfjsonpath.New("violations"), knownvalue.ListSizeExact(0)),
					passed("honest", true), passed("unlabelled", true), passed("forged", false), passed("unproved", false),
					statecheck.ExpectKnownValue("data.imagegate_gate.forged", tfjsonpath.New("violations").AtSliceIndex(0).AtMapKey("message"),
						knownvalue.StringRegexp(regexp.MustCompile(`(?i)layers`))),
				},
			},
			{
				// The same base pinned by digest is trusted too; a different registry is not.
				Config: e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name       = "trusted-base"
  base_image = { trusted = [%q] }
  registries = { trusted = ["ghcr.io"] }
}
`, basePinned) + gateOn("honest", e.reg.Ref("honest:1")),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("honest", false),
					statecheck.ExpectKnownValue("data.imagegate_gate.honest", tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"rule": knownvalue.StringExact("registries")}),
					})),
				},
			},
		},
	})
}

func TestAccGateEnforcementSwitchedOff(t *testing.T) {
	e := newScanEnv(t)
	e.reg.Push(t, "root:1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))}}))
	env := func(k string) string {
		if k == EnforceEnv {
			return "false"
		}
		return ""
	}
	cfg := gateConfig(e.reg.Ref("root:1"), `user = { require_non_root = true }`, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(withEnv(env)),
		Steps: []resource.TestStep{{
			// IMAGEGATE_ENFORCE=false turns the failure into a warning.
			Config:            e.provider("") + cfg,
			ConfigStateChecks: []statecheck.StateCheck{passed("app", false)},
		}},
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			// So does the provider setting; without either, the plan fails.
			Config:            strings.Replace(e.provider(""), "max_retries", "enforce = false\n  max_retries", 1) + cfg,
			ConfigStateChecks: []statecheck.StateCheck{passed("app", false)},
		}, {
			Config:      e.provider("") + cfg,
			ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*no\s+USER.*runs\s+as\s+root`),
		}},
	})
}

func TestAccGateHandWrittenPolicy(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", img)
	gateJSON := func(doc string) string {
		return fmt.Sprintf(`
data "imagegate_gate" "app" {
  reference = %q
  policy    = %s
  enforce   = false
}`, e.reg.Ref("app:1"), doc)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config:      e.provider("") + gateJSON(`jsonencode({ version = 1, name = "typo", vulnerabilities = { fail_on_severity = "severe" } })`),
				ExpectError: regexp.MustCompile(`(?s)Invalid Policy.*fail_on_severity`),
			},
			{
				Config:      e.provider("") + gateJSON(`"{not json"`),
				ExpectError: regexp.MustCompile(`Invalid Policy`),
			},
			// Valid last: the final destroy plans with this configuration, and
			// an invalid policy now fails validate, destroy included.
			{
				Config:            e.provider("") + gateJSON(`jsonencode({ version = 1, name = "from-file", vulnerabilities = { fail_on_severity = "critical" } })`),
				ConfigStateChecks: []statecheck.StateCheck{passed("app", true)},
			},
		},
	})
}
