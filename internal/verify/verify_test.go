package verify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	emptyimg "github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

const (
	slsa    = "https://slsa.dev/provenance/v1"
	spdx    = "https://spdx.dev/Document"
	issuer  = "https://token.actions.example.com"
	subject = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
)

var formats = []string{testutil.FormatClassic, testutil.FormatBundle}

type env struct {
	reg *testutil.Registry
	v   *verify.Verifier
}

func newEnv(t *testing.T, opts ...testutil.RegistryOption) *env {
	t.Helper()
	reg := testutil.NewRegistry(t, opts...)
	c, err := registry.New(registry.Options{InsecureRegistries: []string{reg.Host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &env{reg: reg, v: verify.New(c, nil)}
}

// push pushes a fresh random image and returns repository@digest.
func (e *env) push(t *testing.T, repoTag string) string {
	t.Helper()
	img := testutil.RandomImage(t, 1, v1.Config{})
	e.reg.Push(t, repoTag, img)
	d, _ := img.Digest()
	repo, _, _ := strings.Cut(repoTag, ":")
	return e.reg.Ref(repo) + "@" + d.String()
}

func (e *env) verify(t *testing.T, ref string, req verify.Requirements) *verify.Result {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.v.Verify(context.Background(), d, req)
	if err != nil {
		t.Fatalf("Verify(%s): %v", ref, err)
	}
	return res
}

func failures(res *verify.Result) string {
	var s []string
	for _, f := range res.Failures {
		s = append(s, f.Expected+": "+f.Message)
	}
	return strings.Join(s, "\n")
}

func wantVerified(t *testing.T, res *verify.Result) {
	t.Helper()
	if !res.Verified {
		t.Fatalf("not verified:\n%s", failures(res))
	}
}

func wantFailure(t *testing.T, res *verify.Result, expected, fragment string) {
	t.Helper()
	if res.Verified {
		t.Fatalf("verified, want a failure of %q containing %q", expected, fragment)
	}
	for _, f := range res.Failures {
		if strings.HasPrefix(f.Expected, expected) && strings.Contains(f.Message, fragment) {
			return
		}
	}
	t.Fatalf("no failure of %q containing %q in:\n%s", expected, fragment, failures(res))
}

func TestKeySignatureBothFormats(t *testing.T) {
	for _, alg := range []string{"ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"} {
		for _, format := range formats {
			t.Run(alg+"/"+format, func(t *testing.T) {
				e := newEnv(t)
				ref := e.push(t, "app:1")
				key, pub := testutil.GenerateKey(t, alg)
				e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: format})
				res := e.verify(t, ref, verify.Requirements{Keys: []string{pub}})
				wantVerified(t, res)
				if len(res.Signers) != 1 || res.Signers[0].Format != format || !strings.HasPrefix(res.Signers[0].KeyID, "sha256:") {
					t.Errorf("signers = %+v", res.Signers)
				}
				_, other := testutil.GenerateKey(t, alg)
				wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{other}}), "key sha256:", "does not verify with this key")
			})
		}
	}
}

func TestReferrersFallbackTag(t *testing.T) {
	e := newEnv(t, testutil.WithoutReferrersAPI())
	ref := e.push(t, "app:1")
	key, pub := testutil.GenerateKey(t, "")
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: testutil.FormatBundle})
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: testutil.FormatBundle, PredicateType: slsa})
	res := e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Attestations: []verify.Attestation{{PredicateType: slsa}}})
	wantVerified(t, res)
}

func TestUnsigned(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	_, pub := testutil.GenerateKey(t, "")
	res := e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Attestations: []verify.Attestation{{PredicateType: slsa}}})
	wantFailure(t, res, "key sha256:", "no cosign signature is attached to")
	wantFailure(t, res, "attestation "+slsa, "no cosign attestation is attached to")
	if len(res.Attestations) != 1 || res.Attestations[0].Verified {
		t.Errorf("attestations = %+v", res.Attestations)
	}
}

// TestSignatureMovedToAnotherDigest copies a valid signature of one image
// onto another image's signature tag.
func TestSignatureMovedToAnotherDigest(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			signed := e.push(t, "app:1")
			victim := e.push(t, "app:2")
			key, pub := testutil.GenerateKey(t, "")
			signedDigest := signed[strings.Index(signed, "@")+1:]
			// A signature whose payload names the signed image, stored
			// where the victim's signatures are looked up.
			e.reg.SignWithKey(t, victim, key, testutil.SignOptions{Format: format, SignedDigest: signedDigest})
			res := e.verify(t, victim, verify.Requirements{Keys: []string{pub}})
			wantFailure(t, res, "key ", signedDigest)
			victimDigest := victim[strings.Index(victim, "@")+1:]
			wantFailure(t, res, "key ", victimDigest)
		})
	}
}

