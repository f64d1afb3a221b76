package registry

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
)

// Set is a reference resolved to every image a container runtime could run
// from it: the one image of a single manifest, or each platform image of an
// index.
type Set struct {
	Ref name.Reference
	// Digest is what the reference resolved to: the index or the image.
	Digest v1.Hash
	// Index is true when the reference names a multi-platform index.
	Index bool
	// Images are sorted by platform, then digest.
	Images []*Resolved
	// Skipped are the platforms of the index's runnable images that a
	// narrowing left out, sorted; empty when every one is in Images.
	Skipped []string
}

// PinnedReference is the reference pinned to what it resolved to,
// repository@sha256:….
func (s *Set) PinnedReference() string {
	return Pin(s.Ref.Context(), s.Digest.String())
}

// ResolveAll resolves ref once and returns every image a runtime could pick
// from it. For an index, that is every image manifest except attestation
// manifests (buildx's unknown/unknown entries), which no runtime runs; a
// nested index, or a non-image entry with a platform, is refused, since a
// runtime could run it unchecked. When
// platforms is not empty it narrows the set: each platform must be in the
// index (or be the single image's), or the call fails naming what there is.
func (c *Client) ResolveAll(ctx context.Context, ref string, platforms []string) (*Set, error) {
	want := make([]v1.Platform, 0, len(platforms))
	for _, p := range platforms {
		pl, err := ParsePlatform(p)
		if err != nil {
			return nil, &Error{Kind: KindInvalidPlatform, Ref: ref, Err: err}
		}
		want = append(want, pl)
	}
	r, desc, err := c.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	set := &Set{Ref: r, Digest: desc.Digest, Index: desc.MediaType.IsIndex()}
	if !set.Index {
		img, err := desc.Image()
		if err != nil {
			return nil, classify(ref, "reading image manifest", err)
		}
		// A single image is the one image whatever its config says, so
		// its Platform stays "" and its config is read only to check a
		// narrowing (a cached scan then needs no blob at all).
		res := &Resolved{Ref: r, Digest: desc.Digest, Image: img, limits: c.limits()}
		if len(want) > 0 {
			p, err := configPlatform(ref, img)
			if err != nil {
				return nil, err
			}
			if have, err := ParsePlatform(p); err == nil && !anyMatch(want, have) {
				return nil, &Error{Kind: KindPlatform, Ref: ref, Err: fmt.Errorf("the reference names a single image for platform %s, not an index, so it has no image for %s", p, joinPlatforms(want))}
			}
		}
		set.Images = []*Resolved{res}
		obs.From(ctx, obs.Registry).Info("resolved image reference", "reference", ref, "digest", desc.Digest.String(), "index", false)
		return set, nil
	}
	idx, im, err := readIndex(ref, desc)
	if err != nil {
		return nil, err
	}
	var runnable []v1.Descriptor
	for _, d := range im.Manifests {
		// Runtimes pick an entry by its platform alone, whatever its
		// annotations or media type say: only entries no runtime can pick
		// (buildx's unknown/unknown attestations, artifacts without a
		// platform) are skipped, and anything else that is not an image
		// is refused rather than left unchecked.
		unpickable := d.Platform == nil || (d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown")
		switch {
		case d.MediaType.IsIndex():
			return nil, &Error{Kind: KindUnsupported, Ref: ref, Err: fmt.Errorf("the index nests another index (%s); imagegate gates image manifests only, and would leave the nested images unchecked: flatten the index when you build it", d.Digest)}
		case !d.MediaType.IsImage() && unpickable:
			continue // artifacts (signatures, SBOMs) are not runnable images
		case !d.MediaType.IsImage():
			return nil, &Error{Kind: KindUnsupported, Ref: ref, Err: fmt.Errorf("the index lists %s for platform %s with media type %q, which is not an image manifest; a runtime choosing by platform could still pull it, so it cannot be left unchecked: push it as an OCI or Docker image manifest", d.Digest, PlatformString(*d.Platform), d.MediaType)}
		case d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown":
			continue // buildx attestation manifests: no runtime runs them
		}
		runnable = append(runnable, d)
	}
	if len(runnable) > c.opts.MaxIndexImages {
		pinned := Pin(r.Context(), desc.Digest.String())
		return nil, NewLimitError(pinned, SettingMaxIndexImages, fmt.Sprint(c.opts.MaxIndexImages),
			fmt.Sprintf("is an index of %d runnable images, more than %s (%d)", len(runnable), SettingMaxIndexImages, c.opts.MaxIndexImages),
			"each would be pulled and scanned; raise max_index_images in the provider configuration if the index is expected to be that large", nil)
	}
	seen := map[v1.Hash]bool{}
	add := func(d v1.Descriptor) error {
		if seen[d.Digest] {
			return nil
		}
		seen[d.Digest] = true
		res, err := c.indexChild(ref, r, desc.Digest, idx, im, d)
		if err != nil {
			return err
		}
		set.Images = append(set.Images, res)
		return nil
	}
	if len(want) == 0 {
		for _, d := range runnable {
			if err := add(d); err != nil {
				return nil, err
			}
		}
	} else {
		for _, w := range want {
			d, err := selectPlatform(&v1.IndexManifest{Manifests: runnable}, w)
			if err != nil {
				return nil, &Error{Kind: KindPlatform, Ref: ref, Err: err}
			}
			if err := add(d); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range runnable {
		if !seen[d.Digest] {
			p := "unknown platform"
			if d.Platform != nil {
				p = PlatformString(*d.Platform)
			}
			set.Skipped = append(set.Skipped, p)
		}
	}
	slices.Sort(set.Skipped)
	if len(set.Images) == 0 {
		return nil, &Error{Kind: KindUnsupported, Ref: ref, Err: fmt.Errorf("the index %s lists no runnable image manifest (only attestations or other artifacts)", desc.Digest)}
	}
	slices.SortFunc(set.Images, func(a, b *Resolved) int {
		return cmp.Or(cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.Digest.String(), b.Digest.String()))
	})
	log := obs.From(ctx, obs.Registry)
	log.Info("resolved image reference", "reference", ref, "digest", desc.Digest.String(), "index", true, "platforms", len(set.Images), "skipped", strings.Join(set.Skipped, ", "))
	for _, img := range set.Images {
		log.Debug("platform image of the index", "reference", ref, "platform", img.Platform, "digest", img.Digest.String())
	}
	return set, nil
}

// configPlatform is the platform an image's config names, or "" when it
// names none (some builders and `crane append` write no os/architecture).
func configPlatform(ref string, img v1.Image) (string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return "", classify(ref, "reading config", err)
	}
	if cf.OS == "" || cf.Architecture == "" {
		return "", nil
	}
	return PlatformString(v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}), nil
}

// PlatformMatches reports whether the platform have ("os/arch[/variant]")
// satisfies want; a want without a variant accepts any variant.
func PlatformMatches(want, have string) bool {
	w, err := ParsePlatform(want)
	if err != nil {
		return false
	}
	h, err := ParsePlatform(have)
	if err != nil {
		return false
	}
	return anyMatch([]v1.Platform{w}, h)
}

func anyMatch(want []v1.Platform, have v1.Platform) bool {
	return slices.ContainsFunc(want, func(w v1.Platform) bool {
		return w.OS == have.OS && w.Architecture == have.Architecture && (w.Variant == "" || w.Variant == have.Variant)
	})
}

func joinPlatforms(ps []v1.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = PlatformString(p)
	}
	return orNone(s)
}
