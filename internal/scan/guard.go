package scan

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/vulnerability"
	syftPkg "github.com/anchore/syft/syft/pkg"

	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// guard records every error the vulnerability database returns while one
// SBOM is matched. grype's VulnerabilityMatcher logs the non-fatal errors of
// its matchers and goes on (findDBMatches), and some matchers drop a failed
// query themselves, so a query that fails would otherwise give a shorter
// list. The scan fails instead when the guard holds any error. It is safe
// for concurrent use: grype may query from several goroutines.
type guard struct {
	db   string // names the database in errors
	mu   sync.Mutex
	errs []string
}

func newGuard(st vulndb.Status) *guard {
	db := "the vulnerability database"
	if st.Path != "" {
		db += " at " + st.Path
	}
	if !st.Built.IsZero() {
		db += " (built " + st.Built.UTC().Format(time.RFC3339) + ")"
	}
	return &guard{db: db}
}

// record keeps a failed query of the package (nil when grype queried
// outside of a package's match).
func (g *guard) record(p *pkg.Package, what string, err error) {
	subject := ""
	if p != nil {
		subject = fmt.Sprintf(" for package %s@%s (%s)", p.Name, p.Version, p.Type)
	}
	msg := fmt.Sprintf("%s%s in %s: %v", what, subject, g.db, err)
	g.mu.Lock()
	g.errs = append(g.errs, msg)
	g.mu.Unlock()
}

// err is nil when no query failed, else an error naming the first failure
// (in sorted order, so it does not depend on goroutine scheduling) and how
// many more there were.
func (g *guard) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) == 0 {
		return nil
	}
	errs := append([]string(nil), g.errs...)
	slices.Sort(errs)
	if len(errs) == 1 {
		return fmt.Errorf("%s", errs[0])
	}
	return fmt.Errorf("%s (and %d more failed database queries)", errs[0], len(errs)-1)
}

// guardedProvider hands grype's matchers the database and records each
// error it returns. pkg is the package being matched, nil for the provider
// the VulnerabilityMatcher itself holds.
type guardedProvider struct {
	inner vulnerability.Provider
	g     *guard
	pkg   *pkg.Package
	// failed is set once a query for pkg failed, so the matcher's error
	// that merely passes it on is not recorded a second time.
	failed atomic.Bool
}

var (
	_ vulnerability.Provider              = (*guardedProvider)(nil)
	_ vulnerability.EOLChecker            = (*guardedProvider)(nil)
	_ vulnerability.StoreMetadataProvider = (*guardedProvider)(nil)
)

func (p *guardedProvider) PackageSearchNames(gp pkg.Package) []string {
	return p.inner.PackageSearchNames(gp)
}

func (p *guardedProvider) FindVulnerabilities(criteria ...vulnerability.Criteria) ([]vulnerability.Vulnerability, error) {
	vs, err := p.inner.FindVulnerabilities(criteria...)
	if err != nil {
		p.fail("searching for vulnerabilities", err)
	}
	return vs, err
}

//nolint:staticcheck // grype still calls the deprecated metadata API
func (p *guardedProvider) VulnerabilityMetadata(ref vulnerability.Reference) (*vulnerability.Metadata, error) {
	md, err := p.inner.VulnerabilityMetadata(ref)
	if err != nil {
		p.fail("reading the metadata of "+ref.ID, err)
	}
	return md, err
}

// GetOperatingSystemEOL passes the end-of-life lookup through; a provider
// without one has no dates, as grype treats it.
func (p *guardedProvider) GetOperatingSystemEOL(d *distro.Distro) (*time.Time, *time.Time, error) {
	c, ok := p.inner.(vulnerability.EOLChecker)
	if !ok {
		return nil, nil, nil
	}
	eol, eoas, err := c.GetOperatingSystemEOL(d)
	if err != nil {
		p.fail("reading the end-of-life dates of "+d.String(), err)
	}
	return eol, eoas, err
}

// DataProvenance passes the database's provenance through.
func (p *guardedProvider) DataProvenance() (map[string]vulnerability.DataProvenance, error) {
	s, ok := p.inner.(vulnerability.StoreMetadataProvider)
	if !ok {
		return nil, nil
	}
	dp, err := s.DataProvenance()
	if err != nil {
		p.fail("reading the data provenance", err)
	}
	return dp, err
}

// Close does not close the database: it is shared by every scan of the
// process and closed by vulndb.
func (p *guardedProvider) Close() error { return nil }

// fail records a failed query.
func (p *guardedProvider) fail(what string, err error) {
	p.failed.Store(true)
	p.g.record(p.pkg, what, err)
}

// forPackage is the provider bound to the package being matched, so an
// error names it.
func (p *guardedProvider) forPackage(gp pkg.Package) *guardedProvider {
	return &guardedProvider{inner: p.inner, g: p.g, pkg: &gp}
}

// guardedMatcher hands its matcher a provider bound to the package it
// matches. It is a new value per call, so concurrent matches do not mix up
// their packages.
type guardedMatcher struct {
	inner    match.Matcher
	provider *guardedProvider
}

func (m guardedMatcher) PackageTypes() []syftPkg.Type { return m.inner.PackageTypes() }

func (m guardedMatcher) Type() match.MatcherType { return m.inner.Type() }

// Match also records the matcher's own errors (and panics, which grype
// turns into errors): grype logs and drops those that are not fatal, and
// with them that package's findings.
func (m guardedMatcher) Match(_ vulnerability.Provider, p pkg.Package) (ms []match.Match, ignores []match.IgnoreFilter, err error) {
	bound := m.provider.forPackage(p)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("matcher %s panicked: %v", m.inner.Type(), r)
		}
		if err != nil && !bound.failed.Load() {
			m.provider.g.record(&p, "matching with the "+string(m.inner.Type()), err)
		}
	}()
	return m.inner.Match(bound, p)
}

// guarded wraps the database and the matchers for one match.
func guarded(db *vulndb.DB, ms []match.Matcher) (*guard, *guardedProvider, []match.Matcher) {
	g := newGuard(db.Status)
	p := &guardedProvider{inner: db.Provider, g: g}
	out := make([]match.Matcher, len(ms))
	for i, m := range ms {
		out[i] = guardedMatcher{inner: m, provider: p}
	}
	return g, p, out
}
