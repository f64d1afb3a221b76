package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/sigstore/cosign/v3/pkg/cosign"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

const attestPassword = "runner-a-secret"

// attestProvider is a provider block for the env with its own SBOM cache
// directory and registry_attestations.
func (e *scanEnv) attestProvider(sbomDir, attestations string) string {
	return providerConfig(fmt.Sprintf(`
  sbom_cache_dir = %q
  vulnerability_db = {
    cache_dir            = %q
    update_url           = %q
    require_update_check = true
  }
  registry_attestations = {
%s
  }`, sbomDir, e.dbDir, e.dbServer.URL(), attestations), e.reg.Host)
}

// layerGets lists the GETs of the image's layer blobs in the registry's
// request log.
func layerGets(t *testing.T, r *testutil.Registry, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, _ := l.Digest()
		for _, q := range r.Requests() {
			if strings.HasPrefix(q, "GET ") && strings.Contains(q, "/blobs/"+d.String()) {
				out = append(out, q)
			}
		}
	}
	return out
}

// warningMatches checks that one of a gate's warnings matches re (want
// true) or that none does (want false).
func warningMatches(name string, re *regexp.Regexp, want bool) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources["data.imagegate_gate."+name]
		if !ok {
			return fmt.Errorf("data.imagegate_gate.%s is not in state", name)
		}
		var all []string
		for k, v := range rs.Primary.Attributes {
			if strings.HasPrefix(k, "warnings.") && k != "warnings.#" {
				all = append(all, v)
				if re.MatchString(v) && want {
					return nil
				}
			}
		}
		if !want {
			for _, w := range all {
				if re.MatchString(w) {
					return fmt.Errorf("data.imagegate_gate.%s has the warning %q", name, w)
				}
			}
			return nil
		}
		return fmt.Errorf("no warning of data.imagegate_gate.%s matches %s: %q", name, re, all)
	}
}

