// Package scan finds the packages in an image with syft and matches them
// against grype's vulnerability database. The SBOM of a digest is cached on
// disk, so a later plan re-matches it against the current database without
// pulling a layer: a CVE published after the first scan shows up then.
package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anchore/grype/grype"
	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/matcher"
	"github.com/anchore/grype/grype/matcher/dpkg"
	"github.com/anchore/grype/grype/matcher/java"
	"github.com/anchore/grype/grype/matcher/rpm"
	"github.com/anchore/grype/grype/matcher/stock"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/version"
	"github.com/anchore/grype/grype/vulnerability"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/stereoscopesource"
	"golang.org/x/sync/singleflight"

	"github.com/imagegate/terraform-provider-imagegate/internal/imagefs"
	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// Scope says which files are cataloged.
type Scope string

// The scopes.
const (
	// Squashed catalogs what the final filesystem holds.
	Squashed Scope = "squashed"
	// AllLayers also catalogs packages added in one layer and deleted in a
	// later one: they still ship in the image.
	AllLayers Scope = "all-layers"
)

// Severities are grype's severity names, lowest first.
var Severities = []string{"unknown", "negligible", "low", "medium", "high", "critical"}

// Request is one scan.
type Request struct {
	Reference string
	Scope     Scope
	// SBOMFormat, when set, asks for the SBOM in that format (see Formats).
	SBOMFormat string
	// LayerFacts says the caller needs Files and Hygiene, which only the
	// layers hold: an SBOM from an attestation (WithAttestations) is then
	// not used, and the image is cataloged.
	LayerFacts bool
}

// needsLicenses says whether the request asks for an output that carries
// licenses: every SBOM format does (syft-json, SPDX and CycloneDX list each
// package's licenses); the package list and the findings do not, and
// matching never reads licenses.
func (req Request) needsLicenses() bool { return req.SBOMFormat != "" }

// normalize fills the default scope and checks the request.
func (req *Request) normalize() error {
	if req.Scope == "" {
		req.Scope = Squashed
	}
	if req.Scope != Squashed && req.Scope != AllLayers {
		return fmt.Errorf("scope %q is not %q or %q", req.Scope, Squashed, AllLayers)
	}
	if req.SBOMFormat != "" && !validFormat(req.SBOMFormat) {
		return fmt.Errorf("sbom_format %q is not one of %s", req.SBOMFormat, strings.Join(Formats, ", "))
	}
	return nil
}

// Result is what a scan found.
type Result struct {
	Digest          string
	PinnedReference string
	Distro          *Distro
	PackageCount    int
	Packages        []Package // sorted by name, version, type
	Vulnerabilities []Vulnerability
	SeverityCounts  map[string]int
	DB              vulndb.Status
	SBOM            string
	// Files holds the image's account files (for the user rule).
	Files map[string][]byte
	// Hygiene holds the facts of the final filesystem the CIS hygiene
	// checks need (setuid files, secret files, the redacted /etc/shadow).
	Hygiene *imagefs.Facts
	// Cached is true when the SBOM came from the cache (no layer pulled).
	Cached bool
	// SBOMSource is SourceAttestation when the SBOM came from a verified
	// attestation (then Files and Hygiene are nil), else SourceCatalog;
	// SBOMAttestation then names the attestation.
	SBOMSource      string
	SBOMAttestation string
	Warnings        []string
}

// Distro is the operating system syft found.
type Distro struct{ ID, Version string }

// Package is one package syft found.
type Package struct{ Name, Version, Type, PURL string }

// Vulnerability is one finding: a vulnerability in one package.
type Vulnerability struct {
	ID             string
	Aliases        []string
	Severity       string
	CVSSScore      *float64
	CVSSVector     string
	PackageName    string
	PackageVersion string
	PackageType    string
	PURL           string
	FixState       string
	FixedIn        []string
	Namespace      string
	URLs           []string
	LayerDigest    string
	// Locations are the paths the package was found at (real and access
	// paths, sorted), for exceptions by location.
	Locations []string `json:",omitempty"`
	// New is true when the finding was not there when the image was first
	// scanned: the database learned of it later.
	New bool `json:"-"`
}

