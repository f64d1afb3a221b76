package scan

import (
	"context"
	"fmt"
)

// SetResult is the scan of every image a reference names: each platform of
// an index, or the one image.
type SetResult struct {
	// Digest is what the reference resolved to: the index or the image.
	Digest          string
	PinnedReference string
	Index           bool
	// Platforms holds one scan per image, sorted by platform; each is
	// cached by its own manifest digest.
	Platforms []PlatformResult
}

// PlatformResult is the scan of one image of a reference.
type PlatformResult struct {
	// Platform is "os/arch[/variant]" of an index's image; "" for a
	// single image.
	Platform string
	*Result
}

// Scans lists the scan of each image.
func (r *SetResult) Scans() []*Result {
	out := make([]*Result, len(r.Platforms))
	for i, p := range r.Platforms {
		out[i] = p.Result
	}
	return out
}

// RequestKind says what in a request cannot be served.
type RequestKind int

// The kinds of RequestError.
const (
	// RequestSBOMOfIndex asks for one SBOM of several platforms.
	RequestSBOMOfIndex RequestKind = iota + 1
)

// RequestError is a request that cannot be served as asked, whatever the
// image and the database: Kind says what is at fault, Platforms lists the
// image's platforms for RequestSBOMOfIndex.
type RequestError struct {
	Kind      RequestKind
	Platforms []string
	Err       error
}

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// ScanAll resolves the reference once and scans every image a runtime
// could pick from it: each platform of an index (attestation manifests
// skipped), or only those platforms names. An SBOM is made only for a
// single image: several platforms have several SBOMs.
func (s *Scanner) ScanAll(ctx context.Context, req Request, platforms []string) (*SetResult, error) {
	if err := req.normalize(); err != nil {
		return nil, err
	}
	set, err := s.registry.ResolveAll(ctx, req.Reference, platforms)
	if err != nil {
		return nil, err
	}
	if req.SBOMFormat != "" && len(set.Images) > 1 {
		platforms := make([]string, len(set.Images))
		for i, r := range set.Images {
			platforms[i] = r.Platform
		}
		return nil, &RequestError{Kind: RequestSBOMOfIndex, Platforms: platforms, Err: fmt.Errorf("an SBOM describes one image, but %s is an index of %d platforms", req.Reference, len(set.Images))}
	}
	out := &SetResult{Digest: set.Digest.String(), PinnedReference: set.PinnedReference(), Index: set.Index}
	for _, r := range set.Images {
		res, err := s.ScanResolved(ctx, r, req)
		if err != nil {
			if set.Index {
				return nil, fmt.Errorf("platform %s: %w", r.Platform, err)
			}
			return nil, err
		}
		out.Platforms = append(out.Platforms, PlatformResult{Platform: r.Platform, Result: res})
	}
	return out, nil
}
