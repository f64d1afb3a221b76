package provider

import (
	"fmt"
	"regexp"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// Every platform of an index is gated: an index with one root platform
// fails and the message names that platform; an index whose platforms all
// pass is approved by the index digest; platforms narrows the set.
func TestAccGateEveryPlatform(t *testing.T) {
	e := newScanEnv(t)
	image := func(arch, user string) v1.Image {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: user, Platform: v1.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	amd := image("amd64", "app")
	good := testutil.Index(t, amd, image("arm64", "app"))
	mixed := testutil.Index(t, amd, image("arm64", ""))
	e.reg.PushIndex(t, "app:good", good)
	e.reg.PushIndex(t, "app:mixed", mixed)
	goodDigest, _ := good.Digest()
	mixedDigest, _ := mixed.Digest()
	amdDigest, _ := amd.Digest()
	cfg := func(tag, extra string) string {
		return e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name = "non-root"
  user = { require_non_root = true }
}

data "imagegate_gate" "app" {
  reference = %q
  policy    = imagegate_policy.p.document
%s
}`, e.reg.Ref("app:"+tag), extra)
	}
	gate := "data.imagegate_gate.app"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("good", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue(gate, tfjsonpath.New("digest"), knownvalue.StringExact(goodDigest.String())),
					statecheck.ExpectKnownValue(gate, tfjsonpath.New("approved_reference"), knownvalue.StringExact(e.reg.Ref("app")+"@"+goodDigest.String())),
					statecheck.ExpectKnownValue(gate, tfjsonpath.New("platform_results"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"platform": knownvalue.StringExact("linux/amd64"), "passed": knownvalue.Bool(true)}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"platform": knownvalue.StringExact("linux/arm64"), "passed": knownvalue.Bool(true)}),
					})),
				},
			},
			{
				// One root platform fails the whole index, and says which.
				Config:      cfg("mixed", ""),
				ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*` + regexp.QuoteMeta(mixedDigest.String()) + `.*linux/arm64\s+\(sha256:[0-9a-f]{64}\):\s+-\s+user\s+\(CIS\s+4\.1\):\s+the\s+image\s+sets\s+no\s+USER`),
			},
			{
				Config: cfg("mixed", "  enforce = false"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", false),
					statecheck.ExpectKnownValue(gate, tfjsonpath.New("approved_reference"), knownvalue.Null()),
					statecheck.ExpectKnownValue(gate, tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"platform": knownvalue.StringExact("linux/arm64"), "rule": knownvalue.StringExact("user")}),
					})),
				},
			},
			{
				Config:      cfg("mixed", `  platforms = ["linux-amd64"]`),
				ExpectError: regexp.MustCompile(`must be os/arch or os/arch/variant`),
			},
			{
				// The deprecated platform still narrows, and an error about
				// it points at it.
				Config:      cfg("mixed", `  platform = "linux/s390x"`),
				ExpectError: regexp.MustCompile(`(?s)Platform Not In Image.*platform\s+= "linux/s390x".*linux/amd64, linux/arm64`),
			},
			{
				// Narrowed to the platform that passes, the gate approves
				// that platform's manifest only.
				Config: cfg("mixed", `  platforms = ["linux/amd64"]`),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue(gate, tfjsonpath.New("approved_reference"), knownvalue.StringExact(e.reg.Ref("app")+"@"+amdDigest.String())),
				},
			},
		},
	})
}

// A scan covers every platform, each finding naming its platform.
func TestAccScanEveryPlatform(t *testing.T) {
	e := newScanEnv(t)
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Platform: v1.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	idx := testutil.Index(t, imgs...)
	e.reg.PushIndex(t, "app:1", idx)
	digest, _ := idx.Digest()
	ds := "data.imagegate_scan.app"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: e.provider("") + fmt.Sprintf(`
data "imagegate_scan" "app" {
  reference = %q
}`, e.reg.Ref("app:1")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("digest"), knownvalue.StringExact(digest.String())),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("platform_results").AtSliceIndex(1).AtMapKey("platform"), knownvalue.StringExact("linux/arm64")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("vulnerabilities").AtSliceIndex(0).AtMapKey("platform"), knownvalue.StringExact("linux/amd64")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("vulnerabilities").AtSliceIndex(1).AtMapKey("platform"), knownvalue.StringExact("linux/arm64")),
				},
			},
			{
				// An SBOM describes one image: asking for one of an index
				// without choosing a platform is a clear error.
				Config: e.provider("") + fmt.Sprintf(`
data "imagegate_scan" "app" {
  reference   = %q
  sbom_format = "syft-json"
}`, e.reg.Ref("app:1")),
				ExpectError: regexp.MustCompile(`(?s)Invalid Scan Request.*sbom_format needs one\s+image`),
			},
		},
	})
}