// Scanner scans images with one registry client, one database and one SBOM
// cache. It is safe for concurrent use.
type Scanner struct {
	registry *registry.Client
	db       *vulndb.Manager
	cache    *Cache
	flight   singleflight.Group
	catalogs chan struct{}
	// locks holds one mutex per digest and scope, guarding the entry's
	// later writes (match, formats) without holding up other images.
	locks sync.Map // digest|scope -> *sync.Mutex
	// entries keeps this process's entries, so every read of a digest in
	// one plan shares one catalog.
	entries sync.Map // digest|scope -> *cachedEntry
	// licenses carries syft's license scanner, built once per Scanner and
	// only when a request needs licenses: building it costs about a third
	// of a catalog's CPU.
	licensesOnce sync.Once
	licenses     context.Context
	licensesErr  error
	// noLicenses carries a license scanner that scans nothing, so syft
	// neither builds nor runs its own (see nolicenses.go).
	noLicensesOnce sync.Once
	noLicenses     context.Context
	// timeout bounds one image's whole scan.
	timeout time.Duration
	// attestations, when set, makes the registry a shared SBOM store.
	attestations *attestationStore
}

// DefaultTimeout bounds one image's whole scan (resolve, pull, catalog,
// match) when WithTimeout is not given.
const DefaultTimeout = 30 * time.Minute

// Option configures a Scanner.
type Option func(*Scanner)

// WithTimeout bounds one image's whole scan, besides the registry client's
// per-request timeout; d <= 0 means DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(s *Scanner) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// New returns a Scanner.
func New(reg *registry.Client, db *vulndb.Manager, cacheDir string, opts ...Option) *Scanner {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	// Cataloging unpacks every layer: bound how many run at once.
	s := &Scanner{registry: reg, db: db, cache: NewCache(cacheDir), catalogs: make(chan struct{}, max(2, runtime.NumCPU())), timeout: DefaultTimeout}
	for _, o := range opts {
		o(s)
	}
	return s
}

// bounded returns ctx with the scan deadline, and a function that turns an
// error caused by that deadline into a LimitError naming the image and
// scan_timeout.
func (s *Scanner) bounded(ctx context.Context) (context.Context, context.CancelFunc, func(image string, err error) error) {
	expired := errors.New("the scan deadline passed")
	bctx, cancel := context.WithTimeoutCause(ctx, s.timeout, expired)
	explain := func(image string, err error) error {
		if err == nil || ctx.Err() != nil || !errors.Is(context.Cause(bctx), expired) {
			return err
		}
		return registry.NewLimitError(image, registry.SettingScanTimeout, s.timeout.String(),
			fmt.Sprintf("was not scanned within %s (%s)", registry.SettingScanTimeout, s.timeout),
			"check that the registry is reachable and sends at a usable rate, or raise scan_timeout in the provider configuration if this image is expected to take that long to pull and catalog", err)
	}
	return bctx, cancel, explain
}

// Scan resolves the reference, catalogs the image (or loads its cached
// SBOM) and matches it against the database. Any failure to finish is an
// error: a scan never returns a shorter list instead.
func (s *Scanner) Scan(ctx context.Context, req Request) (*Result, error) {
	if err := req.normalize(); err != nil {
		return nil, err
	}
	ctx, cancel, explain := s.bounded(ctx)
	defer cancel()
	res, err := s.registry.Resolve(ctx, req.Reference, "")
	if err != nil {
		return nil, explain(req.Reference, err)
	}
	out, err := s.ScanResolved(ctx, res, req)
	return out, explain(pinnedName(res), err)
}

