package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// oldFindings lists the ids the old test database finds in img, so a
// policy can accept them and fail only on what a later database adds.
func oldFindings(t *testing.T, reg *testutil.Registry, ref string) []string {
	t.Helper()
	c, err := registry.New(registry.Options{InsecureRegistries: []string{reg.Host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	db := testutil.OpenVulnDB(t, testutil.VulnDBs(t).Old, vulndb.Config{MaxAge: 24 * time.Hour * 365 * 10})
	res, err := scan.New(c, db, t.TempDir()).Scan(context.Background(), scan.Request{Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range res.Vulnerabilities {
		ids = append(ids, v.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestAccPromotion covers imagegate_promotion end to end between two
// registries: a passing image (and a multi-platform index) is copied with
// its signatures and digest; a failing one is not; a failure mid-copy
// leaves the tag absent and a re-apply completes it; a tag deleted out of
// band is re-created; a database update makes the promotion non-compliant
// from the cached SBOM; import round-trips; destroy can delete the tag.
func TestAccPromotion(t *testing.T) {
	e := newScanEnv(t)
	prod := testutil.NewRegistry(t)
	// While failUploads is set, every blob upload from the third on fails
	// (past the provider's retries).
	var failUploads atomic.Bool
	var uploads atomic.Int32
	faulty := prod.Faulty(t, func(w http.ResponseWriter, r *http.Request) bool {
		if failUploads.Load() && r.Method == http.MethodPost && testutil.IsBlobUpload(r) && uploads.Add(1) >= 3 {
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}`, http.StatusInternalServerError)
			return true
		}
		return false
	})

	build := func(arch string, user string) v1.Image {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: user, Platform: v1.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	app := build("amd64", "app")
	e.reg.Push(t, "app:1", app)
	appDigest, _ := app.Digest()
	e.reg.PushIndex(t, "multi:1", testutil.Index(t, build("amd64", "app"), build("arm64", "app")))
	e.reg.Push(t, "root:1", build("amd64", ""))
	other := testutil.RandomImage(t, 4, v1.Config{User: "1000"})
	e.reg.Push(t, "other:1", other)
	configs := map[string]bool{}
	for _, img := range []v1.Image{app, build("arm64", "app"), other} {
		c, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		configs[c.String()] = true
	}
	key, pub := testutil.GenerateKey(t, "")
	e.reg.SignWithKey(t, e.reg.Ref("app")+"@"+appDigest.String(), key, testutil.SignOptions{})
	e.reg.SignWithKey(t, e.reg.Ref("app")+"@"+appDigest.String(), key, testutil.SignOptions{Format: testutil.FormatBundle})

	var ignore []string
	for _, id := range oldFindings(t, e.reg, e.reg.Ref("app:1")) {
		ignore = append(ignore, fmt.Sprintf(`{ id = %q, reason = "accepted before promotion" }`, id))
	}
	provider := providerConfig(fmt.Sprintf(`
  sbom_cache_dir = %q
  vulnerability_db = {
    cache_dir            = %q
    update_url           = %q
    require_update_check = true
  }`, e.sbomDir, e.dbDir, e.dbServer.URL()), e.reg.Host, prod.Host, faulty)
	policy := fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name            = "production"
  user            = { require_non_root = true }
  vulnerabilities = { fail_on_severity = "negligible", ignore = [%s] }
}
`, strings.Join(ignore, ", "))
	promotion := func(name, source, destination, extra string) string {
		return fmt.Sprintf(`
resource "imagegate_promotion" %q {
  source      = %q
  destination = %q
  policy      = imagegate_policy.p.document
%s
}
`, name, source, destination, extra)
	}
	base := provider + policy +
		promotion("app", e.reg.Ref("app:1"), prod.Ref("app:prod"), "  keep_on_destroy = false") +
		promotion("multi", e.reg.Ref("multi:1"), prod.Ref("multi:prod"), "")
	withOther := base + promotion("other", e.reg.Ref("other:1"), faulty+"/other:prod", "")

	prodClient, err := registry.New(registry.Options{InsecureRegistries: []string{prod.Host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	head := func(ref string) (string, error) {
		d, err := remote.Head(mustRef(t, ref), remote.WithContext(context.Background()))
		if err != nil {
			return "", err
		}
		return d.Digest.String(), nil
	}
	tagAt := func(ref, want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			got, err := head(ref)
			if err != nil || got != want {
				return fmt.Errorf("%s names %q (%w), want %s", ref, got, err, want)
			}
			return nil
		}
	}
	absent := func(ref string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if d, err := head(ref); err == nil {
				return fmt.Errorf("%s exists (%s), want it absent", ref, d)
			}
			return nil
		}
	}
	indexDigest := func() string {
		d, err := head(e.reg.Ref("multi:1"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}()

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			absent(prod.Ref("app:prod")),               // keep_on_destroy = false
			tagAt(prod.Ref("multi:prod"), indexDigest), // kept
		),
		Steps: []resource.TestStep{
			{
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_promotion.app", tfjsonpath.New("digest"), knownvalue.StringExact(appDigest.String())),
					statecheck.ExpectKnownValue("imagegate_promotion.app", tfjsonpath.New("destination_reference"), knownvalue.StringExact(prod.Ref("app")+"@"+appDigest.String())),
					statecheck.ExpectKnownValue("imagegate_promotion.app", tfjsonpath.New("compliant"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("imagegate_promotion.app", tfjsonpath.New("evaluation").AtMapKey("passed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("imagegate_promotion.multi", tfjsonpath.New("digest"), knownvalue.StringExact(indexDigest)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					tagAt(prod.Ref("app:prod"), appDigest.String()),
					tagAt(prod.Ref("multi:prod"), indexDigest),
					func(*terraform.State) error {
						// The signatures came along, in both formats, and verify there.
						d, _ := name.NewDigest(prod.Ref("app")+"@"+appDigest.String(), name.Insecure)
						res, err := verify.New(prodClient, nil).Verify(context.Background(), d, verify.Requirements{Keys: []string{pub}})
						if err != nil {
							return err
						}
						if !res.Verified || len(res.Signers) != 2 {
							return fmt.Errorf("signatures at the destination: verified=%v signers=%+v failures=%+v", res.Verified, res.Signers, res.Failures)
						}
						return nil
					},
				),
			},
			{
				// A failing image fails the plan; nothing is copied.
				Config:      base + promotion("root", e.reg.Ref("root:1"), prod.Ref("root:prod"), ""),
				ExpectError: regexp.MustCompile(`Image Failed Policy Gate[\s\S]*user\s+\(CIS\s+4\.1\):\s+the\s+image\s+sets\s+no\s+USER`),
			},
			{
				// The third blob upload fails: the apply fails and the tag is
				// not written.
				PreConfig:   func() { failUploads.Store(true) },
				Config:      withOther,
				ExpectError: regexp.MustCompile(`Promotion Failed[\s\S]*destination\s+tag\s+was\s+not\s+moved`),
			},
			{
				PreConfig: func() {
					if d, err := head(prod.Ref("root:prod")); err == nil {
						t.Errorf("the failing image was copied: %s", d)
					}
					if d, err := head(prod.Ref("other:prod")); err == nil {
						t.Errorf("the tag was written although the copy failed: %s", d)
					}
					failUploads.Store(false)
				},
				Config: withOther,
				Check:  tagAt(prod.Ref("other:prod"), mustDigest(t, other)),
			},
			{
				// The tag is deleted out of band: the plan re-creates the promotion.
				PreConfig: func() {
					if err := remote.Delete(mustRef(t, prod.Ref("app:prod"))); err != nil {
						t.Fatal(err)
					}
				},
				Config: withOther,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("imagegate_promotion.app", plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction("imagegate_promotion.multi", plancheck.ResourceActionNoop),
				}},
				Check: tagAt(prod.Ref("app:prod"), appDigest.String()),
			},
			{
				// A database published after the promotion finds a new
				// advisory in the promoted digest: refresh marks it
				// non-compliant from the cached SBOM, pulling no layer.
				PreConfig: func() {
					e.dbServer.Set(e.dbs.New)
					e.reg.ResetRequests()
					prod.ResetRequests()
				},
				RefreshState: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("imagegate_promotion.app", "compliant", "false"),
					resource.TestCheckTypeSetElemNestedAttrs("imagegate_promotion.app", "evaluation.violations.*", map[string]string{"rule": "vulnerabilities", "action": "stop"}),
					func(*terraform.State) error {
						// Manifests and configs are read to resolve and inspect;
						// no layer is pulled.
						for _, q := range append(prod.Requests(), e.reg.Requests()...) {
							if strings.HasPrefix(q, "GET ") && strings.Contains(q, "/blobs/") && !configs[q[strings.LastIndex(q, "/")+1:]] {
								return fmt.Errorf("the refresh pulled a layer: %s", q)
							}
						}
						return nil
					},
				),
			},
			{
				// A change that copies nothing (timeouts) applies without
				// gating again, although the image is no longer compliant.
				Config: provider + policy +
					promotion("app", e.reg.Ref("app:1"), prod.Ref("app:prod"), "  keep_on_destroy = false") +
					promotion("multi", e.reg.Ref("multi:1"), prod.Ref("multi:prod"), `  timeouts = { update = "20m" }`) +
					promotion("other", e.reg.Ref("other:1"), faulty+"/other:prod", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("imagegate_promotion.multi", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_promotion.multi", tfjsonpath.New("compliant"), knownvalue.Bool(false)),
				},
			},
			{
				ResourceName:            "imagegate_promotion.multi",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"source", "policy", "policy_id", "evaluation", "compliant", "timeouts"},
			},
		},
	})
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
