package policy

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func subjects(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Subject)
	}
	return out
}

func suppressed(ss []Suppression) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Subject+" by "+s.Source)
	}
	return out
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var now = mustTime("2027-01-15T10:00:00Z")

func TestVulnerabilityThresholds(t *testing.T) {
	high := &VulnerabilityRule{FailOnSeverity: "high"}
	cvss7 := &VulnerabilityRule{MaxCVSSScore: f64(7)}
	both := &VulnerabilityRule{FailOnSeverity: "high", MaxCVSSScore: f64(9)}
	tests := []struct {
		name  string
		rule  *VulnerabilityRule
		f     Finding
		fails bool
	}{
		{"severity exactly at threshold fails", high, Finding{Severity: "high"}, true},
		{"severity above threshold fails", high, Finding{Severity: "critical"}, true},
		{"severity below threshold passes", high, Finding{Severity: "medium"}, false},
		{"severity is case-insensitive", high, Finding{Severity: "HIGH"}, true},
		{"threshold is case-insensitive", &VulnerabilityRule{FailOnSeverity: "High"}, Finding{Severity: "high"}, true},
		{"unknown severity never meets a threshold", &VulnerabilityRule{FailOnSeverity: "negligible"}, Finding{Severity: "unknown"}, false},
		{"empty severity never meets a threshold", &VulnerabilityRule{FailOnSeverity: "negligible"}, Finding{Severity: ""}, false},
		{"unrecognised severity never meets a threshold", &VulnerabilityRule{FailOnSeverity: "negligible"}, Finding{Severity: "severe"}, false},
		{"negligible meets negligible", &VulnerabilityRule{FailOnSeverity: "negligible"}, Finding{Severity: "Negligible"}, true},
		{"low below medium", &VulnerabilityRule{FailOnSeverity: "medium"}, Finding{Severity: "low"}, false},
		{"critical meets critical", &VulnerabilityRule{FailOnSeverity: "critical"}, Finding{Severity: "critical"}, true},
		{"high below critical", &VulnerabilityRule{FailOnSeverity: "critical"}, Finding{Severity: "high"}, false},
		{"CVSS exactly equal to max fails", cvss7, Finding{Severity: "low", CVSSScore: f64(7)}, true},
		{"CVSS above max fails", cvss7, Finding{CVSSScore: new(7.1)}, true},
		{"CVSS below max passes", cvss7, Finding{Severity: "critical", CVSSScore: new(6.9)}, false},
		{"no CVSS score: critical is judged as 9.0, vs max 9", &VulnerabilityRule{MaxCVSSScore: f64(9)}, Finding{Severity: "critical"}, true},
		{"no CVSS score: critical vs max 9.1 does not count", &VulnerabilityRule{MaxCVSSScore: new(9.1)}, Finding{Severity: "critical"}, false},
		{"no CVSS score: critical vs max 7", cvss7, Finding{Severity: "critical"}, true},
		{"no CVSS score: high is judged as 7.0, vs max 7", cvss7, Finding{Severity: "high"}, true},
		{"no CVSS score: severity is case-insensitive", cvss7, Finding{Severity: " HIGH "}, true},
		{"no CVSS score: medium is judged as 4.0, vs max 7", cvss7, Finding{Severity: "medium"}, false},
		{"no CVSS score: medium vs max 4", &VulnerabilityRule{MaxCVSSScore: f64(4)}, Finding{Severity: "medium"}, true},
		{"no CVSS score: low is judged as 0.1", &VulnerabilityRule{MaxCVSSScore: new(0.1)}, Finding{Severity: "low"}, true},
		{"no CVSS score: low vs max 0.2", &VulnerabilityRule{MaxCVSSScore: new(0.2)}, Finding{Severity: "low"}, false},
		{"no CVSS score: negligible has no band", &VulnerabilityRule{MaxCVSSScore: f64(0)}, Finding{Severity: "negligible"}, false},
		{"no CVSS score: unknown never counts", &VulnerabilityRule{MaxCVSSScore: f64(0)}, Finding{Severity: "unknown"}, false},
		{"no CVSS score: empty severity never counts", &VulnerabilityRule{MaxCVSSScore: f64(0)}, Finding{}, false},
		{"no CVSS score: unrecognised severity never counts", &VulnerabilityRule{MaxCVSSScore: f64(0)}, Finding{Severity: "severe"}, false},
		{"a score, not the severity band, decides when present", cvss7, Finding{Severity: "high", CVSSScore: new(6.5)}, false},
		{"no CVSS score with only_fixed: not fixed does not count", &VulnerabilityRule{MaxCVSSScore: f64(7), OnlyFixed: true}, Finding{Severity: "critical", FixState: "not-fixed"}, false},
		{"max 0 fails every scored finding", &VulnerabilityRule{MaxCVSSScore: f64(0)}, Finding{CVSSScore: f64(0)}, true},
		{"unknown severity with CVSS fails max", both, Finding{Severity: "unknown", CVSSScore: new(9.8)}, true},
		{"severity alone fails with both set", both, Finding{Severity: "high", CVSSScore: f64(5)}, true},
		{"CVSS alone fails with both set", both, Finding{Severity: "medium", CVSSScore: f64(9)}, true},
		{"neither fails with both set", both, Finding{Severity: "medium", CVSSScore: new(8.9)}, false},
		{"only_fixed: fixed counts", &VulnerabilityRule{FailOnSeverity: "high", OnlyFixed: true}, Finding{Severity: "high", FixState: "fixed"}, true},
		{"only_fixed: fix state is case-insensitive", &VulnerabilityRule{FailOnSeverity: "high", OnlyFixed: true}, Finding{Severity: "high", FixState: "Fixed"}, true},
		{"only_fixed: not-fixed does not count", &VulnerabilityRule{FailOnSeverity: "high", OnlyFixed: true}, Finding{Severity: "high", FixState: "not-fixed"}, false},
		{"only_fixed: wont-fix does not count", &VulnerabilityRule{FailOnSeverity: "high", OnlyFixed: true}, Finding{Severity: "critical", FixState: "wont-fix"}, false},
		{"only_fixed: unknown does not count", &VulnerabilityRule{FailOnSeverity: "high", OnlyFixed: true}, Finding{Severity: "critical", FixState: "unknown"}, false},
		{"only_fixed: empty does not count", &VulnerabilityRule{MaxCVSSScore: f64(1), OnlyFixed: true}, Finding{CVSSScore: f64(10)}, false},
		{"without only_fixed not-fixed counts", high, Finding{Severity: "high", FixState: "not-fixed"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.ID, tt.f.Package, tt.f.Version = "CVE-2024-1", "openssl", "3.0.1"
			d := Evaluate(&Policy{Vulnerabilities: tt.rule}, Facts{Now: now, Findings: []Finding{tt.f}})
			if got := len(d.Violations) == 1; got != tt.fails || d.Passed == tt.fails {
				t.Fatalf("fails = %v (passed %v), want %v: %+v", got, d.Passed, tt.fails, d.Violations)
			}
			if tt.fails && (d.Violations[0].Rule != RuleVulnerabilities || d.Violations[0].Subject != "CVE-2024-1 openssl@3.0.1") {
				t.Errorf("violation %+v", d.Violations[0])
			}
		})
	}
}