// ScanResolved scans an image already resolved (req.Reference is not used
// again), so a caller that inspected it acts on
// the same digest without asking the registry twice. The whole scan is
// bounded by the Scanner's timeout.
func (s *Scanner) ScanResolved(ctx context.Context, res *registry.Resolved, req Request) (*Result, error) {
	if err := req.normalize(); err != nil {
		return nil, err
	}
	// Open the database before pulling anything (a stale or missing
	// database fails the scan without the cost of a pull), and before the
	// deadline starts: a slow download is not the image's time.
	db, err := s.db.Get(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel, explain := s.bounded(ctx)
	defer cancel()
	out, err := s.scanResolved(ctx, db, res, req)
	return out, explain(pinnedName(res), err)
}

func pinnedName(res *registry.Resolved) string {
	return res.Ref.Context().Name() + "@" + res.Digest.String()
}

func (s *Scanner) scanResolved(ctx context.Context, db *vulndb.DB, res *registry.Resolved, req Request) (*Result, error) {
	digest := res.Digest.String()
	pinned := res.Ref.Context().Name() + "@" + digest
	key := digest + "|" + string(req.Scope)
	need := needs{licenses: req.needsLicenses(), layerFacts: req.LayerFacts}
	// A request that needs licenses, or layer facts, has its own flight:
	// one that does not may be cataloging without them, or using an
	// attested SBOM.
	flightKey := key
	if need.licenses {
		flightKey += "|licenses"
	}
	if need.layerFacts {
		flightKey += "|layer-facts"
	}
	var ce *cachedEntry
	var vulns []Vulnerability
	var sbomDoc string
	for attempt := 0; ; attempt++ {
		v, err, _ := s.flight.Do(flightKey, func() (any, error) {
			var prev *Entry
			if ce, ok := s.entries.Load(key); ok {
				prev = entryOf(ce)
				if need.metBy(prev) && s.trusts(prev) {
					obs.From(ctx, obs.Scan).Debug("SBOM cache hit in memory: the image was cataloged earlier in this run", "digest", digest, "scope", string(req.Scope))
					return &cachedEntry{entry: prev, cached: true}, nil
				}
			}
			ce, err := s.entry(ctx, res, pinned, req.Scope, need, prev)
			if err == nil {
				// Keep the entry, not the SBOM document, for the rest of the
				// process; an entry with licenses is never replaced by one
				// without.
				s.keepEntry(key, ce.entry)
			}
			return ce, err
		})
		if err != nil {
			return nil, err
		}
		var ok bool
		if ce, ok = v.(*cachedEntry); !ok {
			return nil, fmt.Errorf("scanning %s: internal error: the scan returned %T", pinned, v)
		}
		vulns, err = s.vulnerabilities(ctx, db, ce)
		if err == nil && req.SBOMFormat != "" {
			if sbomDoc, err = s.sbomIn(ce, req.SBOMFormat); err != nil {
				err = fmt.Errorf("encoding the SBOM as %s: %w", req.SBOMFormat, err)
			}
		}
		if errors.Is(err, errCorruptSBOM) && attempt == 0 {
			obs.From(ctx, obs.Scan).Warn("SBOM cache rebuild: the cached SBOM is missing or does not match its checksum; cataloging the image again", "digest", digest, "scope", string(req.Scope))
			// Never trusted: forget the entry and catalog the image again.
			s.entries.Delete(key)
			s.cache.Remove(digest, req.Scope)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", pinned, err)
		}
		break
	}
	e := ce.entry
	out := &Result{
		Digest: digest, PinnedReference: pinned, DB: db.Status, Files: e.Files, Hygiene: e.Hygiene, Cached: ce.cached,
		Distro: e.Distro, Packages: e.Packages, PackageCount: len(e.Packages), Vulnerabilities: vulns,
		SeverityCounts: map[string]int{}, SBOMSource: e.Source, SBOMAttestation: e.Attestation,
	}
	for _, sev := range Severities {
		out.SeverityCounts[sev] = 0
	}
	for _, v := range vulns {
		out.SeverityCounts[v.Severity]++
	}
	out.Warnings = append(out.Warnings, ce.warnings...)
	out.Warnings = append(out.Warnings, db.Warnings...)
	if w := s.cache.Warning(); w != "" {
		out.Warnings = append(out.Warnings, w)
	}
	if out.PackageCount == 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("syft found no packages in %s. The image may be built from scratch with files no cataloger recognises, or cataloging may have failed; the vulnerability list is empty because nothing was found, not because the image was checked clean.", pinned))
	}
	out.SBOM = sbomDoc
	return out, nil
}

