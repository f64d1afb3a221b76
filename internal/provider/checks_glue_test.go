package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

func checksDecision() *gate.Result {
	return &gate.Result{Digest: "sha256:abc", Decision: policy.Decision{Violations: []policy.Violation{
		{Rule: "checks.forbid_setuid", Action: policy.ActionStop, CIS: policy.CISSetuid, Subject: "/usr/bin/su", Message: "/usr/bin/su has the setuid bit"},
		{Rule: "checks.required_labels", Action: policy.ActionStop, Subject: "org.opencontainers.image.source", Message: "the image has no label org.opencontainers.image.source"},
	}}}
}

// The promotion's evaluation carries each violation's CIS id, null when
// no CIS item covers the check.
func TestEvaluationViolationsCIS(t *testing.T) {
	var diags diag.Diagnostics
	o := evaluationValue(checksDecision(), &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	vl, ok := o.Attributes()["violations"].(types.List)
	if !ok {
		t.Fatalf("violations is a %T, want a list", o.Attributes()["violations"])
	}
	list := vl.Elements()
	if len(list) != 2 {
		t.Fatalf("violations: %v", list)
	}
	cis := func(i int) attr.Value {
		o, ok := list[i].(types.Object)
		if !ok {
			t.Fatalf("violations[%d] is a %T, want an object", i, list[i])
		}
		return o.Attributes()["cis"]
	}
	if got := cis(0); !got.Equal(types.StringValue("4.8")) {
		t.Errorf("cis of checks.forbid_setuid: %v", got)
	}
	if got := cis(1); !got.IsNull() {
		t.Errorf("cis of checks.required_labels: %v, want null", got)
	}
}

// The failure message names each rule with its CIS id, and the remedy
// says how to pass a hygiene check.
func TestListViolationsCIS(t *testing.T) {
	res := checksDecision()
	got := listViolations(res.Decision.Violations, res)
	want := "  - checks.forbid_setuid (CIS 4.8): /usr/bin/su has the setuid bit\n  - checks.required_labels: the image has no label org.opencontainers.image.source"
	if got != want {
		t.Errorf("listViolations:\n%s\nwant:\n%s", got, want)
	}
	if r := remedy(res.Decision.Violations); !strings.HasPrefix(r, "To pass: fix what each hygiene check above names") {
		t.Errorf("remedy: %s", r)
	}
}

// A problem with a key of checks.actions is reported on the map key.
func TestProblemPathMapKey(t *testing.T) {
	got, ok := problemPath("checks.actions.max_age")
	if want := path.Root("checks").AtName("actions").AtMapKey("max_age"); !ok || !got.Equal(want) {
		t.Errorf("problemPath: %v, %v; want %v", got, ok, want)
	}
	got, ok = problemPath("checks.denied_packages[2]")
	if want := path.Root("checks").AtName("denied_packages").AtListIndex(2); !ok || !got.Equal(want) {
		t.Errorf("problemPath: %v, %v; want %v", got, ok, want)
	}
}
