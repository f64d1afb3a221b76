// Package gate decides whether an image may be used: it gathers the facts
// (image config and layers, the scan, the account files, the evidence for
// trusted bases) and hands them to the pure policy engine. It is shared by
// the imagegate_gate data source and, later, the promotion resource, so an
// image is judged the same way wherever it is judged.
package gate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/terraform-provider-imagegate/internal/imagefs"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
)

// Gate evaluates images against policies. It is safe for concurrent use.
type Gate struct {
	registry *registry.Client
	scanner  *scan.Scanner
	now      func() time.Time
	bases    sync.Map // reference|platform -> *policy.BaseCandidate (nil when unresolvable)
}

// New returns a Gate; now is the clock for exception expiry (time.Now when nil).
func New(reg *registry.Client, scanner *scan.Scanner, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	return &Gate{registry: reg, scanner: scanner, now: now}
}

// Request is one evaluation.
type Request struct {
	Reference string
	Platform  string
	Scope     scan.Scope
	Policy    *policy.Policy
}

// Result is the decision with the facts it was made on.
type Result struct {
	Decision policy.Decision
	Image    *registry.Image
	Scan     *scan.Result
	// ApprovedReference is repository@digest when the image passed, else "".
	ApprovedReference string
}

// Evaluate resolves the reference once, scans that digest and applies the
// policy. Any fact it cannot establish is an error, never a pass.
func (g *Gate) Evaluate(ctx context.Context, req Request) (*Result, error) {
	// Resolve once: every check below acts on this digest, so a tag moved
	// mid-plan cannot swap the image between them.
	resolved, err := g.registry.Resolve(ctx, req.Reference, req.Platform)
	if err != nil {
		return nil, err
	}
	img, err := resolved.Inspect(req.Reference)
	if err != nil {
		return nil, err
	}
	sc, err := g.scanner.ScanResolved(ctx, resolved, scan.Request{Scope: req.Scope})
	if err != nil {
		return nil, err
	}
	facts := policy.Facts{
		Now: g.now(),
		Image: policy.Image{
			Reference:  req.Reference,
			Repository: img.Repository,
			Digest:     img.Digest,
			User:       img.User,
		},
		Passwd: sc.Files[imagefs.AccountFiles[0]],
		Group:  sc.Files[imagefs.AccountFiles[1]],
	}
	for _, l := range img.Layers {
		facts.Image.DiffIDs = append(facts.Image.DiffIDs, l.DiffID)
	}
	if img.BaseImage != nil {
		facts.Image.BaseName, facts.Image.BaseDigest = img.BaseImage.Name, img.BaseImage.Digest
	}
	for _, v := range sc.Vulnerabilities {
		facts.Findings = append(facts.Findings, policy.Finding{
			ID: v.ID, Aliases: v.Aliases, Severity: v.Severity, CVSSScore: v.CVSSScore,
			Package: v.PackageName, Version: v.PackageVersion, Type: v.PackageType,
			FixState: v.FixState, FixedIn: v.FixedIn, New: v.New,
		})
	}
	if req.Policy.BaseImage != nil {
		if facts.BaseCandidates, err = g.baseCandidates(ctx, req.Policy.BaseImage.Trusted, img); err != nil {
			return nil, err
		}
	}
	res := &Result{Decision: policy.Evaluate(req.Policy, facts), Image: img, Scan: sc}
	if res.Decision.Passed {
		res.ApprovedReference = img.PinnedReference
	}
	return res, nil
}

// baseCandidates resolves, for the image's own platform, every trusted base
// given as a concrete reference, and the base the annotations name when it
// is on a registry the policy or the image already uses (an annotation must
// not make the gate contact arbitrary hosts). A trusted base that cannot be
// read for another reason than its absence is an error: the gate cannot
// decide. An annotated base that cannot be resolved is left out, and the
// engine finds the claim unproved.
func (g *Gate) baseCandidates(ctx context.Context, trusted []string, img *registry.Image) ([]policy.BaseCandidate, error) {
	platform := img.OS + "/" + img.Architecture
	if img.Variant != "" {
		platform += "/" + img.Variant
	}
	hosts := map[string]bool{registryHost(img.Repository): true}
	refs := map[string]string{} // reference -> trusted entry it came from
	for _, t := range trusted {
		hosts[registryHost(t)] = true
		if !strings.ContainsAny(t, "*?[") {
			refs[t] = t
		}
	}
	var annotated string
	if b := img.BaseImage; b != nil && b.Name != "" && hosts[registryHost(b.Name)] {
		annotated = b.Name
		if b.Digest != "" && !strings.Contains(annotated, "@") {
			annotated = repoOf(annotated) + "@" + b.Digest
		}
		if _, ok := refs[annotated]; !ok {
			refs[annotated] = ""
		}
	}
	// One candidate per image: the annotated base and a trusted reference
	// that resolve to the same digest are the same evidence.
	byDigest := map[string]*policy.BaseCandidate{}
	var order []string
	for _, ref := range sortedKeys(refs) {
		c, err := g.base(ctx, ref, platform)
		if err != nil {
			if refs[ref] != "" {
				return nil, fmt.Errorf("reading trusted base image %s: %w", ref, err)
			}
			continue
		}
		if c == nil {
			continue
		}
		key := c.Repository + "@" + c.Digest
		merged, ok := byDigest[key]
		if !ok {
			cp := *c
			cp.Tags = append([]string(nil), c.Tags...)
			merged = &cp
			byDigest[key] = merged
			order = append(order, key)
		} else {
			merged.Tags = append(merged.Tags, c.Tags...)
		}
		if from := refs[ref]; from != "" && merged.Trusted == "" {
			merged.Trusted = from
		}
	}
	out := make([]policy.BaseCandidate, 0, len(order))
	for _, k := range order {
		out = append(out, *byDigest[k])
	}
	return out, nil
}

// registryHost is the registry part of a reference or repository, as
// go-containerregistry spells it ("index.docker.io" for Docker Hub names).
func registryHost(ref string) string {
	if r, err := name.ParseReference(strings.TrimSuffix(strings.TrimSuffix(ref, "/*"), "*"), name.WeakValidation); err == nil {
		return r.Context().RegistryStr()
	}
	host, _, _ := strings.Cut(ref, "/")
	return host
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// base resolves one base reference; (nil, nil) when it does not exist.
// Results are kept for the plan, failures other than absence are not.
func (g *Gate) base(ctx context.Context, ref, platform string) (*policy.BaseCandidate, error) {
	key := ref + "|" + platform
	if c, ok := g.bases.Load(key); ok {
		return c.(*policy.BaseCandidate), nil
	}
	img, err := g.registry.Inspect(ctx, ref, platform)
	if err != nil {
		var re *registry.Error
		if errors.As(err, &re) && (re.Kind == registry.KindNotFound || re.Kind == registry.KindPlatform) {
			g.bases.Store(key, (*policy.BaseCandidate)(nil))
			return nil, nil
		}
		return nil, err
	}
	c := &policy.BaseCandidate{Repository: img.Repository, Digest: img.Digest, IndexDigest: img.IndexDigest}
	if !strings.Contains(ref, "@") {
		if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
			c.Tags = []string{ref[i+1:]}
		}
	}
	for _, l := range img.Layers {
		c.DiffIDs = append(c.DiffIDs, l.DiffID)
	}
	g.bases.Store(key, c)
	return c, nil
}

// repoOf strips a tag from a reference.
func repoOf(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}
