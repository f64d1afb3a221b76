// Package gate decides whether an image may be used: it gathers the facts
// (image config and layers, the scan, the account files, the evidence for
// trusted bases) and hands them to the pure policy engine. It is shared by
// the imagegate_gate data source and, later, the promotion resource, so an
// image is judged the same way wherever it is judged.
package gate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/imagefs"
	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// Gate evaluates images against policies. It is safe for concurrent use.
type Gate struct {
	registry *registry.Client
	scanner  *scan.Scanner
	verifier *verify.Verifier
	now      func() time.Time
	bases    sync.Map // reference|platform -> []*policy.BaseCandidate (nil when absent)
}

// New returns a Gate; now is the clock for exception expiry (time.Now when nil).
func New(reg *registry.Client, scanner *scan.Scanner, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	return &Gate{registry: reg, scanner: scanner, verifier: verify.New(reg, now), now: now}
}

// Request is one evaluation.
type Request struct {
	Reference string
	// Platforms narrows the images of an index that are gated; empty gates
	// every platform.
	Platforms []string
	Scope     scan.Scope
	Policy    *policy.Policy
}

// Result is the decision over every platform gated, with the facts it was
// made on.
type Result struct {
	// Decision passes only when every platform passed. Its violations and
	// suppressions carry their platform; the violations are sorted by
	// importance (see sortViolations), the suppressions by platform first.
	Decision policy.Decision
	// Digest is what the reference resolved to: the index or the image.
	Digest string
	// Index is true when the reference names a multi-platform index.
	Index bool
	// Platforms holds one result per image gated, sorted by platform.
	Platforms []Platform
	// ApprovedReference is repository@digest when the gate passed: the
	// index digest when every platform of an index was gated, the image
	// digest for a single image or when exactly one platform was selected,
	// and "" otherwise (see Warnings).
	ApprovedReference string
	// Warnings are the gate's own (the scans' are in Platforms).
	Warnings []string
	// Signatures are the verifications the signatures rule asked for: the
	// digest the reference resolved to first, then each platform's when
	// the rule is per_platform. Nil without the rule.
	Signatures []policy.SignatureCheck
}

// Platform is the decision for one image of the reference.
type Platform struct {
	// Platform is "os/arch[/variant]" of an index's image; "" for a
	// single image.
	Platform string
	Image    *registry.Image
	Scan     *scan.Result
	Decision policy.Decision
}

// Evaluate resolves the reference once and gates every image a runtime
// could pick from it (each platform of an index, or those req.Platforms
// selects). Any fact it cannot establish is an error, never a pass.
func (g *Gate) Evaluate(ctx context.Context, req Request) (*Result, error) {
	// Resolve once: every check below acts on these digests, so a tag moved
	// mid-plan cannot swap the image between them.
	set, err := g.registry.ResolveAll(ctx, req.Reference, req.Platforms)
	if err != nil {
		return nil, err
	}
	res := &Result{Digest: set.Digest.String(), Index: set.Index, Decision: policy.Decision{Passed: true}}
	for _, r := range set.Images {
		p, err := g.evaluate(ctx, req, r)
		if err != nil {
			if set.Index {
				return nil, fmt.Errorf("platform %s (%s): %w", r.Platform, r.Digest, err)
			}
			return nil, err
		}
		p.Decision.Violations = sortViolations(p.Decision.Violations)
		res.Platforms = append(res.Platforms, *p)
		res.Decision.Passed = res.Decision.Passed && p.Decision.Passed
		res.Decision.UnknownSeverity += p.Decision.UnknownSeverity
		res.Decision.UnknownTreatedAs = p.Decision.UnknownTreatedAs
		for _, v := range p.Decision.Violations {
			v.Platform = p.Platform
			res.Decision.Violations = append(res.Decision.Violations, v)
		}
		for _, sp := range p.Decision.Suppressed {
			sp.Platform = p.Platform
			res.Decision.Suppressed = append(res.Decision.Suppressed, sp)
		}
	}
	res.Decision.ExceptionWarnings = mergeExceptionWarnings(res.Platforms)
	if r := req.Policy.Signatures; r != nil {
		if err := g.signatures(ctx, req.Policy, set, res); err != nil {
			return nil, err
		}
	}
	res.Decision.Violations = sortViolations(res.Decision.Violations)
	obs.From(ctx, obs.Gate).Info("gate decision", "reference", req.Reference, "digest", res.Digest, "platforms", len(res.Platforms),
		"passed", res.Decision.Passed, "violations", len(res.Decision.Violations))
	if !res.Decision.Passed {
		return res, nil
	}
	switch {
	case !set.Index || len(set.Skipped) == 0:
		res.ApprovedReference = set.PinnedReference()
	case len(set.Images) == 1:
		res.ApprovedReference = set.Images[0].PinnedReference()
	default:
		res.Warnings = append(res.Warnings, fmt.Sprintf("approved_reference is null: platforms selects %d of the index's platforms (%s) and leaves out %s, so neither the index digest (which would also hand out the platforms not gated) nor one platform's digest covers exactly what was gated. Remove platforms to gate and approve the whole index, or select exactly one platform.", len(set.Images), strings.Join(platformsOf(set.Images), ", "), strings.Join(set.Skipped, ", ")))
	}
	return res, nil
}

