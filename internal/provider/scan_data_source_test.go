package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

func scanConfig(name, ref, extra string) string {
	return fmt.Sprintf(`
data "imagegate_scan" %q {
  reference = %q
%s
}`, name, ref, extra)
}

func finding(id, pkg, version, severity string, cvss knownvalue.Check) knownvalue.Check {
	return knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"id":              knownvalue.StringExact(id),
		"package_name":    knownvalue.StringExact(pkg),
		"package_version": knownvalue.StringExact(version),
		"severity":        knownvalue.StringExact(severity),
		"cvss_score":      cvss,
	})
}

func TestAccScan(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	pinned := e.reg.Push(t, "vuln:1", img)
	layers, _ := img.Layers()
	npmLayer, _ := layers[1].Digest()
	ds := "data.imagegate_scan.app"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: e.provider("") + scanConfig("app", e.reg.Ref("vuln:1"), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("pinned_reference"), knownvalue.StringExact(pinned)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("distro"), knownvalue.ObjectPartial(map[string]knownvalue.Check{"id": knownvalue.StringExact("debian")})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("vulnerabilities"), knownvalue.ListExact([]knownvalue.Check{
						finding("CVE-2005-2541", "tar", "1.34+dfsg-1.2+deb12u1", "negligible", knownvalue.Null()),
						finding("CVE-2024-0727", "libssl3", "3.0.11-1~deb12u2", "medium", knownvalue.Float64Exact(5.5)),
						finding("CVE-2024-0727", "openssl", "3.0.11-1~deb12u2", "medium", knownvalue.Float64Exact(5.5)),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"platform":          knownvalue.Null(),
							"id":                knownvalue.StringExact("GHSA-35jh-r3h4-6jhm"),
							"aliases":           knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("CVE-2021-23337")}),
							"severity":          knownvalue.StringExact("high"),
							"cvss_score":        knownvalue.Float64Exact(7.2),
							"cvss_vector":       knownvalue.StringExact("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"),
							"package_name":      knownvalue.StringExact("lodash"),
							"package_version":   knownvalue.StringExact("4.17.20"),
							"package_type":      knownvalue.StringExact("npm"),
							"purl":              knownvalue.StringExact("pkg:npm/lodash@4.17.20"),
							"fix_state":         knownvalue.StringExact("fixed"),
							"fixed_in_versions": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("4.17.21")}),
							"namespace":         knownvalue.StringExact("github:language:javascript"),
							"urls":              knownvalue.NotNull(),
							"layer_digest":      knownvalue.StringExact(npmLayer.String()),
							"new":               knownvalue.Bool(false),
						}),
						finding("GO-2021-0113", "golang.org/x/text", "v0.3.5", "unknown", knownvalue.Null()),
					})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("severity_counts"), knownvalue.MapExact(map[string]knownvalue.Check{
						"critical": knownvalue.Int64Exact(0), "high": knownvalue.Int64Exact(1), "medium": knownvalue.Int64Exact(2),
						"low": knownvalue.Int64Exact(0), "negligible": knownvalue.Int64Exact(1), "unknown": knownvalue.Int64Exact(1),
					})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("packages"), knownvalue.Null()),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("sbom"), knownvalue.Null()),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("db").AtMapKey("schema_version"), knownvalue.StringRegexp(regexp.MustCompile(`^v6\.`))),
				},
			},
			{
				Config: e.provider("") + scanConfig("app", e.reg.Ref("vuln:1"), `
  include_packages = true
  sbom_format      = "cyclonedx-json"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPair(ds, "packages.#", ds, "package_count"),
					resource.TestCheckTypeSetElemNestedAttrs(ds, "packages.*", map[string]string{"name": "lodash", "version": "4.17.20", "type": "npm"}),
					resource.TestMatchResourceAttr(ds, "sbom", regexp.MustCompile(`"bomFormat":\s*"CycloneDX"`)),
				),
			},
		},
	})
}

func TestAccScanScopes(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{Removed: map[string]string{"minimist": "1.2.5"}})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "removed:1", img)
	ref := e.reg.Ref("removed:1")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: e.provider("") + scanConfig("squashed", ref, "") + scanConfig("all", ref, `scope = "all-layers"`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.imagegate_scan.squashed", tfjsonpath.New("severity_counts").AtMapKey("critical"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue("data.imagegate_scan.all", tfjsonpath.New("severity_counts").AtMapKey("critical"), knownvalue.Int64Exact(1)),
			},
			Check: resource.TestCheckTypeSetElemNestedAttrs("data.imagegate_scan.all", "vulnerabilities.*", map[string]string{
				"id": "GHSA-xvch-5gv4-984h", "package_name": "minimist", "package_version": "1.2.5", "severity": "critical",
			}),
		}},
	})
}

// A database update between two plans surfaces a CVE published after the
// first scan, from the cached SBOM: the second plan pulls no layer.
func TestAccScanDatabaseUpdateBetweenPlans(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", img)
	cfg := e.provider("") + scanConfig("app", e.reg.Ref("app:1"), "")
	hasReDoS := resource.TestCheckTypeSetElemNestedAttrs("data.imagegate_scan.app", "vulnerabilities.*", map[string]string{"id": fixtures.LodashReDoS.GHSAID, "severity": "medium"})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_scan.app", tfjsonpath.New("vulnerabilities"), knownvalue.ListSizeExact(5)),
				},
			},
			{
				PreConfig: func() {
					e.dbServer.Set(e.dbs.New)
					e.reg.ResetRequests()
				},
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_scan.app", tfjsonpath.New("vulnerabilities"), knownvalue.ListSizeExact(6)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(hasReDoS, func(*terraform.State) error {
					if n := e.reg.BlobRequests(); n != 0 {
						return fmt.Errorf("the second plan pulled %d blobs: %v", n, e.reg.Requests())
					}
					return nil
				}),
			},
		},
	})
}

func TestAccScanDatabaseFailsClosed(t *testing.T) {
	e := newScanEnv(t)
	e.reg.Push(t, "app:1", testutil.RandomImage(t, 1, fixtures.Spec{}.Config))
	data := scanConfig("app", e.reg.Ref("app:1"), "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config:      e.provider(`max_age = "soon"`) + data,
				ExpectError: regexp.MustCompile(`Invalid Database Max Age`),
			},
			{
				// Missing: no database installed and updates off.
				Config:      e.provider("auto_update = false") + data,
				ExpectError: regexp.MustCompile(`(?s)Vulnerability Database Unusable.*no\s+vulnerability\s+database\s+is\s+installed`),
			},
			{
				// Wrong checksum in the listing: nothing is installed.
				PreConfig: func() {
					e.dbServer.Set(testutil.ListingWithChecksum(t, e.dbs.Old, "sha256:"+strings.Repeat("0", 64)))
				},
				Config:      e.provider("") + data,
				ExpectError: regexp.MustCompile(`(?s)Vulnerability Database Unusable.*(?i:checksum)`),
			},
			{
				// Corrupt: a database file that is not one.
				PreConfig: func() {
					e.dbServer.Set(e.dbs.Old)
				},
				Config: e.provider("") + data,
			},
			{
				PreConfig:   func() { testutil.CorruptInstalledDB(t, e.dbDir) },
				Config:      e.provider("auto_update = false") + data,
				ExpectError: regexp.MustCompile(`Vulnerability Database Unusable`),
			},
			{
				// Unreachable update server with require_update_check.
				Config: providerConfig(fmt.Sprintf(`
  vulnerability_db = {
    cache_dir            = %q
    update_url           = "http://127.0.0.1:1/latest.json"
    require_update_check = true
  }`, t.TempDir()), e.reg.Host) + data,
				ExpectError: regexp.MustCompile(`(?s)Vulnerability Database Unusable.*127\.0\.0\.1:1.*update_url`),
			},
		},
	})
}

func TestAccScanStaleDatabase(t *testing.T) {
	e := newScanEnv(t)
	e.reg.Push(t, "app:1", testutil.RandomImage(t, 1, fixtures.Spec{}.Config))
	later := func() time.Time { return time.Now().Add(121 * time.Hour) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(withClock(later)),
		Steps: []resource.TestStep{{
			Config:      e.provider("") + scanConfig("app", e.reg.Ref("app:1"), ""),
			ExpectError: regexp.MustCompile(`(?s)Vulnerability Database Unusable.*max_age\s+120h.*database\s+built`),
		}},
	})
}

func TestAccScanConcurrent(t *testing.T) {
	e := newScanEnv(t)
	var cfg strings.Builder
	cfg.WriteString(e.provider(""))
	for i := range 6 {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: fmt.Sprint(1000 + i%3)})
		if err != nil {
			t.Fatal(err)
		}
		e.reg.Push(t, fmt.Sprintf("svc%d:1", i), img)
		cfg.WriteString(scanConfig(fmt.Sprintf("svc%d", i), e.reg.Ref(fmt.Sprintf("svc%d:1", i)), ""))
	}
	var checks []statecheck.StateCheck
	for i := range 6 {
		checks = append(checks, statecheck.ExpectKnownValue(fmt.Sprintf("data.imagegate_scan.svc%d", i), tfjsonpath.New("vulnerabilities"), knownvalue.ListSizeExact(5)))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps:                    []resource.TestStep{{Config: cfg.String(), ConfigStateChecks: checks}},
	})
}
