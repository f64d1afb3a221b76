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

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// TestAccBaseImageTrustedBases covers base_image with require left at its
// default (true) and a base tag that moves after the images were built:
// images without base annotations pass only by layers; after the move a tag
// entry fails the image built on the earlier manifest and suggests the
// repository entry, which passes it by layers when its annotations nominate
// that manifest and fails closed when nothing nominates it.
func TestAccBaseImageTrustedBases(t *testing.T) {
	e := newScanEnv(t)
	debian := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	stableV1 := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}})
	e.reg.Push(t, "base/debian:stable", stableV1)
	v1Digest, _ := stableV1.Digest()
	newer := testutil.Layer(t, fixtures.DebianFiles([]fixtures.DebianPackage{{Name: "tar", Version: "1.34+dfsg-1.2+deb12u1"}}))
	stableV2 := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{newer}})
	v2Digest, _ := stableV2.Digest()

	build := func(tag string, base v1.Layer, annotations map[string]string) {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{base}, Annotations: annotations})
		if err != nil {
			t.Fatal(err)
		}
		e.reg.Push(t, tag, img)
	}
	// Built on stable when it was v1: without annotations, and with the
	// annotations a build writes (the tag and the digest it named then).
	build("bare:1", debian, nil)
	build("annotated:1", debian, map[string]string{
		registry.AnnotationBaseName:   e.reg.Ref("base/debian:stable"),
		registry.AnnotationBaseDigest: v1Digest.String(),
	})
	// Built on something else, without annotations.
	other := testutil.Layer(t, fixtures.DebianFiles([]fixtures.DebianPackage{{Name: "bash", Version: "5.2.15-2+b2"}}))
	build("elsewhere:1", other, nil)

	repoEntry := e.reg.Ref("base/debian")
	tagEntry := e.reg.Ref("base/debian:stable")
	cfg := func(trusted string, gates ...string) string {
		s := e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name       = "trusted-base"
  base_image = { trusted = [%q] }
}
`, trusted)
		for _, g := range gates {
			s += fmt.Sprintf(`
data "imagegate_gate" %q {
  reference = %q
  policy    = imagegate_policy.p.document
  enforce   = false
}
`, g, e.reg.Ref(g+":1"))
		}
		return s
	}
	message := func(gate, pattern string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.imagegate_gate."+gate, tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{
			knownvalue.ObjectPartial(map[string]knownvalue.Check{
				"rule":    knownvalue.StringExact("base_image"),
				"action":  knownvalue.StringExact("stop"),
				"message": knownvalue.StringRegexp(regexp.MustCompile(pattern)),
			}),
		}))
	}
	noViolations := func(gate string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.imagegate_gate."+gate, tfjsonpath.New("violations"), knownvalue.ListSizeExact(0))
	}
	q := regexp.QuoteMeta
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				// require is not set: it is true, and the document says so.
				// Without annotations, the image built on the trusted base
				// passes by its layers; the one built elsewhere fails.
				Config: cfg(tagEntry, "bare", "elsewhere", "annotated"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("base_image").AtMapKey("require"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(`"require":true`))),
					passed("bare", true), noViolations("bare"),
					passed("annotated", true), noViolations("annotated"),
					passed("elsewhere", false),
					message("elsewhere", `^a trusted base is required, but the layers of no trusted base \(`+q(tagEntry)+`\) are the bottom of the image's; checked: `+q(repoEntry+"@"+v1Digest.String())),
				},
			},
			{
				// The base team moves stable to a new manifest. The tag entry
				// now fails both images built on the earlier one, and says
				// how to trust it.
				PreConfig: func() { e.reg.Push(t, "base/debian:stable", stableV2) },
				Config:    cfg(tagEntry, "bare", "annotated"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("annotated", false),
					message("annotated", `^base `+q(tagEntry+"@"+v1Digest.String())+` is not in the trusted list .*`+
						`Trusted entry `+q(tagEntry)+` now names `+q(v2Digest.String())+`: the tag has moved since the image was built\. `+
						`To trust any manifest of the repository that the image's layers prove, list the repository entry `+q(repoEntry)+` \(no tag\)`),
					passed("bare", false),
					message("bare", `checked: `+q(repoEntry+"@"+v2Digest.String())+`\. The image has no base annotations; if the image was built on an earlier manifest of `+
						q(tagEntry)+` \(the tag has moved since\), trust the repository entry without the tag and annotate the image with org\.opencontainers\.image\.base\.name and org\.opencontainers\.image\.base\.digest`),
				},
			},
			{
				// The repository entry trusts any manifest of the repository
				// that the layers prove: the annotated image passes. Without
				// annotations nothing nominates the earlier manifest (the
				// repository has no latest tag), so that image fails closed
				// and is told to annotate or pin.
				Config: cfg(repoEntry, "bare", "annotated", "elsewhere"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("annotated", true), noViolations("annotated"),
					passed("bare", false),
					message("bare", `^a trusted base is required, but none of the trusted bases \(`+q(repoEntry)+`\) could be resolved to compare layers with\. `+
						`The image has no base annotations; a repository entry or glob \(`+q(repoEntry)+`\) is compared only with the manifest the image's annotations name .*`+
						`annotate the image with org\.opencontainers\.image\.base\.name and org\.opencontainers\.image\.base\.digest, or list the base by digest$`),
					passed("elsewhere", false),
				},
			},
			{
				// Pinning the earlier manifest by digest is the other way.
				Config: cfg(repoEntry+"@"+v1Digest.String(), "bare", "annotated"),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("bare", true), noViolations("bare"),
					passed("annotated", true), noViolations("annotated"),
				},
			},
		},
	})
}

