package provider

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// publicKeyPEM is the PEM text of a public key and its key id as the
// verifier names it, "sha256:<hex of the PKIX DER>".
func publicKeyPEM(t *testing.T, pub crypto.PublicKey) (text, id string) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "sha256:" + hex.EncodeToString(sum[:])
}

// ecdsaKeyPEM is a fresh ECDSA public key on curve.
func ecdsaKeyPEM(t *testing.T, curve elliptic.Curve) (text, id string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return publicKeyPEM(t, &k.PublicKey)
}

// trustedRootJSON is a sigstore trusted_root.json with one self-signed
// certificate authority, in the policy document's canonical form (compact,
// sorted keys), so that an import of the document round-trips it.
func trustedRootJSON(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "imagegate test CA", Organization: []string{"imagegate"}},
		NotBefore:             time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"certificateAuthorities": []any{map[string]any{
			"subject":   map[string]any{"organization": "imagegate", "commonName": "imagegate test CA"},
			"uri":       "https://fulcio.example.com",
			"certChain": map[string]any{"certificates": []any{map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(der)}}},
			"validFor":  map[string]any{"start": "2026-01-01T00:00:00Z"},
		}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// The test trusted root is one the verifier accepts for identities.
func TestTrustedRootFixture(t *testing.T) {
	key, _ := ecdsaKeyPEM(t, elliptic.P256())
	r := verify.Requirements{Keys: []string{key}, TrustedRoot: trustedRootJSON(t), Identities: []verify.Identity{{Issuer: "https://issuer.example.com", SubjectRegex: ".*@example\\.com"}}}
	if ps := r.Check(); len(ps) > 0 {
		t.Fatalf("the test trusted root is refused: %v", ps)
	}
}

// An unsigned image is data, not an error: verified is false and the
// failures name each expected signer and attestation. The reference is
// resolved once and its digest verified; platform picks an index's
// platform manifest instead.
func TestAccSignaturesUnsigned(t *testing.T) {
	reg := testutil.NewRegistry(t)
	image := func(arch string) v1.Image {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Platform: v1.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	single := image("amd64")
	reg.Push(t, "app:single", single)
	singleDigest, _ := single.Digest()
	arm := image("arm64")
	idx := testutil.Index(t, image("amd64"), arm)
	reg.PushIndex(t, "app:multi", idx)
	idxDigest, _ := idx.Digest()
	armDigest, _ := arm.Digest()
	key, keyID := ecdsaKeyPEM(t, elliptic.P256())
	const slsa = "https://slsa.dev/provenance/v1"
	cfg := func(tag, extra string) string {
		return providerConfig("", reg.Host) + fmt.Sprintf(`
data "imagegate_signatures" "app" {
  reference    = %q
  keys         = [%q]
  attestations = [{ predicate_type = %q }]
%s
}`, reg.Ref("app:"+tag), key, slsa, extra)
	}
	ds := "data.imagegate_signatures.app"
	q := regexp.QuoteMeta
	unsigned := func(digest v1.Hash) []statecheck.StateCheck {
		at := q(reg.Ref("app") + "@" + digest.String())
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("verified"), knownvalue.Bool(false)),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("digest"), knownvalue.StringExact(digest.String())),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("minimum"), knownvalue.Int64Exact(1)),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("signers"), knownvalue.ListSizeExact(0)),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("attestations"), knownvalue.ListExact([]knownvalue.Check{
				knownvalue.ObjectExact(map[string]knownvalue.Check{"predicate_type": knownvalue.StringExact(slsa), "verified": knownvalue.Bool(false)}),
			})),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("failures"), knownvalue.ListExact([]knownvalue.Check{
				knownvalue.StringRegexp(regexp.MustCompile(`^attestation ` + q(slsa) + `: .*` + at)),
				knownvalue.StringRegexp(regexp.MustCompile(`^key ` + q(keyID) + `: no cosign signature is attached to ` + at + `: `)),
			})),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: cfg("single", ""), ConfigStateChecks: unsigned(singleDigest)},
			{Config: cfg("multi", ""), ConfigStateChecks: unsigned(idxDigest)},
			{Config: cfg("multi", `  platform = "linux/arm64"`), ConfigStateChecks: unsigned(armDigest)},
			{
				Config:      cfg("multi", `  platform = "linux/s390x"`),
				ExpectError: regexp.MustCompile(`(?s)Platform Not In Image.*linux/amd64, linux/arm64`),
			},
			{
				Config:      cfg("multi", `  platform = "linux-arm64"`),
				ExpectError: regexp.MustCompile(`must be os/arch or os/arch/variant`),
			},
			{
				Config:      cfg("missing", ""),
				ExpectError: regexp.MustCompile(`Image Not Found`),
			},
			{Config: cfg("single", `  minimum = 1`), ConfigStateChecks: unsigned(singleDigest)},
			{
				// Keys known only at apply: validation waits for them, and
				// the data source is read at apply.
				Config: strings.Replace(cfg("single", ""), "keys         = [", "keys         = terraform_data.keys.output # [", 1) + fmt.Sprintf(`
resource "terraform_data" "keys" {
  input = [%q]
}`, key),
				ConfigStateChecks: unsigned(singleDigest),
			},
		},
	})
}