// signatures verifies the digest the reference resolved to and, when the
// rule is per_platform, each platform gated, and adds the rule's
// violations to the decision (and to each platform's own).
func (g *Gate) signatures(ctx context.Context, p *policy.Policy, set *registry.Set, res *Result) error {
	r := p.Signatures
	digests := []policy.SignatureCheck{{}}
	refs := []name.Digest{set.Ref.Context().Digest(set.Digest.String())}
	if r.PerPlatform && set.Index {
		for _, img := range set.Images {
			digests = append(digests, policy.SignatureCheck{Platform: img.Platform})
			refs = append(refs, img.Ref.Context().Digest(img.Digest.String()))
		}
	}
	for i, ref := range refs {
		vr, err := g.verifier.Verify(ctx, ref, r.Requirements)
		if err != nil {
			return fmt.Errorf("verifying the signatures of %s: %w", ref, err)
		}
		digests[i].Result = vr
	}
	res.Signatures = digests
	d := policy.EvaluateSignatures(p, digests)
	obs.From(ctx, obs.Policy).Info("policy rule outcome", "policy", p.Name, "rule", policy.RuleSignatures, "image", set.PinnedReference(),
		"passed", d.Passed, "violations", len(d.Violations))
	res.Decision.Passed = res.Decision.Passed && d.Passed
	res.Decision.Violations = sortViolations(append(res.Decision.Violations, d.Violations...))
	for i := range res.Platforms {
		pl := &res.Platforms[i]
		for _, v := range d.Violations {
			if v.Platform != "" && v.Platform == pl.Platform {
				pl.Decision.Violations = sortViolations(append(pl.Decision.Violations, v))
				pl.Decision.Passed = pl.Decision.Passed && v.Action != policy.ActionStop
			}
		}
	}
	return nil
}

// sortViolations orders violations by importance, so the first ones a
// failure message shows are the ones to fix first: stop before warn; then
// violations of the rules that judge the image as a whole (user, base
// image, signatures, registries, checks, policy) before vulnerability
// findings, since there are few of them and a long list of findings must
// not hide them; findings by severity (critical first, unknown last), then
// CVSS score (higher first), then id. Platform, rule, subject and message
// break the remaining ties, so the order is total and the output
// deterministic.
func sortViolations(vs []policy.Violation) []policy.Violation {
	slices.SortStableFunc(vs, func(a, b policy.Violation) int {
		return cmp.Or(
			cmp.Compare(actionRank(a.Action), actionRank(b.Action)),
			cmp.Compare(findingRank(a), findingRank(b)),
			-cmp.Compare(severityRank(a.Finding.Severity), severityRank(b.Finding.Severity)),
			-cmp.Compare(a.Finding.CVSS, b.Finding.CVSS),
			cmp.Compare(a.Finding.ID, b.Finding.ID),
			cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Message, b.Message))
	})
	return vs
}

// actionRank puts stop (and anything that is not warn: fail closed) first.
func actionRank(action string) int {
	if action == policy.ActionWarn {
		return 1
	}
	return 0
}