// cachedEntry is an entry plus whether it came from disk. Entries are
// shared between concurrent scans of one digest. syftJSON holds the SBOM of
// a fresh catalog, so it is not read back from disk.
type cachedEntry struct {
	entry    *Entry
	cached   bool
	syftJSON []byte
	// warnings of registry_attestations (an SBOM attestation ignored, a
	// failed publish), for the scan that made the entry.
	warnings []string
}

// entryOf is the entry of a value of s.entries, which holds only
// *cachedEntry values.
func entryOf(v any) *Entry {
	ce, ok := v.(*cachedEntry)
	if !ok {
		panic(fmt.Sprintf("scan: the entries map holds a %T", v))
	}
	return ce.entry
}

// keepEntry remembers e as the process's entry of key, unless the entry
// kept there already has licenses and e has not.
func (s *Scanner) keepEntry(key string, e *Entry) {
	for {
		old, loaded := s.entries.LoadOrStore(key, &cachedEntry{entry: e})
		if !loaded {
			return
		}
		if entryOf(old).Licenses && !e.Licenses {
			return
		}
		if s.entries.CompareAndSwap(key, old, &cachedEntry{entry: e}) {
			return
		}
	}
}

// entry loads the cached SBOM of the digest, uses an SBOM attestation, or
// catalogs the image. A cached entry that does not meet need is not used:
// the image is cataloged again (with licenses, or for its layer facts)
// rather than answering with an SBOM that lacks them. prev is the entry
// this process already holds for the digest, if any.
func (s *Scanner) entry(ctx context.Context, res *registry.Resolved, pinned string, scope Scope, need needs, prev *Entry) (*cachedEntry, error) {
	digest := res.Digest.String()
	log := obs.From(ctx, obs.Scan)
	e, why := s.cache.load(digest, scope)
	if e != nil {
		trusted := s.trusts(e)
		if need.metBy(e) && trusted {
			log.Info("SBOM cache hit: no layer pulled", "digest", digest, "scope", string(scope), "packages", len(e.Packages), "cataloged", e.Created)
			for _, id := range e.LayerOrder {
				obs.Trace(ctx, log, "layer not pulled (SBOM cached)", "digest", e.Layers[id], "cached", true)
			}
			return &cachedEntry{entry: e, cached: true}, nil
		}
		if prev == nil && trusted {
			prev = e
		}
		switch {
		case !trusted:
			why = "the cached SBOM came from an attestation that is no longer trusted (use_sbom is off, or trusted_keys does not list its signer)"
		case need.licenses && !e.Licenses:
			why = "the cached SBOM carries no licenses and an SBOM output was asked for"
		default:
			why = "the cached SBOM came from an attestation and this scan needs the image's files"
		}
	}
	// An attested SBOM carries no licenses and no layer facts: a request
	// that needs them catalogs.
	var warnings []string
	if !need.licenses && !need.layerFacts {
		var ce *cachedEntry
		if ce, warnings = s.fromAttestation(ctx, res, pinned, scope); ce != nil {
			ce.warnings = warnings
			return ce, nil
		}
	}
	if why == "miss" {
		log.Info("SBOM cache miss: pulling and cataloging the image", "digest", digest, "scope", string(scope))
	} else {
		log.Info("SBOM cache rebuild: pulling and cataloging the image again", "digest", digest, "scope", string(scope), "reason", why)
	}
	select {
	case s.catalogs <- struct{}{}:
		defer func() { <-s.catalogs }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ce, err := s.catalog(ctx, res, pinned, scope, need.licenses)
	if err != nil {
		return nil, fmt.Errorf("cataloging %s: %w", pinned, err)
	}
	if prev != nil {
		// The same image, cataloged again for its licenses or its layer
		// facts: its first findings stay the reference for calling
		// findings new.
		s.lock(prev).Lock()
		if prev.Initial != nil {
			ce.entry.Initial = append([]string{}, prev.Initial...)
		}
		if !prev.Created.IsZero() {
			ce.entry.Created = prev.Created
		}
		s.lock(prev).Unlock()
	}
	ce.warnings = append(warnings, s.publishSBOM(ctx, res, pinned, scope, ce)...)
	return ce, nil
}

// withValues is the request's context (cancellation, deadline) with the
// values of another context looked up first: syft's license scanner.
type withValues struct {
	context.Context
	values context.Context
}

func (c withValues) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

func (s *Scanner) licenseContext(cfg *syft.CreateSBOMConfig) (context.Context, error) {
	s.licensesOnce.Do(func() {
		s.licenses, s.licensesErr = syft.SetContextLicenseScanner(context.Background(), cfg.Licenses)
		// Building it leaves a few hundred MB of garbage: collect it before
		// cataloging allocates, so the two do not add up in the peak.
		runtime.GC()
	})
	return s.licenses, s.licensesErr
}

// noLicenseContext carries a license scanner that scans nothing: syft
// builds its own scanner (google/licensecheck) whenever the context has
// none, so an empty one is the only way to catalog without it.
func (s *Scanner) noLicenseContext() context.Context {
	s.noLicensesOnce.Do(func() { s.noLicenses = withoutLicenseScanning(context.Background()) })
	return s.noLicenses
}

// catalog pulls and unpacks the image and runs syft over it; with
// licenses, syft's license scanner reads every license file it finds,
// otherwise no license is scanned and the SBOM carries none.
func (s *Scanner) catalog(ctx context.Context, res *registry.Resolved, pinned string, scope Scope, licenses bool) (*cachedEntry, error) {
	log := obs.From(ctx, obs.Scan)
	start := time.Now()
	img, err := res.Inspect(pinned)
	if err != nil {
		return nil, err
	}
	e := &Entry{FormatVersion: cacheFormat, SyftVersion: SyftVersion, Digest: res.Digest.String(), Scope: scope, Layers: map[string]string{}, Licenses: licenses}
	for _, l := range img.Layers {
		e.Layers[l.DiffID] = l.Digest
		e.LayerOrder = append(e.LayerOrder, l.DiffID)
	}
	cfg := syft.DefaultCreateSBOMConfig()
	if licenses {
		// The license scanner takes CPU only, the pull mostly waits on the
		// network and the disk: build the one while doing the other.
		go s.licenseContext(cfg) //nolint:errcheck // the error is read below
	}
	// Limited: the layer count and uncompressed size are bounded while the
	// layers are read, so an oversized image fails before it fills the disk.
	fsys, err := imagefs.Open(ctx, res.Limited(), res.Ref.String(), pinned)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	var pulled int64
	for _, l := range img.Layers {
		pulled += l.Size
		obs.From(ctx, obs.Registry).Debug("pulled layer", "image", pinned, "digest", l.Digest, "bytes", l.Size, "media_type", l.MediaType, "cached", false)
	}
	log.Info("pulled and unpacked the image", "image", pinned, "layers", len(img.Layers), "bytes", pulled, "duration", time.Since(start))
	catalogStart := time.Now()
	if e.Files, err = fsys.ReadFiles(imagefs.AccountFiles...); err != nil {
		return nil, err
	}
	if e.Hygiene, err = fsys.Hygiene(); err != nil {
		return nil, fmt.Errorf("reading the hygiene facts: %w", err)
	}
	src := stereoscopesource.New(fsys.Image, stereoscopesource.ImageConfig{Reference: res.Ref.String()})
	defer src.Close()
	cfg.Search.Scope = source.SquashedScope
	if scope == AllLayers {
		cfg.Search.Scope = source.AllLayersScope
	}
	// As the grype CLI does: Go symbols let grype drop Go findings whose
	// vulnerable functions are not linked; packages without a version
	// cannot be matched.
	cfg.Packages.Golang = cfg.Packages.Golang.WithCaptureSymbols(cataloging.SymbolScopeAll)
	cfg.Compliance.MissingVersion = cataloging.ComplianceActionDrop
	values := s.noLicenseContext()
	if licenses {
		if values, err = s.licenseContext(cfg); err != nil {
			return nil, err
		}
	}
	sb, err := syft.CreateSBOM(withValues{Context: ctx, values: values}, src, cfg)
	if err != nil {
		return nil, err
	}
	if !licenses {
		withoutLicenses(sb)
	}
	e.setContents(sb)
	counts := map[string]int{}
	for _, p := range e.Packages {
		counts[p.Type]++
	}
	var byType []string
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		byType = append(byType, fmt.Sprintf("%s=%d", t, counts[t]))
	}
	distro := ""
	if e.Distro != nil {
		distro = e.Distro.ID + " " + e.Distro.Version
	}
	log.Info("cataloged the image", "image", pinned, "scope", string(scope), "packages", len(e.Packages), "by_type", strings.Join(byType, " "), "distro", distro, "duration", time.Since(catalogStart))
	withoutRawConfig(sb)
	doc, err := encode(sb, FormatSyftJSON)
	if err != nil {
		return nil, err
	}
	_ = s.cache.StoreSBOM(e, FormatSyftJSON, doc) // the document stays in memory for this process
	e.Created = nowUTC()
	return &cachedEntry{entry: e, syftJSON: doc}, nil
}