// Invalid requirements fail at validate, on the attribute at fault, in the
// data source and in the policy's signatures rule alike.
func TestAccSignaturesInvalidRequirements(t *testing.T) {
	key, _ := ecdsaKeyPEM(t, elliptic.P256())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak, _ := publicKeyPEM(t, &rsaKey.PublicKey)
	p224, _ := ecdsaKeyPEM(t, elliptic.P224())
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, _ := publicKeyPEM(t, x.PublicKey())
	root := trustedRootJSON(t)
	// The reference is known only at apply, so the data source is read
	// only then: an error in the pre-apply plan comes from validation.
	dataSource := func(body string) string {
		return providerConfig("") + `
resource "terraform_data" "ref" {
  input = "registry.example.com/app:1"
}

data "imagegate_signatures" "app" {
  reference = terraform_data.ref.output
` + body + `
}`
	}
	rule := func(body string) string {
		return providerConfig("") + `
resource "imagegate_policy" "p" {
  name       = "signed"
  signatures = {
` + body + `
  }
}`
	}
	cases := []struct {
		body, want string
	}{
		{fmt.Sprintf(`keys = [%q, "not a key"]`, key), "keys[1] is not a PEM public key (expected -----BEGIN PUBLIC KEY-----, as in cosign.pub)"},
		{fmt.Sprintf(`keys = [%q]`, weak), "keys[0] is an RSA key of 1024 bits; at least 2048 bits are required"},
		{fmt.Sprintf(`keys = [%q]`, p224), "keys[0] is an ECDSA key on curve P-224; use P-256, P-384 or P-521"},
		{fmt.Sprintf(`keys = [%q]`, x25519), "keys[0] is an X25519 key-agreement key, which cannot sign; use ECDSA (P-256, P-384, P-521), Ed25519 or RSA (2048 bits or more)"},
		{fmt.Sprintf(`trusted_root = %q
identities = [{ issuer = "https://issuer.example.com", subject_regex = "(unclosed" }]`, root), `identities[0] subject: "(unclosed" is not a valid regular expression`},
		{fmt.Sprintf(`trusted_root = %q
identities = [{ issuer = "https://issuer.example.com", issuer_regex = ".*", subject = "a@example.com" }]`, root), "identities[0] issuer: set the exact value or the regular expression, not both"},
		{`identities = [{ issuer = "https://issuer.example.com", subject = "a@example.com" }]`, "trusted_root is required with identities"},
		{fmt.Sprintf(`keys = [%q]
minimum = 2`, key), "minimum is 2 but only 1 distinct keys are listed and no identity, so it can never be met"},
		{`annotations = { team = "payments" }`, "no signer: list at least one public key in keys or one keyless signer in identities"},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps,
			resource.TestStep{Config: dataSource(c.body), ExpectError: words("pre-apply plan", "Invalid Signature Requirements", c.want)},
			resource.TestStep{Config: rule(c.body), ExpectError: words("pre-apply plan", "Invalid Policy", ruleProblem(c.want))},
		)
	}
	steps = append(steps,
		resource.TestStep{Config: dataSource(fmt.Sprintf(`keys = [%q]
minimum = 0`, key)), ExpectError: words("minimum value must be at least 1")},
		resource.TestStep{Config: rule(fmt.Sprintf(`keys = [%q]
minimum = 0`, key)), ExpectError: words("minimum value must be at least 1")},
		// Not an error step last: a valid rule plans.
		resource.TestStep{
			Config: rule(fmt.Sprintf(`keys = [%q]`, key)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("signatures").AtMapKey("minimum"), knownvalue.Int64Exact(1)),
			},
		},
	)
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: factories(), Steps: steps})
}

// ruleProblem is how the policy reports a requirements problem the data
// source reports as "keys[1] is not …": "signatures.keys[1]: is not …".
func ruleProblem(dataSourceText string) string {
	if strings.HasPrefix(dataSourceText, "no signer") {
		return "signatures: " + dataSourceText
	}
	p, msg, _ := strings.Cut(dataSourceText, " ")
	return "signatures." + p + ": " + msg
}

