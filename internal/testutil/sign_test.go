package testutil

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/oci"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	ctypes "github.com/sigstore/cosign/v3/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

const (
	testIssuer  = "https://token.actions.githubusercontent.com"
	testSubject = "https://github.com/imagegate/app/.github/workflows/release.yml@refs/heads/main"
)

func pushTestImage(t *testing.T, r *Registry) (string, name.Digest) {
	t.Helper()
	ref := r.Push(t, "app:1", RandomImage(t, 1, v1.Config{}))
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref, d
}

// keyVerifier loads a public key PEM the way a verifier should: the hash
// follows the key (ECDSA P-384 signs SHA-384), ED25519 is Ed25519ph.
func keyVerifier(t *testing.T, pubPEM string) signature.Verifier {
	t.Helper()
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadDefaultVerifier(pub, options.WithED25519ph())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func trustedRoot(t *testing.T, s *Sigstore) *root.TrustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON([]byte(s.TrustedRoot(t)))
	if err != nil {
		t.Fatalf("cosign cannot read the trusted root: %v", err)
	}
	return tr
}

func verifySignatures(t *testing.T, d name.Digest, co *cosign.CheckOpts) []oci.Signature {
	t.Helper()
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	sigs, _, err := cosign.VerifyImageSignatures(context.Background(), d, co)
	if err != nil {
		t.Fatalf("cosign rejects the classic signature of %s: %v", d, err)
	}
	return sigs
}

func verifyAttestations(t *testing.T, d name.Digest, co *cosign.CheckOpts) []oci.Signature {
	t.Helper()
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(context.Background(), d, co)
	if err != nil {
		t.Fatalf("cosign rejects the attestation of %s: %v", d, err)
	}
	return atts
}

// verifyBundles checks every bundle referrer of d with cosign.VerifyNewBundle
// and returns their in-toto statements.
func verifyBundles(t *testing.T, d name.Digest, co *cosign.CheckOpts) []map[string]any {
	t.Helper()
	co.NewBundleFormat = true
	bundles, h, err := cosign.GetBundles(context.Background(), d, co.RegistryClientOpts)
	if err != nil {
		t.Fatalf("cosign finds no bundle for %s: %v", d, err)
	}
	raw, err := hex.DecodeString(h.Hex)
	if err != nil {
		t.Fatal(err)
	}
	var statements []map[string]any
	for _, b := range bundles {
		if _, err := cosign.VerifyNewBundle(context.Background(), co, verify.WithArtifactDigest(h.Algorithm, raw), b); err != nil {
			t.Fatalf("cosign rejects the bundle of %s: %v", d, err)
		}
		var st map[string]any
		if err := json.Unmarshal(b.GetDsseEnvelope().GetPayload(), &st); err != nil {
			t.Fatal(err)
		}
		statements = append(statements, st)
	}
	// The same check through cosign's image entry point.
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	if _, _, err := cosign.VerifyImageAttestations(context.Background(), d, co); err != nil {
		t.Fatalf("cosign.VerifyImageAttestations rejects the bundles of %s: %v", d, err)
	}
	return statements
}

func simplePayload(t *testing.T, sig oci.Signature) map[string]any {
	t.Helper()
	p, err := sig.Payload()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func TestSignWithKeyClassic(t *testing.T) {
	r := NewRegistry(t)
	_, d := pushTestImage(t, r)
	key, pub := GenerateKey(t, "")
	r.SignWithKey(t, d.String(), key, SignOptions{Annotations: map[string]string{"env": "prod"}})

	sigs := verifySignatures(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true})
	if len(sigs) != 1 {
		t.Fatalf("got %d signatures, want 1", len(sigs))
	}
	p := simplePayload(t, sigs[0])
	if got := get(p, "critical", "identity", "docker-reference"); got != d.Repository.Name() {
		t.Errorf("docker-reference = %v, want %s", got, d.Repository.Name())
	}
	if got := get(p, "critical", "type"); got != "cosign container image signature" {
		t.Errorf("type = %v", got)
	}
	if got := get(p, "optional", "env"); got != "prod" {
		t.Errorf("optional.env = %v, want prod", got)
	}

	// Another key does not verify it, so the check above means something.
	_, other := GenerateKey(t, "")
	co := &cosign.CheckOpts{SigVerifier: keyVerifier(t, other), IgnoreTlog: true, ClaimVerifier: cosign.SimpleClaimVerifier}
	if _, _, err := cosign.VerifyImageSignatures(context.Background(), d, co); err == nil {
		t.Fatal("a signature verified with the wrong key")
	}
}

