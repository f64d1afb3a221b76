package provider

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verdict"
)

// cosignVerdicts runs `cosign verify-attestation --type <verdict type>` on
// digestRef with the public key next to keyPath and returns the predicates
// it verified; a refusal fails the test.
func cosignVerdicts(t *testing.T, keyPath, digestRef string) []verdict.Predicate {
	t.Helper()
	out := testutil.Cosign(t, "verify-attestation", "--key", testutil.CosignPublicKeyPath(keyPath), "--type", verdict.PredicateType,
		"--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", "-o", "json", digestRef)
	var preds []verdict.Predicate
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var env struct{ Payload string }
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatalf("cosign printed %q: %v", line, err)
		}
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatalf("the DSSE payload is not base64: %v", err)
		}
		var st struct {
			PredicateType string            `json:"predicateType"`
			Predicate     verdict.Predicate `json:"predicate"`
			Subject       []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(payload, &st); err != nil {
			t.Fatalf("the statement does not parse: %v\n%s", err, payload)
		}
		if st.PredicateType != verdict.PredicateType {
			continue // cosign prints every attestation that verified
		}
		if len(st.Subject) != 1 || "sha256:"+st.Subject[0].Digest["sha256"] != digestRef[strings.Index(digestRef, "@")+1:] {
			t.Errorf("the statement's subject is %+v, not %s", st.Subject, digestRef)
		}
		preds = append(preds, st.Predicate)
	}
	return preds
}