// The gate fails closed on an unsigned image: each expected signer is a
// violation that names it, per platform with per_platform; warn reports
// it without failing.
func TestAccGateSignaturesUnsigned(t *testing.T) {
	e := newScanEnv(t)
	image := func(arch string) v1.Image {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Platform: v1.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	single := image("amd64")
	e.reg.Push(t, "app:single", single)
	singleDigest, _ := single.Digest()
	amd, arm := image("amd64"), image("arm64")
	idx := testutil.Index(t, amd, arm)
	e.reg.PushIndex(t, "app:multi", idx)
	idxDigest, _ := idx.Digest()
	amdDigest, _ := amd.Digest()
	armDigest, _ := arm.Digest()
	key, keyID := ecdsaKeyPEM(t, elliptic.P256())
	cfg := func(tag, rule, gate string) string {
		return e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name       = "signed"
  signatures = {
    keys = [%q]
%s
  }
}

data "imagegate_gate" "app" {
  reference = %q
  policy    = imagegate_policy.p.document
%s
}`, key, rule, e.reg.Ref("app:"+tag), gate)
	}
	g := "data.imagegate_gate.app"
	violation := func(platform knownvalue.Check) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"platform": platform,
			"rule":     knownvalue.StringExact("signatures"),
			"action":   knownvalue.StringExact("stop"),
			"subject":  knownvalue.StringExact("key " + keyID),
			"message":  knownvalue.StringRegexp(regexp.MustCompile(`^no cosign signature is attached to `)),
		})
	}
	signed := func(platform knownvalue.Check, digest v1.Hash) knownvalue.Check {
		return knownvalue.ObjectExact(map[string]knownvalue.Check{"platform": platform, "digest": knownvalue.StringExact(digest.String()), "verified": knownvalue.Bool(false)})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("single", "", ""),
				ExpectError: words("Image Failed Policy Gate", singleDigest.String(),
					"- signatures (CIS 4.5): key "+keyID+": no cosign signature is attached to "+e.reg.Ref("app")+"@"+singleDigest.String(),
					"To pass: sign the digest named above with a signer listed in signatures"),
			},
			{
				Config: cfg("single", "", "  enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", false),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("approved_reference"), knownvalue.Null()),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{violation(knownvalue.Null())})),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("signatures"), knownvalue.ListExact([]knownvalue.Check{signed(knownvalue.Null(), singleDigest)})),
				},
			},
			{
				// Enforced, the failure lists the index's violation first,
				// then each platform's under its manifest digest.
				Config: cfg("multi", "    per_platform = true", ""),
				ExpectError: words("Image Failed Policy Gate", "with 3 violations",
					"index ("+idxDigest.String()+"):", "- signatures (CIS 4.5): key "+keyID+": no cosign signature is attached to "+e.reg.Ref("app")+"@"+idxDigest.String(),
					"linux/amd64 ("+amdDigest.String()+"):", "- signatures (CIS 4.5): key "+keyID+": no cosign signature is attached to "+e.reg.Ref("app")+"@"+amdDigest.String(),
					"linux/arm64 ("+armDigest.String()+"):", "- signatures (CIS 4.5): key "+keyID+": no cosign signature is attached to "+e.reg.Ref("app")+"@"+armDigest.String()),
			},
			{
				// per_platform verifies the index and each platform; each
				// platform's own violation fails that platform.
				Config: cfg("multi", "    per_platform = true", "  enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", false),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{
						violation(knownvalue.Null()),
						violation(knownvalue.StringExact("linux/amd64")),
						violation(knownvalue.StringExact("linux/arm64")),
					})),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("platform_results"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"platform": knownvalue.StringExact("linux/amd64"), "passed": knownvalue.Bool(false)}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"platform": knownvalue.StringExact("linux/arm64"), "passed": knownvalue.Bool(false)}),
					})),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("signatures"), knownvalue.ListExact([]knownvalue.Check{
						signed(knownvalue.Null(), idxDigest),
						signed(knownvalue.StringExact("linux/amd64"), amdDigest),
						signed(knownvalue.StringExact("linux/arm64"), armDigest),
					})),
				},
			},
			{
				// A warn rule reports the unsigned image and passes it.
				Config: cfg("single", `    action = "warn"`, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue(g, tfjsonpath.New("warnings"), knownvalue.ListPartial(map[int]knownvalue.Check{
						0: knownvalue.StringRegexp(regexp.MustCompile(`^signatures: key ` + regexp.QuoteMeta(keyID) + `: no cosign signature is attached`)),
					})),
				},
			},
		},
	})
}

// A policy with a signatures rule imports from its document and
// round-trips every attribute.
func TestAccPolicySignaturesImport(t *testing.T) {
	key, _ := ecdsaKeyPEM(t, elliptic.P256())
	root := trustedRootJSON(t)
	cfg := providerConfig("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name       = "signed"
  signatures = {
    action                   = "warn"
    keys                     = [%q]
    identities               = [{ issuer = "https://token.actions.githubusercontent.com", subject_regex = "https://github\\.com/acme/.*" }]
    trusted_root             = %q
    require_docker_reference = true
    annotations              = { team = "payments" }
    attestations             = [{ predicate_type = "https://slsa.dev/provenance/v1" }]
    minimum                  = 2
    per_platform             = true
  }
}`, key, root)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(
						`"signatures":\{"action":"warn","keys":\[.*"identities":\[\{"issuer":"https://token.actions.githubusercontent.com","subject_regex":.*"minimum":2.*"per_platform":true\}`))),
				},
			},
			{
				ResourceName:      "imagegate_policy.p",
				ImportState:       true,
				ImportStateVerify: true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources["imagegate_policy.p"].Primary.Attributes["document"], nil
				},
				ImportStateVerifyIdentifierAttribute: "id",
			},
		},
	})
}
