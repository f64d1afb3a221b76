package provider

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verdict"
)

// TestAccVerdictPlatforms: a verdict on a whole index is attached to the
// index digest and lists every platform gated; with one platform selected
// it is attached to that platform's image; selecting some but not all
// platforms is refused, since no digest covers exactly them.
func TestAccVerdictPlatforms(t *testing.T) {
	e := newScanEnv(t)
	img := func(arch, variant string) v1.Image {
		return testutil.Image(t, testutil.Spec{
			Layers:   []v1.Layer{testutil.Layer(t, testutil.Files{"etc/app/" + arch + variant: []byte(arch)})},
			Config:   v1.Config{User: "1000"},
			Platform: v1.Platform{OS: "linux", Architecture: arch, Variant: variant},
		})
	}
	amd, arm, armv7 := img("amd64", ""), img("arm64", ""), img("arm", "v7")
	idx := testutil.Index(t, amd, arm, armv7)
	e.reg.PushIndex(t, "multi:1", idx)
	idxDigest, _ := idx.Digest()
	armDigest, _ := arm.Digest()
	keyPath, _ := testutil.CosignKeyPair(t)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	signing := newVerdictSigning(t, key, testutil.CosignPassword)
	verdictRes := func(name, platforms string) string {
		return fmt.Sprintf(`
resource "imagegate_verdict" %q {
  reference = %q
  policy    = imagegate_policy.p.document%s
%s
}
`, name, e.reg.Ref("multi:1"), signing.resource(), platforms)
	}
	base := signing.variables() + e.providerWith("", signing.provider()) + `
resource "imagegate_policy" "p" {
  name = "production"
  user = { require_non_root = true }
}
` + verdictRes("all", "") + verdictRes("arm", `  platforms = ["linux/arm64"]`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_verdict.all", tfjsonpath.New("digest"), knownvalue.StringExact(idxDigest.String())),
					statecheck.ExpectKnownValue("imagegate_verdict.arm", tfjsonpath.New("digest"), knownvalue.StringExact(armDigest.String())),
					statecheck.ExpectKnownValue("imagegate_verdict.arm", tfjsonpath.New("id"), knownvalue.StringExact(e.reg.Ref("multi")+"@"+armDigest.String())),
				},
				Check: func(*terraform.State) error {
					all := cosignVerdicts(t, keyPath, e.reg.Ref("multi")+"@"+idxDigest.String())
					if len(all) != 1 {
						return fmt.Errorf("cosign verified %d verdicts on the index, want 1", len(all))
					}
					var got []string
					for _, p := range all[0].Platforms {
						got = append(got, p.Platform)
					}
					if fmt.Sprint(got) != "[linux/amd64 linux/arm/v7 linux/arm64]" {
						return fmt.Errorf("the index verdict lists platforms %v, want every platform, sorted", got)
					}
					one := cosignVerdicts(t, keyPath, e.reg.Ref("multi")+"@"+armDigest.String())
					if len(one) != 1 || len(one[0].Platforms) != 1 || one[0].Platforms[0] != (verdict.Platform{Platform: "linux/arm64", Digest: armDigest.String()}) {
						return fmt.Errorf("the arm64 verdicts are %+v, want one naming linux/arm64 only", one)
					}
					return nil
				},
			},
			{
				Config:      base + verdictRes("two", `  platforms = ["linux/amd64", "linux/arm64"]`),
				ExpectError: regexp.MustCompile(`No Single Digest for the Platforms[\s\S]*leaves out linux/arm/v7`),
			},
		},
	})
}
