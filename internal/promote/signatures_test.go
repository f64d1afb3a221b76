package promote_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"

	"github.com/imagegate/terraform-provider-imagegate/internal/promote"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

const slsa = "https://slsa.dev/provenance/v1"

func verifyAt(t *testing.T, c *registry.Client, ref string, pub string) *verify.Result {
	t.Helper()
	res, err := verify.New(c, nil).Verify(context.Background(), digestRef(t, ref), verify.Requirements{
		Keys:         []string{pub},
		Attestations: []verify.Attestation{{PredicateType: slsa}},
	})
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

// attachSBOM writes a small artifact to the classic sha256-<hex>.sbom tag of
// digestRef, as `cosign attach sbom` does.
func attachSBOM(t *testing.T, digestRef name.Digest) name.Tag {
	t.Helper()
	tag, err := ociremote.SBOMTag(digestRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, testutil.RandomImage(t, 1, v1.Config{})); err != nil {
		t.Fatal(err)
	}
	return tag
}

func exists(ref name.Reference) bool {
	_, err := remote.Head(ref)
	return err == nil
}

// TestSignaturesGoAlong signs and attests the digest in both formats, on
// staging and production registries with and without the referrers API,
// and verifies the copies at the destination with internal/verify.
func TestSignaturesGoAlong(t *testing.T) {
	type setup struct {
		name                string
		format              string
		stagingAPI, prodAPI bool
		wantAttachments     int
	}
	for _, s := range []setup{
		{name: "classic", format: testutil.FormatClassic, stagingAPI: true, prodAPI: true, wantAttachments: 3}, // .sig, .att, .sbom
		{name: "bundle", format: testutil.FormatBundle, stagingAPI: true, prodAPI: true, wantAttachments: 3},   // 2 referrers, .sbom
		{name: "bundle to a registry without referrers API", format: testutil.FormatBundle, stagingAPI: true, prodAPI: false, wantAttachments: 3},
		{name: "bundle from a registry without referrers API", format: testutil.FormatBundle, stagingAPI: false, prodAPI: true, wantAttachments: 3},
	} {
		t.Run(s.name, func(t *testing.T) {
			opts := func(api bool) []testutil.RegistryOption {
				if api {
					return nil
				}
				return []testutil.RegistryOption{testutil.WithoutReferrersAPI()}
			}
			staging, prod := testutil.NewRegistry(t, opts(s.stagingAPI)...), testutil.NewRegistry(t, opts(s.prodAPI)...)
			img := testutil.RandomImage(t, 2, v1.Config{})
			src := staging.Push(t, "app:1", img)
			key, pub := testutil.GenerateKey(t, "")
			staging.SignWithKey(t, src, key, testutil.SignOptions{Format: s.format})
			staging.SignWithKey(t, src, key, testutil.SignOptions{Format: s.format, PredicateType: slsa})
			sbomTag := attachSBOM(t, digestRef(t, src))
			p, c := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
			if res := verifyAt(t, c, src, pub); !res.Verified {
				t.Fatalf("the source does not verify:\n%s", failures(res))
			}

			res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: tagRef(t, prod.Ref("app:prod")), CopySignatures: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Attachments != s.wantAttachments {
				t.Errorf("%d attachments written, want %d", res.Attachments, s.wantAttachments)
			}
			if v := verifyAt(t, c, res.DestinationReference, pub); !v.Verified {
				t.Errorf("the copied signatures do not verify at the destination:\n%s", failures(v))
			}
			if !exists(tagRef(t, prod.Ref("app:"+sbomTag.TagStr()))) {
				t.Errorf("the SBOM tag %s was not copied", sbomTag.TagStr())
			}
			fallback := tagRef(t, prod.Ref("app:"+strings.Replace(res.Digest, ":", "-", 1)))
			if s.format == testutil.FormatBundle && !s.prodAPI && !exists(fallback) {
				t.Errorf("the referrers fallback tag %s was not maintained at a destination without the referrers API", fallback)
			}
		})
	}
}

func TestSignaturesStayBehindWhenNotAsked(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	src := staging.Push(t, "app:1", testutil.RandomImage(t, 1, v1.Config{}))
	key, pub := testutil.GenerateKey(t, "")
	for _, f := range []string{testutil.FormatClassic, testutil.FormatBundle} {
		staging.SignWithKey(t, src, key, testutil.SignOptions{Format: f})
		staging.SignWithKey(t, src, key, testutil.SignOptions{Format: f, PredicateType: slsa})
	}
	p, c := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: tagRef(t, prod.Ref("app:prod"))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attachments != 0 {
		t.Errorf("%d attachments written without CopySignatures", res.Attachments)
	}
	if v := verifyAt(t, c, res.DestinationReference, pub); v.Verified || len(v.Signers) != 0 {
		t.Errorf("signatures reached the destination without CopySignatures: %+v", v)
	}
}

// TestIndexChildSignatures signs the index and each platform manifest, as
// `cosign sign --recursive` does, and checks each verifies at the
// destination.
func TestIndexChildSignatures(t *testing.T) {
	for _, format := range []string{testutil.FormatClassic, testutil.FormatBundle} {
		t.Run(format, func(t *testing.T) {
			staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
			idx := testutil.Index(t, testutil.RandomImage(t, 1, v1.Config{}), testutil.RandomImage(t, 1, v1.Config{}))
			src := staging.PushIndex(t, "app:1", idx)
			key, pub := testutil.GenerateKey(t, "")
			digests := []string{strings.SplitN(src, "@", 2)[1]}
			im, _ := idx.IndexManifest()
			for _, m := range im.Manifests {
				digests = append(digests, m.Digest.String())
			}
			for _, d := range digests {
				staging.SignWithKey(t, staging.Ref("app@"+d), key, testutil.SignOptions{Format: format})
				staging.SignWithKey(t, staging.Ref("app@"+d), key, testutil.SignOptions{Format: format, PredicateType: slsa})
			}
			p, c := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
			res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: tagRef(t, prod.Ref("app:prod")), CopySignatures: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Attachments != 2*len(digests) {
				t.Errorf("%d attachments written, want %d", res.Attachments, 2*len(digests))
			}
			for _, d := range digests {
				if v := verifyAt(t, c, prod.Ref("app@"+d), pub); !v.Verified {
					t.Errorf("%s does not verify at the destination:\n%s", d, failures(v))
				}
			}
		})
	}
}