func TestSignWithKeyAlgorithms(t *testing.T) {
	for _, alg := range []string{"ecdsa-p384", "ecdsa-p521", "ed25519", "rsa-2048"} {
		t.Run(alg, func(t *testing.T) {
			r := NewRegistry(t)
			_, d := pushTestImage(t, r)
			key, pub := GenerateKey(t, alg)
			r.SignWithKey(t, d.String(), key, SignOptions{})
			r.SignWithKey(t, d.String(), key, SignOptions{Format: FormatBundle})
			verifySignatures(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true})
			verifyBundles(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true})
		})
	}
}

func TestSignWithKeyBundle(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []RegistryOption
	}{{"referrers API", nil}, {"referrers tag fallback", []RegistryOption{WithoutReferrersAPI()}}} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(t, tc.opts...)
			_, d := pushTestImage(t, r)
			key, pub := GenerateKey(t, "")
			r.SignWithKey(t, d.String(), key, SignOptions{Format: FormatBundle, Annotations: map[string]string{"env": "prod"}})
			r.SignWithKey(t, d.String(), key, SignOptions{Format: FormatBundle})

			sts := verifyBundles(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true})
			if len(sts) != 2 {
				t.Fatalf("got %d bundles, want 2 (one referrer per signature)", len(sts))
			}
			annotated := 0
			for _, st := range sts {
				if st["predicateType"] != ctypes.CosignSignPredicateType {
					t.Errorf("predicateType = %v, want %s", st["predicateType"], ctypes.CosignSignPredicateType)
				}
				subj := As[map[string]any](t, As[[]any](t, st["subject"])[0])
				if get(subj, "digest", "sha256") != d.Identifier()[len("sha256:"):] {
					t.Errorf("subject digest = %v", subj["digest"])
				}
				if get(subj, "annotations", "env") == "prod" {
					annotated++
				}
			}
			if annotated != 1 {
				t.Errorf("%d statements carry the annotation, want 1", annotated)
			}

			// Both ways of finding referrers see the two bundles.
			refs, err := remote.Referrers(d)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := refs.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(idx.Manifests) != 2 {
				t.Errorf("remote.Referrers finds %d manifests, want 2", len(idx.Manifests))
			}
			for _, m := range idx.Manifests {
				// go-containerregistry's registry reports the config media
				// type in its referrers answer, so read the manifest itself.
				desc, err := remote.Get(d.Context().Digest(m.Digest.String()))
				if err != nil {
					t.Fatal(err)
				}
				var mf struct {
					ArtifactType string `json:"artifactType"`
				}
				if err := json.Unmarshal(desc.Manifest, &mf); err != nil {
					t.Fatal(err)
				}
				if mf.ArtifactType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
					t.Errorf("artifactType = %q", mf.ArtifactType)
				}
			}
			fallback := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
			_, err = remote.Head(fallback)
			if hasTag := err == nil; hasTag != (tc.opts != nil) {
				t.Errorf("referrers fallback tag %s present = %v (err %v), want %v", fallback, hasTag, err, tc.opts != nil)
			}
		})
	}
}