func TestVulnerabilityMessages(t *testing.T) {
	tests := []struct {
		rule *VulnerabilityRule
		f    Finding
		subj string
		msg  string
	}{
		{&VulnerabilityRule{FailOnSeverity: "high"},
			Finding{ID: "CVE-2021-23337", Severity: "High", CVSSScore: new(7.2), Package: "lodash", Version: "4.17.20", Type: "npm", FixState: "fixed", FixedIn: []string{"4.17.21"}},
			"CVE-2021-23337 lodash@4.17.20",
			"CVE-2021-23337 in lodash 4.17.20 (npm): high severity, CVSS 7.2, fixed in 4.17.21; severity at or above fail_on_severity high"},
		{&VulnerabilityRule{FailOnSeverity: "medium", MaxCVSSScore: f64(9)},
			Finding{ID: "CVE-2024-2", Severity: "critical", CVSSScore: f64(10), Package: "zlib", Version: "1.2", FixState: "not-fixed", New: true},
			"CVE-2024-2 zlib@1.2",
			"CVE-2024-2 in zlib 1.2: critical severity, CVSS 10, no fix; severity at or above fail_on_severity medium and CVSS at or above max_cvss_score 9 (new since first scan)"},
		{&VulnerabilityRule{MaxCVSSScore: new(5.5)},
			Finding{ID: "GHSA-xxxx", CVSSScore: new(5.5), Package: "x", FixState: "wont-fix"},
			"GHSA-xxxx x",
			"GHSA-xxxx in x: unknown severity, CVSS 5.5, no fix (won't fix); CVSS at or above max_cvss_score 5.5"},
		{&VulnerabilityRule{MaxCVSSScore: f64(7)},
			Finding{ID: "CVE-2024-5", Severity: "Critical", Package: "libc6", Version: "2.36-9", Type: "deb"},
			"CVE-2024-5 libc6@2.36-9",
			"CVE-2024-5 in libc6 2.36-9 (deb): critical severity, no fix; no CVSS score; severity critical is CVSS 9.0 or more, at or above max_cvss_score 7"},
		{&VulnerabilityRule{MaxCVSSScore: new(0.1)},
			Finding{ID: "CVE-2024-6", Severity: "low"},
			"CVE-2024-6",
			"CVE-2024-6: low severity, no fix; no CVSS score; severity low is CVSS 0.1 or more, at or above max_cvss_score 0.1"},
		{&VulnerabilityRule{FailOnSeverity: "high", MaxCVSSScore: new(6.5)},
			Finding{ID: "CVE-2024-7", Severity: "high"},
			"CVE-2024-7",
			"CVE-2024-7: high severity, no fix; severity at or above fail_on_severity high and no CVSS score; severity high is CVSS 7.0 or more, at or above max_cvss_score 6.5"},
		{&VulnerabilityRule{FailOnSeverity: "low"},
			Finding{ID: "CVE-2024-3", Severity: "low", FixState: "fixed", FixedIn: []string{"1.1", "2.0.3"}},
			"CVE-2024-3",
			"CVE-2024-3: low severity, fixed in 1.1, 2.0.3; severity at or above fail_on_severity low"},
		{&VulnerabilityRule{FailOnSeverity: "low"},
			Finding{ID: "CVE-2024-4", Severity: "low", Package: "p", Version: "1", FixState: "fixed"},
			"CVE-2024-4 p@1",
			"CVE-2024-4 in p 1: low severity, fixed (version not known); severity at or above fail_on_severity low"},
	}
	for _, tt := range tests {
		d := Evaluate(&Policy{Vulnerabilities: tt.rule}, Facts{Now: now, Findings: []Finding{tt.f}})
		rank := FindingRank{ID: tt.f.ID, Severity: strings.ToLower(tt.f.Severity), New: tt.f.New}
		if rank.Severity == "" {
			rank.Severity = "unknown"
		}
		if tt.f.CVSSScore != nil {
			rank.CVSS = *tt.f.CVSSScore
		}
		want := []Violation{{Rule: RuleVulnerabilities, Action: ActionStop, CIS: CISVulnerabilities, Subject: tt.subj, Message: tt.msg, Finding: rank}}
		if !slices.Equal(d.Violations, want) {
			t.Errorf("got  %+v\nwant %+v", d.Violations, want)
		}
	}
}

