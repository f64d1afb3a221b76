// Package promote copies an approved image, by digest, from a staging
// registry to a production registry: every manifest and blob it references,
// optionally the signatures, attestations and SBOMs attached to it, and the
// destination tag last. It knows nothing of Terraform (nor of policy: the
// caller gates the digest first); all registry access goes through a
// registry.Client and go-containerregistry's remote package.
package promote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"

	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// Bounds on what one promotion copies. A source beyond them is refused
// before anything is written, never copied in part.
const (
	// DefaultJobs is how many blobs are copied at once.
	DefaultJobs = 4
	// MaxManifests bounds the manifests of one image tree (an index, its
	// children and their children).
	MaxManifests = 1000
	// MaxIndexDepth bounds how deeply indexes may nest.
	MaxIndexDepth = 4
	// MaxReferrers bounds the OCI referrers copied per digest, as
	// internal/verify bounds what it reads.
	MaxReferrers = 100
)

// Request is one promotion.
type Request struct {
	// Source is repository@sha256:… in the staging registry, already
	// resolved by the caller (the digest the gate approved).
	Source name.Digest
	// Destination is registry/repository:tag in the production registry.
	Destination name.Tag
	// CopySignatures copies what is attached to the digest (and to each
	// manifest of an index): cosign's classic sha256-<hex>.sig, .att and
	// .sbom tags, and the OCI referrers (sigstore bundles and other
	// artifacts whose subject is the digest).
	CopySignatures bool
}

// Result is what a promotion did.
type Result struct {
	// Digest is the promoted digest (sha256:…), which the destination tag
	// names once Copy returns without error.
	Digest string
	// DestinationReference is registry/repository@sha256:… at the destination.
	DestinationReference string
	// Manifests is how many image manifests and indexes were written (0
	// when the destination already held the image).
	Manifests int
	// Attachments is how many signature, attestation, SBOM and referrer
	// manifests were written (0 when the destination already held them).
	Attachments int
	// Tagged is true when the destination tag was written (false when it
	// already named the digest).
	Tagged bool
}

// Promoter copies images between registries. It is safe for concurrent use.
type Promoter struct {
	reg  *registry.Client
	jobs int
}

// New returns a Promoter that reaches registries through reg (its
// credentials, HTTPS policy, retries and timeouts).
func New(reg *registry.Client) *Promoter {
	return &Promoter{reg: reg, jobs: DefaultJobs}
}

// ParseDestination parses a destination reference, which must name a tag
// explicitly (registry/repository:tag): a digest cannot be written to, and
// an implicit "latest" is more likely a mistake than an intent.
func ParseDestination(reg *registry.Client, s string) (name.Tag, error) {
	ref, err := reg.ParseReference(s)
	if err != nil {
		return name.Tag{}, fmt.Errorf("destination: %w", err)
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return name.Tag{}, fmt.Errorf("destination %q names a digest, but a promotion writes a tag: use registry/repository:tag", s)
	}
	if _, explicit := registry.ExplicitTag(s); !explicit {
		return name.Tag{}, fmt.Errorf("destination %q names no tag: use registry/repository:tag (write :latest explicitly if that is meant)", s)
	}
	return tag, nil
}