func matchers() []match.Matcher {
	// The grype CLI's defaults: no Maven Central lookups, CPEs only for
	// the stock matcher.
	return matcher.NewDefaultMatchers(matcher.Config{
		Java:  java.MatcherConfig{UseCPEs: false},
		Stock: stock.MatcherConfig{UseCPEs: true},
		Dpkg:  dpkg.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyZero},
		Rpm:   rpm.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyAuto},
	})
}

// lock returns the mutex of an entry.
func (s *Scanner) lock(e *Entry) *sync.Mutex {
	v, _ := s.locks.LoadOrStore(e.Digest+"|"+string(e.Scope), &sync.Mutex{})
	mu, ok := v.(*sync.Mutex)
	if !ok {
		panic(fmt.Sprintf("scan: the locks map holds a %T", v))
	}
	return mu
}

// errCorruptSBOM is a cached SBOM that is missing or does not match its
// checksum: the image is cataloged again.
var errCorruptSBOM = errors.New("the cached SBOM is unusable")

// matchKey identifies what a match result depends on besides the SBOM: the
// database's content and the matcher's version. "" when the database cannot
// be identified, so the match is never reused.
func matchKey(st vulndb.Status) string {
	if st.Checksum == "" || st.Built.IsZero() {
		return ""
	}
	return strings.Join([]string{st.Checksum, st.Built.UTC().Format(time.RFC3339), st.SchemaVersion, "grype " + GrypeVersion, "imagegate " + BuildID, fmt.Sprint("format ", cacheFormat)}, "|")
}