// findingRank puts the violations of rules other than vulnerabilities
// before findings.
func findingRank(v policy.Violation) int {
	if v.Rule == policy.RuleVulnerabilities {
		return 1
	}
	return 0
}

// severityRank ranks grype's severity names, unknown and unrecognised ones
// lowest.
func severityRank(s string) int { return slices.Index(scan.Severities, strings.ToLower(s)) }

// Scans lists the scan of each platform gated.
func (r *Result) Scans() []*scan.Result {
	out := make([]*scan.Result, len(r.Platforms))
	for i, p := range r.Platforms {
		out[i] = p.Scan
	}
	return out
}

func platformsOf(rs []*registry.Resolved) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Platform
	}
	return out
}

// evaluate gates one image of the reference.
func (g *Gate) evaluate(ctx context.Context, req Request, resolved *registry.Resolved) (*Platform, error) {
	img, err := resolved.Inspect(req.Reference)
	if err != nil {
		return nil, err
	}
	// The user rule reads the account files and the checks rule the file
	// facts: only a catalog of the layers has them, so with either rule an
	// SBOM attestation (registry_attestations.use_sbom) is not used.
	layerFacts := req.Policy.User != nil || req.Policy.Checks != nil
	sc, err := g.scanner.ScanResolved(ctx, resolved, scan.Request{Scope: req.Scope, LayerFacts: layerFacts})
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
	if err := addHygieneFacts(&facts, img, resolved, sc); err != nil {
		return nil, err
	}
	if img.BaseImage != nil {
		facts.Image.BaseName, facts.Image.BaseDigest = img.BaseImage.Name, img.BaseImage.Digest
	}
	for _, v := range sc.Vulnerabilities {
		facts.Findings = append(facts.Findings, policy.Finding{
			ID: v.ID, Aliases: v.Aliases, Severity: v.Severity, CVSSScore: v.CVSSScore,
			Package: v.PackageName, Version: v.PackageVersion, Type: v.PackageType, PURL: v.PURL, Locations: v.Locations,
			FixState: v.FixState, FixedIn: v.FixedIn, New: v.New,
		})
	}
	if req.Policy.BaseImage != nil {
		platform := resolved.Platform
		if platform == "" && img.OS != "" && img.Architecture != "" {
			platform = registry.PlatformString(v1.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant})
		}
		if facts.BaseCandidates, err = g.baseCandidates(ctx, req.Policy.BaseImage.Trusted, img, platform); err != nil {
			return nil, err
		}
	}
	d := policy.Evaluate(req.Policy, facts)
	logRules(ctx, req.Policy, resolved.PinnedReference(), resolved.Platform, d)
	return &Platform{Platform: resolved.Platform, Image: img, Scan: sc, Decision: d}, nil
}

// configuredRules lists the rules a policy sets, in the document's order.
func configuredRules(p *policy.Policy) []string {
	var out []string
	for _, r := range []struct {
		name string
		set  bool
	}{
		{policy.RuleVulnerabilities, p.Vulnerabilities != nil}, {policy.RuleUser, p.User != nil}, {policy.RuleBaseImage, p.BaseImage != nil},
		{policy.RuleRegistries, p.Registries != nil}, {policy.RuleChecks, p.Checks != nil},
	} {
		if r.set {
			out = append(out, r.name)
		}
	}
	return out
}

// logRules logs each rule's outcome for one image: passed (no stop
// violation), and how many stop and warn violations it has. The checks
// rule counts its checks' violations ("checks.<id>") together, and a
// "policy" violation (an invalid policy) is logged as its own rule.
func logRules(ctx context.Context, p *policy.Policy, image, platform string, d policy.Decision) {
	log := obs.From(ctx, obs.Policy)
	stops, warns := map[string]int{}, map[string]int{}
	for _, v := range d.Violations {
		rule, _, _ := strings.Cut(v.Rule, ".")
		if v.Action == policy.ActionWarn {
			warns[rule]++
		} else {
			stops[rule]++
		}
	}
	rules := configuredRules(p)
	if stops[policy.RulePolicy]+warns[policy.RulePolicy] > 0 {
		rules = append(rules, policy.RulePolicy)
	}
	for _, r := range rules {
		log.Info("policy rule outcome", "policy", p.Name, "rule", r, "image", image, "platform", platform,
			"passed", stops[r] == 0, "violations", stops[r], "warnings", warns[r])
	}
	log.Info("policy decision", "policy", p.Name, "image", image, "platform", platform, "passed", d.Passed,
		"violations", len(d.Violations), "suppressed", len(d.Suppressed), "unknown_severity", d.UnknownSeverity)
}

