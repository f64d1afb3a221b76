package attest_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

const password = "correct horse battery staple"

// cosignKey returns an encrypted cosign key (as cosign generate-key-pair
// writes it, with cosign's own library) and its public key.
func cosignKey(t *testing.T) (keyPEM []byte, pubPEM string) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	return kb.PrivateBytes, string(kb.PublicBytes)
}

func pkcs8(t *testing.T, alg string) (keyPEM []byte, pubPEM string) {
	t.Helper()
	k, pub := testutil.GenerateKey(t, alg)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pub
}

func TestLoadSigner(t *testing.T) {
	enc, encPub := cosignKey(t)
	p8, p8Pub := pkcs8(t, "ecdsa-p256")
	ed, edPub := pkcs8(t, "ed25519")
	for _, tc := range []struct {
		name     string
		key      []byte
		password string
		pub      string
		err      string
	}{
		{"cosign encrypted", enc, password, encPub, ""},
		{"pkcs8 ecdsa", p8, "", p8Pub, ""},
		{"pkcs8 ed25519", ed, "", edPub, ""},
		{"wrong password", enc, "not the password", "", "password does not decrypt the signing key"},
		{"no password", enc, "", "", "no password was given"},
		{"pkcs8 with password", p8, password, "", "unencrypted PKCS#8 key but a password was given"},
		{"not pem", []byte("cosign.key"), "", "", "not PEM"},
		{"public key", []byte(encPub), "", "", "PUBLIC KEY, not a private key"},
		{"sec1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}), "", "", "convert it to PKCS#8"},
		{"two blocks", append(append([]byte{}, p8...), p8...), "", "", "more than one PEM block"},
		{"broken pkcs8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), "", "", "not a valid PKCS#8 private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := attest.LoadSigner(tc.key, []byte(tc.password))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LoadSigner: %v, want an error containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "not the password") {
					t.Fatalf("the error echoes the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.PublicKeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(got) != strings.TrimSpace(tc.pub) {
				t.Errorf("public key = %s, want %s", got, tc.pub)
			}
			if !strings.HasPrefix(s.KeyID(), "sha256:") {
				t.Errorf("KeyID = %q", s.KeyID())
			}
		})
	}
}

type env struct {
	reg *testutil.Registry
	c   *registry.Client
	pub *attest.Publisher
	v   *verify.Verifier
}

