package gate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

func signedPolicy(pub string, perPlatform bool) *policy.Policy {
	return &policy.Policy{Version: 1, Name: "signed", User: &policy.UserRule{RequireNonRoot: true},
		Signatures: &policy.SignaturesRule{Requirements: verify.Requirements{Keys: []string{pub}}, PerPlatform: perPlatform}}
}

// A signed index passes and is approved by the digest that was signed; an
// unsigned one fails with a violation naming the expected key.
func TestGateSignatures(t *testing.T) {
	reg := testutil.NewRegistry(t)
	idx := testutil.Index(t, platformImage(t, "amd64", "app"), platformImage(t, "arm64", "app"))
	reg.PushIndex(t, "app:signed", idx)
	reg.PushIndex(t, "app:unsigned", withAttestation(t, idx))
	d, _ := idx.Digest()
	pinned := reg.Ref("app") + "@" + d.String()
	key, pub := testutil.GenerateKey(t, "")
	reg.SignWithKey(t, pinned, key, testutil.SignOptions{})
	g := newGate(t, reg)

	res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:signed"), Policy: signedPolicy(pub, false)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Passed || res.ApprovedReference != pinned {
		t.Fatalf("signed index: passed=%v approved=%q violations=%+v, want approved %s", res.Decision.Passed, res.ApprovedReference, res.Decision.Violations, pinned)
	}
	if len(res.Signatures) != 1 || res.Signatures[0].Result.Reference != pinned || !res.Signatures[0].Result.Verified {
		t.Errorf("signatures = %+v", res.Signatures)
	}

	res, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:unsigned"), Policy: signedPolicy(pub, false)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Passed || res.ApprovedReference != "" {
		t.Fatalf("unsigned index passed: %+v", res)
	}
	v := res.Decision.Violations
	if len(v) != 1 || v[0].Rule != policy.RuleSignatures || !strings.HasPrefix(v[0].Subject, "key sha256:") || v[0].Platform != "" || !strings.Contains(v[0].Message, "no cosign signature is attached") {
		t.Errorf("violations = %+v, want one naming the key", v)
	}

	// per_platform also requires each platform's manifest to be signed.
	res, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:signed"), Policy: signedPolicy(pub, true)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Passed || len(res.Signatures) != 3 {
		t.Fatalf("per_platform with unsigned platforms: passed=%v signatures=%d", res.Decision.Passed, len(res.Signatures))
	}
	var platforms []string
	for _, v := range res.Decision.Violations {
		platforms = append(platforms, v.Platform)
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("violations on platforms %q, want one per platform", platforms)
	}
	for _, p := range res.Platforms {
		if p.Decision.Passed || len(p.Decision.Violations) != 1 {
			t.Errorf("platform %s decision %+v, want its signature violation", p.Platform, p.Decision)
		}
	}
	for _, img := range res.Platforms {
		reg.SignWithKey(t, reg.Ref("app")+"@"+img.Image.Digest, key, testutil.SignOptions{Format: testutil.FormatBundle})
	}
	res, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:signed"), Policy: signedPolicy(pub, true)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Passed || res.ApprovedReference != pinned {
		t.Fatalf("every digest signed: passed=%v approved=%q violations=%+v", res.Decision.Passed, res.ApprovedReference, res.Decision.Violations)
	}
}
