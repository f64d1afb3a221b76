package gate_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// platformImage is the vulnerable fixture for one platform, running as
// user ("" is root).
func platformImage(t *testing.T, arch, user string, base ...v1.Layer) v1.Image {
	t.Helper()
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: user, Base: base, Platform: v1.Platform{OS: "linux", Architecture: arch}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// withAttestation adds a buildx-style attestation manifest
// (unknown/unknown) to an index: never a runnable image, never scanned.
func withAttestation(t *testing.T, idx v1.ImageIndex) v1.ImageIndex {
	t.Helper()
	att := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"attestation.json": []byte("{}")})}})
	return mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}})
}

var nonRoot = &policy.Policy{Version: 1, Name: "p", User: &policy.UserRule{RequireNonRoot: true}}

// Every platform of an index is gated: one root platform fails the whole
// reference, and the violation names that platform.
func TestEveryPlatformIsGated(t *testing.T) {
	reg := testutil.NewRegistry(t)
	amd, arm := platformImage(t, "amd64", "app"), platformImage(t, "arm64", "")
	idx := withAttestation(t, testutil.Index(t, amd, arm))
	reg.PushIndex(t, "app:mixed", idx)
	g := newGate(t, reg)
	res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:mixed"), Policy: nonRoot})
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Passed || res.ApprovedReference != "" {
		t.Fatalf("an index with a root arm64 image passed: %+v", res)
	}
	if len(res.Platforms) != 2 {
		t.Fatalf("gated %d images, want the 2 platforms (the attestation skipped): %+v", len(res.Platforms), res.Platforms)
	}
	if got := res.Platforms[0].Platform + " " + res.Platforms[1].Platform; got != "linux/amd64 linux/arm64" {
		t.Errorf("platforms %q", got)
	}
	if len(res.Decision.Violations) != 1 || res.Decision.Violations[0].Platform != "linux/arm64" || res.Decision.Violations[0].Rule != policy.RuleUser {
		t.Errorf("violations %+v, want one user violation on linux/arm64", res.Decision.Violations)
	}
	if !res.Platforms[0].Decision.Passed || res.Platforms[1].Decision.Passed {
		t.Errorf("per-platform decisions: %+v", res.Platforms)
	}
	digest, _ := idx.Digest()
	if res.Digest != digest.String() || !res.Index {
		t.Errorf("digest %s (index %v), want the index %s", res.Digest, res.Index, digest)
	}

	// Narrowed to the passing platform, the gate passes and approves that
	// platform's manifest only.
	res, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:mixed"), Platforms: []string{"linux/amd64"}, Policy: nonRoot})
	if err != nil {
		t.Fatal(err)
	}
	amdDigest, _ := amd.Digest()
	if want := reg.Ref("app") + "@" + amdDigest.String(); !res.Decision.Passed || res.ApprovedReference != want {
		t.Errorf("narrowed to linux/amd64: passed %v, approved %q, want %q", res.Decision.Passed, res.ApprovedReference, want)
	}
}

// An index whose platforms all pass is approved by its own digest, which
// covers every platform; a narrowing to several (but not all) platforms
// has no digest to approve.
func TestApprovedReferenceOfAnIndex(t *testing.T) {
	reg := testutil.NewRegistry(t)
	amd, arm := platformImage(t, "amd64", "app"), platformImage(t, "arm64", "app")
	armv7 := platformImage(t, "arm", "app")
	idx := withAttestation(t, testutil.Index(t, amd, arm, armv7))
	reg.PushIndex(t, "app:1", idx)
	digest, _ := idx.Digest()
	g := newGate(t, reg)
	res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: nonRoot})
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Ref("app") + "@" + digest.String(); !res.Decision.Passed || res.ApprovedReference != want {
		t.Fatalf("passed %v, approved %q, want the index %q: %+v", res.Decision.Passed, res.ApprovedReference, want, res.Decision.Violations)
	}
	// Listing every platform gates every platform: the index is approved.
	res, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Platforms: []string{"linux/arm", "linux/arm64", "linux/amd64"}, Policy: nonRoot})
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Ref("app") + "@" + digest.String(); res.ApprovedReference != want {
		t.Errorf("all platforms listed: approved %q, want %q", res.ApprovedReference, want)
	}
	res, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Platforms: []string{"linux/amd64", "linux/arm64"}, Policy: nonRoot})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Passed || res.ApprovedReference != "" {
		t.Errorf("two of three platforms: passed %v, approved %q, want passed with no approved reference", res.Decision.Passed, res.ApprovedReference)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "linux/arm") || !strings.Contains(res.Warnings[0], "approved_reference is null") {
		t.Errorf("warnings %q, want one naming the platform left out", res.Warnings)
	}
	// A platform the index does not have is an error naming what it has.
	_, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Platforms: []string{"linux/s390x"}, Policy: nonRoot})
	if err == nil || !strings.Contains(err.Error(), "linux/s390x") || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("missing platform: %v", err)
	}
}