// Copy promotes req.Source to req.Destination: first every blob and
// manifest of the image (for an index, each child by digest, then the index
// by digest, so the digest is preserved), then the attachments when
// req.CopySignatures is set, and only then the tag, which is confirmed to
// name the source digest. A failure at any step leaves the tag as it was.
// What the destination already holds is not uploaded again.
func (p *Promoter) Copy(ctx context.Context, req Request) (*Result, error) {
	if err := validate(req); err != nil {
		return nil, err
	}
	src, dst := req.Source, req.Destination
	log := obs.From(ctx, obs.Promote)
	start := time.Now()
	fail := func(err error) (*Result, error) {
		log.Warn("promotion failed; the destination tag was left as it was", "source", src.String(), "destination", dst.String())
		return nil, fmt.Errorf("promoting %s to %s: %w", src, dst, err)
	}
	log.Info("promoting", "source", src.String(), "destination", dst.String(), "copy_signatures", req.CopySignatures)
	c := &copier{p: p, ctx: ctx, opts: p.reg.RemoteOptions(ctx), dst: dst.Context()}
	var err error
	c.pusher, err = remote.NewPusher(append(c.opts, remote.WithJobs(p.jobs))...)
	if err != nil {
		return fail(err)
	}

	desc, err := remote.Get(src, c.opts...)
	if err != nil {
		return fail(classify(src.String(), "reading the source", err))
	}
	if desc.Digest.String() != src.DigestStr() {
		return fail(fmt.Errorf("the source registry answered %s for %s", desc.Digest, src))
	}
	top, err := c.load(src, desc)
	if err != nil {
		return fail(err)
	}
	// Walk the whole tree first: bounds and unsupported content fail before
	// a byte is written.
	subjects, err := c.walk(top, 0, map[v1.Hash]bool{})
	if err != nil {
		return fail(err)
	}

	log.Debug("walked the source", "source", src.String(), "subjects", len(subjects))
	dstDigest := dst.Context().Digest(src.DigestStr())
	res := &Result{Digest: src.DigestStr(), DestinationReference: dstDigest.String()}
	if res.Manifests, err = c.copyNode(top, dstDigest); err != nil {
		return fail(err)
	}
	log.Info("copied the image by digest", "destination", dstDigest.String(), "manifests", res.Manifests)
	if req.CopySignatures {
		for _, s := range subjects {
			n, err := c.copyAttachments(src.Context().Digest(s.String()))
			res.Attachments += n
			if err != nil {
				return fail(err)
			}
		}
		log.Info("copied signatures and attachments", "destination", dstDigest.String(), "attachments", res.Attachments)
	}

	// The tag, last.
	current, err := p.Current(ctx, dst)
	if err != nil {
		return fail(err)
	}
	if current != res.Digest {
		if err := c.pusher.Put(ctx, dst, desc); err != nil {
			return fail(classify(dst.String(), "writing the destination tag", err))
		}
		res.Tagged = true
	}
	got, err := remote.Head(dst, c.opts...)
	if err != nil {
		return fail(classify(dst.String(), "confirming the destination tag", err))
	}
	if got.Digest.String() != res.Digest {
		return fail(fmt.Errorf("the destination tag names %s after the copy, not the promoted %s: another writer may have moved it, or the registry rewrote the manifest", got.Digest, res.Digest))
	}
	log.Info("promoted: destination tag confirmed", "destination", dst.String(), "digest", res.Digest, "tag_written", res.Tagged, "duration", time.Since(start))
	return res, nil
}

func validate(req Request) error {
	if req.Source.Context().RepositoryStr() == "" || req.Source.DigestStr() == "" {
		return errors.New("promotion source: a repository@sha256:<64 hex digits> reference is required")
	}
	if _, err := v1.NewHash(req.Source.DigestStr()); err != nil {
		return fmt.Errorf("promotion source %s: %w", req.Source, err)
	}
	if req.Destination.Context().RepositoryStr() == "" || req.Destination.TagStr() == "" {
		return errors.New("promotion destination: a registry/repository:tag reference is required")
	}
	return nil
}

// Current reports the digest the destination tag names now, or "" when the
// tag or its repository does not exist, for drift detection.
func (p *Promoter) Current(ctx context.Context, dest name.Tag) (string, error) {
	desc, err := remote.Head(dest, p.reg.RemoteOptions(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", classify(dest.String(), "reading the destination tag", err)
	}
	return desc.Digest.String(), nil
}

// ErrTagMoved is returned (wrapped) by Delete when the destination tag no
// longer names the promoted digest: the manifest is not deleted, since
// someone else now owns what the tag names.
var ErrTagMoved = errors.New("the destination tag no longer names the promoted digest")

// DeletionRefusedError says a registry does not allow deleting manifests.
type DeletionRefusedError struct {
	Reference string // repository@sha256:… that was to be deleted
	Err       error  // what the registry answered
}

func (e *DeletionRefusedError) Error() string {
	return fmt.Sprintf("the registry refused the deletion of %s (deleting manifests is disabled or not supported there): %v", e.Reference, e.Err)
}

func (e *DeletionRefusedError) Unwrap() error { return e.Err }

// Delete removes the manifest the destination tag names, if it still names
// digest (registries delete a manifest by digest, and its tags with it). A
// tag that is already gone is not an error; a tag moved to another digest
// gives an error wrapping ErrTagMoved and deletes nothing; a registry that
// does not allow deletion gives a *DeletionRefusedError.
func (p *Promoter) Delete(ctx context.Context, dest name.Tag, digest string) error {
	h, err := v1.NewHash(digest)
	if err != nil {
		return fmt.Errorf("deleting %s: digest %q: %w", dest, digest, err)
	}
	current, err := p.Current(ctx, dest)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", dest, err)
	}
	log := obs.From(ctx, obs.Promote)
	if current == "" {
		log.Info("promotion deletion: the destination tag is already gone", "destination", dest.String())
		return nil
	}
	if current != h.String() {
		log.Warn("promotion deletion refused: the destination tag moved", "destination", dest.String(), "names", current, "promoted", h.String())
		return fmt.Errorf("deleting %s: it names %s, not %s: %w", dest, current, h, ErrTagMoved)
	}
	log.Info("deleting the promoted image", "destination", dest.String(), "digest", h.String())
	ref := dest.Context().Digest(h.String())
	opts := p.reg.RemoteOptions(ctx)
	if err := remote.Delete(ref, opts...); err != nil && !isNotFound(err) {
		var te *transport.Error
		if errors.As(err, &te) && (te.StatusCode == http.StatusMethodNotAllowed || registry.HasCode(te, transport.UnsupportedErrorCode)) {
			return fmt.Errorf("deleting %s: %w", dest, &DeletionRefusedError{Reference: ref.String(), Err: err})
		}
		return fmt.Errorf("deleting %s: %w", dest, classify(ref.String(), "deleting the manifest", err))
	}
	// Distribution removes a manifest's tags with it; registries that keep
	// tags apart (go-containerregistry's own) still list the tag, which is
	// then deleted by name.
	if current, err = p.Current(ctx, dest); err != nil {
		return fmt.Errorf("deleting %s: %w", dest, err)
	}
	if current == h.String() {
		if err := remote.Delete(dest, opts...); err != nil && !isNotFound(err) {
			return fmt.Errorf("deleting %s: %w", dest, classify(dest.String(), "deleting the tag", err))
		}
		if current, err = p.Current(ctx, dest); err != nil {
			return fmt.Errorf("deleting %s: %w", dest, err)
		}
		if current != "" {
			return fmt.Errorf("deleting %s: the registry accepted the deletion but the tag still names %s", dest, current)
		}
	}
	return nil
}

