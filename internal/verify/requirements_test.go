package verify

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func pubPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestParseKey(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name, text, wantErr string
	}{
		{"p256", pubPEM(t, &p256.PublicKey), ""},
		{"p384", pubPEM(t, &p384.PublicKey), ""},
		{"p521", pubPEM(t, &p521.PublicKey), ""},
		{"ed25519", pubPEM(t, edPub), ""},
		{"rsa2048", pubPEM(t, &rsa2048.PublicKey), ""},
		{"p224 refused", pubPEM(t, &p224.PublicKey), "curve P-224; use P-256, P-384 or P-521"},
		{"rsa1024 refused", pubPEM(t, &rsa1024.PublicKey), "RSA key of 1024 bits; at least 2048 bits are required"},
		{"not pem", "hello", "is not a PEM public key"},
		{"private key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})), `PEM "EC PRIVATE KEY" block`},
		{"two blocks", pubPEM(t, &p256.PublicKey) + pubPEM(t, &p384.PublicKey), "more than one PEM block"},
		{"garbage der", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2}})), "is not a valid public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := parseKey(tc.text)
			if tc.wantErr == "" {
				if err != nil || !strings.HasPrefix(k.id, "sha256:") || len(k.verifiers) == 0 {
					t.Fatalf("parseKey = %+v, %v", k, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRequirementsCheck(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key := pubPEM(t, &p256.PublicKey)
	root := `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`
	for _, tc := range []struct {
		name string
		req  Requirements
		want []string // "path: message fragment"
	}{
		{"valid key", Requirements{Keys: []string{key}}, nil},
		{"no signer", Requirements{}, []string{": no signer"}},
		{"identity without root", Requirements{Identities: []Identity{{Issuer: "i", Subject: "s"}}}, []string{"trusted_root: is required with identities"}},
		{"identity both exact and regex", Requirements{Identities: []Identity{{Issuer: "i", IssuerRegex: "i.*", Subject: "s"}}, TrustedRoot: root}, []string{"identities[0]: issuer: set the exact value or the regular expression, not both", "trusted_root: lists no certificate authority"}},
		{"identity missing subject", Requirements{Identities: []Identity{{Issuer: "i"}}, TrustedRoot: root}, []string{"identities[0]: subject: is required", "trusted_root: lists no certificate authority"}},
		{"bad regex", Requirements{Identities: []Identity{{Issuer: "i", SubjectRegex: "(["}}, TrustedRoot: root}, []string{`identities[0]: subject: "([" is not a valid regular expression`, "trusted_root: lists no certificate authority"}},
		{"bad root", Requirements{Keys: []string{key}, TrustedRoot: "{not json"}, []string{"trusted_root: is not a sigstore trusted_root.json"}},
		{"minimum unreachable", Requirements{Keys: []string{key, key}, Minimum: 2}, []string{"minimum: is 2 but only 1 distinct keys are listed"}},
		{"negative minimum", Requirements{Keys: []string{key}, Minimum: -1}, []string{"minimum: must be at least 1"}},
		{"empty predicate", Requirements{Keys: []string{key}, Attestations: []Attestation{{}}}, []string{"attestations[0].predicate_type: is required"}},
		{"duplicate predicate", Requirements{Keys: []string{key}, Attestations: []Attestation{{"a"}, {"a"}}}, []string{`attestations[1].predicate_type: "a" is listed twice`}},
		{"bad key", Requirements{Keys: []string{key, "nope"}}, []string{"keys[1]: is not a PEM public key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.req.Check()
			var got []string
			for _, p := range ps {
				got = append(got, p.Path+": "+p.Message)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems = %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestMatcherWholeValue(t *testing.T) {
	re, err := matcher("", "https://github.com/acme/.*")
	if err != nil {
		t.Fatal(err)
	}
	if !re.MatchString("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main") {
		t.Error("regex should match a subject under the prefix")
	}
	if re.MatchString("https://evil.example/?https://github.com/acme/x") {
		t.Error("regex must match the whole subject, not a substring")
	}
	exact, _ := matcher("a.b", "")
	if exact.MatchString("axb") {
		t.Error("an exact value must not be read as a regular expression")
	}
}
