package provider

import (
	"fmt"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// TestAccUnknownSourceReplaces: a verdict's reference or a promotion's
// source known only at apply (here from a terraform_data that changes)
// may name another digest, so the plan replaces the resource rather than
// updating it; the apply then gates and writes for the new digest instead
// of failing with an inconsistent final plan.
func TestAccUnknownSourceReplaces(t *testing.T) {
	e := newScanEnv(t)
	prod := testutil.NewRegistry(t)
	a := testutil.RandomImage(t, 1, v1.Config{User: "1000"})
	b := testutil.RandomImage(t, 1, v1.Config{User: "1000"})
	e.reg.Push(t, "a:1", a)
	e.reg.Push(t, "b:1", b)
	aDigest, _ := a.Digest()
	bDigest, _ := b.Digest()
	keyPath, _ := testutil.CosignKeyPair(t)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	signing := newVerdictSigning(t, key, testutil.CosignPassword)
	cfg := signing.variables() + providerConfig(fmt.Sprintf(`
  sbom_cache_dir = %q
  vulnerability_db = {
    cache_dir            = %q
    update_url           = %q
    require_update_check = true
  }%s`, e.sbomDir, e.dbDir, e.dbServer.URL(), signing.provider()), e.reg.Host, prod.Host) + fmt.Sprintf(`
variable "image" {
  type = string
}

resource "terraform_data" "built" {
  input = var.image
}

resource "imagegate_policy" "p" {
  name = "p"
  user = { require_non_root = true }
}

resource "imagegate_verdict" "v" {
  reference = terraform_data.built.output
  policy    = imagegate_policy.p.document%s
}

resource "imagegate_promotion" "p" {
  source          = terraform_data.built.output
  destination     = %q
  policy          = imagegate_policy.p.document
  keep_on_destroy = true
}
`, signing.resource(), prod.Ref("app:prod"))
	step := func(ref string, digest v1.Hash, checks ...plancheck.PlanCheck) resource.TestStep {
		return resource.TestStep{
			Config:           cfg,
			ConfigVariables:  config.Variables{"image": config.StringVariable(ref)},
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: checks},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("imagegate_verdict.v", tfjsonpath.New("digest"), knownvalue.StringExact(digest.String())),
				statecheck.ExpectKnownValue("imagegate_promotion.p", tfjsonpath.New("digest"), knownvalue.StringExact(digest.String())),
			},
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			step(e.reg.Ref("a:1"), aDigest),
			step(e.reg.Ref("b:1"), bDigest,
				plancheck.ExpectResourceAction("imagegate_verdict.v", plancheck.ResourceActionReplace),
				plancheck.ExpectResourceAction("imagegate_promotion.p", plancheck.ResourceActionReplace),
				plancheck.ExpectUnknownValue("imagegate_verdict.v", tfjsonpath.New("digest")),
			),
		},
	})
}
