package policy

import (
	"strings"
	"testing"
)

const vexHex = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

var vexImg = Image{Reference: "ghcr.io/acme/app:1", Repository: "ghcr.io/acme/app", Digest: "sha256:" + vexHex}

func vexSuppressed(t *testing.T, docs []string, f Finding) bool {
	t.Helper()
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", VEXDocuments: docs}}
	if err := p.Validate(); err != nil {
		t.Fatalf("policy invalid: %v", err)
	}
	d := Evaluate(p, Facts{Now: now, Image: vexImg, Findings: []Finding{f}})
	return len(d.Suppressed) == 1 && len(d.Violations) == 0 && d.Passed
}

// Findings that carry the scanner's purl are matched purl to purl, so a
// Maven statement names only its own group's artifact.
func TestVEXMatchesRealPURL(t *testing.T) {
	log4j := Finding{ID: "CVE-2021-44228", Severity: "critical", Package: "log4j-core", Version: "2.14.1", Type: "java-archive",
		PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}
	openssl := Finding{ID: "CVE-2021-44228", Severity: "critical", Package: "openssl", Version: "3.0.11-1~deb12u2", Type: "deb",
		PURL: "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"}
	pyyaml := Finding{ID: "CVE-2021-44228", Severity: "critical", Package: "PyYAML", Version: "5.3", Type: "python", PURL: "pkg:pypi/PyYAML@5.3"}
	npm := Finding{ID: "CVE-2021-44228", Severity: "critical", Package: "@babel/core", Version: "7.0.0", Type: "npm", PURL: "pkg:npm/%40babel/core@7.0.0"}
	doc := func(sub string) []string {
		return []string{vexDoc(`{"vulnerability":{"name":"CVE-2021-44228"},"status":"not_affected","justification":"vulnerable_code_not_in_execute_path",` +
			`"products":[{"@id":"pkg:oci/app@sha256%3A` + vexHex + `","subcomponents":[{"@id":"` + sub + `"}]}]}`)}
	}
	for _, tc := range []struct {
		name string
		sub  string
		f    Finding
		want bool
	}{
		{"maven group and artifact", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", log4j, true},
		{"maven without version", "pkg:maven/org.apache.logging.log4j/log4j-core", log4j, true},
		{"maven of another group", "pkg:maven/com.evil/log4j-core@2.14.1", log4j, false},
		{"maven without group", "pkg:maven/log4j-core@2.14.1", log4j, false},
		{"maven another version", "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.0", log4j, false},
		{"maven another artifact of the group", "pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1", log4j, false},
		{"deb with the finding's qualifiers", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64", openssl, true},
		{"deb without qualifiers", "pkg:deb/debian/openssl", openssl, true},
		{"deb of another vendor", "pkg:deb/ubuntu/openssl", openssl, false},
		{"deb with another qualifier value", "pkg:deb/debian/openssl?arch=arm64", openssl, false},
		{"pypi normalised name", "pkg:pypi/pyyaml@5.3", pyyaml, true},
		{"npm scope, case-insensitive", "pkg:npm/%40Babel/Core@7.0.0", npm, true},
		{"npm another scope", "pkg:npm/%40evil/core@7.0.0", npm, false},
		{"type mismatch", "pkg:npm/org.apache.logging.log4j/log4j-core@2.14.1", log4j, false},
		{"not a purl", "log4j-core", log4j, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := vexSuppressed(t, doc(tc.sub), tc.f); got != tc.want {
				t.Errorf("suppressed = %v, want %v", got, tc.want)
			}
		})
	}
}

// cdxDoc builds a CycloneDX VEX document whose metadata component is the
// given purl, with the given vulnerabilities.
func cdxDoc(product string, vulns ...string) string {
	meta := `"timestamp":"2026-01-01T00:00:00Z"`
	if product != "" {
		meta += `,"component":{"type":"container","name":"app","bom-ref":"image","purl":"` + product + `"}`
	}
	return `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{` + meta + `},` +
		`"components":[{"type":"library","name":"log4j-core","group":"org.apache.logging.log4j","version":"2.14.1","bom-ref":"log4j","purl":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}],` +
		`"vulnerabilities":[` + strings.Join(vulns, ",") + `]}`
}

func cdxVuln(id, state, ts string, refs ...string) string {
	s := `{"id":"` + id + `"`
	if state != "" {
		s += `,"analysis":{"state":"` + state + `","justification":"code_not_reachable","detail":"not loaded"`
		if ts != "" {
			s += `,"lastUpdated":"` + ts + `"`
		}
		s += `}`
	}
	var as []string
	for _, r := range refs {
		as = append(as, `{"ref":"`+r+`"}`)
	}
	if len(as) > 0 {
		s += `,"affects":[` + strings.Join(as, ",") + `]`
	}
	return s + "}"
}

func TestCycloneDXVEX(t *testing.T) {
	image := "pkg:oci/app@sha256%3A" + vexHex
	other := "pkg:oci/app@sha256%3A" + strings.Repeat("f", 64)
	log4j := Finding{ID: "CVE-2021-44228", Aliases: []string{"GHSA-jfh8-c2jp-5v3q"}, Severity: "critical", Package: "log4j-core", Version: "2.14.1", Type: "java-archive",
		PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}
	const cve = "CVE-2021-44228"
	for _, tc := range []struct {
		name string
		doc  string
		want bool
	}{
		{"not_affected, package by bom-ref", cdxDoc(image, cdxVuln(cve, "not_affected", "", "log4j")), true},
		{"not_affected, package by purl", cdxDoc(image, cdxVuln(cve, "not_affected", "", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")), true},
		{"not_affected, package by BOM-Link", cdxDoc(image, cdxVuln(cve, "not_affected", "", "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#log4j")), true},
		{"not_affected, the image itself", cdxDoc(image, cdxVuln(cve, "not_affected", "", "image")), true},
		{"false_positive", cdxDoc(image, cdxVuln(cve, "false_positive", "", "log4j")), true},
		{"resolved", cdxDoc(image, cdxVuln(cve, "resolved", "", "log4j")), true},
		{"by alias", cdxDoc(image, cdxVuln("GHSA-jfh8-c2jp-5v3q", "not_affected", "", "log4j")), true},
		{"exploitable suppresses nothing", cdxDoc(image, cdxVuln(cve, "exploitable", "", "log4j")), false},
		{"in_triage suppresses nothing", cdxDoc(image, cdxVuln(cve, "in_triage", "", "log4j")), false},
		{"no analysis suppresses nothing", cdxDoc(image, cdxVuln(cve, "", "", "log4j")), false},
		{"other vulnerability", cdxDoc(image, cdxVuln("CVE-2024-1", "not_affected", "", "log4j")), false},
		{"no affects", cdxDoc(image, cdxVuln(cve, "not_affected", "")), false},
		{"another image's BOM", cdxDoc(other, cdxVuln(cve, "not_affected", "", "log4j")), false},
		{"BOM without a product: package refs alone", cdxDoc("", cdxVuln(cve, "not_affected", "", "log4j")), false},
		{"BOM without a product, affects the image purl", cdxDoc("", cdxVuln(cve, "not_affected", "", image)), true},
		{"another group's artifact", cdxDoc(image, cdxVuln(cve, "not_affected", "", "pkg:maven/com.evil/log4j-core@2.14.1")), false},
		{"later exploitable wins", cdxDoc(image, cdxVuln(cve, "not_affected", "2026-02-01T00:00:00Z", "log4j"), cdxVuln(cve, "exploitable", "2026-03-01T00:00:00Z", "log4j")), false},
		{"later not_affected wins", cdxDoc(image, cdxVuln(cve, "exploitable", "2026-02-01T00:00:00Z", "log4j"), cdxVuln(cve, "not_affected", "2026-03-01T00:00:00Z", "log4j")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := vexSuppressed(t, []string{tc.doc}, log4j); got != tc.want {
				t.Errorf("suppressed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCycloneDXVEXReason(t *testing.T) {
	image := "pkg:oci/app@sha256%3A" + vexHex
	f := Finding{ID: "CVE-1", Severity: "critical", Package: "log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", VEXDocuments: []string{cdxDoc(image, cdxVuln("CVE-1", "not_affected", "", "log4j"))}}}
	d := Evaluate(p, Facts{Now: now, Image: vexImg, Findings: []Finding{f}})
	want := "CycloneDX vulnerabilities.vex_documents[0] vulnerabilities[0] (CVE-1): not_affected, code_not_reachable: not loaded"
	if len(d.Suppressed) != 1 || d.Suppressed[0].Reason != want || d.Suppressed[0].Source != "vex" {
		t.Fatalf("got %+v, want reason %q", d.Suppressed, want)
	}
}

func TestCycloneDXVEXValidation(t *testing.T) {
	image := "pkg:oci/app@sha256%3A" + vexHex
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"no vulnerabilities", `{"bomFormat":"CycloneDX","specVersion":"1.6"}`, "the CycloneDX document has no vulnerabilities"},
		{"bad state", cdxDoc(image, cdxVuln("CVE-1", "fine", "", "log4j")), `vulnerabilities[0].analysis.state: "fine" is not a CycloneDX analysis state`},
		{"no id", cdxDoc(image, `{"analysis":{"state":"not_affected"},"affects":[{"ref":"log4j"}]}`), "vulnerabilities[0].id: needs the vulnerability id"},
		{"empty ref", cdxDoc(image, cdxVuln("CVE-1", "not_affected", "", "")), "vulnerabilities[0].affects[0].ref: is empty"},
		{"bad timestamp", cdxDoc(image, cdxVuln("CVE-1", "not_affected", "yesterday", "log4j")), `vulnerabilities[0].analysis.lastUpdated: "yesterday" is not an RFC 3339 timestamp`},
		{"not JSON", `{"bomFormat":"CycloneDX",`, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", VEXDocuments: []string{tc.doc}}}
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