// Each platform is cataloged once and cached by its manifest digest: gating
// the index again pulls no layer.
func TestPlatformsAreCachedByDigest(t *testing.T) {
	reg := testutil.NewRegistry(t)
	idx := testutil.Index(t, platformImage(t, "amd64", "app"), platformImage(t, "arm64", "app"))
	reg.PushIndex(t, "app:1", idx)
	g := newGate(t, reg)
	if _, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: nonRoot}); err != nil {
		t.Fatal(err)
	}
	reg.ResetRequests()
	res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: nonRoot})
	if err != nil {
		t.Fatal(err)
	}
	if n := reg.BlobRequests(); n > 2*1 { // at most each platform's config
		t.Errorf("a second gate of the index fetched %d blobs: %v", n, reg.Requests())
	}
	for _, p := range res.Platforms {
		if !p.Scan.Cached {
			t.Errorf("%s was cataloged again", p.Platform)
		}
	}
}

// A single manifest whose config names no platform is gated as the image it
// is, and a trusted base that is a single manifest is compared with it
// directly.
func TestImageWithoutPlatform(t *testing.T) {
	reg := testutil.NewRegistry(t)
	debian := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	noPlatform := func(img v1.Image) v1.Image {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = "", "", ""
		out, err := mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	base := noPlatform(testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}}))
	reg.Push(t, "base/debian:12", base)
	reg.Push(t, "app:1", noPlatform(platformImage(t, "amd64", "app", debian)))
	g := newGate(t, reg)
	pol := &policy.Policy{Version: 1, Name: "base", BaseImage: &policy.BaseImageRule{Trusted: []string{reg.Ref("base/debian:12")}}}
	res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Passed || res.ApprovedReference == "" || len(res.Platforms) != 1 || res.Platforms[0].Platform != "" {
		t.Errorf("an image without a platform on a trusted base: %+v", res)
	}
	// The same image on a trusted base index: every platform of the base
	// is a candidate, and the layers decide.
	baseIdx := testutil.Index(t, testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"arm": []byte("64")})}, Platform: v1.Platform{OS: "linux", Architecture: "arm64"}}),
		testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}}))
	reg.PushIndex(t, "base/multi:12", baseIdx)
	pol.BaseImage.Trusted = []string{reg.Ref("base/multi:12")}
	if res, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: pol}); err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Passed {
		t.Errorf("an image without a platform on a platform of a trusted base index: %+v", res.Decision.Violations)
	}
	// An index nesting another index is refused, not half gated.
	nested := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: baseIdx})
	reg.PushIndex(t, "nested:1", nested)
	if _, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("nested:1"), Policy: nonRoot}); err == nil || !strings.Contains(err.Error(), "nests another index") {
		t.Errorf("nested index: %v", err)
	}
}

// Runtimes choose an index entry by platform alone: an entry annotated as
// an attestation but declaring a real platform is gated, and a non-image
// entry with a real platform is refused rather than left unchecked.
func TestEntriesARuntimeCouldPick(t *testing.T) {
	reg := testutil.NewRegistry(t)
	disguised := mutate.AppendManifests(testutil.Index(t, platformImage(t, "amd64", "app")), mutate.IndexAddendum{
		Add: platformImage(t, "arm64", ""),
		Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "linux", Architecture: "arm64"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		},
	})
	reg.PushIndex(t, "app:disguised", disguised)
	g := newGate(t, reg)
	res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:disguised"), Policy: nonRoot})
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Passed || len(res.Platforms) != 2 {
		t.Errorf("a root linux/arm64 entry annotated as an attestation was not gated: passed %v, %d platforms", res.Decision.Passed, len(res.Platforms))
	}

	// The arm64 image is in the repository, but the index lists it with a
	// media type that is not an image's (ggcr cannot write such an index,
	// so its JSON is put as it is).
	amd, arm := platformImage(t, "amd64", "app"), platformImage(t, "arm64", "")
	reg.Push(t, "app:amd", amd)
	reg.Push(t, "app:arm", arm)
	im, err := testutil.Index(t, amd).IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	armDigest, _ := arm.Digest()
	armSize, _ := arm.Size()
	im = im.DeepCopy()
	im.Manifests = append(im.Manifests, v1.Descriptor{MediaType: "application/vnd.example.custom+json", Digest: armDigest, Size: armSize, Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
	raw, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.ParseReference(reg.Ref("app:artifact"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(tag, rawManifest{raw, im.MediaType}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:artifact"), Policy: nonRoot}); err == nil || !strings.Contains(err.Error(), "not an image manifest") {
		t.Errorf("a non-image entry for linux/arm64: %v", err)
	}
}

// rawManifest is a manifest put as the bytes it is.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