func TestIgnore(t *testing.T) {
	lodash := Finding{ID: "GHSA-35jh-r3h4-6jhm", Aliases: []string{"CVE-2021-23337"}, Severity: "high", Package: "lodash", Version: "4.17.20"}
	byCVE := Finding{ID: "CVE-2021-23337", Aliases: []string{"GHSA-35jh-r3h4-6jhm"}, Severity: "high", Package: "lodash", Version: "4.17.20"}
	tests := []struct {
		name       string
		ignore     []Ignore
		now        time.Time
		f          Finding
		suppressed bool
		lapsed     string // expected suffix of the violation message, when not suppressed
	}{
		{"by CVE alias", []Ignore{{ID: "CVE-2021-23337", Reason: "r"}}, now, lodash, true, ""},
		{"by GHSA id", []Ignore{{ID: "GHSA-35jh-r3h4-6jhm", Reason: "r"}}, now, lodash, true, ""},
		{"by GHSA alias of a CVE finding", []Ignore{{ID: "GHSA-35jh-r3h4-6jhm", Reason: "r"}}, now, byCVE, true, ""},
		{"by CVE id", []Ignore{{ID: "CVE-2021-23337", Reason: "r"}}, now, byCVE, true, ""},
		{"id is case-insensitive", []Ignore{{ID: "cve-2021-23337", Reason: "r"}}, now, lodash, true, ""},
		{"other id", []Ignore{{ID: "CVE-2021-99999", Reason: "r"}}, now, lodash, false, ""},
		{"package restriction matches", []Ignore{{ID: "CVE-2021-23337", Package: "lodash", Reason: "r"}}, now, lodash, true, ""},
		{"package restriction does not match", []Ignore{{ID: "CVE-2021-23337", Package: "lodash-es", Reason: "r"}}, now, lodash, false, ""},
		{"date: valid through that day", []Ignore{{ID: "CVE-2021-23337", Reason: "r", Expires: "2027-01-31"}}, mustTime("2027-01-31T23:59:59Z"), lodash, true, ""},
		{"date: lapsed at midnight UTC of the next day", []Ignore{{ID: "CVE-2021-23337", Reason: "upstream fix pending", Expires: "2027-01-31"}}, mustTime("2027-02-01T00:00:00Z"), lodash, false,
			"; exception for CVE-2021-23337 lapsed on 2027-01-31 (reason: upstream fix pending)"},
		{"date: lapsed later", []Ignore{{ID: "GHSA-35jh-r3h4-6jhm", Reason: "r", Expires: "2026-12-31"}}, now, lodash, false,
			"; exception for GHSA-35jh-r3h4-6jhm lapsed on 2026-12-31 (reason: r)"},
		{"timestamp: before", []Ignore{{ID: "CVE-2021-23337", Reason: "r", Expires: "2027-01-31T12:00:00Z"}}, mustTime("2027-01-31T11:59:59Z"), lodash, true, ""},
		{"timestamp: exactly at expiry has lapsed", []Ignore{{ID: "CVE-2021-23337", Reason: "r", Expires: "2027-01-31T12:00:00Z"}}, mustTime("2027-01-31T12:00:00Z"), lodash, false,
			"; exception for CVE-2021-23337 lapsed on 2027-01-31T12:00:00Z (reason: r)"},
		{"timestamp: after", []Ignore{{ID: "CVE-2021-23337", Reason: "r", Expires: "2027-01-31T12:00:00Z"}}, mustTime("2027-02-01T00:00:00Z"), lodash, false,
			"; exception for CVE-2021-23337 lapsed on 2027-01-31T12:00:00Z (reason: r)"},
		{"timestamp with offset", []Ignore{{ID: "CVE-2021-23337", Reason: "r", Expires: "2027-01-31T12:00:00+02:00"}}, mustTime("2027-01-31T10:30:00Z"), lodash, false,
			"; exception for CVE-2021-23337 lapsed on 2027-01-31T12:00:00+02:00 (reason: r)"},
		{"zero Now: an expiring exception counts as lapsed", []Ignore{{ID: "CVE-2021-23337", Reason: "r", Expires: "2099-01-01"}}, time.Time{}, lodash, false,
			"; exception for CVE-2021-23337 lapsed on 2099-01-01 (reason: r)"},
		{"zero Now: a permanent exception holds", []Ignore{{ID: "CVE-2021-23337", Reason: "r"}}, time.Time{}, lodash, true, ""},
		{"a lapsed and an active exception", []Ignore{{ID: "CVE-2021-23337", Reason: "old", Expires: "2026-01-01"}, {ID: "GHSA-35jh-r3h4-6jhm", Reason: "new", Expires: "2028-01-01"}}, now, lodash, true, ""},
		{"two lapsed exceptions", []Ignore{{ID: "CVE-2021-23337", Reason: "a", Expires: "2026-01-01"}, {ID: "GHSA-35jh-r3h4-6jhm", Reason: "b", Expires: "2026-06-01"}}, now, lodash, false,
			"; exception for CVE-2021-23337 lapsed on 2026-01-01 (reason: a); exception for GHSA-35jh-r3h4-6jhm lapsed on 2026-06-01 (reason: b)"},
		{"lapsed but for another package: not mentioned", []Ignore{{ID: "CVE-2021-23337", Package: "other", Reason: "a", Expires: "2026-01-01"}}, now, lodash, false, "fail_on_severity high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", Ignore: tt.ignore}}
			d := Evaluate(p, Facts{Now: tt.now, Findings: []Finding{tt.f}})
			if tt.suppressed {
				if !d.Passed || len(d.Violations) != 0 || len(d.Suppressed) != 1 || d.Suppressed[0].Source != "ignore" {
					t.Fatalf("not suppressed: %+v", d)
				}
				return
			}
			if d.Passed || len(d.Violations) != 1 || len(d.Suppressed) != 0 {
				t.Fatalf("decision %+v", d)
			}
			if !strings.HasSuffix(d.Violations[0].Message, tt.lapsed) {
				t.Errorf("message %q does not end with %q", d.Violations[0].Message, tt.lapsed)
			}
		})
	}
}