func TestDockerReference(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	key, pub := testutil.GenerateKey(t, "")
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{})
	req := verify.Requirements{Keys: []string{pub}, RequireDockerReference: true}
	wantVerified(t, e.verify(t, ref, req))

	replayed := e.push(t, "other:1")
	e.reg.SignWithKey(t, replayed, key, testutil.SignOptions{DockerReference: e.reg.Ref("app")})
	wantFailure(t, e.verify(t, replayed, req), "key ", "was made for "+e.reg.Ref("app"))
	// Without the requirement the replayed signature counts.
	wantVerified(t, e.verify(t, replayed, verify.Requirements{Keys: []string{pub}}))

	bundled := e.push(t, "bundled:1")
	e.reg.SignWithKey(t, bundled, key, testutil.SignOptions{Format: testutil.FormatBundle})
	wantFailure(t, e.verify(t, bundled, req), "key ", "names no docker-reference")
}

func TestAnnotations(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			ref := e.push(t, "app:1")
			key, pub := testutil.GenerateKey(t, "")
			e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: format, Annotations: map[string]string{"env": "prod", "team": "payments"}})
			wantVerified(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Annotations: map[string]string{"env": "prod"}}))
			wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Annotations: map[string]string{"env": "staging"}}), "key ", `the annotation "env" is "prod", not "staging"`)
			wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Annotations: map[string]string{"ticket": "1"}}), "key ", `the annotation "ticket" is missing`)
		})
	}
}

func TestAttestations(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			ref := e.push(t, "app:1")
			key, pub := testutil.GenerateKey(t, "")
			e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: format})
			e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: format, PredicateType: slsa, Predicate: []byte(`{"buildType":"x"}`)})
			res := e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Attestations: []verify.Attestation{{PredicateType: slsa}}})
			wantVerified(t, res)
			if len(res.Attestations) != 1 || !res.Attestations[0].Verified {
				t.Errorf("attestations = %+v", res.Attestations)
			}
			// A wrong predicate type never passes, whatever else verifies.
			res = e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Attestations: []verify.Attestation{{PredicateType: spdx}, {PredicateType: slsa}}})
			wantFailure(t, res, "attestation "+spdx, `the verified attestations are of type "`+slsa+`"`)
			// A prefix or a near miss is not the type.
			wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Attestations: []verify.Attestation{{PredicateType: "https://slsa.dev/provenance/v"}}}), "attestation ", "must match exactly")
			// Signed by another key: not an attestation of the signer.
			_, other := testutil.GenerateKey(t, "")
			wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{other}, Attestations: []verify.Attestation{{PredicateType: slsa}}}), "attestation "+slsa, "does not verify with this key")
		})
	}
}

func TestAttestationForAnotherDigest(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	other := e.push(t, "app:2")
	key, pub := testutil.GenerateKey(t, "")
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{})
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{PredicateType: slsa, SignedDigest: other[strings.Index(other, "@")+1:]})
	res := e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Attestations: []verify.Attestation{{PredicateType: slsa}}})
	wantFailure(t, res, "attestation "+slsa, "it was made for another digest")
}

func TestMinimumDistinctSigners(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	k1, pub1 := testutil.GenerateKey(t, "")
	_, pub2 := testutil.GenerateKey(t, "")
	e.reg.SignWithKey(t, ref, k1, testutil.SignOptions{})
	e.reg.SignWithKey(t, ref, k1, testutil.SignOptions{Format: testutil.FormatBundle})
	// One key, signed twice in two formats, is one signer.
	res := e.verify(t, ref, verify.Requirements{Keys: []string{pub1, pub2}, Minimum: 2})
	wantFailure(t, res, "2 distinct signers", "only 1 distinct signer(s) verified")
	if len(res.Signers) != 2 {
		t.Errorf("signers = %+v, want the one key in both formats", res.Signers)
	}
	k2 := mustKey(t, e, ref)
	res = e.verify(t, ref, verify.Requirements{Keys: []string{pub1, k2}, Minimum: 2})
	wantVerified(t, res)
	// With minimum 1, one of two keys is enough.
	wantVerified(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub1, pub2}}))
}

// mustKey signs ref with a new key and returns its public key.
func mustKey(t *testing.T, e *env, ref string) string {
	t.Helper()
	key, pub := testutil.GenerateKey(t, "")
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{})
	return pub
}

