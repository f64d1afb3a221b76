package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

func testKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestParseSignaturesRule(t *testing.T) {
	key := testKeyPEM(t)
	doc := `{"name":"signed","signatures":{"keys":[` + jsonString(key) + `],"annotations":{"team":"payments"},
	  "attestations":[{"predicate_type":"https://slsa.dev/provenance/v1"}],"require_docker_reference":true,"per_platform":true}}`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r := p.Signatures
	if len(r.Keys) != 1 || r.Annotations["team"] != "payments" || len(r.Attestations) != 1 || !r.RequireDockerReference || !r.PerPlatform {
		t.Errorf("Parse gave %+v", r)
	}
	canon, _, err := p.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(canon), `"action":"stop"`) || !strings.Contains(string(canon), `"minimum":1`) {
		t.Errorf("canonical document lacks the defaults: %s", canon)
	}
	again, err := Parse(canon)
	if err != nil {
		t.Fatalf("the canonical document does not parse: %v", err)
	}
	canon2, _, _ := again.Canonical()
	if string(canon2) != string(canon) {
		t.Errorf("canonical form is not stable:\n%s\n%s", canon, canon2)
	}
}

func TestSignaturesRuleProblems(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"name":"x","signatures":{}}`, "signatures: no signer"},
		{`{"name":"x","signatures":{"keys":["nope"]}}`, "signatures.keys[0]: is not a PEM public key"},
		{`{"name":"x","signatures":{"keys":"nope"}}`, "signatures.keys: must be a list"},
		{`{"name":"x","signatures":{"annotations":{"a":1}}}`, "signatures.annotations.a: must be a string"},
		{`{"name":"x","signatures":{"annotations":{"a":"1","a":"2"}}}`, "signatures.annotations.a: duplicate field"},
		{`{"name":"x","signatures":{"identities":[{"issuer":"i","subject":"s"}]}}`, "signatures.trusted_root: is required with identities"},
		{`{"name":"x","signatures":{"action":"maybe","keys":[]}}`, `signatures.action: "maybe" is not an action`},
		{`{"name":"x","signatures":{"bogus":1}}`, "signatures.bogus: unknown field"},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestEvaluateSignatures(t *testing.T) {
	key := testKeyPEM(t)
	p := &Policy{Name: "x", Signatures: &SignaturesRule{Requirements: verify.Requirements{Keys: []string{key}}}}
	warn := &Policy{Name: "x", Signatures: &SignaturesRule{Action: ActionWarn, Requirements: verify.Requirements{Keys: []string{key}}}}
	ok := &verify.Result{Reference: "r@sha256:1", Digest: "sha256:1", Verified: true}
	bad := &verify.Result{Reference: "r@sha256:2", Digest: "sha256:2", Failures: []verify.Failure{
		{Expected: "key sha256:k2", Message: "no cosign signature"}, {Expected: "attestation t", Message: "none"}}}
	for _, tc := range []struct {
		name       string
		p          *Policy
		checks     []SignatureCheck
		passed     bool
		violations []string // platform|subject
	}{
		{"no rule passes", &Policy{Name: "x", User: &UserRule{RequireNonRoot: true}}, nil, true, nil},
		{"verified", p, []SignatureCheck{{Result: ok}}, true, nil},
		{"no check fails closed", p, nil, false, []string{"|signatures"}},
		{"nil result fails closed", p, []SignatureCheck{{Platform: "linux/amd64"}}, false, []string{"linux/amd64|signatures"}},
		{"failures name the expected signer", p, []SignatureCheck{{Result: ok}, {Platform: "linux/arm64", Result: bad}}, false,
			[]string{"linux/arm64|attestation t", "linux/arm64|key sha256:k2"}},
		{"warn passes", warn, []SignatureCheck{{Result: bad}}, true, []string{"|attestation t", "|key sha256:k2"}},
		{"unverified without failures", p, []SignatureCheck{{Result: &verify.Result{Reference: "r@sha256:3", Digest: "sha256:3"}}}, false, []string{"|sha256:3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := EvaluateSignatures(tc.p, tc.checks)
			var got []string
			for _, v := range d.Violations {
				if v.Rule != RuleSignatures {
					t.Errorf("violation of rule %q", v.Rule)
				}
				got = append(got, v.Platform+"|"+v.Subject)
			}
			if d.Passed != tc.passed || strings.Join(got, ",") != strings.Join(tc.violations, ",") {
				t.Errorf("passed=%v violations=%q, want %v %q", d.Passed, got, tc.passed, tc.violations)
			}
		})
	}
}
