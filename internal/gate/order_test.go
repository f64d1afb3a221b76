package gate

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

func vuln(action, platform, id, severity string, cvss float64) policy.Violation {
	return policy.Violation{Rule: policy.RuleVulnerabilities, Action: action, Platform: platform, Subject: id + " in pkg@1",
		Message: id, Finding: policy.FindingRank{ID: id, Severity: severity, CVSS: cvss}}
}

// TestSortViolationsByImportance: stop before warn, image-wide rules
// before findings, then severity, CVSS (higher first) and id, with
// platform, rule, subject and message breaking ties.
func TestSortViolationsByImportance(t *testing.T) {
	user := policy.Violation{Rule: policy.RuleUser, Action: policy.ActionStop, Subject: "root", Message: "runs as root"}
	userWarn := policy.Violation{Rule: policy.RuleUser, Action: policy.ActionWarn, Subject: "root", Message: "runs as root"}
	tests := []struct {
		name string
		want []policy.Violation
	}{
		{"stop before warn", []policy.Violation{
			vuln(policy.ActionStop, "", "CVE-1", "low", 2),
			vuln(policy.ActionWarn, "", "CVE-2", "critical", 9.8),
		}},
		{"other rules before findings", []policy.Violation{
			user,
			vuln(policy.ActionStop, "", "CVE-1", "critical", 10),
			userWarn,
			vuln(policy.ActionWarn, "", "CVE-2", "critical", 10),
		}},
		{"severity, critical first, unknown last", []policy.Violation{
			vuln(policy.ActionStop, "", "CVE-9", "critical", 0),
			vuln(policy.ActionStop, "", "CVE-8", "high", 0),
			vuln(policy.ActionStop, "", "CVE-7", "medium", 9.9),
			vuln(policy.ActionStop, "", "CVE-6", "low", 0),
			vuln(policy.ActionStop, "", "CVE-5", "negligible", 0),
			vuln(policy.ActionStop, "", "CVE-4", "unknown", 10),
			vuln(policy.ActionStop, "", "CVE-3", "", 10),
		}},
		{"CVSS higher first, none last", []policy.Violation{
			vuln(policy.ActionStop, "", "CVE-3", "high", 8.8),
			vuln(policy.ActionStop, "", "CVE-1", "high", 7.5),
			vuln(policy.ActionStop, "", "CVE-2", "high", 0),
		}},
		{"then id", []policy.Violation{
			vuln(policy.ActionStop, "", "CVE-2024-1", "high", 7.5),
			vuln(policy.ActionStop, "", "CVE-2024-2", "high", 7.5),
			vuln(policy.ActionStop, "", "GHSA-aaaa", "high", 7.5),
		}},
		{"then platform, rule, subject, message", []policy.Violation{
			{Rule: "checks.forbid_setuid", Action: policy.ActionStop, Subject: "/usr/bin/su", Message: "a"},
			{Rule: policy.RuleUser, Action: policy.ActionStop, Subject: "root", Message: "a"},
			{Rule: policy.RuleUser, Action: policy.ActionStop, Subject: "root", Message: "b"},
			{Rule: policy.RuleUser, Action: policy.ActionStop, Subject: "uid 0", Message: "a"},
			{Rule: policy.RuleUser, Action: policy.ActionStop, Platform: "linux/arm64", Subject: "root", Message: "a"},
			vuln(policy.ActionStop, "linux/amd64", "CVE-1", "high", 7.5),
			vuln(policy.ActionStop, "linux/arm64", "CVE-1", "high", 7.5),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			for range 20 {
				got := slices.Clone(tt.want)
				rand.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
				got = sortViolations(got)
				if !slices.Equal(got, want) {
					t.Fatalf("got\n%v\nwant\n%v", got, want)
				}
			}
		})
	}
}