func TestKeyless(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			s := testutil.NewSigstore(t)
			root := s.TrustedRoot(t)
			ref := e.push(t, "app:1")
			e.reg.SignKeyless(t, s, ref, issuer, subject, testutil.SignOptions{Format: format, Tlog: true})
			exact := verify.Requirements{TrustedRoot: root, Identities: []verify.Identity{{Issuer: issuer, Subject: subject}}}
			res := e.verify(t, ref, exact)
			wantVerified(t, res)
			if len(res.Signers) != 1 || res.Signers[0].Issuer != issuer || res.Signers[0].Subject != subject {
				t.Errorf("signers = %+v", res.Signers)
			}
			wantVerified(t, e.verify(t, ref, verify.Requirements{TrustedRoot: root, Identities: []verify.Identity{{IssuerRegex: `https://token\.actions\..*`, SubjectRegex: `https://github\.com/acme/.*`}}}))
			wantFailure(t, e.verify(t, ref, verify.Requirements{TrustedRoot: root, Identities: []verify.Identity{{Issuer: issuer, Subject: "https://github.com/evil/app"}}}), "identity ", "not the expected identity")
			// A regex matches the whole subject, not a part of it.
			wantFailure(t, e.verify(t, ref, verify.Requirements{TrustedRoot: root, Identities: []verify.Identity{{Issuer: issuer, SubjectRegex: "acme"}}}), "identity ", "not the expected identity")
			// Another sigstore's root does not trust the certificate.
			foreign := testutil.NewSigstore(t).TrustedRoot(t)
			wantFailure(t, e.verify(t, ref, verify.Requirements{TrustedRoot: foreign, Identities: []verify.Identity{{Issuer: issuer, Subject: subject}}}), "identity ", "was not issued by a certificate authority in trusted_root")
			// A key is not a certificate.
			_, pub := testutil.GenerateKey(t, "")
			wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}}), "key ", "does not verify with this key")
		})
	}
}

func TestKeylessTimeEvidence(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			s := testutil.NewSigstore(t)
			req := verify.Requirements{TrustedRoot: s.TrustedRoot(t), Identities: []verify.Identity{{Issuer: issuer, Subject: subject}}}
			for i, tc := range []struct {
				name string
				opts testutil.SignOptions
				want string // "" verifies
			}{
				{"current certificate, no evidence", testutil.SignOptions{}, ""},
				{"timestamp only", testutil.SignOptions{Timestamp: true}, ""},
				{"expired with tlog", testutil.SignOptions{Expired: true, Tlog: true}, ""},
				{"expired with timestamp", testutil.SignOptions{Expired: true, Timestamp: true}, ""},
				{"expired without evidence", testutil.SignOptions{Expired: true}, "expired at"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ref := e.push(t, fmt.Sprintf("app:%d", i))
					tc.opts.Format = format
					e.reg.SignKeyless(t, s, ref, issuer, subject, tc.opts)
					res := e.verify(t, ref, req)
					if tc.want == "" {
						wantVerified(t, res)
						return
					}
					wantFailure(t, res, "identity ", tc.want)
				})
			}
		})
	}
}

func TestKeylessMinimumCountsCertificates(t *testing.T) {
	e := newEnv(t)
	s := testutil.NewSigstore(t)
	ref := e.push(t, "app:1")
	e.reg.SignKeyless(t, s, ref, issuer, "alice@example.com", testutil.SignOptions{Tlog: true})
	e.reg.SignKeyless(t, s, ref, issuer, "alice@example.com", testutil.SignOptions{Tlog: true, Format: testutil.FormatBundle})
	anyone := []verify.Identity{{Issuer: issuer, SubjectRegex: ".*@example\\.com"}}
	req := verify.Requirements{TrustedRoot: s.TrustedRoot(t), Identities: anyone, Minimum: 2}
	wantFailure(t, e.verify(t, ref, req), "2 distinct signers", "only 1")
	e.reg.SignKeyless(t, s, ref, issuer, "bob@example.com", testutil.SignOptions{Tlog: true})
	wantVerified(t, e.verify(t, ref, req))
}

// TestFlood refuses a digest with more signatures than are considered,
// rather than verifying a part of them.
func TestFlood(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	key, pub := testutil.GenerateKey(t, "")
	d, _ := name.NewDigest(ref, name.Insecure)
	h, _ := v1.NewHash(d.DigestStr())
	// A .sig manifest of 101 layers, as a hostile registry could serve.
	img := mutate.MediaType(mutate.ConfigMediaType(empty(t), types.OCIConfigJSON), types.OCIManifestSchema1)
	for i := range verify.MaxSignatures + 1 {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer([]byte{byte(i), byte(i >> 8)}, "application/vnd.dev.cosign.simplesigning.v1+json"),
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": "AAAA"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	tag := d.Context().Tag(h.Algorithm + "-" + h.Hex + ".sig")
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: testutil.FormatBundle})
	_, err := e.v.Verify(context.Background(), d, verify.Requirements{Keys: []string{pub}})
	if err == nil || !strings.Contains(err.Error(), "holds 101 signatures, more than the 100") {
		t.Fatalf("err = %v, want the flood refused", err)
	}
}