// vulnerabilities returns the entry's findings against db: the cached match
// when it was made with the same database and grype, else a new match. The
// findings are marked new when the entry's first match did not have them.
func (s *Scanner) vulnerabilities(ctx context.Context, db *vulndb.DB, ce *cachedEntry) ([]Vulnerability, error) {
	key := matchKey(db.Status)
	mu := s.lock(ce.entry)
	mu.Lock()
	prev := ce.entry.Match
	mu.Unlock()
	var vulns []Vulnerability
	log := obs.From(ctx, obs.Scan)
	if prev != nil && key != "" && prev.Key == key {
		vulns = append([]Vulnerability(nil), prev.Vulnerabilities...)
		log.Info("match reused: the cached findings were made with this database and grype", "digest", ce.entry.Digest, "findings", len(vulns))
	} else {
		start := time.Now()
		doc := ce.syftJSON
		if doc == nil {
			var err error
			if doc, err = s.cache.LoadSBOM(ce.entry, FormatSyftJSON); err != nil {
				return nil, fmt.Errorf("%w: %w", errCorruptSBOM, err)
			}
		}
		var err error
		if vulns, err = matchSBOM(ctx, db, doc, ce.entry); err != nil {
			return nil, fmt.Errorf("matching against the vulnerability database: %w", err)
		}
		log.Info("matched the SBOM against the vulnerability database", "digest", ce.entry.Digest, "findings", len(vulns), "duration", time.Since(start))
	}
	keys := make([]string, len(vulns))
	for i := range vulns {
		keys[i] = vulns[i].findingKey()
		vulns[i].New = false
	}
	mu.Lock()
	defer mu.Unlock()
	e := ce.entry
	changed := e.Match == nil || e.Match.Key != key
	e.Match = &Match{Key: key, Vulnerabilities: vulns}
	if e.Initial == nil {
		e.Initial = append([]string{}, keys...)
		changed = true
	} else {
		initial := map[string]bool{}
		for _, k := range e.Initial {
			initial[k] = true
		}
		out := make([]Vulnerability, len(vulns))
		for i, v := range vulns {
			v.New = !initial[keys[i]]
			out[i] = v
		}
		vulns = out
		fresh := 0
		for _, v := range vulns {
			if v.New {
				fresh++
				log.Debug("new finding since the first scan", "digest", e.Digest, "id", v.ID, "package", v.PackageName, "version", v.PackageVersion)
			}
		}
		log.Info("compared with the first scan", "digest", e.Digest, "first_scan_findings", len(e.Initial), "new_findings", fresh)
	}
	if changed {
		_ = s.cache.Store(e) // a cache that cannot be written only costs a re-pull
	}
	return vulns, nil
}

