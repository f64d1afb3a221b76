package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The new exception fields and ignore_file survive import: the document
// carries the file's rules, and the resource's attributes round-trip.
func TestAccPolicyIgnoreFieldsImport(t *testing.T) {
	dir := t.TempDir()
	grype := filepath.Join(dir, ".grype.yaml")
	writeFile(t, grype, "ignore:\n  - vulnerability: CVE-2024-0727\n    reason: no PKCS12 input\n    package:\n      name: openssl\n      type: deb\n")
	cfg := providerConfig("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name = "production"
  vulnerabilities = {
    fail_on_severity = "high"
    ignore_file      = %q
    ignore = [{
      id       = "CVE-2021-44228"
      package  = "log4j-core"
      version  = "2.14.1"
      type     = "java-archive"
      purl     = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
      location = "/opt/app/**/*.jar"
      reason   = "JNDI lookups are disabled"
      expires  = "2027-01-31"
    }]
  }
}`, grype)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(
						`"purl":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1","location":"/opt/app/\*\*/\*.jar".*"ignore_file_rules":\[\{"id":"CVE-2024-0727","package":"openssl","type":"deb","reason":"no PKCS12 input","source":"`+regexp.QuoteMeta(grype)+`:2","primary_id_only":true\}\]`))),
				},
			},
			{
				// A changed ignore file is a diff in the plan, not a silent change.
				PreConfig: func() {
					writeFile(t, grype, "ignore:\n  - vulnerability: CVE-2024-0727\n    reason: no PKCS12 input, reviewed\n")
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("imagegate_policy.p", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`no PKCS12 input, reviewed`))),
				}},
			},
			{
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

// Exceptions by package fields on the standard vulnerable image (lodash
// 4.17.20 under /app/node_modules), and the warnings for exceptions that
// are unused, expiring or expired. The clock is 2027-02-01.
func TestAccGateIgnoreRules(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", img)
	ref := e.reg.Ref("app:1")
	clock := func() time.Time { return time.Date(2027, 2, 1, 12, 0, 0, 0, time.UTC) }
	fresh := `max_age = "100000h"`
	body := func(ignore string) string {
		return `
  vulnerabilities = {
    fail_on_severity = "high"
    ignore = [` + ignore + `]
  }`
	}
	lodash := `{ id = "CVE-2021-23337", package = "lodash", version = "4.17.20", type = "npm", purl = "pkg:npm/lodash", location = "/app/node_modules/**", reason = "template() is never called with user input" }`
	warnings := func(res ...string) statecheck.StateCheck {
		checks := []knownvalue.Check{knownvalue.StringRegexp(regexp.MustCompile(`^vulnerabilities: 1 finding of unknown severity`))}
		for _, re := range res {
			checks = append(checks, knownvalue.StringRegexp(regexp.MustCompile(re)))
		}
		return statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("warnings"), knownvalue.ListExact(checks))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(withClock(clock)),
		Steps: []resource.TestStep{
			{
				// Every field matches: suppressed, and no exception warning.
				Config: e.provider(fresh) + gateConfig(ref, body(lodash), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("suppressed").AtSliceIndex(0).AtMapKey("reason"),
						knownvalue.StringRegexp(regexp.MustCompile(`^vulnerabilities\.ignore\[0\] \(CVE-2021-23337\): template`))),
					warnings(),
				},
			},
			{
				// A location elsewhere does not cover the finding, and the
				// unused exception is named.
				Config:      e.provider(fresh) + gateConfig(ref, body(`{ id = "CVE-2021-23337", location = "/usr/lib/**", reason = "r" }`), ""),
				ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*GHSA-35jh-r3h4-6jhm\s+in\s+lodash`),
			},
			{
				// A purl of another scope does not cover it either.
				Config:            e.provider(fresh) + gateConfig(ref, body(`{ id = "CVE-2021-23337", purl = "pkg:npm/%40evil/lodash", reason = "r" }`), "enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{passed("app", false)},
			},
			{
				// Unused and expiring exceptions are warnings.
				Config: e.provider(fresh) + gateConfig(ref, body(lodash+`,
      { id = "CVE-1999-0001", reason = "long gone" },
      { id = "CVE-2024-0727", reason = "no PKCS12 input", expires = "2027-02-10" },`), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					warnings(
						`^vulnerabilities: exception vulnerabilities\.ignore\[1\] \(CVE-1999-0001\) matches no finding of this image`,
						`^vulnerabilities: exception vulnerabilities\.ignore\[2\] \(CVE-2024-0727\) expires on 2027-02-10, within 14 days`,
					),
				},
			},
			{
				// An expired exception no longer applies, and says so.
				Config: e.provider(fresh) + gateConfig(ref, body(`{ id = "CVE-2021-23337", reason = "r", expires = "2027-01-31" }`), "enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", false),
					warnings(`^vulnerabilities: exception vulnerabilities\.ignore\[0\] \(CVE-2021-23337\) expired on 2027-01-31 and no longer applies`),
				},
			},
		},
	})
}

// ignore_file reads a grype or Trivy ignore file; rules the policy cannot
// express are errors naming the line.
func TestAccGateIgnoreFile(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", img)
	ref := e.reg.Ref("app:1")
	dir := t.TempDir()
	grype := filepath.Join(dir, ".grype.yaml")
	trivy := filepath.Join(dir, ".trivyignore.yaml")
	body := func(file string) string {
		return fmt.Sprintf(`
  vulnerabilities = {
    fail_on_severity = "high"
    ignore_file      = %q
  }`, file)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					writeFile(t, grype, "output: table\nignore:\n  - vulnerability: CVE-2021-23337\n    include-aliases: true\n    reason: template() is never called with user input\n    package:\n      name: lodash\n      type: npm\n      location: /app/**\n")
				},
				Config: e.provider("") + gateConfig(ref, body(grype), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("suppressed").AtSliceIndex(0).AtMapKey("reason"),
						knownvalue.StringExact(grype+":3 (CVE-2021-23337): template() is never called with user input")),
				},
			},
			{
				PreConfig: func() {
					writeFile(t, trivy, "vulnerabilities:\n  - id: CVE-2021-23337\n    purls:\n      - pkg:npm/lodash@4.17.20\n    statement: not reachable\n  - id: CVE-1999-0001\n    statement: long gone\n")
				},
				Config: e.provider("") + gateConfig(ref, body(trivy), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("suppressed").AtSliceIndex(0).AtMapKey("reason"),
						knownvalue.StringExact(trivy+":2 (CVE-2021-23337): not reachable")),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("warnings"), knownvalue.ListPartial(map[int]knownvalue.Check{
						1: knownvalue.StringExact("vulnerabilities: exception " + trivy + ":6 (CVE-1999-0001) matches no finding of this image: remove it if the vulnerability is gone, or correct its id and package fields"),
					})),
				},
			},
			{
				PreConfig: func() {
					writeFile(t, trivy, "vulnerabilities:\n  - id: CVE-2021-23337\n    statement: r\nmisconfigurations:\n  - id: AVD-DS-0002\n")
				},
				Config:      e.provider("") + gateConfig(ref, body(trivy), ""),
				ExpectError: regexp.MustCompile(`(?s)Invalid Ignore File.*line\s+5:\s+.misconfigurations.\s+is\s+not\s+supported`),
			},
			{
				PreConfig: func() {
					writeFile(t, grype, "ignore:\n  - vulnerability: CVE-2021-23337\n    vex-status: not_affected\n    reason: r\n")
				},
				Config:      e.provider("") + gateConfig(ref, body(grype), ""),
				ExpectError: regexp.MustCompile(`(?s)Invalid Ignore File.*line\s+3:\s+.vex-status.\s+is\s+not\s+supported`),
			},
			{
				Config:      e.provider("") + gateConfig(ref, body(filepath.Join(dir, "missing.yaml")), ""),
				ExpectError: regexp.MustCompile(`(?s)Ignore File Not Readable.*missing\.yaml`),
			},
		},
	})
}