// baseCandidates resolves, for the image's own platform (every platform of
// a base index when the image names none), every trusted base
// given as a concrete reference, and the base the annotations name when it
// is on a registry the policy or the image already uses (an annotation must
// not make the gate contact arbitrary hosts). A trusted base that cannot be
// read for another reason than its absence is an error: the gate cannot
// decide. An annotated base that cannot be resolved is left out, and the
// engine finds the claim unproved.
func (g *Gate) baseCandidates(ctx context.Context, trusted []string, img *registry.Image, platform string) ([]policy.BaseCandidate, error) {
	hosts := map[string]bool{registryHost(img.Repository): true}
	refs := map[string]string{} // reference -> trusted entry it came from
	for _, t := range trusted {
		hosts[registryHost(t)] = true
		if !policy.IsGlob(t) {
			refs[t] = t
		}
	}
	var annotated string
	if b := img.BaseImage; b != nil && b.Name != "" && hosts[registryHost(b.Name)] {
		annotated = b.Name
		if b.Digest != "" && !strings.Contains(annotated, "@") {
			if repo, err := registry.Repository(annotated); err == nil {
				annotated = repo + "@" + b.Digest
			}
		}
		if _, ok := refs[annotated]; !ok {
			refs[annotated] = ""
		}
	}
	// One candidate per image: the annotated base and a trusted reference
	// that resolve to the same digest are the same evidence.
	byDigest := map[string]*policy.BaseCandidate{}
	var order []string
	for _, ref := range slices.Sorted(maps.Keys(refs)) {
		cs, err := g.base(ctx, ref, platform)
		if err != nil {
			if refs[ref] != "" {
				return nil, fmt.Errorf("reading trusted base image %s: %w", ref, err)
			}
			continue
		}
		for _, c := range cs {
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
	if host, err := registry.Host(strings.TrimSuffix(strings.TrimSuffix(ref, "/*"), "*")); err == nil {
		return host
	}
	host, _, _ := strings.Cut(ref, "/")
	return host
}

// base resolves one base reference for an image of platform: a single
// image is compared as it is (the layers are the proof, whatever its config
// says); of an index, the image for that platform, or every image when the
// image names no platform (the layers decide which one it was built on). It
// returns nil, nil when the base does not exist or has no such platform.
// Results are kept for the plan, failures other than absence are not.
func (g *Gate) base(ctx context.Context, ref, platform string) ([]*policy.BaseCandidate, error) {
	key := ref + "|" + platform
	if c, ok := g.bases.Load(key); ok {
		if cands, ok := c.([]*policy.BaseCandidate); ok {
			return cands, nil
		}
	}
	set, err := g.registry.ResolveAll(ctx, ref, nil)
	if err != nil {
		var re *registry.Error
		if errors.As(err, &re) && re.Kind == registry.KindNotFound {
			g.bases.Store(key, []*policy.BaseCandidate(nil))
			return nil, nil
		}
		return nil, err
	}
	var tags []string
	if tag, ok := registry.ExplicitTag(ref); ok {
		tags = []string{tag}
	}
	var out []*policy.BaseCandidate
	for _, r := range set.Images {
		if set.Index && platform != "" && r.Platform != "" && !registry.PlatformMatches(platform, r.Platform) {
			continue
		}
		img, err := r.Inspect(ref)
		if err != nil {
			return nil, err
		}
		c := &policy.BaseCandidate{Repository: img.Repository, Digest: img.Digest, IndexDigest: img.IndexDigest, Tags: tags}
		for _, l := range img.Layers {
			c.DiffIDs = append(c.DiffIDs, l.DiffID)
		}
		out = append(out, c)
	}
	g.bases.Store(key, out)
	return out, nil
}
