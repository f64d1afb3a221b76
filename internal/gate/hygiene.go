package gate

import (
	"context"
	"fmt"

	"github.com/imagegate/terraform-provider-imagegate/internal/imagefs"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
)

// addHygieneFacts adds what the hygiene checks read to facts: the config's
// creation time, labels, HEALTHCHECK and environment, the build history as
// registry.Inspect keeps it (values and inline credentials redacted, with
// their kinds), the SBOM's package names and the scan's file facts.
func addHygieneFacts(facts *policy.Facts, img *registry.Image, resolved *registry.Resolved, sc *scan.Result) error {
	facts.Image.Created = img.Created
	facts.Image.Labels = img.Labels
	facts.Image.Healthcheck = img.Healthcheck
	for _, h := range img.History {
		facts.Image.History = append(facts.Image.History, policy.HistoryStep{CreatedBy: h.CreatedBy, EmptyLayer: h.EmptyLayer, Credentials: h.Credentials})
	}
	// The environment's values are read here, only to recognise
	// credentials; registry.Image keeps the names alone.
	cf, err := resolved.Image.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the config of %s: %w", img.PinnedReference, err)
	}
	facts.Image.Env = cf.Config.Env
	for _, p := range sc.Packages {
		facts.Packages = append(facts.Packages, policy.Package{Name: p.Name, Version: p.Version, Type: p.Type})
	}
	facts.Files = fileFacts(sc.Hygiene)
	return nil
}

// fileFacts converts the scan's file facts; nil stays nil, so the file
// checks fail closed.
func fileFacts(h *imagefs.Facts) *policy.FileFacts {
	if h == nil {
		return nil
	}
	out := &policy.FileFacts{SpecialOmitted: h.SpecialOmitted, SecretsOmitted: h.SecretsOmitted, Shadow: h.Shadow}
	for _, s := range h.Special {
		out.Special = append(out.Special, policy.SpecialFile{Path: s.Path, Setuid: s.Setuid, Setgid: s.Setgid})
	}
	for _, s := range h.Secrets {
		out.Secrets = append(out.Secrets, policy.SecretFile{Path: s.Path, Kind: s.Kind})
	}
	return out
}

// HygieneRequest names one image for Hygiene.
type HygieneRequest struct {
	Reference string
	// Platform picks the image of an index ("" for the client's default).
	Platform string
}

// HygieneResult is every hygiene check applied to one image, with the
// image and the scan the facts came from.
type HygieneResult struct {
	Checks []policy.CheckResult
	Image  *registry.Image
	Scan   *scan.Result
}

// Hygiene applies every hygiene check with its defaults (policy.Hygiene) to
// one image, without a policy: the reference is resolved once, and the
// image scanned (or its scan taken from the cache) for the file facts.
func (g *Gate) Hygiene(ctx context.Context, req HygieneRequest) (*HygieneResult, error) {
	resolved, err := g.registry.Resolve(ctx, req.Reference, req.Platform)
	if err != nil {
		return nil, err
	}
	img, err := resolved.Inspect(req.Reference)
	if err != nil {
		return nil, err
	}
	sc, err := g.scanner.ScanResolved(ctx, resolved, scan.Request{LayerFacts: true})
	if err != nil {
		return nil, err
	}
	facts := policy.Facts{
		Now:    g.now(),
		Image:  policy.Image{Reference: req.Reference, Repository: img.Repository, Digest: img.Digest, User: img.User},
		Passwd: sc.Files[imagefs.AccountFiles[0]],
		Group:  sc.Files[imagefs.AccountFiles[1]],
	}
	if err := addHygieneFacts(&facts, img, resolved, sc); err != nil {
		return nil, err
	}
	return &HygieneResult{Checks: policy.Hygiene(facts), Image: img, Scan: sc}, nil
}
