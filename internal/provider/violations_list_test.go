package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// The failure message shows the first maxListed violations in the order
// given (most important first) and says how many more there are and how
// to see them all.
func TestListViolationsMore(t *testing.T) {
	var vs []policy.Violation
	for i := range 13 {
		vs = append(vs, policy.Violation{Rule: policy.RuleVulnerabilities, Action: policy.ActionStop, Message: fmt.Sprintf("finding %d", i)})
	}
	got := listViolations(vs, &gate.Result{Digest: "sha256:abc"})
	lines := strings.Split(got, "\n")
	if len(lines) != maxListed+1 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), maxListed+1, got)
	}
	for i := range maxListed {
		if want := fmt.Sprintf("  - vulnerabilities: finding %d", i); lines[i] != want {
			t.Errorf("line %d: %q, want %q", i, lines[i], want)
		}
	}
	if want := "  ... and 3 more; set enforce = false on the imagegate_gate to write all of them to its violations attribute"; lines[maxListed] != want {
		t.Errorf("last line: %q, want %q", lines[maxListed], want)
	}
	if got := listViolations(vs[:maxListed], &gate.Result{}); strings.Contains(got, "more") {
		t.Errorf("exactly %d violations mention more:\n%s", maxListed, got)
	}
}

// For an index, the most important violations are chosen first and then
// shown under one heading per platform.
func TestListViolationsIndexGroupsShown(t *testing.T) {
	var vs []policy.Violation
	for i := range maxListed + 2 {
		platform := "linux/amd64"
		if i%2 == 1 {
			platform = "linux/arm64"
		}
		vs = append(vs, policy.Violation{Rule: policy.RuleVulnerabilities, Action: policy.ActionStop, Platform: platform, Message: fmt.Sprintf("finding %d", i)})
	}
	res := &gate.Result{Digest: "sha256:index", Index: true, Platforms: []gate.Platform{
		{Platform: "linux/amd64", Image: &registry.Image{Digest: "sha256:amd"}},
		{Platform: "linux/arm64", Image: &registry.Image{Digest: "sha256:arm"}},
	}}
	got := listViolations(vs, res)
	want := "linux/amd64 (sha256:amd):\n  - vulnerabilities: finding 0\n  - vulnerabilities: finding 2\n  - vulnerabilities: finding 4\n  - vulnerabilities: finding 6\n  - vulnerabilities: finding 8\n" +
		"linux/arm64 (sha256:arm):\n  - vulnerabilities: finding 1\n  - vulnerabilities: finding 3\n  - vulnerabilities: finding 5\n  - vulnerabilities: finding 7\n  - vulnerabilities: finding 9\n" +
		"  ... and 2 more; " + gateMore
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