// TestAccVerdict: a passing image gets a verdict that the cosign CLI and
// imagegate_signatures verify, with the policy id, the digest and passed
// in its predicate; a verdict removed out of band is re-created; a failing
// (root) image fails the plan and no attestation is written; a wrong key
// password fails the plan; import is refused.
func TestAccVerdict(t *testing.T) {
	e := newScanEnv(t)
	app := testutil.RandomImage(t, 1, v1.Config{User: "1000"})
	e.reg.Push(t, "app:1", app)
	appDigest, _ := app.Digest()
	appRef := e.reg.Ref("app") + "@" + appDigest.String()
	app2 := testutil.RandomImage(t, 1, v1.Config{User: "1000"})
	app2Digest, _ := app2.Digest()
	root := testutil.RandomImage(t, 1, v1.Config{})
	e.reg.Push(t, "root:1", root)
	rootDigest, _ := root.Digest()
	keyPath, pub := testutil.CosignKeyPair(t)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	policyRes := `
resource "imagegate_policy" "p" {
  name = "production"
  user = { require_non_root = true }
  checks = { require_healthcheck = true, action = "warn" }
}
`
	signing := newVerdictSigning(t, key, testutil.CosignPassword)
	verdictRes := func(name, ref string) string {
		return fmt.Sprintf(`
resource "imagegate_verdict" %q {
  reference = %q
  policy    = imagegate_policy.p.document%s
}
`, name, ref, signing.resource())
	}
	base := signing.variables() + e.providerWith("", signing.provider()) + policyRes + verdictRes("v", e.reg.Ref("app:1"))
	withSignatures := base + `
data "imagegate_signatures" "s" {
  reference    = "${imagegate_verdict.v.id}"
  keys         = [imagegate_verdict.v.public_key]
  attestations = [{ predicate_type = imagegate_verdict.v.predicate_type }]
}
`
	attTag := fmt.Sprintf("%s:sha256-%s.att", e.reg.Ref("app"), appDigest.Hex)
	v := "imagegate_verdict.v"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				// First, while nothing is in the state: the post-test
				// destroy uses the last step's configuration.
				Config:      strings.ReplaceAll(base, "var.verdict_key_password", `"not-the-password"`),
				ExpectError: regexp.MustCompile(`(Signing Key Password Does Not Fit|Invalid Signing Key)[\s\S]*password\s+does\s+not\s+decrypt\s+the\s+signing\s+key`),
			},
			{
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(v, tfjsonpath.New("passed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(v, tfjsonpath.New("digest"), knownvalue.StringExact(appDigest.String())),
					statecheck.ExpectKnownValue(v, tfjsonpath.New("id"), knownvalue.StringExact(appRef)),
					statecheck.ExpectKnownValue(v, tfjsonpath.New("public_key"), knownvalue.StringExact(pub)),
					statecheck.ExpectKnownValue(v, tfjsonpath.New("predicate_type"), knownvalue.StringExact(verdict.PredicateType)),
					statecheck.ExpectKnownValue(v, tfjsonpath.New("attestation_digest"), knownvalue.StringRegexp(regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))),
					statecheck.CompareValuePairs(v, tfjsonpath.New("policy_id"), "imagegate_policy.p", tfjsonpath.New("id"), compare.ValuesSame()),
				},
				Check: func(s *terraform.State) error {
					// The key and its password are nowhere in the state.
					state, err := stateJSON(s)
					if err != nil {
						return err
					}
					if found := findAny(state, keyBody(key), testutil.CosignPassword); len(found) > 0 {
						return fmt.Errorf("the state holds the signing key or its password:\n%s", secretLines(state, found...))
					}
					policyID := s.RootModule().Resources["imagegate_policy.p"].Primary.Attributes["id"]
					preds := cosignVerdicts(t, keyPath, appRef)
					if len(preds) != 1 {
						return fmt.Errorf("cosign verified %d verdicts, want 1", len(preds))
					}
					p := preds[0]
					if !p.Passed || p.Policy.ID != policyID || p.Policy.Name != "production" || p.Image.Digest != appDigest.String() || p.Image.Reference != e.reg.Ref("app:1") {
						return fmt.Errorf("predicate = %+v, want passed, policy %s and digest %s", p, policyID, appDigest)
					}
					if p.Database.Checksum == "" || p.Database.Built == "" || p.Scanner.Grype == "" || p.Scanner.Syft == "" || len(p.Platforms) != 1 || p.Platforms[0].Digest != appDigest.String() {
						return fmt.Errorf("predicate = %+v, want the database, scanners and the platform evaluated", p)
					}
					// The warn-level check is recorded; the image has no HEALTHCHECK.
					if len(p.Violations) != 1 || p.Violations[0].Rule != "checks.require_healthcheck" || p.Violations[0].Action != "warn" {
						return fmt.Errorf("violations = %+v, want the warn-level require_healthcheck", p.Violations)
					}
					return nil
				},
			},
			{
				// Closing the loop inside imagegate; the verdict itself is
				// unchanged. imagegate_signatures also wants a signature of
				// the image by the key: the build's `cosign sign`.
				PreConfig: func() { testutil.CosignSign(t, keyPath, appRef, true, nil) },
				Config:    withSignatures,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(v, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_signatures.s", tfjsonpath.New("verified"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.imagegate_signatures.s", tfjsonpath.New("attestations"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"predicate_type": knownvalue.StringExact(verdict.PredicateType), "verified": knownvalue.Bool(true)}),
					})),
				},
			},
			{
				ResourceName:  v,
				ImportState:   true,
				ImportStateId: appRef,
				ExpectError:   regexp.MustCompile(`Import Not Supported`),
			},
			{
				// The verdict is deleted out of band: refresh notices, the
				// plan attaches a new one.
				PreConfig: func() {
					if err := remote.Delete(mustRef(t, attTag)); err != nil {
						t.Fatal(err)
					}
				},
				Config: base,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(v, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					if n := len(cosignVerdicts(t, keyPath, appRef)); n != 1 {
						return fmt.Errorf("cosign verified %d verdicts after the re-create, want 1", n)
					}
					return nil
				},
			},
			{
				// The tag moves: the new digest is gated and gets its own
				// verdict; the old digest keeps its own.
				PreConfig: func() { e.reg.Push(t, "app:1", app2) },
				Config:    base,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(v, plancheck.ResourceActionReplace),
					plancheck.ExpectKnownValue(v, tfjsonpath.New("digest"), knownvalue.StringExact(app2Digest.String())),
				}},
				Check: func(*terraform.State) error {
					if n := len(cosignVerdicts(t, keyPath, e.reg.Ref("app")+"@"+app2Digest.String())); n != 1 {
						return fmt.Errorf("cosign verified %d verdicts on the new digest, want 1", n)
					}
					if n := len(cosignVerdicts(t, keyPath, appRef)); n != 1 {
						return fmt.Errorf("cosign verified %d verdicts on the old digest, want 1", n)
					}
					return nil
				},
			},
			{
				PreConfig: e.reg.ResetRequests,
				Config:    base + verdictRes("root", e.reg.Ref("root:1")),
				ExpectError: regexp.MustCompile(`Image Failed Policy Gate[\s\S]*` + regexp.QuoteMeta(rootDigest.String()) +
					`[\s\S]*user \(CIS 4\.1\)[\s\S]*root`),
			},
			{
				PreConfig: func() {
					for _, q := range e.reg.Requests() {
						if strings.Contains(q, "/root/") && !strings.HasPrefix(q, "GET ") && !strings.HasPrefix(q, "HEAD ") {
							t.Errorf("a failing image got a write: %s", q)
						}
					}
					tags, err := remote.List(mustRef(t, e.reg.Ref("root:1")).Context())
					if err != nil {
						t.Fatal(err)
					}
					for _, tag := range tags {
						if strings.HasSuffix(tag, ".att") {
							t.Errorf("a failing image got an attestation: %s", tag)
						}
					}
				},
				// Nothing changes: the state's verdict is the moved tag's.
				Config: base,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(v, plancheck.ResourceActionNoop),
				}},
			},
		},
	})
}