func TestSignWithKeyAttestation(t *testing.T) {
	const predicateType = "https://imagegate.dev/test/v1"
	r := NewRegistry(t)
	_, d := pushTestImage(t, r)
	key, pub := GenerateKey(t, "")
	r.SignWithKey(t, d.String(), key, SignOptions{PredicateType: predicateType, Predicate: []byte(`{"ok":true}`)})
	r.SignWithKey(t, d.String(), key, SignOptions{PredicateType: predicateType})

	atts := verifyAttestations(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true})
	if len(atts) != 2 {
		t.Fatalf("got %d classic attestations, want 2", len(atts))
	}
	ann, err := atts[0].Annotations()
	if err != nil {
		t.Fatal(err)
	}
	if ann["predicateType"] != predicateType {
		t.Errorf("layer annotation predicateType = %q", ann["predicateType"])
	}

	r.SignWithKey(t, d.String(), key, SignOptions{Format: FormatBundle, PredicateType: predicateType, Predicate: []byte(`{"ok":true}`)})
	sts := verifyBundles(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true})
	if len(sts) != 1 || sts[0]["predicateType"] != predicateType || get(sts[0], "predicate", "ok") != true {
		t.Fatalf("bundle statements = %v", sts)
	}
	subj := As[map[string]any](t, As[[]any](t, sts[0]["subject"])[0])
	if subj["name"] != d.Repository.String() {
		t.Errorf("subject name = %v, want %s", subj["name"], d.Repository.String())
	}
}

func TestSignWithKeyClaimsAnotherDigest(t *testing.T) {
	r := NewRegistry(t)
	_, d := pushTestImage(t, r)
	key, pub := GenerateKey(t, "")
	other := "sha256:" + strings.Repeat("ab", 32)
	r.SignWithKey(t, d.String(), key, SignOptions{SignedDigest: other, DockerReference: "elsewhere.test/app"})
	co := &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true, ClaimVerifier: cosign.SimpleClaimVerifier}
	_, _, err := cosign.VerifyImageSignatures(context.Background(), d, co)
	if err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("cosign accepted a signature of another digest (err %v)", err)
	}
	// The signature itself is genuine: only the claim is wrong.
	co.ClaimVerifier = func(sig oci.Signature, _ v1.Hash, _ map[string]any) error {
		p := simplePayload(t, sig)
		if got := get(p, "critical", "image", "docker-manifest-digest"); got != other {
			t.Errorf("docker-manifest-digest = %v, want %s", got, other)
		}
		if got := get(p, "critical", "identity", "docker-reference"); got != "elsewhere.test/app" {
			t.Errorf("docker-reference = %v", got)
		}
		return nil
	}
	if _, _, err := cosign.VerifyImageSignatures(context.Background(), d, co); err != nil {
		t.Fatal(err)
	}
}

func keylessOpts(t *testing.T, s *Sigstore) *cosign.CheckOpts {
	return &cosign.CheckOpts{
		TrustedMaterial: trustedRoot(t, s),
		Identities:      []cosign.Identity{{Issuer: testIssuer, Subject: testSubject}},
		Offline:         true,
	}
}

func TestSignKeylessClassicTlog(t *testing.T) {
	r := NewRegistry(t)
	s := NewSigstore(t)
	_, d := pushTestImage(t, r)
	r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Tlog: true})
	r.SignKeyless(t, s, d.String(), testIssuer, "dev@imagegate.test", SignOptions{Tlog: true, PredicateType: "https://imagegate.dev/test/v1"})

	sigs := verifySignatures(t, d, keylessOpts(t, s))
	b, err := sigs[0].Bundle()
	if err != nil || b == nil {
		t.Fatalf("no Rekor bundle annotation (err %v)", err)
	}
	co := keylessOpts(t, s)
	co.Identities = []cosign.Identity{{Issuer: testIssuer, Subject: "dev@imagegate.test"}}
	verifyAttestations(t, d, co)

	// Another identity is refused.
	co = keylessOpts(t, s)
	co.Identities = []cosign.Identity{{Issuer: testIssuer, Subject: "https://github.com/someone/else"}}
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	if _, _, err := cosign.VerifyImageSignatures(context.Background(), d, co); err == nil {
		t.Fatal("a signature verified for another identity")
	}
	// Another sigstore's root does not verify it.
	co = keylessOpts(t, NewSigstore(t))
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	if _, _, err := cosign.VerifyImageSignatures(context.Background(), d, co); err == nil {
		t.Fatal("a signature verified against another trusted root")
	}
}