// TestAccRegistryAttestations: provider A (publish_sbom, an encrypted
// cosign key) gates an image and publishes its SBOM; provider B, with its
// own empty SBOM cache, gates the same digest from the attestation without
// fetching a layer blob; a tampered attestation and one signed by a foreign
// key are ignored with a warning, and those images are cataloged.
func TestAccRegistryAttestations(t *testing.T) {
	e := newScanEnv(t)
	app, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", app)
	tampered, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "tampered"})
	if err != nil {
		t.Fatal(err)
	}
	tamperedRef := e.reg.Push(t, "tampered:1", tampered)
	foreign, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "foreign"})
	if err != nil {
		t.Fatal(err)
	}
	foreignRef := e.reg.Push(t, "foreign:1", foreign)

	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(attestPassword), nil })
	if err != nil {
		t.Fatal(err)
	}
	signer, err := attest.LoadSigner(kb.PrivateBytes, []byte(attestPassword))
	if err != nil {
		t.Fatal(err)
	}
	other, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("x"), nil })
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := attest.LoadSigner(other.PrivateBytes, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	// The tampered and foreign images carry SBOM attestations made in Go:
	// one signed by the trusted key and then altered, one signed by a key
	// provider B does not trust.
	c, err := registry.New(registry.Options{InsecureRegistries: []string{e.reg.Host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	pub := attest.New(c, nil)
	for ref, s := range map[string]*attest.Signer{tamperedRef: signer, foreignRef: otherSigner} {
		d, err := c.ResolveDigest(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Publish(context.Background(), d, "custom", []byte(`{"artifacts":[],"source":{},"distro":{},"descriptor":{"name":"syft"},"schema":{"version":"16.0.0"}}`), s); err != nil {
			t.Fatal(err)
		}
	}
	e.reg.TamperAttestations(t, tamperedRef, func(st map[string]any) {
		testutil.As[map[string]any](t, st["predicate"])["Data"] = `{"artifacts":[]}`
	})

	providerA := e.attestProvider(t.TempDir(), fmt.Sprintf(`
    publish_sbom         = true
    signing_key          = %q
    signing_key_password = %q`, kb.PrivateBytes, attestPassword))
	providerB := e.attestProvider(t.TempDir(), fmt.Sprintf(`
    use_sbom     = true
    trusted_keys = [%q]`, kb.PublicBytes))
	// Only the vulnerabilities rule: a user or checks rule reads files
	// from the layers, so such a gate catalogs.
	policy := `
  vulnerabilities = {
    fail_on_severity = "critical"
  }`
	gates := gateConfig(e.reg.Ref("app:1"), policy, "")
	more := fmt.Sprintf(`
data "imagegate_gate" "tampered" {
  reference = %q
  policy    = imagegate_policy.p.document
}

data "imagegate_gate" "foreign" {
  reference = %q
  policy    = imagegate_policy.p.document
}`, e.reg.Ref("tampered:1"), e.reg.Ref("foreign:1"))
	ignored := regexp.MustCompile(`SBOM attestation .* was ignored: it does not verify against trusted_keys`)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				// Runner A catalogs and publishes.
				PreConfig: e.reg.ResetRequests,
				Config:    providerA + gates,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("data.imagegate_gate.app", "passed", "true"),
					warningMatches("app", regexp.MustCompile(`not published`), false),
					func(*terraform.State) error {
						if len(layerGets(t, e.reg, app)) == 0 {
							return fmt.Errorf("runner A did not pull the layers")
						}
						for _, q := range e.reg.Requests() {
							if strings.HasPrefix(q, "PUT ") && strings.Contains(q, ".att") {
								return nil
							}
						}
						return fmt.Errorf("runner A published no attestation: %v", e.reg.Requests())
					},
				),
			},
			{
				// Runner B, with an empty SBOM cache, uses the attestation.
				PreConfig: e.reg.ResetRequests,
				Config:    providerB + gates,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("data.imagegate_gate.app", "passed", "true"),
					resource.TestCheckResourceAttr("data.imagegate_gate.app", "severity_counts.high", "1"),
					warningMatches("app", regexp.MustCompile(`ignored`), false),
					func(*terraform.State) error {
						if got := layerGets(t, e.reg, app); len(got) != 0 {
							return fmt.Errorf("runner B fetched layer blobs although a trusted SBOM attestation was attached: %v", got)
						}
						return nil
					},
				),
			},
			{
				// A tampered attestation and a foreign key's are ignored with a
				// warning; those images are cataloged.
				PreConfig: e.reg.ResetRequests,
				Config:    providerB + gates + more,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("data.imagegate_gate.tampered", "passed", "true"),
					resource.TestCheckResourceAttr("data.imagegate_gate.tampered", "severity_counts.high", "1"),
					warningMatches("tampered", ignored, true),
					warningMatches("foreign", ignored, true),
					warningMatches("foreign", regexp.MustCompile(`does not verify with this key`), true),
					func(*terraform.State) error {
						if len(layerGets(t, e.reg, tampered)) == 0 || len(layerGets(t, e.reg, foreign)) == 0 {
							return fmt.Errorf("the images with unusable attestations were not cataloged")
						}
						return nil
					},
				),
			},
		},
	})
}

// TestAccRegistryAttestationsValidation: bad settings fail validation with
// the attribute named, and never echo the key or its password.
func TestAccRegistryAttestationsValidation(t *testing.T) {
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(attestPassword), nil })
	if err != nil {
		t.Fatal(err)
	}
	config := func(body string) string {
		return providerConfig("  registry_attestations = {\n"+body+"\n  }") + `
resource "imagegate_policy" "p" {
  name = "p"
}
`
	}
	for _, tc := range []struct {
		name, body string
		err        *regexp.Regexp
	}{
		{"use without keys", `    use_sbom = true`, regexp.MustCompile(`(?s)Missing Trusted Keys.*use_sbom = true`)},
		{"publish without key", `    publish_sbom = true`, regexp.MustCompile(`(?s)Missing Signing Key.*publish_sbom = true`)},
		{"bad trusted key", `    use_sbom = true
    trusted_keys = ["not a key"]`, regexp.MustCompile(`(?s)Invalid Trusted Key.*trusted_keys\[0\]`)},
		{"wrong password", fmt.Sprintf(`    publish_sbom = true
    signing_key = %q
    signing_key_password = "wrong-password-value"`, kb.PrivateBytes), regexp.MustCompile(`(?s)Invalid Signing Key.*password\s+does\s+not\s+decrypt`)},
		{"password without key", `    signing_key_password = "x"`, regexp.MustCompile(`Password Without Signing Key`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: factories(),
				Steps: []resource.TestStep{{
					Config:      config(tc.body),
					PlanOnly:    true,
					ExpectError: tc.err,
				}},
			})
		})
	}
}