// TestAccBaseImageGlobs: "*" trusts repositories one segment deep, "**" at
// any depth; a nested base needs "**". The image nominates its base by
// annotation, as a glob cannot be resolved on its own.
func TestAccBaseImageGlobs(t *testing.T) {
	e := newScanEnv(t)
	debian := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	base := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}})
	e.reg.Push(t, "golden/team/debian:12", base)
	digest, _ := base.Digest()
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{debian}, Annotations: map[string]string{
		registry.AnnotationBaseName:   e.reg.Ref("golden/team/debian:12"),
		registry.AnnotationBaseDigest: digest.String(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", img)
	cfg := func(glob string) string {
		return e.provider("") + fmt.Sprintf(`
resource "imagegate_policy" "p" {
  name       = "globs"
  base_image = { trusted = [%q] }
  registries = { trusted = [%q] }
}

data "imagegate_gate" "app" {
  reference = %q
  policy    = imagegate_policy.p.document
  enforce   = false
}
`, glob, e.reg.Host+"/**", e.reg.Ref("app:1"))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg(e.reg.Ref("golden/*")),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", false),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"rule":    knownvalue.StringExact("base_image"),
							"message": knownvalue.StringRegexp(regexp.MustCompile(`is not in the trusted list`)),
						}),
					})),
				},
			},
			{
				Config:            cfg(e.reg.Ref("golden/**")),
				ConfigStateChecks: []statecheck.StateCheck{passed("app", true)},
			},
			{
				Config:            cfg(e.reg.Ref("golden/*/debian")),
				ConfigStateChecks: []statecheck.StateCheck{passed("app", true)},
			},
		},
	})
}

// TestAccPolicyChecksNothing: a rule that cannot fail, or no rule at all, is
// refused at plan time with the path of the rule, not passed silently.
func TestAccPolicyChecksNothing(t *testing.T) {
	policy := func(body string) string {
		return providerConfig("") + `
resource "imagegate_policy" "p" {
  name = "noop"
` + body + `
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config:      policy(`  user = {}`),
				ExpectError: words("Invalid Policy", "user: the rule checks nothing: set require_non_root = true or remove it"),
			},
			{
				Config:      policy(`  user = { require_non_root = false, action = "warn" }`),
				ExpectError: words("Invalid Policy", "user: the rule checks nothing"),
			},
			{
				Config:      policy(``),
				ExpectError: words("Invalid Policy", "the policy has no rule, so it checks nothing: set at least one of vulnerabilities, user, base_image, registries or signatures"),
			},
			{
				Config: policy(`  base_image = { trusted = ["registry.example.com/base/debian"] }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("base_image").AtMapKey("require"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringExact(
						`{"version":1,"name":"noop","base_image":{"action":"stop","trusted":["registry.example.com/base/debian"],"require":true}}`)),
				},
			},
		},
	})
}

// words matches the texts in order, whatever the CLI's line wrapping made of
// the spaces between their words.
func words(texts ...string) *regexp.Regexp {
	parts := make([]string, len(texts))
	for i, text := range texts {
		ws := strings.Fields(text)
		for j, w := range ws {
			ws[j] = regexp.QuoteMeta(w)
		}
		parts[i] = strings.Join(ws, `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}