// matchSBOM matches a syft-json SBOM with grype, exactly as the grype CLI
// matches an SBOM document.
func matchSBOM(ctx context.Context, db *vulndb.DB, doc []byte, e *Entry) ([]Vulnerability, error) {
	pkgs, pctx, _, err := pkg.ProvideFromReader(bytes.NewReader(doc), pkg.ProviderConfig{
		SynthesisConfig: pkg.SynthesisConfig{Distro: pkg.DistroConfig{FixChannels: distro.DefaultFixChannels()}},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM: %w", err)
	}
	// A matcher records per-run state: one per scan, over the shared
	// database. grype logs and drops the errors of a failed query, so the
	// database is guarded: any error it returns fails the scan.
	g, provider, ms := guarded(db, matchers())
	vm := grype.VulnerabilityMatcher{VulnerabilityProvider: provider, Matchers: ms}
	matches, _, err := vm.FindMatchesContext(ctx, pkgs, pctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := g.err(); err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, id := range e.LayerOrder {
		order[id] = i
	}
	vulns := []Vulnerability{}
	for _, m := range matches.Sorted() {
		v, err := convert(db.Provider, m, e.Layers, order)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, g.db)
		}
		vulns = append(vulns, v)
	}
	slices.SortStableFunc(vulns, func(a, b Vulnerability) int { return slices.Compare(a.key(), b.key()) })
	return dedupe(vulns), nil
}

func (v Vulnerability) findingKey() string {
	return v.ID + "|" + v.PackageName + "|" + v.PackageVersion
}

func (v Vulnerability) key() []string {
	return []string{v.ID, v.PackageName, v.PackageVersion, v.PackageType, v.PURL, v.LayerDigest}
}

func (p Package) key() []string { return []string{p.Name, p.Version, p.Type, p.PURL} }

// setContents sets the distro and the sorted package list of an entry
// from its SBOM.
func (e *Entry) setContents(sb *sbom.SBOM) {
	if d := sb.Artifacts.LinuxDistribution; d != nil && d.ID != "" {
		e.Distro = &Distro{ID: d.ID, Version: d.VersionID}
	}
	e.Packages = []Package{}
	for p := range sb.Artifacts.Packages.Enumerate() {
		e.Packages = append(e.Packages, Package{Name: p.Name, Version: p.Version, Type: string(p.Type), PURL: p.PURL})
	}
	slices.SortFunc(e.Packages, func(a, b Package) int { return slices.Compare(a.key(), b.key()) })
}

func dedupe(vs []Vulnerability) []Vulnerability {
	out := vs[:0]
	for i, v := range vs {
		if i > 0 && slices.Compare(vs[i-1].key(), v.key()) >= 0 {
			continue
		}
		out = append(out, v)
	}
	return out
}

// severityRank orders grype's severity names; unknown, empty or
// unrecognised ones rank 0 or below.
func severityRank(s string) int { return slices.Index(Severities, strings.ToLower(s)) }

