package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestTreatUnknownAs checks how findings of unknown severity are judged and
// counted, with and without treat_unknown_as.
func TestTreatUnknownAs(t *testing.T) {
	unknown := Finding{ID: "CVE-2026-1", Package: "openssl", Version: "3.0.1", Severity: "unknown"}
	with := func(f Finding, edit func(*Finding)) Finding { edit(&f); return f }
	tests := []struct {
		name       string
		rule       VulnerabilityRule
		findings   []Finding
		violations int
		unknown    int
		message    string // a part of the first violation's message
	}{
		{"unset: an unscored unknown finding passes and is counted",
			VulnerabilityRule{FailOnSeverity: "negligible"}, []Finding{unknown}, 0, 1, ""},
		{"unset: empty and unrecognised severities are unknown too",
			VulnerabilityRule{FailOnSeverity: "low", MaxCVSSScore: f64(0)},
			[]Finding{with(unknown, func(f *Finding) { f.Severity = "" }), with(unknown, func(f *Finding) { f.ID, f.Severity = "CVE-2026-2", "severe" })}, 0, 2, ""},
		{"unset: a scored unknown finding is judged by max_cvss_score, not counted",
			VulnerabilityRule{MaxCVSSScore: f64(7)}, []Finding{with(unknown, func(f *Finding) { f.CVSSScore = new(9.8) })}, 1, 0, "CVSS at or above max_cvss_score 7"},
		{"unset: a scored unknown finding under fail_on_severity alone is counted",
			VulnerabilityRule{FailOnSeverity: "low"}, []Finding{with(unknown, func(f *Finding) { f.CVSSScore = new(9.8) })}, 0, 1, ""},
		{"unset: known severities are not counted",
			VulnerabilityRule{FailOnSeverity: "critical"}, []Finding{with(unknown, func(f *Finding) { f.Severity = "High" })}, 0, 0, ""},
		{"unset: only_fixed excludes, so not counted",
			VulnerabilityRule{FailOnSeverity: "low", OnlyFixed: true}, []Finding{with(unknown, func(f *Finding) { f.FixState = "not-fixed" })}, 0, 0, ""},
		{"critical: fails fail_on_severity high",
			VulnerabilityRule{FailOnSeverity: "high", TreatUnknownAs: "critical"}, []Finding{unknown}, 1, 1,
			"severity unknown, counted as critical by treat_unknown_as, severity at or above fail_on_severity high"},
		{"critical: fails max_cvss_score 9 by the band of critical",
			VulnerabilityRule{MaxCVSSScore: f64(9), TreatUnknownAs: "Critical"}, []Finding{unknown}, 1, 1,
			"no CVSS score; severity unknown, counted as critical by treat_unknown_as, severity critical is CVSS 9.0 or more"},
		{"low: below fail_on_severity high, still counted",
			VulnerabilityRule{FailOnSeverity: "high", TreatUnknownAs: "low"}, []Finding{unknown}, 0, 1, ""},
		{"high: a known severity is not replaced",
			VulnerabilityRule{FailOnSeverity: "high", TreatUnknownAs: "critical"}, []Finding{with(unknown, func(f *Finding) { f.Severity = "medium" })}, 0, 0, ""},
		{"critical: a score still decides under max_cvss_score",
			VulnerabilityRule{MaxCVSSScore: f64(7), TreatUnknownAs: "critical"}, []Finding{with(unknown, func(f *Finding) { f.CVSSScore = f64(5) })}, 0, 0, ""},
		{"critical: an ignore entry still suppresses, and a waived finding is not counted",
			VulnerabilityRule{FailOnSeverity: "high", TreatUnknownAs: "critical", Ignore: []Ignore{{ID: "CVE-2026-1", Reason: "not reachable"}}}, []Finding{unknown}, 0, 0, ""},
		{"unset: a waived finding is not counted as unjudged",
			VulnerabilityRule{FailOnSeverity: "high", Ignore: []Ignore{{ID: "CVE-2026-1", Reason: "not reachable"}}}, []Finding{unknown}, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(&Policy{Vulnerabilities: &tt.rule}, Facts{Now: now, Findings: tt.findings})
			if len(d.Violations) != tt.violations || d.Passed != (tt.violations == 0) {
				t.Fatalf("violations %+v (passed %v), want %d", d.Violations, d.Passed, tt.violations)
			}
			if d.UnknownSeverity != tt.unknown {
				t.Errorf("UnknownSeverity = %d, want %d", d.UnknownSeverity, tt.unknown)
			}
			if want := strings.ToLower(tt.rule.TreatUnknownAs); d.UnknownTreatedAs != want {
				t.Errorf("UnknownTreatedAs = %q, want %q", d.UnknownTreatedAs, want)
			}
			if tt.message != "" && !strings.Contains(d.Violations[0].Message, tt.message) {
				t.Errorf("message %q does not contain %q", d.Violations[0].Message, tt.message)
			}
		})
	}
}

func TestUnknownCountWithoutVulnerabilityRule(t *testing.T) {
	d := Evaluate(&Policy{User: &UserRule{}}, Facts{Now: now, Findings: []Finding{{ID: "CVE-2026-1", Severity: "unknown"}}})
	if d.UnknownSeverity != 0 || d.UnknownTreatedAs != "" {
		t.Errorf("no vulnerabilities rule, yet %d unknown (treated as %q)", d.UnknownSeverity, d.UnknownTreatedAs)
	}
}

func TestTreatUnknownAsValidationAndCanonical(t *testing.T) {
	bad := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", TreatUnknownAs: "unknown"}}
	var ve *ValidationError
	if !errors.As(bad.Validate(), &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "vulnerabilities.treat_unknown_as" {
		t.Fatalf("treat_unknown_as \"unknown\" validated: %v", bad.Validate())
	}
	a, err := Parse([]byte(`{"name":"p","vulnerabilities":{"fail_on_severity":"high","treat_unknown_as":" CRITICAL "}}`))
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := a.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"treat_unknown_as":"critical"`) {
		t.Errorf("canonical document lacks treat_unknown_as: %s", doc)
	}
	b, err := Parse([]byte(`{"name":"p","vulnerabilities":{"fail_on_severity":"high"}}`))
	if err != nil {
		t.Fatal(err)
	}
	docB, _, err := b.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(docB), "treat_unknown_as") || slices.Equal(doc, docB) {
		t.Errorf("unset treat_unknown_as must be absent and change the id: %s", docB)
	}
}