func TestBundleFlood(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	key, pub := testutil.GenerateKey(t, "")
	for range verify.MaxSignatures + 1 {
		e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: testutil.FormatBundle})
	}
	d, _ := name.NewDigest(ref, name.Insecure)
	_, err := e.v.Verify(context.Background(), d, verify.Requirements{Keys: []string{pub}})
	if err == nil || !strings.Contains(err.Error(), "101 sigstore bundle referrers, more than the 100") {
		t.Fatalf("err = %v, want the flood refused", err)
	}
}

// TestUnparseablePayload: a signature layer that is not a simple-signing
// payload is a failure of its own.
func TestUnparseablePayload(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	_, pub := testutil.GenerateKey(t, "")
	d, _ := name.NewDigest(ref, name.Insecure)
	h, _ := v1.NewHash(d.DigestStr())
	img, err := mutate.Append(mutate.MediaType(mutate.ConfigMediaType(empty(t), types.OCIConfigJSON), types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer([]byte("not json"), "application/vnd.dev.cosign.simplesigning.v1+json"),
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": "AAAA"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Tag(h.Algorithm+"-"+h.Hex+".sig"), img); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}}), "key ", "the payload is not a cosign simple-signing payload")
}

func empty(*testing.T) v1.Image { return emptyimg.Image }

// TestRegistryOptionsApply: signatures are read with the provider's
// registry settings: its credentials, and its refusal of plain HTTP.
func TestRegistryOptionsApply(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithBasicAuth("ci", "s3cret"))
	img := testutil.RandomImage(t, 1, v1.Config{})
	reg.Push(t, "app:1", img)
	dg, _ := img.Digest()
	ref := reg.Ref("app") + "@" + dg.String()
	key, pub := testutil.GenerateKey(t, "")
	reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: testutil.FormatBundle})
	reg.SignWithKey(t, ref, key, testutil.SignOptions{})
	d, _ := name.NewDigest(ref, name.Insecure)
	req := verify.Requirements{Keys: []string{pub}}

	for _, tc := range []struct {
		name string
		opts registry.Options
		want string // "" verifies
	}{
		{"credentials", registry.Options{InsecureRegistries: []string{reg.Host}, Credentials: []registry.Credential{{Address: reg.Host, Username: "ci", Password: "s3cret"}}}, ""},
		{"no credentials", registry.Options{InsecureRegistries: []string{reg.Host}}, "refused access"},
		{"plain HTTP not allowed", registry.Options{Credentials: []registry.Credential{{Address: reg.Host, Username: "ci", Password: "s3cret"}}}, "answered over plain HTTP, which is refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Keychain, tc.opts.MaxRetries = authn.NewMultiKeychain(), -1
			c, err := registry.New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := verify.New(c, nil).Verify(context.Background(), d, req)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				wantVerified(t, res)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// Each classic payload is downloaded once per verification, however many
// checks read it (the claims, the statement, cosign's own verification,
// once per trusted key): an SBOM attestation may be megabytes, and every
// read of a remote layer is another download of the blob.
func TestEachPayloadDownloadedOnce(t *testing.T) {
	e := newEnv(t)
	ref := e.push(t, "app:1")
	key, pub := testutil.GenerateKey(t, "")
	_, other := testutil.GenerateKey(t, "")
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: testutil.FormatClassic})
	e.reg.SignWithKey(t, ref, key, testutil.SignOptions{Format: testutil.FormatClassic, PredicateType: slsa, Predicate: []byte(`{"buildType":"x"}`)})
	e.reg.ResetRequests()
	wantVerified(t, e.verify(t, ref, verify.Requirements{Keys: []string{other, pub}, Attestations: []verify.Attestation{{PredicateType: slsa}}}))
	if n := e.reg.BlobRequests(); n != 2 {
		t.Errorf("Verify downloaded %d blobs, want 2 (the .sig and the .att payload, once each):\n%s", n, strings.Join(e.reg.Requests(), "\n"))
	}
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	e.reg.ResetRequests()
	sts, rejected, err := e.v.Statements(context.Background(), d, []string{other, pub}, []string{slsa})
	if err != nil || len(sts) != 1 || len(rejected) != 0 {
		t.Fatalf("Statements = %+v, rejected %+v, %v", sts, rejected, err)
	}
	if got := string(sts[0].Predicate); got != `{"buildType":"x"}` {
		t.Errorf("predicate = %s", got)
	}
	// The .sig payload is not read: only attestations hold statements.
	if n := e.reg.BlobRequests(); n != 1 {
		t.Errorf("Statements downloaded %d blobs, want 1 (the .att payload once):\n%s", n, strings.Join(e.reg.Requests(), "\n"))
	}
}