func TestSignKeylessBundleTlog(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []RegistryOption
	}{{"referrers API", nil}, {"referrers tag fallback", []RegistryOption{WithoutReferrersAPI()}}} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry(t, tc.opts...)
			s := NewSigstore(t)
			_, d := pushTestImage(t, r)
			r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Format: FormatBundle, Tlog: true})
			r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Format: FormatBundle, Tlog: true, PredicateType: "https://imagegate.dev/test/v1"})
			sts := verifyBundles(t, d, keylessOpts(t, s))
			if len(sts) != 2 {
				t.Fatalf("got %d bundles, want 2", len(sts))
			}
			bundles, _, err := cosign.GetBundles(context.Background(), d, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bundles {
				e := b.GetVerificationMaterial().GetTlogEntries()
				if len(e) != 1 || e[0].GetInclusionPromise() == nil || e[0].GetInclusionProof() == nil {
					t.Errorf("tlog entries = %v, want one with inclusion promise and proof", e)
				}
			}
		})
	}
}

func TestSignKeylessTimestampOnly(t *testing.T) {
	r := NewRegistry(t)
	s := NewSigstore(t)
	_, d := pushTestImage(t, r)
	r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Timestamp: true})
	r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Timestamp: true, Format: FormatBundle})

	co := keylessOpts(t, s)
	co.IgnoreTlog, co.UseSignedTimestamps = true, true
	sigs := verifySignatures(t, d, co)
	if ts, err := sigs[0].RFC3161Timestamp(); err != nil || ts == nil {
		t.Fatalf("no RFC 3161 timestamp annotation (err %v)", err)
	}
	if b, _ := sigs[0].Bundle(); b != nil {
		t.Fatal("a timestamp-only signature has a Rekor bundle")
	}
	co = keylessOpts(t, s)
	co.IgnoreTlog, co.UseSignedTimestamps = true, true
	verifyBundles(t, d, co)
}

func TestSignKeylessExpired(t *testing.T) {
	r := NewRegistry(t)
	s := NewSigstore(t)
	_, d := pushTestImage(t, r)
	r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Expired: true, Tlog: true})
	r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Expired: true, Tlog: true, Format: FormatBundle})
	sigs := verifySignatures(t, d, keylessOpts(t, s))
	cert, err := sigs[0].Cert()
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Before(time.Now().Add(-time.Hour)) {
		t.Fatalf("certificate valid until %s: not expired", cert.NotAfter)
	}
	verifyBundles(t, d, keylessOpts(t, s))

	// A timestamp proves the time as well as the log does.
	rt := NewRegistry(t)
	_, dt := pushTestImage(t, rt)
	rt.SignKeyless(t, s, dt.String(), testIssuer, testSubject, SignOptions{Expired: true, Timestamp: true})
	rt.SignKeyless(t, s, dt.String(), testIssuer, testSubject, SignOptions{Expired: true, Timestamp: true, Format: FormatBundle})
	co := keylessOpts(t, s)
	co.IgnoreTlog, co.UseSignedTimestamps = true, true
	verifySignatures(t, dt, co)
	co = keylessOpts(t, s)
	co.IgnoreTlog, co.UseSignedTimestamps = true, true
	verifyBundles(t, dt, co)

	// Without the log's time, the certificate is checked now and refused.
	r2 := NewRegistry(t)
	_, d2 := pushTestImage(t, r2)
	r2.SignKeyless(t, s, d2.String(), testIssuer, testSubject, SignOptions{Expired: true})
	co = keylessOpts(t, s)
	co.IgnoreTlog = true
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	if _, _, err := cosign.VerifyImageSignatures(context.Background(), d2, co); err == nil {
		t.Fatal("an expired certificate verified without a proof of time")
	}
}

