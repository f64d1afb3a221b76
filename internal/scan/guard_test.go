package scan

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/vulnerability"
	syftPkg "github.com/anchore/syft/syft/pkg"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// failingProvider is the real database, except that the failOn-th search
// (1-based; 0 never) fails, and so does reading the metadata of the ids
// failMetadata accepts.
type failingProvider struct {
	vulnerability.Provider
	failOn       int64
	queries      atomic.Int64
	failMetadata func(id string) bool
}

var errDisk = errors.New("database disk image is malformed")

func (f *failingProvider) FindVulnerabilities(c ...vulnerability.Criteria) ([]vulnerability.Vulnerability, error) {
	if f.queries.Add(1) == f.failOn {
		return nil, errDisk
	}
	return f.Provider.FindVulnerabilities(c...)
}

//nolint:staticcheck // the deprecated API is what is being wrapped
func (f *failingProvider) VulnerabilityMetadata(ref vulnerability.Reference) (*vulnerability.Metadata, error) {
	if f.failMetadata != nil && f.failMetadata(ref.ID) {
		return nil, errDisk
	}
	return f.Provider.VulnerabilityMetadata(ref)
}

// unscoredFixture catalogs the standard vulnerable image and opens a
// database of fixtures.UnscoredVulnData, for the subtests of
// TestUnscoredDatabase.
func unscoredFixture(t *testing.T) (*vulndb.DB, []byte, *Entry, func() *Result) {
	t.Helper()
	dir := t.TempDir()
	built, err := fixtures.BuildVulnDB(fixtures.UnscoredVulnData(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	m := testutil.OpenVulnDB(t, built, vulndb.Config{CacheDir: filepath.Join(dir, "cache"), ValidateChecksum: true})
	db, err := m.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := testutil.NewRegistry(t)
	client, err := registry.New(registry.Options{InsecureRegistries: []string{reg.Host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Push(t, "unscored:v1", img)
	s := New(client, m, filepath.Join(dir, "sbom"))
	res, err := s.Scan(context.Background(), Request{Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	// rescan scans again with a new Scanner over the same SBOM cache, as the
	// next plan would: the entry and its match come from disk.
	rescan := func() *Result {
		t.Helper()
		res, err := New(client, m, filepath.Join(dir, "sbom")).Scan(context.Background(), Request{Reference: ref})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ce, ok := s.entries.Load(res.Digest + "|" + string(Squashed))
	if !ok {
		t.Fatal("the scan kept no entry")
	}
	e := entryOf(ce)
	doc, err := s.cache.LoadSBOM(e, FormatSyftJSON)
	if err != nil {
		t.Fatal(err)
	}
	return db, doc, e, rescan
}

// TestUnscoredDatabase matches the standard image against a database of
// fixtures.UnscoredVulnData, plain and with failing queries.
func TestUnscoredDatabase(t *testing.T) {
	db, doc, e, rescan := unscoredFixture(t)
	t.Run("fails on the Nth query", func(t *testing.T) { testFailsOnTheNthQuery(t, db, doc, e) })
	t.Run("related metadata error", func(t *testing.T) { testRelatedMetadataError(t, db, doc, e) })
	t.Run("severity from alias", func(t *testing.T) { testSeverityFromAlias(t, db, doc, e, rescan) })
}

func withProvider(db *vulndb.DB, p vulnerability.Provider) *vulndb.DB {
	return &vulndb.DB{Provider: p, Status: db.Status}
}

var packageInError = regexp.MustCompile(`for package (\S+)@(\S+) \(([^)]+)\)`)

// testFailsOnTheNthQuery: a database query that fails anywhere in a match
// fails the scan with an error naming the package and the database, where
// grype alone would log it and return a shorter list.
func testFailsOnTheNthQuery(t *testing.T, db *vulndb.DB, doc []byte, e *Entry) {
	ctx := context.Background()
	counting := &failingProvider{Provider: db.Provider}
	want, err := matchSBOM(ctx, withProvider(db, counting), doc, e)
	if err != nil {
		t.Fatal(err)
	}
	total := counting.queries.Load()
	if total < 3 || len(want) == 0 {
		t.Fatalf("the fixture made %d queries and %d findings; the test needs more", total, len(want))
	}
	built := db.Status.Built.UTC().Format(time.RFC3339)
	for _, n := range []int64{1, 2, total / 2, total} {
		t.Run(fmt.Sprint("query ", n), func(t *testing.T) {
			got, err := matchSBOM(ctx, withProvider(db, &failingProvider{Provider: db.Provider, failOn: n}), doc, e)
			if err == nil {
				t.Fatalf("query %d of %d failed, yet the match returned %d findings (of %d) and no error", n, total, len(got), len(want))
			}
			msg := err.Error()
			for _, part := range []string{errDisk.Error(), db.Status.Path, "built " + built, "searching for vulnerabilities for package "} {
				if !strings.Contains(msg, part) {
					t.Errorf("error %q does not contain %q", msg, part)
				}
			}
			m := packageInError.FindStringSubmatch(msg)
			if m == nil || !slices.ContainsFunc(e.Packages, func(p Package) bool { return p.Name == m[1] && p.Version == m[2] && p.Type == m[3] }) {
				t.Errorf("error %q does not name a package of the SBOM", msg)
			}
		})
	}
	t.Run("no failing query", func(t *testing.T) {
		got, err := matchSBOM(ctx, withProvider(db, &failingProvider{Provider: db.Provider, failOn: total + 1}), doc, e)
		if err != nil || !slices.EqualFunc(got, want, func(a, b Vulnerability) bool { return slices.Equal(a.key(), b.key()) }) {
			t.Fatalf("got %d findings, %v; want the %d of the plain database", len(got), err, len(want))
		}
	})
}

// testRelatedMetadataError: a related record whose metadata cannot be read
// is an error, not a finding with fewer scores.
func testRelatedMetadataError(t *testing.T, db *vulndb.DB, doc []byte, e *Entry) {
	alias := fixtures.TextUnscored.Aliases[0]
	p := &failingProvider{Provider: db.Provider, failMetadata: func(id string) bool { return id == alias }}
	got, err := matchSBOM(context.Background(), withProvider(db, p), doc, e)
	if err == nil {
		t.Fatalf("the metadata of %s could not be read, yet the match returned %d findings and no error", alias, len(got))
	}
	msg := err.Error()
	for _, part := range []string{"reading the metadata of " + alias, "related to " + fixtures.TextUnscored.ID, "for package golang.org/x/text@v0.3.5 (go-module)", db.Status.Path, errDisk.Error()} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not contain %q", msg, part)
		}
	}
}

// TestConvertRelatedMetadataError checks convert on its own.
func TestConvertRelatedMetadataError(t *testing.T) {
	m := match.Match{
		Vulnerability: vulnerability.Vulnerability{
			Reference:              vulnerability.Reference{ID: "GHSA-aaaa-bbbb-cccc", Namespace: "github:language:javascript"},
			RelatedVulnerabilities: []vulnerability.Reference{{ID: "CVE-2026-0001", Namespace: "nvd:cpe"}},
		},
		Package: pkg.Package{Name: "lodash", Version: "4.17.20", Type: "npm"},
	}
	_, err := convert(metadataFunc(func(vulnerability.Reference) (*vulnerability.Metadata, error) { return nil, errDisk }), m, nil, nil)
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "CVE-2026-0001, related to GHSA-aaaa-bbbb-cccc, for package lodash@4.17.20 (npm)") {
		t.Fatalf("convert: %v", err)
	}
	v, err := convert(metadataFunc(func(r vulnerability.Reference) (*vulnerability.Metadata, error) {
		return &vulnerability.Metadata{ID: r.ID, Severity: "Critical"}, nil
	}), m, nil, nil)
	if err != nil || v.Severity != "critical" {
		t.Fatalf("convert: severity %q, %v; want critical from the related record", v.Severity, err)
	}
}

type metadataFunc func(vulnerability.Reference) (*vulnerability.Metadata, error)

func (f metadataFunc) VulnerabilityMetadata(r vulnerability.Reference) (*vulnerability.Metadata, error) {
	return f(r)
}

// testSeverityFromAlias: a finding whose own record has no severity takes
// the one its alias's record holds, on a fresh match and on a reused one.
func testSeverityFromAlias(t *testing.T, db *vulndb.DB, doc []byte, e *Entry, rescan func() *Result) {
	got, err := matchSBOM(context.Background(), db, doc, e)
	if err != nil {
		t.Fatal(err)
	}
	var v *Vulnerability
	for i := range got {
		if got[i].ID == fixtures.TextUnscored.ID {
			v = &got[i]
		}
	}
	if v == nil {
		t.Fatalf("no %s finding in %+v", fixtures.TextUnscored.ID, got)
	}
	if v.Severity != "high" || v.CVSSScore != nil || !slices.Contains(v.Aliases, fixtures.TextUnscoredAlias.GHSAID) {
		t.Errorf("%s: severity %q, CVSS %v, aliases %v; want high from %s, no score", v.ID, v.Severity, v.CVSSScore, v.Aliases, fixtures.TextUnscoredAlias.GHSAID)
	}
	// The next plan reuses the match the entry stored.
	res := rescan()
	if !res.Cached {
		t.Fatal("the rescan did not use the cached entry")
	}
	found := false
	for _, r := range res.Vulnerabilities {
		if r.ID == v.ID {
			found = true
			if r.Severity != v.Severity {
				t.Errorf("reused %s has severity %q, fresh %q", r.ID, r.Severity, v.Severity)
			}
		}
	}
	if !found || res.SeverityCounts["high"] == 0 {
		t.Errorf("the reused match lacks %s or counts no high finding: %v", v.ID, res.SeverityCounts)
	}
}

// TestGuardConcurrent: failures recorded from many goroutines are all
// counted and the error names the same (first in order) one every time.
func TestGuardConcurrent(t *testing.T) {
	g := newGuard(vulndb.Status{Path: "/db/vulnerability.db", Built: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	p := &guardedProvider{inner: &failingProvider{failOn: -1, failMetadata: func(string) bool { return true }}, g: g}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			bound := p.forPackage(pkg.Package{Name: fmt.Sprintf("pkg%02d", i), Version: "1.0", Type: "npm"})
			if _, err := bound.VulnerabilityMetadata(vulnerability.Reference{ID: "CVE-1"}); err == nil {
				t.Error("no error")
			}
		})
	}
	wg.Wait()
	want := "reading the metadata of CVE-1 for package pkg00@1.0 (npm) in the vulnerability database at /db/vulnerability.db (built 2026-11-01T00:00:00Z): " + errDisk.Error() + " (and 49 more failed database queries)"
	if err := g.err(); err == nil || err.Error() != want {
		t.Fatalf("guard error %v, want %q", err, want)
	}
}

// brokenMatcher fails or panics on every package, as a matcher's own bug
// would; grype logs and drops such errors.
type brokenMatcher struct{ panics bool }

func (brokenMatcher) PackageTypes() []syftPkg.Type { return []syftPkg.Type{syftPkg.NpmPkg} }
func (brokenMatcher) Type() match.MatcherType      { return match.JavascriptMatcher }
func (m brokenMatcher) Match(vulnerability.Provider, pkg.Package) ([]match.Match, []match.IgnoreFilter, error) {
	if m.panics {
		panic("index out of range")
	}
	return nil, nil, errors.New("cannot parse version")
}

// A matcher's own error, not only a database error, fails the match.
func TestGuardRecordsMatcherErrors(t *testing.T) {
	for _, panics := range []bool{false, true} {
		g := newGuard(vulndb.Status{Path: "/db/vulnerability.db"})
		m := guardedMatcher{inner: brokenMatcher{panics: panics}, provider: &guardedProvider{inner: &failingProvider{failOn: -1}, g: g}}
		if _, _, err := m.Match(nil, pkg.Package{Name: "lodash", Version: "4.17.20", Type: syftPkg.NpmPkg}); err == nil {
			t.Errorf("panics=%v: no error from Match", panics)
		}
		err := g.err()
		if err == nil || !strings.Contains(err.Error(), "lodash@4.17.20 (npm)") || !strings.Contains(err.Error(), "javascript-matcher") {
			t.Errorf("panics=%v: guard error %v, want one naming the package and the matcher", panics, err)
		}
	}
}