func TestIgnoreSuppressionReason(t *testing.T) {
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "low", Ignore: []Ignore{
		{ID: "CVE-1", Reason: "other"},
		{ID: "CVE-2", Package: "b", Reason: "not reachable", Expires: "2027-06-30"},
	}}}
	d := Evaluate(p, Facts{Now: now, Findings: []Finding{
		{ID: "CVE-2", Severity: "low", Package: "b", Version: "2"},
		{ID: "CVE-3", Severity: "negligible", Package: "c", Version: "3"}, // below the threshold: neither counted nor suppressed
	}})
	want := []Suppression{{Subject: "CVE-2 b@2", Source: "ignore", Reason: "vulnerabilities.ignore[1] (CVE-2): not reachable (until 2027-06-30)"}}
	if !d.Passed || !reflect.DeepEqual(d.Suppressed, want) {
		t.Errorf("got %+v, want %+v", d.Suppressed, want)
	}
}

// vexDoc builds an OpenVEX document from statement JSON objects.
func vexDoc(statements ...string) string {
	return `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[` +
		strings.Join(statements, ",") + `]}`
}

func TestVEX(t *testing.T) {
	const hex = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	const digest = "sha256:" + hex
	const other = "sha256:" + "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	img := Image{Reference: "ghcr.io/acme/app:1", Repository: "ghcr.io/acme/app", Digest: digest}
	finding := Finding{ID: "CVE-2024-1000", Aliases: []string{"GHSA-aaaa-bbbb-cccc"}, Severity: "critical", Package: "golang.org/x/net", Version: "v0.1.0", Type: "go-module"}
	text := Finding{ID: "CVE-2024-1000", Severity: "critical", Package: "golang.org/x/text", Version: "v0.3.7", Type: "go-module"}
	npm := Finding{ID: "GHSA-npm", Severity: "critical", Package: "@babel/core", Version: "7.0.0", Type: "npm"}
	lodash := Finding{ID: "GHSA-npm", Severity: "critical", Package: "lodash", Version: "4.17.20", Type: "npm"}
	untyped := Finding{ID: "GHSA-npm", Severity: "critical", Package: "lodash", Version: "4.17.20"}
	openssl := Finding{ID: "CVE-2024-1000", Severity: "critical", Package: "openssl", Version: "3.0.11-1~deb12u2", Type: "deb"}
	pyyaml := Finding{ID: "CVE-2024-1000", Severity: "critical", Package: "PyYAML", Version: "5.3", Type: "python"}
	log4j := Finding{ID: "CVE-2024-1000", Severity: "critical", Package: "log4j-core", Version: "2.14.1", Type: "java-archive"}
	st := func(vuln, status, products string) string {
		s := `{"vulnerability":` + vuln + `,"status":"` + status + `"`
		if status == "not_affected" {
			s += `,"justification":"vulnerable_code_not_in_execute_path"`
		}
		if products != "" {
			s += `,"products":` + products
		}
		return s + "}"
	}
	// image is the products list naming the image, narrowed to the given
	// subcomponent purls, if any.
	image := func(subcomponents ...string) string {
		p := `{"@id":"pkg:oci/app@sha256%3A` + hex + `?repository_url=ghcr.io/acme/app"`
		if len(subcomponents) > 0 {
			var scs []string
			for _, sc := range subcomponents {
				scs = append(scs, `{"@id":"`+sc+`"}`)
			}
			p += `,"subcomponents":[` + strings.Join(scs, ",") + `]`
		}
		return "[" + p + "}]"
	}
	imageAt := func(ts, status string, subcomponents ...string) string {
		return `{"vulnerability":{"name":"CVE-2024-1000"},"status":"` + status + `","timestamp":"` + ts + `","products":` + image(subcomponents...) + `}`
	}
	cve := `{"name":"CVE-2024-1000"}`
	ghsa := `{"name":"GHSA-npm"}`
	tests := []struct {
		name       string
		docs       []string
		f          Finding
		suppressed bool
	}{
		// Status.
		{"not_affected for the image", []string{vexDoc(st(cve, "not_affected", image()))}, finding, true},
		{"fixed for the image", []string{vexDoc(st(cve, "fixed", image()))}, finding, true},
		{"affected suppresses nothing", []string{vexDoc(st(cve, "affected", image()))}, finding, false},
		{"under_investigation suppresses nothing", []string{vexDoc(st(cve, "under_investigation", image()))}, finding, false},

		// Vulnerability.
		{"other vulnerability", []string{vexDoc(st(`{"name":"CVE-2024-9999"}`, "not_affected", image()))}, finding, false},
		{"by finding alias", []string{vexDoc(st(`{"name":"GHSA-aaaa-bbbb-cccc"}`, "not_affected", image()))}, finding, true},
		{"by statement alias", []string{vexDoc(st(`{"name":"GO-2024-1","aliases":["cve-2024-1000"]}`, "not_affected", image()))}, finding, true},
		{"by @id", []string{vexDoc(st(`{"@id":"CVE-2024-1000"}`, "not_affected", image()))}, finding, true},

		// Products: the image.
		{"no products: applies to nothing", []string{vexDoc(st(cve, "not_affected", ""))}, finding, false},
		{"empty products: applies to nothing", []string{vexDoc(st(cve, "not_affected", "[]"))}, finding, false},
		{"v0.0.1 string forms", []string{vexDoc(st(`"CVE-2024-1000"`, "not_affected", `["pkg:oci/app@sha256%3A`+hex+`"]`))}, finding, true},
		{"product is the image (oci purl, encoded digest)", []string{vexDoc(st(cve, "not_affected", image()))}, finding, true},
		{"product is the image (oci purl, lower-case encoding)", []string{vexDoc(st(cve, "not_affected", `[{"@id":"pkg:oci/app@sha256%3a`+hex+`"}]`))}, finding, true},
		{"product is the image (repository@digest)", []string{vexDoc(st(cve, "not_affected", `[{"@id":"ghcr.io/acme/app@`+digest+`"}]`))}, finding, true},
		{"product is the image by identifiers.purl", []string{vexDoc(st(cve, "not_affected", `[{"@id":"https://example.com/app","identifiers":{"purl":"pkg:oci/app@`+digest+`"}}]`))}, finding, true},
		{"product is another image", []string{vexDoc(st(cve, "not_affected", `[{"@id":"ghcr.io/acme/app@`+other+`"}]`))}, finding, false},
		{"product names a longer digest that starts with the image's", []string{vexDoc(st(cve, "not_affected", `[{"@id":"ghcr.io/acme/app@`+digest+`ab"}]`))}, finding, false},
		{"product names the image by tag only", []string{vexDoc(st(cve, "not_affected", `[{"@id":"ghcr.io/acme/app:1"}]`))}, finding, false},
		{"one of several products is the image", []string{vexDoc(st(cve, "not_affected", `[{"@id":"ghcr.io/acme/app@`+other+`"},{"@id":"ghcr.io/acme/app@`+digest+`"}]`))}, finding, true},

		// Products: package purls alone no longer apply.
		{"package purl product alone", []string{vexDoc(st(cve, "not_affected", `[{"@id":"pkg:golang/golang.org/x/net@v0.1.0"}]`))}, finding, false},
		{"package purl product alone, without version", []string{vexDoc(st(cve, "not_affected", `[{"@id":"pkg:golang/golang.org/x/net"}]`))}, finding, false},
		{"package purl product alone, by identifiers.purl", []string{vexDoc(st(ghsa, "not_affected", `[{"identifiers":{"purl":"pkg:npm/%40babel/core@7.0.0"}}]`))}, npm, false},
		{"package purl product with subcomponents, not the image", []string{vexDoc(st(cve, "not_affected", `[{"@id":"pkg:golang/example.com/app@v1","subcomponents":[{"@id":"pkg:golang/golang.org/x/net@v0.1.0"}]}]`))}, finding, false},
		{"not a purl, not the image", []string{vexDoc(st(cve, "not_affected", `[{"@id":"golang.org/x/net"}]`))}, finding, false},

		// Subcomponents of the image narrow the statement.
		{"image with matching subcomponent", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/golang.org/x/net@v0.1.0")))}, finding, true},
		{"image with matching subcomponent by identifiers.purl", []string{vexDoc(st(cve, "not_affected", `[{"@id":"ghcr.io/acme/app@`+digest+`","subcomponents":[{"@id":"https://example.com/x","identifiers":{"purl":"pkg:golang/golang.org/x/net@v0.1.0"}}]}]`))}, finding, true},
		{"image with another subcomponent", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/golang.org/x/crypto@v0.1.0")))}, finding, false},
		{"image with subcomponent of another version", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/golang.org/x/net@v0.2.0")))}, finding, false},
		{"image with one of several subcomponents matching", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/golang.org/x/crypto@v0.1.0", "pkg:golang/golang.org/x/net")))}, finding, true},
		{"subcomponent that is not a purl", []string{vexDoc(st(cve, "not_affected", image("golang.org/x/net")))}, finding, false},
		{"v0.0.1 statement-level subcomponents narrow the image", []string{vexDoc(`{"vulnerability":"CVE-2024-1000","status":"not_affected","products":["ghcr.io/acme/app@` + digest + `"],"subcomponents":["pkg:golang/golang.org/x/crypto"]}`)}, finding, false},
		{"v0.0.1 statement-level subcomponents match", []string{vexDoc(`{"vulnerability":"CVE-2024-1000","status":"not_affected","products":["ghcr.io/acme/app@` + digest + `"],"subcomponents":["pkg:golang/golang.org/x/net@v0.1.0"]}`)}, finding, true},

		// Subcomponent purls: namespace.
		{"golang namespace and name give the module path", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/golang.org/x/text@v0.3.7")))}, text, true},
		{"golang name alone is not the module path", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/text@v0.3.7")))}, text, false},
		{"golang module path is case-sensitive", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/golang.org/X/text@v0.3.7")))}, text, false},
		{"golang module path with an encoded slash", []string{vexDoc(st(cve, "not_affected", image("pkg:golang/golang.org%2Fx%2Ftext@v0.3.7")))}, text, true},
		{"npm scope and name", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/%40babel/core@7.0.0")))}, npm, true},
		{"npm scope unencoded", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/@babel/core@7.0.0")))}, npm, true},
		{"npm scope unencoded, without version", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/@babel/core")))}, npm, true},
		{"npm name without the scope is not the scoped package", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/core@7.0.0")))}, npm, false},
		{"npm scoped purl does not name the unscoped package", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/%40evil/lodash@4.17.20")))}, lodash, false},
		{"npm scoped purl does not name the unscoped package, untyped finding", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/%40evil/lodash")))}, untyped, false},
		{"npm plain purl", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/lodash@4.17.20")))}, lodash, true},
		{"npm names are case-insensitive", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/%40Babel/Core@7.0.0")))}, npm, true},
		{"npm purl with qualifiers and subpath", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/%40babel/core@7.0.0?foo=bar#sub")))}, npm, true},
		{"npm purl of another version", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/%40babel/core@7.1.0")))}, npm, false},
		{"npm purl of another package", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/%40babel/cli@7.0.0")))}, npm, false},
		{"deb: the namespace is the vendor, not part of the name", []string{vexDoc(st(cve, "not_affected", image("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12")))}, openssl, true},
		{"deb: another version", []string{vexDoc(st(cve, "not_affected", image("pkg:deb/debian/openssl@3.0.11-1")))}, openssl, false},
		{"deb names are case-sensitive", []string{vexDoc(st(cve, "not_affected", image("pkg:deb/debian/OpenSSL")))}, openssl, false},
		{"pypi names are case-insensitive and normalised", []string{vexDoc(st(cve, "not_affected", image("pkg:pypi/pyyaml@5.3")))}, pyyaml, true},
		{"pypi: another package", []string{vexDoc(st(cve, "not_affected", image("pkg:pypi/pyyaml-include@5.3")))}, pyyaml, false},
		{"maven: group:artifact is not the bare artifact", []string{vexDoc(st(cve, "not_affected", image("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")))}, log4j, false},
		{"maven: artifact without group", []string{vexDoc(st(cve, "not_affected", image("pkg:maven/log4j-core@2.14.1")))}, log4j, true},

		// Subcomponent purls: type.
		{"type mismatch: npm purl for a go module", []string{vexDoc(st(cve, "not_affected", image("pkg:npm/golang.org/x/net@v0.1.0")))}, finding, false},
		{"type mismatch: pypi purl for an npm package", []string{vexDoc(st(ghsa, "not_affected", image("pkg:pypi/lodash@4.17.20")))}, lodash, false},
		{"type mismatch: generic purl for a deb", []string{vexDoc(st(cve, "not_affected", image("pkg:generic/openssl")))}, openssl, false},
		{"type is case-insensitive", []string{vexDoc(st(ghsa, "not_affected", image("pkg:NPM/lodash@4.17.20")))}, lodash, true},
		{"finding without a type: type not compared", []string{vexDoc(st(ghsa, "not_affected", image("pkg:npm/lodash@4.17.20")))}, untyped, true},
		{"finding of an unmapped type: type not compared", []string{vexDoc(st(ghsa, "not_affected", image("pkg:generic/lodash@4.17.20")))}, Finding{ID: "GHSA-npm", Severity: "critical", Package: "lodash", Version: "4.17.20", Type: "binary"}, true},

		// Latest statement wins.
		{"later statement wins: affected after not_affected",
			[]string{vexDoc(st(cve, "not_affected", image()), imageAt("2026-02-01T00:00:00Z", "affected"))}, finding, false},
		{"later statement wins: fixed after affected",
			[]string{vexDoc(imageAt("2026-01-05T00:00:00Z", "affected"), imageAt("2026-03-01T00:00:00Z", "fixed"))}, finding, true},
		{"later statement wins: affected for the package after not_affected for the image",
			[]string{vexDoc(st(cve, "not_affected", image()), imageAt("2026-02-01T00:00:00Z", "affected", "pkg:golang/golang.org/x/net"))}, finding, false},
		{"timestamp beats document order",
			[]string{vexDoc(imageAt("2026-05-01T00:00:00Z", "not_affected")), vexDoc(st(cve, "affected", image()))}, finding, true},
		{"equal times: the later document wins",
			[]string{vexDoc(st(cve, "not_affected", image())), vexDoc(st(cve, "affected", image()))}, finding, false},
		{"statement for another package does not override",
			[]string{vexDoc(st(cve, "not_affected", image()), imageAt("2026-02-01T00:00:00Z", "affected", "pkg:golang/other@v1"))}, finding, true},
		{"statement for another image does not override",
			[]string{vexDoc(st(cve, "not_affected", image()), `{"vulnerability":{"name":"CVE-2024-1000"},"status":"affected","timestamp":"2026-02-01T00:00:00Z","products":[{"@id":"ghcr.io/acme/app@`+other+`"}]}`)}, finding, true},
		{"statement without products does not override",
			[]string{vexDoc(st(cve, "not_affected", image()), `{"vulnerability":{"name":"CVE-2024-1000"},"status":"affected","timestamp":"2026-02-01T00:00:00Z"}`)}, finding, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", VEXDocuments: tt.docs}}
			if err := p.Validate(); err != nil {
				t.Fatalf("policy invalid: %v", err)
			}
			d := Evaluate(p, Facts{Now: now, Image: img, Findings: []Finding{tt.f}})
			if got := len(d.Suppressed) == 1 && len(d.Violations) == 0; got != tt.suppressed || d.Passed != tt.suppressed {
				t.Fatalf("suppressed = %v, want %v: %+v", got, tt.suppressed, d)
			}
			if tt.suppressed && d.Suppressed[0].Source != "vex" {
				t.Errorf("source %q", d.Suppressed[0].Source)
			}
		})
	}
}

func TestVEXWithoutImageDigest(t *testing.T) {
	doc := vexDoc(`{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"@id":"pkg:oci/app@sha256%3A"}]}`)
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "low", VEXDocuments: []string{doc}}}
	d := Evaluate(p, Facts{Now: now, Findings: []Finding{{ID: "CVE-1", Severity: "low", Package: "a", Version: "1"}}})
	if d.Passed || len(d.Suppressed) != 0 {
		t.Errorf("an image without a digest matched a product: %+v", d)
	}
}

func TestParsePURL(t *testing.T) {
	tests := []struct {
		in   string
		want purl
		ok   bool
	}{
		{"pkg:golang/golang.org/x/text@v0.3.7", purl{typ: "golang", namespace: "golang.org/x", name: "text", version: "v0.3.7", hasVersion: true}, true},
		{"pkg:npm/%40babel/core@7.0.0?x=y#z", purl{typ: "npm", namespace: "@babel", name: "core", version: "7.0.0", hasVersion: true}, true},
		{"pkg:npm/@babel/core", purl{typ: "npm", namespace: "@babel", name: "core"}, true},
		{"PKG:NPM/lodash", purl{typ: "npm", name: "lodash"}, true},
		{"pkg://deb/debian/libc6@2.36-9%2Bdeb12u4", purl{typ: "deb", namespace: "debian", name: "libc6", version: "2.36-9+deb12u4", hasVersion: true}, true},
		{"pkg:deb/debian/bash@1%3A5.2", purl{typ: "deb", namespace: "debian", name: "bash", version: "1:5.2", hasVersion: true}, true},
		{"pkg:npm", purl{}, false},
		{"pkg:npm/", purl{}, false},
		{"pkg:npm//lodash", purl{}, false},
		{"pkg:/lodash", purl{}, false},
		{"npm/lodash", purl{}, false},
		{"", purl{}, false},
	}
	for _, tt := range tests {
		got, ok := parsePURL(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parsePURL(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVEXSuppressionReasonAndIgnorePrecedence(t *testing.T) {
	img := Image{Repository: "ghcr.io/acme/app", Digest: digestOf('d')}
	doc := vexDoc(`{"vulnerability":{"name":"CVE-1"},"status":"not_affected","justification":"component_not_present","impact_statement":"not shipped",` +
		`"products":[{"@id":"ghcr.io/acme/app@` + img.Digest + `","subcomponents":[{"@id":"pkg:generic/a@1"}]}]}`)
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "low", VEXDocuments: []string{doc},
		Ignore: []Ignore{{ID: "CVE-2", Reason: "accepted"}, {ID: "CVE-1", Package: "a", Reason: "lapsed", Expires: "2020-01-01"}}}}
	d := Evaluate(p, Facts{Now: now, Image: img, Findings: []Finding{
		{ID: "CVE-2", Severity: "low", Package: "b", Version: "1"},
		{ID: "CVE-1", Severity: "low", Package: "a", Version: "1"},
	}})
	want := []Suppression{
		{Subject: "CVE-1 a@1", Source: "vex", Reason: "OpenVEX vulnerabilities.vex_documents[0] statements[0] (CVE-1): not_affected, component_not_present: not shipped"},
		{Subject: "CVE-2 b@1", Source: "ignore", Reason: "vulnerabilities.ignore[0] (CVE-2): accepted"},
	}
	if !d.Passed || !reflect.DeepEqual(d.Suppressed, want) {
		t.Errorf("got %+v\nwant %+v", d, want)
	}
}

func TestFindingsGiveOneViolationEach(t *testing.T) {
	f := Finding{ID: "CVE-1", Severity: "high", Package: "a", Version: "1"}
	g := Finding{ID: "CVE-1", Severity: "high", Package: "b", Version: "1"}
	h := Finding{ID: "CVE-2", Severity: "high", Package: "a", Version: "1"}
	d := Evaluate(&Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high"}}, Facts{Now: now, Findings: []Finding{h, g, f, f}})
	if got, want := subjects(d.Violations), []string{"CVE-1 a@1", "CVE-1 b@1", "CVE-2 a@1"}; !slices.Equal(got, want) {
		t.Errorf("subjects %q, want %q (identical findings are reported once)", got, want)
	}
}

func TestWarnDoesNotFail(t *testing.T) {
	fs := Facts{Now: now, Image: Image{Repository: "quay.io/x/y", User: "root"}, Findings: []Finding{{ID: "CVE-1", Severity: "critical"}}}
	warn := &Policy{
		Vulnerabilities: &VulnerabilityRule{Action: ActionWarn, FailOnSeverity: "low"},
		User:            &UserRule{Action: ActionWarn, RequireNonRoot: true},
		BaseImage:       &BaseImageRule{Action: ActionWarn, Trusted: []string{"cgr.dev/chainguard/*"}},
		Registries:      &RegistryRule{Action: ActionWarn, Trusted: []string{"ghcr.io"}},
	}
	d := Evaluate(warn, fs)
	if !d.Passed || len(d.Violations) != 4 {
		t.Fatalf("warn-only: %+v", d)
	}
	for _, v := range d.Violations {
		if v.Action != ActionWarn {
			t.Errorf("action %q", v.Action)
		}
	}
	// One rule at stop fails the decision.
	warn.Registries.Action = ""
	d = Evaluate(warn, fs)
	if d.Passed || len(d.Violations) != 4 {
		t.Fatalf("one stop: %+v", d)
	}
	if v := d.Violations[1]; v.Rule != RuleRegistries || v.Action != ActionStop {
		t.Errorf("registries violation %+v", v)
	}
}

func TestEvaluateInvalidOrEmptyPolicy(t *testing.T) {
	// A policy that checks nothing is invalid too: it must not pass silently.
	for _, p := range []*Policy{nil, {Version: 2}, {Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "bad"}},
		{Name: "empty"}, {User: &UserRule{}}, {BaseImage: &BaseImageRule{}}} {
		d := Evaluate(p, Facts{Now: now})
		if d.Passed || len(d.Violations) != 1 || d.Violations[0].Rule != RulePolicy || d.Violations[0].Action != ActionStop ||
			!strings.HasPrefix(d.Violations[0].Message, "the policy is invalid, so no image can pass it: ") {
			t.Errorf("Evaluate(%+v) = %+v", p, d)
		}
	}
}

func TestRegistries(t *testing.T) {
	tests := []struct {
		trusted []string
		repo    string
		ok      bool
	}{
		{[]string{"ghcr.io"}, "ghcr.io/acme/app", true},
		{[]string{"ghcr.io"}, "ghcr.io/acme/team/app", true},
		{[]string{"ghcr.io"}, "ghcr.io.evil.com/acme/app", false},
		{[]string{"ghcr.io"}, "quay.io/acme/app", false},
		{[]string{"GHCR.IO"}, "ghcr.io/acme/app", true},
		{[]string{"docker.io"}, "index.docker.io/library/alpine", true},
		{[]string{"docker.io"}, "docker.io/library/alpine", true},
		{[]string{"index.docker.io"}, "index.docker.io/library/alpine", true},
		{[]string{"ghcr.io/acme/*"}, "ghcr.io/acme/app", true},
		{[]string{"ghcr.io/acme/*"}, "ghcr.io/acme/team/app", false},
		{[]string{"ghcr.io/acme/*"}, "ghcr.io/other/app", false},
		{[]string{"ghcr.io/acme/*"}, "ghcr.io/acme", false},
		{[]string{"ghcr.io/acme/app"}, "ghcr.io/acme/app", true},
		{[]string{"ghcr.io/acme/app"}, "ghcr.io/acme/app2", false},
		{[]string{"docker.io/library/*"}, "index.docker.io/library/alpine", true},
		{[]string{"docker.io/library/*"}, "index.docker.io/bitnami/nginx", false},
		{[]string{"*.gcr.io"}, "us.gcr.io/project/app", true},
		{[]string{"*.gcr.io"}, "gcr.io/project/app", false},
		{[]string{"localhost:5000"}, "localhost:5000/app", true},
		{[]string{"localhost:5000"}, "localhost:5001/app", false},
		{[]string{"quay.io", "ghcr.io/acme/*"}, "ghcr.io/acme/app", true},
		{[]string{"ghcr.io"}, "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.trusted, tt.repo), func(t *testing.T) {
			p := &Policy{Registries: &RegistryRule{Trusted: tt.trusted}}
			d := Evaluate(p, Facts{Image: Image{Repository: tt.repo}})
			if d.Passed != tt.ok {
				t.Fatalf("passed = %v, want %v: %+v", d.Passed, tt.ok, d.Violations)
			}
		})
	}
	d := Evaluate(&Policy{Registries: &RegistryRule{Trusted: []string{"quay.io", "ghcr.io/acme/*"}}}, Facts{Image: Image{Repository: "docker.io/library/alpine"}})
	want := []Violation{{Rule: RuleRegistries, Action: ActionStop, CIS: "", Subject: "index.docker.io/library/alpine",
		Message: "repository index.docker.io/library/alpine is not from a trusted registry (trusted: ghcr.io/acme/*, quay.io)"}}
	if !slices.Equal(d.Violations, want) {
		t.Errorf("got %+v", d.Violations)
	}
}

func TestDeterministicOrder(t *testing.T) {
	p := &Policy{
		Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "low", Ignore: []Ignore{{ID: "CVE-5", Reason: "r"}, {ID: "CVE-6", Reason: "r"}}},
		User:            &UserRule{RequireNonRoot: true},
		BaseImage:       &BaseImageRule{Trusted: []string{"cgr.dev/chainguard/*"}},
		Registries:      &RegistryRule{Trusted: []string{"ghcr.io"}},
	}
	var findings []Finding
	for i := range 12 {
		findings = append(findings, Finding{ID: fmt.Sprintf("CVE-%d", i%7), Severity: "high", Package: fmt.Sprintf("pkg%d", i%3), Version: "1"})
	}
	facts := Facts{Now: now, Image: Image{Repository: "quay.io/a/b", User: "root"}, Findings: findings}
	first := Evaluate(p, facts)
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(findings)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		facts.Findings = shuffled
		if d := Evaluate(p, facts); !reflect.DeepEqual(d, first) {
			t.Fatalf("order depends on input:\n%+v\n%+v", d, first)
		}
	}
	var rules []string
	for _, v := range first.Violations {
		rules = append(rules, v.Rule)
	}
	if !slices.IsSorted(rules) || rules[0] != RuleBaseImage || rules[len(rules)-1] != RuleVulnerabilities {
		t.Errorf("rules not sorted: %q", rules)
	}
	if !slices.IsSortedFunc(first.Violations, func(a, b Violation) int {
		return strings.Compare(a.Rule+"\x00"+a.Subject+"\x00"+a.Message, b.Rule+"\x00"+b.Subject+"\x00"+b.Message)
	}) {
		t.Errorf("violations not sorted: %+v", first.Violations)
	}
	if got := suppressed(first.Suppressed); len(got) != 2 || !slices.IsSorted(got) {
		t.Errorf("suppressed %q", got)
	}
}