func newEnv(t *testing.T, host string, reg *testutil.Registry) *env {
	t.Helper()
	c, err := registry.New(registry.Options{InsecureRegistries: []string{host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &env{reg: reg, c: c, pub: attest.New(c, func() time.Time { return fixed }), v: verify.New(c, nil)}
}

// push pushes an image as app:1 and returns its digest on host.
func push(t *testing.T, r *testutil.Registry, host string) (name.Digest, v1.Image) {
	t.Helper()
	img := testutil.RandomImage(t, 2, v1.Config{})
	r.Push(t, "app:1", img)
	d, _ := img.Digest()
	dig, err := name.NewDigest(host+"/app@"+d.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return dig, img
}

func signer(t *testing.T) (*attest.Signer, string) {
	t.Helper()
	key, pub := cosignKey(t)
	s, err := attest.LoadSigner(key, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

// TestPublishVerify publishes a custom-predicate attestation and an SPDX
// one, reads them back through internal/verify, and checks that only the
// .att tag was written: the image's tag still names the same digest.
func TestPublishVerify(t *testing.T) {
	r := testutil.NewRegistry(t)
	e := newEnv(t, r.Host, r)
	d, _ := push(t, r, r.Host)
	s, pub := signer(t)
	_, otherPub := testutil.GenerateKey(t, "")
	ctx := context.Background()

	p, err := e.pub.Publish(ctx, d, "custom", []byte(`{"artifacts":[]}`), s)
	if err != nil {
		t.Fatal(err)
	}
	if p.PredicateType != attest.PredicateCustom || !strings.HasSuffix(p.Tag, ".att") || !strings.HasPrefix(p.ManifestDigest, "sha256:") || p.KeyID != s.KeyID() {
		t.Errorf("published = %+v", p)
	}
	spdxDoc := `{"spdxVersion":"SPDX-2.3","name":"x"}`
	if _, err := e.pub.Publish(ctx, d, attest.PredicateSPDX, []byte(spdxDoc), s); err != nil {
		t.Fatal(err)
	}

	sts, rejected, err := e.v.Statements(ctx, d, []string{pub}, []string{attest.PredicateCustom, attest.PredicateSPDX})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 2 || len(rejected) != 0 {
		t.Fatalf("statements = %+v, rejected = %+v, want 2 verified", sts, rejected)
	}
	var custom struct{ Data, Timestamp string }
	if err := json.Unmarshal(sts[0].Predicate, &custom); err != nil || custom.Data != `{"artifacts":[]}` || custom.Timestamp != "2026-01-02T03:04:05Z" {
		t.Errorf("custom predicate = %s (%v)", sts[0].Predicate, err)
	}
	if sts[1].PredicateType != attest.PredicateSPDX || !strings.Contains(string(sts[1].Predicate), `"SPDX-2.3"`) {
		t.Errorf("spdx statement = %+v", sts[1])
	}
	if sts[0].Signer.KeyID != s.KeyID() {
		t.Errorf("signer = %+v, want %s", sts[0].Signer, s.KeyID())
	}

	// A foreign key verifies nothing.
	sts, rejected, err = e.v.Statements(ctx, d, []string{otherPub}, []string{attest.PredicateCustom})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 0 || len(rejected) != 2 || !strings.Contains(rejected[0].Reason, "does not verify with this key") || !strings.Contains(rejected[1].Reason, "not one that is used here") {
		t.Fatalf("foreign key: statements = %+v, rejected = %+v", sts, rejected)
	}

	// The image is untouched: its tag names the same digest.
	got, err := e.c.ResolveDigest(ctx, r.Host+"/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if got.DigestStr() != d.DigestStr() {
		t.Errorf("app:1 now names %s, want %s", got.DigestStr(), d.DigestStr())
	}
	if _, _, err := e.v.Statements(ctx, d, nil, []string{attest.PredicateCustom}); err == nil {
		t.Error("Statements without keys succeeded")
	}
}

// TestPublishOtherDigestRefused: a statement is only ever about the digest
// it is attached to, so an attestation copied to another digest's .att tag
// is rejected by the verifier as about another digest.
func TestPublishCopiedToAnotherDigest(t *testing.T) {
	r := testutil.NewRegistry(t)
	e := newEnv(t, r.Host, r)
	d, _ := push(t, r, r.Host)
	s, pub := signer(t)
	ctx := context.Background()
	if _, err := e.pub.Publish(ctx, d, "custom", []byte("sbom"), s); err != nil {
		t.Fatal(err)
	}
	other := testutil.RandomImage(t, 1, v1.Config{})
	r.Push(t, "app:2", other)
	od, _ := other.Digest()
	h, _ := v1.NewHash(d.DigestStr())
	attTag, _ := name.ParseReference(r.Host+"/app:sha256-"+h.Hex+".att", name.Insecure)
	otherTag := r.Host + "/app:sha256-" + od.Hex + ".att"
	copyManifest(t, attTag, otherTag)
	odig, _ := name.NewDigest(r.Host+"/app@"+od.String(), name.Insecure)
	sts, rejected, err := e.v.Statements(ctx, odig, []string{pub}, []string{attest.PredicateCustom})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 0 || len(rejected) != 1 || !strings.Contains(rejected[0].Reason, "made for another digest") {
		t.Fatalf("statements = %+v, rejected = %+v", sts, rejected)
	}
}

// TestPublishRefused: a registry that refuses the upload makes Publish
// fail with a classified registry error naming the .att tag.
func TestPublishRefused(t *testing.T) {
	r := testutil.NewRegistry(t)
	host := r.Faulty(t, testutil.FailBlobUploads(1, 1000, http.StatusForbidden))
	e := newEnv(t, host, r)
	d, _ := push(t, r, host)
	s, _ := signer(t)
	_, err := e.pub.Publish(context.Background(), d, "custom", []byte("sbom"), s)
	var re *registry.Error
	if err == nil || !errorsAs(err, &re) || !strings.Contains(err.Error(), ".att") {
		t.Fatalf("Publish on a refusing registry: %v, want a registry error naming the .att tag", err)
	}
}

func TestPublishBadInput(t *testing.T) {
	r := testutil.NewRegistry(t)
	e := newEnv(t, r.Host, r)
	d, _ := push(t, r, r.Host)
	s, _ := signer(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, typ, pred, err string
		s                    *attest.Signer
	}{
		{"no signer", "custom", "x", "needs a signing key", nil},
		{"no type", "", "x", "needs a predicate type", s},
		{"uri with non-json", "https://example.com/p", "not json", "invalid JSON payload", s},
	} {
		if _, err := e.pub.Publish(ctx, d, tc.typ, []byte(tc.pred), tc.s); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestPublishCosignCLI: the cosign CLI accepts what Publish wrote, with
// the default flags of verify-attestation (it falls back to the classic
// format when the digest has no bundle).
func TestPublishCosignCLI(t *testing.T) {
	keyPath, pub := testutil.CosignKeyPair(t)
	key := readFile(t, keyPath)
	s, err := attest.LoadSigner(key, []byte(testutil.CosignPassword))
	if err != nil {
		t.Fatal(err)
	}
	r := testutil.NewRegistry(t)
	e := newEnv(t, r.Host, r)
	d, _ := push(t, r, r.Host)
	ctx := context.Background()
	if _, err := e.pub.Publish(ctx, d, "custom", []byte(`{"hello":"sbom"}`), s); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pub.Publish(ctx, d, "https://example.com/verdict/v1", []byte(`{"passed":true}`), s); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", "-o", "json"}
	for _, typ := range []string{"custom", "https://example.com/verdict/v1"} {
		out := testutil.Cosign(t, append(append([]string{"verify-attestation", "--key", testutil.CosignPublicKeyPath(keyPath), "--type", typ}, flags...), d.String())...)
		if !strings.Contains(out, "payload") {
			t.Errorf("cosign verify-attestation --type %s printed %q", typ, out)
		}
	}
	_, other := testutil.GenerateKey(t, "")
	otherPath := t.TempDir() + "/other.pub"
	writeFile(t, otherPath, []byte(other))
	if _, err := testutil.CosignErr(t, append(append([]string{"verify-attestation", "--key", otherPath, "--type", "custom"}, flags...), d.String())...); err == nil {
		t.Error("cosign verify-attestation accepted the attestation with another key")
	}
	_ = pub
}

// TestPublishConcurrent: publishes to one digest at once (two verdicts, a
// verdict and an SBOM, in one apply) each append to the .att manifest and
// none drops another's attestation, even from separate Publishers.
func TestPublishConcurrent(t *testing.T) {
	r := testutil.NewRegistry(t)
	e := newEnv(t, r.Host, r)
	d, _ := push(t, r, r.Host)
	s, pub := signer(t)
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			p := attest.New(e.c, nil)
			_, errs[i] = p.Publish(ctx, d, "custom", fmt.Appendf(nil, `{"n":%d}`, i), s)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	sts, rejected, err := e.v.Statements(ctx, d, []string{pub}, []string{attest.PredicateCustom})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != n || len(rejected) != 0 {
		t.Fatalf("%d attestations verified (%d rejected) after %d concurrent publishes", len(sts), len(rejected), n)
	}
}
