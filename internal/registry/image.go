package registry

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
)

// The OCI annotations that name the image a build started from.
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// Image is what the manifest and config of one platform image say. Reading
// it pulls no layer bytes.
type Image struct {
	Reference       string // as given
	Repository      string // registry/repository
	Digest          string // of the platform manifest
	IndexDigest     string // of the index the reference named, or ""
	PinnedReference string // Repository@Digest
	MediaType       string
	OS              string
	Architecture    string
	Variant         string
	Created         time.Time // zero when the config does not say
	User            string
	Labels          map[string]string
	Annotations     map[string]string
	EnvNames        []string // sorted; values are never kept, they may be secrets
	Healthcheck     []string // nil when none is configured
	ExposedPorts    []string // sorted
	Entrypoint      []string
	Cmd             []string
	Layers          []Layer
	History         []History
	BaseImage       *BaseImage
	Size            int64 // compressed bytes of all layers
}

// Layer is one filesystem layer of an image.
type Layer struct {
	Digest    string
	DiffID    string
	Size      int64
	MediaType string
}

// History is one build step recorded in the image config.
type History struct {
	CreatedBy  string
	EmptyLayer bool
	// Credentials are the kinds of credential found inline in the step
	// and redacted from CreatedBy ("password in a URL", "variable
	// API_TOKEN"), sorted; nil when none was found.
	Credentials []string
}

// BaseImage is what the image's annotations claim about its base. It is a
// claim, not proof: the policy engine checks it against the layers.
type BaseImage struct {
	Name   string
	Digest string
}

// Resolved is a reference resolved to one platform image, ready to be read
// further (config, layers) without asking the registry for the tag again.
type Resolved struct {
	Ref         name.Reference
	Digest      v1.Hash
	IndexDigest string
	IndexAnn    map[string]string
	Image       v1.Image
	// Platform is "os/arch[/variant]" of an index's image, as the index
	// (or, when it says nothing, the config) says; "" for a single image.
	Platform string
	// limits are the client's, applied by Limited.
	limits limits
}

// Resolve resolves ref (a tag or digest) to the image for platform (the
// client's default when empty), walking a multi-platform index if needed.
func (c *Client) Resolve(ctx context.Context, ref, platform string) (*Resolved, error) {
	want := c.platform
	if platform != "" {
		var err error
		if want, err = ParsePlatform(platform); err != nil {
			return nil, &Error{Kind: KindInvalidPlatform, Ref: ref, Err: err}
		}
	}
	r, desc, err := c.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := &Resolved{Ref: r, limits: c.limits()}
	if desc.MediaType.IsIndex() {
		idx, im, err := readIndex(ref, desc)
		if err != nil {
			return nil, err
		}
		child, err := selectPlatform(im, want)
		if err != nil {
			return nil, &Error{Kind: KindPlatform, Ref: ref, Err: err}
		}
		res, err := c.indexChild(ref, r, desc.Digest, idx, im, child)
		if err == nil {
			obs.From(ctx, obs.Registry).Info("resolved image reference", "reference", ref, "index_digest", desc.Digest.String(), "platform", res.Platform, "digest", res.Digest.String())
		}
		return res, err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, classify(ref, "reading image manifest", err)
	}
	out.Digest = desc.Digest
	out.Image = img
	obs.From(ctx, obs.Registry).Info("resolved image reference", "reference", ref, "digest", desc.Digest.String())
	return out, nil
}

// get parses ref and fetches its manifest, refusing what imagegate cannot
// judge: schema 1 manifests and anything neither an image nor an index.
func (c *Client) get(ctx context.Context, ref string) (name.Reference, *remote.Descriptor, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return nil, nil, &Error{Kind: KindInvalidReference, Ref: ref, Err: err}
	}
	desc, err := remote.Get(r, c.remoteOptions(ctx)...)
	if err != nil {
		return nil, nil, classify(ref, "fetching manifest", err)
	}
	switch {
	case desc.MediaType == types.DockerManifestSchema1 || desc.MediaType == types.DockerManifestSchema1Signed:
		return nil, nil, &Error{Kind: KindUnsupported, Ref: ref, Err: fmt.Errorf("the registry serves a Docker schema 1 manifest (%s), which is deprecated and carries no verifiable config; rebuild and push the image with a current client (OCI or Docker schema 2)", desc.MediaType)}
	case !desc.MediaType.IsIndex() && !desc.MediaType.IsImage():
		return nil, nil, &Error{Kind: KindUnsupported, Ref: ref, Err: fmt.Errorf("the manifest has media type %q, which is neither an image nor an image index", desc.MediaType)}
	}
	return r, desc, nil
}

func readIndex(ref string, desc *remote.Descriptor) (v1.ImageIndex, *v1.IndexManifest, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, nil, classify(ref, "reading index", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, classify(ref, "reading index", err)
	}
	return idx, im, nil
}

