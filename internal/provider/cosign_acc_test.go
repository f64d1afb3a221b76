package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

const (
	slsaType = "https://slsa.dev/provenance/v1"
	spdxType = "https://spdx.dev/Document"
)

// TestAccSignaturesCosignCLI: images signed and attested by the real
// cosign CLI verify in both formats, and each way a signature can be wrong
// fails with its own message.
func TestAccSignaturesCosignCLI(t *testing.T) {
	e := newScanEnv(t)
	push := func(repoTag string) string {
		img := testutil.RandomImage(t, 1, v1.Config{})
		e.reg.Push(t, repoTag, img)
		d, _ := img.Digest()
		repo, _, _ := strings.Cut(repoTag, ":")
		return e.reg.Ref(repo) + "@" + d.String()
	}
	keyPath, pub := testutil.CosignKeyPair(t)
	classic := push("classic:1")
	testutil.CosignSign(t, keyPath, classic, true, map[string]string{"env": "prod"})
	testutil.CosignAttest(t, keyPath, classic, slsaType, []byte(`{"builder":{"id":"ci"}}`), true)
	bundle := push("bundle:1")
	testutil.CosignSign(t, keyPath, bundle, false, map[string]string{"env": "prod"})
	testutil.CosignAttest(t, keyPath, bundle, slsaType, []byte(`{"builder":{"id":"ci"}}`), false)
	push("unsigned:1")

	// Signatures made in Go with other keys, for the cases the CLI cannot
	// make: a signature copied onto another digest, one replayed from
	// another repository, a second signer.
	key2, pub2 := testutil.GenerateKey(t, "")
	_, stranger := testutil.GenerateKey(t, "")
	moved := push("moved:1")
	e.reg.SignWithKey(t, moved, key2, testutil.SignOptions{SignedDigest: classic[strings.Index(classic, "@")+1:]})
	replayed := push("replayed:1")
	e.reg.SignWithKey(t, replayed, key2, testutil.SignOptions{DockerReference: e.reg.Ref("classic")})
	e.reg.SignWithKey(t, classic, key2, testutil.SignOptions{Format: testutil.FormatBundle})

	sigs := func(name, reference string, body string) string {
		return fmt.Sprintf(`
data "imagegate_signatures" %q {
  reference = %q
%s
}
`, name, reference, body)
	}
	keys := func(pems ...string) string {
		q := make([]string, len(pems))
		for i, p := range pems {
			q[i] = fmt.Sprintf("%q", p)
		}
		return "  keys = [" + strings.Join(q, ", ") + "]\n"
	}
	config := e.provider("") +
		sigs("classic", e.reg.Ref("classic:1"), keys(pub)+`  annotations = { env = "prod" }
  require_docker_reference = true
  attestations = [{ predicate_type = "`+slsaType+`" }]`) +
		sigs("bundle", e.reg.Ref("bundle:1"), keys(pub)+`  annotations = { env = "prod" }
  attestations = [{ predicate_type = "`+slsaType+`" }]`) +
		sigs("wrong_key", e.reg.Ref("classic:1"), keys(stranger)) +
		sigs("unsigned", e.reg.Ref("unsigned:1"), keys(pub)) +
		sigs("moved", e.reg.Ref("moved:1"), keys(pub2)) +
		sigs("replayed", e.reg.Ref("replayed:1"), keys(pub2)+"  require_docker_reference = true") +
		sigs("missing_attestation", e.reg.Ref("unsigned:1"), keys(pub)+`  attestations = [{ predicate_type = "`+slsaType+`" }]`) +
		sigs("wrong_type", e.reg.Ref("classic:1"), keys(pub)+`  attestations = [{ predicate_type = "`+spdxType+`" }]`) +
		sigs("two_signers", e.reg.Ref("classic:1"), keys(pub, pub2)+"  minimum = 2") +
		sigs("one_signer_twice", e.reg.Ref("bundle:1"), keys(pub, pub2)+"  minimum = 2")

	verified := func(name string, want bool) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.imagegate_signatures."+name, tfjsonpath.New("verified"), knownvalue.Bool(want))
	}
	failure := func(name, pattern string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.imagegate_signatures."+name, tfjsonpath.New("failures"),
			knownvalue.ListPartial(map[int]knownvalue.Check{0: knownvalue.StringRegexp(regexp.MustCompile(pattern))}))
	}
	signer := func(name, format string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.imagegate_signatures."+name, tfjsonpath.New("signers"), knownvalue.ListExact([]knownvalue.Check{
			knownvalue.ObjectPartial(map[string]knownvalue.Check{"format": knownvalue.StringExact(format), "key_id": knownvalue.StringRegexp(regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))}),
		}))
	}
	attested := func(name string, want bool) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.imagegate_signatures."+name, tfjsonpath.New("attestations"), knownvalue.ListExact([]knownvalue.Check{
			knownvalue.ObjectExact(map[string]knownvalue.Check{"predicate_type": knownvalue.StringExact(slsaType), "verified": knownvalue.Bool(want)}),
		}))
	}
	q := regexp.QuoteMeta
	classicDigest := classic[strings.Index(classic, "@")+1:]
	movedDigest := moved[strings.Index(moved, "@")+1:]

	// A flood of bundle referrers on one digest is refused.
	flood := push("flood:1")
	for range verify.MaxSignatures + 1 {
		e.reg.SignWithKey(t, flood, key2, testutil.SignOptions{Format: testutil.FormatBundle})
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					verified("classic", true), signer("classic", "classic"), attested("classic", true),
					statecheck.ExpectKnownValue("data.imagegate_signatures.classic", tfjsonpath.New("digest"), knownvalue.StringExact(classicDigest)),
					verified("bundle", true), signer("bundle", "bundle"), attested("bundle", true),
					verified("wrong_key", false), failure("wrong_key", `^key sha256:[0-9a-f]{64}: none of the 2 signature\(s\) attached to .* verifies: .*does not verify with this key`),
					verified("unsigned", false), failure("unsigned", `no cosign signature is attached to `+q(e.reg.Ref("unsigned"))),
					verified("moved", false), failure("moved", `the signature is for `+q(classicDigest)+`, not `+q(movedDigest)+`: a signature of another digest was copied`),
					verified("replayed", false), failure("replayed", `the signature was made for `+q(e.reg.Ref("classic"))+` \(critical\.identity\.docker-reference\), not `+q(e.reg.Ref("replayed"))),
					verified("missing_attestation", false), failure("missing_attestation", `^attestation `+q(slsaType)+`: no cosign attestation is attached`),
					verified("wrong_type", false), failure("wrong_type", `^attestation `+q(spdxType)+`: no attestation of predicate type "`+q(spdxType)+`" verified .* predicate types must match exactly`),
					verified("two_signers", true),
					verified("one_signer_twice", false), failure("one_signer_twice", `^2 distinct signers: only 1 distinct signer\(s\) verified`),
				},
			},
			{
				Config:      e.provider("") + sigs("flood", e.reg.Ref("flood:1"), keys(pub2)),
				ExpectError: regexp.MustCompile(`101 sigstore bundle referrers, more than the 100`),
			},
			{Config: e.provider("") + sigs("classic", e.reg.Ref("classic:1"), keys(pub))},
		},
	})
}