// classify is registry.Classify, saying also what a failing registry last
// answered (go-containerregistry's message leaves the status out when the
// body holds a registry error).
func classify(ref, doing string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode >= 500 {
		doing = fmt.Sprintf("%s (the registry still answered %d %s after the retries)", doing, te.StatusCode, http.StatusText(te.StatusCode))
	}
	return registry.Classify(ref, doing, err)
}

func isNotFound(err error) bool {
	var re *registry.Error
	return errors.As(registry.Classify("", "", err), &re) && re.Kind == registry.KindNotFound
}

// node is one manifest of the source: an image or an index.
type node struct {
	ref   name.Digest
	img   v1.Image        // set for an image
	idx   v1.ImageIndex   // set for an index
	taggy remote.Taggable // the manifest as the source holds it
}

type copier struct {
	p      *Promoter
	ctx    context.Context
	opts   []remote.Option
	pusher *remote.Pusher
	dst    name.Repository
}

// load turns a fetched descriptor into a node.
func (c *copier) load(ref name.Digest, desc *remote.Descriptor) (*node, error) {
	n := &node{ref: ref, taggy: desc}
	var err error
	switch {
	case desc.MediaType.IsIndex():
		n.idx, err = desc.ImageIndex()
	case desc.MediaType.IsImage():
		n.img, err = desc.Image()
	default:
		return nil, fmt.Errorf("%s is a manifest of media type %q, which is neither an image nor an index and cannot be promoted", ref, desc.MediaType)
	}
	if err != nil {
		return nil, classify(ref.String(), "reading the manifest", err)
	}
	return n, nil
}

// children returns the manifests an index lists, as nodes.
func (c *copier) children(n *node) ([]*node, error) {
	im, err := n.idx.IndexManifest()
	if err != nil {
		return nil, classify(n.ref.String(), "reading the index", err)
	}
	out := make([]*node, 0, len(im.Manifests))
	for _, d := range im.Manifests {
		ref := n.ref.Context().Digest(d.Digest.String())
		child := &node{ref: ref}
		switch {
		case d.MediaType.IsIndex():
			child.idx, err = n.idx.ImageIndex(d.Digest)
			child.taggy = child.idx
		case d.MediaType.IsImage():
			child.img, err = n.idx.Image(d.Digest)
			child.taggy = child.img
		default:
			return nil, fmt.Errorf("index %s lists %s of media type %q, which is neither an image nor an index and cannot be copied", n.ref, d.Digest, d.MediaType)
		}
		if err != nil {
			return nil, classify(ref.String(), "reading a manifest of the index", err)
		}
		out = append(out, child)
	}
	return out, nil
}