// indexChild resolves one image of an index.
func (c *Client) indexChild(ref string, r name.Reference, index v1.Hash, idx v1.ImageIndex, im *v1.IndexManifest, child v1.Descriptor) (*Resolved, error) {
	img, err := idx.Image(child.Digest)
	if err != nil {
		return nil, classify(ref, "fetching platform manifest "+child.Digest.String(), err)
	}
	out := &Resolved{Ref: r, Digest: child.Digest, IndexDigest: index.String(), IndexAnn: im.Annotations, Image: img, limits: c.limits()}
	if child.Platform != nil {
		out.Platform = PlatformString(*child.Platform)
	} else if out.Platform, err = configPlatform(ref, img); err != nil {
		return nil, err
	}
	return out, nil
}

// PinnedReference is repository@digest of the resolved image.
func (res *Resolved) PinnedReference() string {
	return Pin(res.Ref.Context(), res.Digest.String())
}

// Inspect resolves ref and reads its manifest and config.
func (c *Client) Inspect(ctx context.Context, ref, platform string) (*Image, error) {
	res, err := c.Resolve(ctx, ref, platform)
	if err != nil {
		return nil, err
	}
	return res.Inspect(ref)
}

// Inspect reads the manifest and config of a resolved image.
func (res *Resolved) Inspect(ref string) (*Image, error) {
	m, err := res.Image.Manifest()
	if err != nil {
		return nil, classify(ref, "reading manifest", err)
	}
	cf, err := res.Image.ConfigFile()
	if err != nil {
		return nil, classify(ref, "reading config "+m.Config.Digest.String(), err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, &Error{Kind: KindUnsupported, Ref: ref, Err: fmt.Errorf("the manifest lists %d layers but the config lists %d diff_ids; the image is malformed", len(m.Layers), len(cf.RootFS.DiffIDs))}
	}
	repo := res.Ref.Context().Name()
	pinned := Pin(res.Ref.Context(), res.Digest.String())
	img := &Image{
		Reference:       ref,
		Repository:      repo,
		Digest:          res.Digest.String(),
		IndexDigest:     res.IndexDigest,
		PinnedReference: pinned,
		MediaType:       string(m.MediaType),
		OS:              cf.OS,
		Architecture:    cf.Architecture,
		Variant:         cf.Variant,
		Created:         cf.Created.UTC(),
		User:            cf.Config.User,
		Labels:          cf.Config.Labels,
		Annotations:     m.Annotations,
		Entrypoint:      cf.Config.Entrypoint,
		Cmd:             cf.Config.Cmd,
	}
	if cf.Created.IsZero() {
		img.Created = time.Time{}
	}
	for _, kv := range cf.Config.Env {
		k, _, _ := strings.Cut(kv, "=")
		img.EnvNames = append(img.EnvNames, k)
	}
	slices.Sort(img.EnvNames)
	img.EnvNames = slices.Compact(img.EnvNames)
	if hc := cf.Config.Healthcheck; hc != nil && len(hc.Test) > 0 {
		img.Healthcheck = hc.Test
	}
	img.ExposedPorts = slices.Sorted(maps.Keys(cf.Config.ExposedPorts))
	for i, l := range m.Layers {
		img.Layers = append(img.Layers, Layer{Digest: l.Digest.String(), DiffID: cf.RootFS.DiffIDs[i].String(), Size: l.Size, MediaType: string(l.MediaType)})
		img.Size += l.Size
	}
	for _, h := range cf.History {
		createdBy, credentials := redactHistory(h.CreatedBy)
		img.History = append(img.History, History{CreatedBy: createdBy, EmptyLayer: h.EmptyLayer, Credentials: credentials})
	}
	img.BaseImage = baseImage(m.Annotations, res.IndexAnn)
	return img, nil
}

// baseImage takes the base annotations from the platform manifest, or from
// the index when the manifest has none.
func baseImage(sets ...map[string]string) *BaseImage {
	for _, ann := range sets {
		if ann[AnnotationBaseName] != "" || ann[AnnotationBaseDigest] != "" {
			return &BaseImage{Name: ann[AnnotationBaseName], Digest: ann[AnnotationBaseDigest]}
		}
	}
	return nil
}

func selectPlatform(im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	var available []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			continue
		}
		p := d.Platform
		if anyMatch([]v1.Platform{want}, *p) && d.MediaType.IsImage() {
			return d, nil
		}
		if p.OS != "unknown" { // attestation manifests carry unknown/unknown
			available = append(available, PlatformString(*p))
		}
	}
	slices.Sort(available)
	return v1.Descriptor{}, fmt.Errorf("the index has no image for platform %s; it has: %s", PlatformString(want), orNone(available))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// ResolveDigest resolves ref once to repository@digest of what it names,
// an index or an image, reading no further: for checks that act on that
// digest alone, such as its signatures.
func (c *Client) ResolveDigest(ctx context.Context, ref string) (name.Digest, error) {
	r, desc, err := c.get(ctx, ref)
	if err != nil {
		return name.Digest{}, err
	}
	return r.Context().Digest(desc.Digest.String()), nil
}