// TestAccSignaturesKeyless verifies keyless signatures against a test
// trusted root, and fails on the wrong identity.
func TestAccSignaturesKeyless(t *testing.T) {
	e := newScanEnv(t)
	s := testutil.NewSigstore(t)
	img := testutil.RandomImage(t, 1, v1.Config{})
	e.reg.Push(t, "keyless:1", img)
	d, _ := img.Digest()
	const issuer = "https://token.actions.example.com"
	const subject = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	e.reg.SignKeyless(t, s, e.reg.Ref("keyless")+"@"+d.String(), issuer, subject, testutil.SignOptions{Format: testutil.FormatBundle, Tlog: true})
	cfg := func(identity string) string {
		return e.provider("") + fmt.Sprintf(`
data "imagegate_signatures" "k" {
  reference    = %q
  trusted_root = %q
  identities   = [%s]
}
`, e.reg.Ref("keyless:1"), s.TrustedRoot(t), identity)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg(fmt.Sprintf(`{ issuer = %q, subject_regex = "https://github\\.com/acme/.*" }`, issuer)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_signatures.k", tfjsonpath.New("verified"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.imagegate_signatures.k", tfjsonpath.New("signers"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"issuer": knownvalue.StringExact(issuer), "subject": knownvalue.StringExact(subject), "format": knownvalue.StringExact("bundle")}),
					})),
				},
			},
			{
				Config: cfg(fmt.Sprintf(`{ issuer = %q, subject = "https://github.com/evil/app" }`, issuer)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_signatures.k", tfjsonpath.New("verified"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.imagegate_signatures.k", tfjsonpath.New("failures"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringRegexp(regexp.MustCompile(`the certificate names issuer=` + regexp.QuoteMeta(issuer) + ` subject=` + regexp.QuoteMeta(subject) + `, not the expected identity`)),
					})),
				},
			},
		},
	})
}

// TestAccGateSignaturesCosignCLI: an index signed by the cosign CLI passes
// a gate that requires the key, and approved_reference is the digest that
// was signed; the unsigned image fails the plan.
func TestAccGateSignaturesCosignCLI(t *testing.T) {
	e := newScanEnv(t)
	idx := testutil.Index(t, testutil.RandomImage(t, 1, v1.Config{}), testutil.RandomImage(t, 1, v1.Config{}))
	e.reg.PushIndex(t, "multi:1", idx)
	d, _ := idx.Digest()
	signed := e.reg.Ref("multi") + "@" + d.String()
	keyPath, pub := testutil.CosignKeyPair(t)
	testutil.CosignSign(t, keyPath, e.reg.Ref("multi:1"), false, nil)
	e.reg.Push(t, "unsigned:1", testutil.RandomImage(t, 1, v1.Config{}))
	cfg := func(ref string) string {
		return e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name       = "signed"
  signatures = { keys = [%q] }
}

data "imagegate_gate" "g" {
  reference = %q
  policy    = imagegate_policy.p.document
}
`, pub, ref)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg(e.reg.Ref("multi:1")),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("g", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.g", tfjsonpath.New("approved_reference"), knownvalue.StringExact(signed)),
				},
			},
			{
				Config:      cfg(e.reg.Ref("unsigned:1")),
				ExpectError: regexp.MustCompile(`signatures[\s\S]*key\s+sha256:[0-9a-f]{64}[\s\S]*no\s+cosign\s+signature\s+is\s+attached`),
			},
			{Config: cfg(e.reg.Ref("multi:1"))},
		},
	})
}