// walk checks the bounds of the tree under n and returns the digest of
// every manifest in it, n first (the subjects signatures may be attached to).
func (c *copier) walk(n *node, depth int, seen map[v1.Hash]bool) ([]v1.Hash, error) {
	h, err := v1.NewHash(n.ref.DigestStr())
	if err != nil {
		return nil, err
	}
	if seen[h] {
		return nil, nil
	}
	seen[h] = true
	if len(seen) > MaxManifests {
		return nil, fmt.Errorf("the source holds more than %d manifests under one digest; refusing to copy it", MaxManifests)
	}
	out := []v1.Hash{h}
	if n.idx == nil {
		return out, nil
	}
	if depth >= MaxIndexDepth {
		return nil, fmt.Errorf("index %s nests indexes more than %d deep; refusing to copy it", n.ref, MaxIndexDepth)
	}
	kids, err := c.children(n)
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		hs, err := c.walk(k, depth+1, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	return out, nil
}

// exists reports whether the destination already holds digest under ref
// (a digest reference, or a tag that names that digest).
func (c *copier) exists(ref name.Reference, digest string) (bool, error) {
	desc, err := remote.Head(ref, c.opts...)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, classify(ref.String(), "checking the destination", err)
	}
	return desc.Digest.String() == digest, nil
}

// copyNode writes n and everything under it to dst (a digest or a tag of
// the destination repository): an image with its blobs, an index after all
// its children, each by digest. It returns how many manifests it wrote.
func (c *copier) copyNode(n *node, dst name.Reference) (int, error) {
	if ok, err := c.exists(dst, n.ref.DigestStr()); err != nil || ok {
		return 0, err
	}
	if n.img != nil {
		// Push streams each blob the destination lacks from the source
		// (mounting it when both are in one registry), jobs at a time,
		// then puts the manifest.
		if err := c.pusher.Push(c.ctx, dst, n.img); err != nil {
			return 0, classify(dst.String(), "copying "+n.ref.String(), err)
		}
		return 1, nil
	}
	kids, err := c.children(n)
	if err != nil {
		return 0, err
	}
	written := 0
	for _, k := range kids {
		w, err := c.copyNode(k, c.dst.Digest(k.ref.DigestStr()))
		written += w
		if err != nil {
			return written, err
		}
	}
	if err := c.pusher.Put(c.ctx, dst, n.taggy); err != nil {
		return written, classify(dst.String(), "writing the index "+n.ref.String(), err)
	}
	return written + 1, nil
}

// copyAttachments copies what is attached to subject (a source digest):
// cosign's classic tags, to the same tag names, and the OCI referrers, by
// digest. It returns how many manifests it wrote.
func (c *copier) copyAttachments(subject name.Digest) (int, error) {
	written := 0
	for _, tagOf := range []func(name.Reference, ...ociremote.Option) (name.Tag, error){
		ociremote.SignatureTag, ociremote.AttestationTag, ociremote.SBOMTag,
	} {
		srcTag, err := tagOf(subject, ociremote.WithTargetRepository(subject.Context()))
		if err != nil {
			return written, fmt.Errorf("naming the attachments of %s: %w", subject, err)
		}
		desc, err := remote.Get(srcTag, c.opts...)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return written, classify(srcTag.String(), "reading an attachment", err)
		}
		n, err := c.load(srcTag.Context().Digest(desc.Digest.String()), desc)
		if err != nil {
			return written, err
		}
		if _, err := c.walk(n, 0, map[v1.Hash]bool{}); err != nil {
			return written, err
		}
		w, err := c.copyNode(n, c.dst.Tag(srcTag.TagStr()))
		written += w
		if err != nil {
			return written, err
		}
	}

	idx, err := remote.Referrers(subject, c.opts...)
	if err != nil {
		return written, classify(subject.String(), "listing the referrers", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return written, classify(subject.String(), "listing the referrers", err)
	}
	if len(im.Manifests) > MaxReferrers {
		return written, fmt.Errorf("%s has %d referrers, more than the %d a promotion copies; refusing to copy a part of them", subject, len(im.Manifests), MaxReferrers)
	}
	for _, d := range im.Manifests {
		ref := subject.Context().Digest(d.Digest.String())
		desc, err := remote.Get(ref, c.opts...)
		if err != nil {
			return written, classify(ref.String(), "reading a referrer", err)
		}
		n, err := c.load(ref, desc)
		if err != nil {
			return written, err
		}
		if _, err := c.walk(n, 0, map[v1.Hash]bool{}); err != nil {
			return written, err
		}
		w, err := c.copyNode(n, c.dst.Digest(d.Digest.String()))
		written += w
		if err != nil {
			return written, err
		}
	}
	return written, nil
}