// TestVerdictSignerErrorsNeverEchoThePassword: every way a key and its
// password can be wrong is reported on the attribute at fault, and the
// password is never in the message.
func TestVerdictSignerErrorsNeverEchoThePassword(t *testing.T) {
	keyPath, _ := testutil.CosignKeyPair(t)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(testutil.CosignPublicKeyPath(keyPath))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-Pa55word-decrypt"
	for name, c := range map[string]struct {
		key, password, attr, want string
	}{
		"wrong password":        {string(key), secret, "signing_key_password", "does not decrypt the signing key"},
		"no password":           {string(key), "", "signing_key_password", "no password was given"},
		"not pem":               {"not a key " + secret, secret, "signing_key", "not PEM"},
		"public key":            {string(pub), secret, "signing_key", "not a private key"},
		"password in key error": {"-----BEGIN PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString([]byte(secret)) + "\n-----END PRIVATE KEY-----\n", secret, "signing_key_password", "password was given"},
	} {
		t.Run(name, func(t *testing.T) {
			var diags diag.Diagnostics
			if s := loadVerdictSigner(c.key, c.password, &diags); s != nil || !diags.HasError() {
				t.Fatalf("loadVerdictSigner accepted the key: %v", diags)
			}
			d := diags.Errors()[0]
			text := d.Summary() + " " + d.Detail()
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("the message contains the password: %s", text)
			}
			if !strings.Contains(text, c.want) {
				t.Errorf("message %q does not say %q", text, c.want)
			}
			ad, ok := d.(diag.DiagnosticWithPath)
			if !ok || !strings.Contains(ad.Path().String(), c.attr) {
				t.Errorf("the error is not on %s: %#v", c.attr, d)
			}
		})
	}
}

// TestVerdictSignerDecryptedOnce: verdicts that share a key decrypt it once
// per process (scrypt each time otherwise); another password is another
// entry, and a password that does not fit is reported every time.
func TestVerdictSignerDecryptedOnce(t *testing.T) {
	keyPath, _ := testutil.CosignKeyPair(t)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	d := &providerData{}
	var diags diag.Diagnostics
	first := d.verdictSigner(string(key), testutil.CosignPassword, &diags)
	again := d.verdictSigner(string(key), testutil.CosignPassword, &diags)
	if first == nil || diags.HasError() {
		t.Fatalf("the key did not load: %v", diags)
	}
	if again != first {
		t.Error("the same key and password were decrypted again")
	}
	for range 2 {
		var wrong diag.Diagnostics
		if s := d.verdictSigner(string(key), "not-"+testutil.CosignPassword, &wrong); s != nil || !wrong.HasError() {
			t.Fatalf("a wrong password gave a signer, or no error: %v", wrong)
		}
	}
}