func TestSignWithKeyTlog(t *testing.T) {
	r := NewRegistry(t)
	s := NewSigstore(t)
	_, d := pushTestImage(t, r)
	key, pub := GenerateKey(t, "")
	r.SignWithKey(t, d.String(), key, SignOptions{Tlog: true, Sigstore: s})
	r.SignWithKey(t, d.String(), key, SignOptions{Tlog: true, Sigstore: s, Format: FormatBundle})
	verifySignatures(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), TrustedMaterial: trustedRoot(t, s), Offline: true})
	verifyBundles(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), TrustedMaterial: trustedRoot(t, s), Offline: true})
}

func TestSignClassicSignaturesAccumulate(t *testing.T) {
	r := NewRegistry(t)
	s := NewSigstore(t)
	_, d := pushTestImage(t, r)
	key, pub := GenerateKey(t, "")
	r.SignWithKey(t, d.String(), key, SignOptions{})
	r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Tlog: true})
	r.SignWithKey(t, d.String(), key, SignOptions{Annotations: map[string]string{"n": "3"}})

	st, err := ociremote.SignatureTag(d)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := ociremote.Signatures(st)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := sigs.Get()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 {
		t.Fatalf("%s has %d layers, want 3", st, len(layers))
	}
	if got := verifySignatures(t, d, &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true}); len(got) != 2 {
		t.Errorf("the key verifies %d signatures, want 2", len(got))
	}
	if got := verifySignatures(t, d, keylessOpts(t, s)); len(got) != 1 {
		t.Errorf("the identity verifies %d signatures, want 1", len(got))
	}
}

func TestSignWithKeyRSA1024(t *testing.T) {
	r := NewRegistry(t)
	_, d := pushTestImage(t, r)
	key, pubPEM := GenerateKey(t, "rsa-1024")
	r.SignWithKey(t, d.String(), key, SignOptions{})
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	// sigstore's default loader refuses the key, which is what a verifier sees…
	if _, err := signature.LoadDefaultVerifier(pub); err == nil {
		t.Fatal("sigstore loads a 1024-bit RSA key")
	}
	// …yet the signature is genuine PKCS#1 v1.5 with SHA-256.
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("the public key is a %T, want RSA", pub)
	}
	v, err := signature.LoadRSAPKCS1v15Verifier(rsaPub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifySignatures(t, d, &cosign.CheckOpts{SigVerifier: v, IgnoreTlog: true})
}

func TestSignBundleClaimsAnotherDigest(t *testing.T) {
	r := NewRegistry(t)
	_, d := pushTestImage(t, r)
	key, pub := GenerateKey(t, "")
	r.SignWithKey(t, d.String(), key, SignOptions{Format: FormatBundle, SignedDigest: "sha256:" + strings.Repeat("cd", 32)})
	bundles, h, err := cosign.GetBundles(context.Background(), d, nil)
	if err != nil || len(bundles) != 1 {
		t.Fatalf("got %d bundles (err %v), want 1", len(bundles), err)
	}
	raw, _ := hex.DecodeString(h.Hex)
	co := &cosign.CheckOpts{SigVerifier: keyVerifier(t, pub), IgnoreTlog: true, NewBundleFormat: true}
	if _, err := cosign.VerifyNewBundle(context.Background(), co, verify.WithArtifactDigest(h.Algorithm, raw), bundles[0]); err == nil {
		t.Fatal("cosign accepted a bundle whose statement names another digest")
	}
	other, _ := hex.DecodeString(strings.Repeat("cd", 32))
	if _, err := cosign.VerifyNewBundle(context.Background(), co, verify.WithArtifactDigest("sha256", other), bundles[0]); err != nil {
		t.Fatalf("the bundle is not a genuine signature of the digest it claims: %v", err)
	}
}