// convert turns a match into a finding. The CVSS scores, URLs and aliases
// come from the vulnerability's own record and its related records (its CVE
// or GHSA aliases); so does the severity when the own record has none, the
// highest a related record gives, so a GHSA the database holds without a
// severity is judged by its CVE. A related record that cannot be read is an
// error, not a finding with less data.
//
//nolint:staticcheck // SA1019: grype's own presenter (models.newMatch) reads related records through MetadataProvider too; parity with the CLI
func convert(mp vulnerability.MetadataProvider, m match.Match, layers map[string]string, order map[string]int) (Vulnerability, error) {
	vuln := m.Vulnerability
	out := Vulnerability{
		ID:             vuln.ID,
		PackageName:    m.Package.Name,
		PackageVersion: m.Package.Version,
		PackageType:    string(m.Package.Type),
		PURL:           m.Package.PURL,
		Locations:      packageLocations(m.Package),
		FixState:       string(vuln.Fix.State),
		FixedIn:        sortedUnique(vuln.Fix.Versions),
		Namespace:      vuln.Namespace,
		Severity:       "unknown",
	}
	if out.FixState == "" {
		out.FixState = "unknown"
	}
	var urls []string
	related := ""
	consider := func(md *vulnerability.Metadata, own bool) {
		if md == nil {
			return
		}
		if own && md.Severity != "" {
			out.Severity = strings.ToLower(md.Severity)
		}
		if sev := strings.ToLower(md.Severity); !own && severityRank(sev) > max(0, severityRank(related)) {
			related = sev
		}
		if md.DataSource != "" {
			urls = append(urls, md.DataSource)
		}
		urls = append(urls, md.URLs...)
		for _, c := range md.Cvss {
			if out.CVSSScore == nil || c.Metrics.BaseScore > *out.CVSSScore {
				score := c.Metrics.BaseScore
				out.CVSSScore, out.CVSSVector = &score, c.Vector
			}
		}
	}
	consider(vuln.Metadata, true)
	var aliases []string
	for _, r := range vuln.RelatedVulnerabilities {
		if r.ID != vuln.ID {
			aliases = append(aliases, r.ID)
		}
		md, err := mp.VulnerabilityMetadata(r) //nolint:staticcheck // the related records' metadata is only here
		if err != nil {
			return Vulnerability{}, fmt.Errorf("reading the metadata of %s, related to %s, for package %s@%s (%s): %w",
				r.ID, vuln.ID, m.Package.Name, m.Package.Version, m.Package.Type, err)
		}
		consider(md, false)
	}
	if severityRank(out.Severity) <= 0 && related != "" {
		out.Severity = related
	}
	out.Aliases = sortedUnique(aliases)
	out.URLs = sortedUnique(urls)
	if out.CVSSScore != nil && *out.CVSSScore == 0 {
		out.CVSSScore, out.CVSSVector = nil, ""
	}
	// The layer that introduced the package: the lowest layer holding it.
	best := -1
	for _, loc := range m.Package.Locations.ToSlice() {
		if i, ok := order[loc.FileSystemID]; ok && (best < 0 || i < best) {
			best, out.LayerDigest = i, layers[loc.FileSystemID]
		}
	}
	return out, nil
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	return slices.Compact(slices.Sorted(slices.Values(in)))
}

// withoutRawConfig drops the image config syft copies into the SBOM's
// source (base64, in syft-json): it holds every ENV value and the
// unredacted history, and the SBOM reaches state and the cache. Matching
// never reads it.
func withoutRawConfig(sb *sbom.SBOM) {
	switch m := sb.Source.Metadata.(type) {
	case source.ImageMetadata:
		m.RawConfig = nil
		sb.Source.Metadata = m
	case *source.ImageMetadata:
		m.RawConfig = nil
	}
}

// packageLocations lists the real and access paths of a package's
// locations, sorted and unique, as grype's ignore rules match them.
func packageLocations(p pkg.Package) []string {
	var out []string
	for _, l := range p.Locations.ToSlice() {
		for _, path := range []string{l.RealPath, l.AccessPath} {
			if path != "" {
				out = append(out, path)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