// TestSignKeylessProofsAreChecked shows the keyless checks above are not
// vacuous: cosign needs the log entry unless told to use timestamps, and
// the certificate carries the SCT cosign verifies by default.
func TestSignKeylessProofsAreChecked(t *testing.T) {
	r := NewRegistry(t)
	s := NewSigstore(t)
	_, d := pushTestImage(t, r)
	r.SignKeyless(t, s, d.String(), testIssuer, testSubject, SignOptions{Timestamp: true})
	co := keylessOpts(t, s)
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	if _, _, err := cosign.VerifyImageSignatures(context.Background(), d, co); err == nil {
		t.Fatal("a signature without a log entry verified while the log was required")
	}
	co = keylessOpts(t, s)
	co.IgnoreTlog, co.UseSignedTimestamps = true, true
	sigs := verifySignatures(t, d, co)
	cert, err := sigs[0].Cert()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cosign.ContainsSCT(cert.Raw); err != nil || !ok {
		t.Fatalf("the certificate has no embedded SCT (err %v)", err)
	}
	if cert.NotAfter.Sub(cert.NotBefore) != 10*time.Minute {
		t.Errorf("certificate lives %s, want Fulcio's 10m", cert.NotAfter.Sub(cert.NotBefore))
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != testSubject {
		t.Errorf("certificate URIs = %v, want %s", cert.URIs, testSubject)
	}
}

// fatalTB records the failure of a fixture given bad input.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func fixtureFailure(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb.msg
}

func TestSignBadInputFailsClearly(t *testing.T) {
	r := NewRegistry(t)
	s := NewSigstore(t)
	_, d := pushTestImage(t, r)
	key, _ := GenerateKey(t, "")
	for _, tc := range []struct {
		name string
		f    func(tb testing.TB)
		want string
	}{
		{"unknown algorithm", func(tb testing.TB) { GenerateKey(tb, "dsa") }, `unknown algorithm "dsa"`},
		{"unknown format", func(tb testing.TB) { r.SignWithKey(tb, d.String(), key, SignOptions{Format: "v2"}) }, `unknown format "v2"`},
		{"annotated attestation", func(tb testing.TB) {
			r.SignWithKey(tb, d.String(), key, SignOptions{PredicateType: "https://x.test/v1", Annotations: map[string]string{"a": "b"}})
		}, "cosign attest has no -a"},
		{"bundle docker reference", func(tb testing.TB) {
			r.SignWithKey(tb, d.String(), key, SignOptions{Format: FormatBundle, DockerReference: "x.test/app"})
		}, "carries no docker-reference"},
		{"predicate without type", func(tb testing.TB) { r.SignWithKey(tb, d.String(), key, SignOptions{Predicate: []byte(`{}`)}) }, "needs a PredicateType"},
		{"non-object predicate", func(tb testing.TB) {
			r.SignWithKey(tb, d.String(), key, SignOptions{PredicateType: "https://x.test/v1", Predicate: []byte(`[1]`)})
		}, "invalid JSON payload"},
		{"key tlog without sigstore", func(tb testing.TB) { r.SignWithKey(tb, d.String(), key, SignOptions{Tlog: true}) }, "need SignOptions.Sigstore"},
		{"tag, not digest", func(tb testing.TB) { r.SignWithKey(tb, r.Ref("app:1"), key, SignOptions{}) }, "parsing digest reference"},
		{"bad signed digest", func(tb testing.TB) { r.SignWithKey(tb, d.String(), key, SignOptions{SignedDigest: "sha256:zz"}) }, "parsing SignedDigest"},
		{"subject neither email nor URI", func(tb testing.TB) {
			r.SignKeyless(tb, s, d.String(), testIssuer, "someone", SignOptions{Tlog: true})
		}, "neither an email address nor a URI"},
		{"keyless without sigstore", func(tb testing.TB) { r.SignKeyless(tb, nil, d.String(), testIssuer, testSubject, SignOptions{}) }, "a Sigstore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fixtureFailure(t, tc.f); !strings.Contains(got, tc.want) {
				t.Errorf("failure = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
