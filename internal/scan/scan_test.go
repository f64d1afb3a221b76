package scan_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

func TestMain(m *testing.M) { testutil.Main(m) }

type env struct {
	reg      *testutil.Registry
	client   *registry.Client
	dbDir    string
	cacheDir string
	last     *vulndb.Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	reg := testutil.NewRegistry(t)
	c, err := registry.New(registry.Options{InsecureRegistries: []string{reg.Host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{reg: reg, client: c, dbDir: t.TempDir(), cacheDir: t.TempDir()}
}

// scanner opens the given database archive (as a fresh provider process
// would, so the previous one is closed) over the env's shared SBOM cache.
func (e *env) scanner(t *testing.T, db *fixtures.BuiltDB) *scan.Scanner {
	t.Helper()
	if e.last != nil {
		e.last.Close()
	}
	m := testutil.OpenVulnDB(t, db, vulndb.Config{CacheDir: e.dbDir, ValidateChecksum: true})
	e.last = m
	return scan.New(e.client, m, e.cacheDir)
}

// pushVulnerable builds a standard vulnerable image, pushes it as ref and
// returns it with its pinned reference.
func (e *env) pushVulnerable(t *testing.T, ref string, spec fixtures.Vulnerable) (v1.Image, string) {
	t.Helper()
	img, err := fixtures.VulnerableImage(spec)
	if err != nil {
		t.Fatal(err)
	}
	return img, e.reg.Push(t, ref, img)
}

func find(res *scan.Result, id, pkg string) *scan.Vulnerability {
	for i, v := range res.Vulnerabilities {
		if v.ID == id && v.PackageName == pkg {
			return &res.Vulnerabilities[i]
		}
	}
	return nil
}

// expected is a finding the standard vulnerable image must have.
type expected struct {
	id, pkg, version, severity string
	cvss                       *float64
	fixState                   string
	fixedIn                    string
	alias                      string
	layer                      int // index into the image's layers
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, _ := l.Digest()
		out = append(out, d.String())
	}
	return out
}

func TestScanFindsOSAndLanguagePackages(t *testing.T) {
	e := newEnv(t)
	img, pinned := e.pushVulnerable(t, "vuln:1", fixtures.Vulnerable{User: "app"})
	layers := layerDigests(t, img)
	res, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("vuln:1")})
	if err != nil {
		t.Fatal(err)
	}
	if res.PinnedReference != pinned || res.Distro == nil || res.Distro.ID != "debian" || !strings.HasPrefix(res.Distro.Version, "12") {
		t.Errorf("identity: %s %+v", res.PinnedReference, res.Distro)
	}
	if string(res.Files["/etc/passwd"]) != fixtures.Passwd {
		t.Errorf("account files not read: %q", res.Files)
	}
	want := []expected{
		{"CVE-2005-2541", "tar", "1.34+dfsg-1.2+deb12u1", "negligible", nil, "not-fixed", "", "", 0},
		{"CVE-2024-0727", "libssl3", "3.0.11-1~deb12u2", "medium", new(5.5), "fixed", "3.0.13-1~deb12u1", "", 0},
		{"CVE-2024-0727", "openssl", "3.0.11-1~deb12u2", "medium", new(5.5), "fixed", "3.0.13-1~deb12u1", "", 0},
		{"GHSA-35jh-r3h4-6jhm", "lodash", "4.17.20", "high", new(7.2), "fixed", "4.17.21", "CVE-2021-23337", 1},
		{"GO-2021-0113", "golang.org/x/text", "v0.3.5", "unknown", nil, "fixed", "0.3.7", "CVE-2021-38561", 2},
	}
	if len(res.Vulnerabilities) != len(want) {
		t.Errorf("got %d findings, want %d: %+v", len(res.Vulnerabilities), len(want), res.Vulnerabilities)
	}
	for i, w := range want {
		if i >= len(res.Vulnerabilities) {
			break
		}
		v := res.Vulnerabilities[i] // also checks the sort order: id, package, version
		if v.ID != w.id || v.PackageName != w.pkg || v.PackageVersion != w.version || v.Severity != w.severity || v.FixState != w.fixState {
			t.Errorf("finding %d: got %s %s %s %s %s, want %+v", i, v.ID, v.PackageName, v.PackageVersion, v.Severity, v.FixState, w)
		}
		if (v.CVSSScore == nil) != (w.cvss == nil) || (w.cvss != nil && *v.CVSSScore != *w.cvss) {
			t.Errorf("%s: cvss %v, want %v", v.ID, v.CVSSScore, w.cvss)
		}
		if w.fixedIn != "" && (len(v.FixedIn) != 1 || v.FixedIn[0] != w.fixedIn) {
			t.Errorf("%s: fixed in %v", v.ID, v.FixedIn)
		}
		if w.alias != "" && !slices.Contains(v.Aliases, w.alias) {
			t.Errorf("%s: aliases %v lack %s", v.ID, v.Aliases, w.alias)
		}
		if v.LayerDigest != layers[w.layer] {
			t.Errorf("%s: layer %s, want %s", v.ID, v.LayerDigest, layers[w.layer])
		}
		if v.PURL == "" || v.Namespace == "" {
			t.Errorf("%s: purl %q namespace %q", v.ID, v.PURL, v.Namespace)
		}
	}
	if v := find(res, "GHSA-35jh-r3h4-6jhm", "lodash"); v != nil && (v.CVSSVector != fixtures.LodashCommandInjection.CVSSVector || len(v.URLs) == 0) {
		t.Errorf("lodash vector %q urls %v", v.CVSSVector, v.URLs)
	}
	// Negative controls: advisories fixed before the installed versions.
	for _, id := range []string{"GHSA-p6mc-m468-83gw", "CVE-2023-0286"} {
		for _, v := range res.Vulnerabilities {
			if v.ID == id {
				t.Errorf("%s matched an already fixed version", id)
			}
		}
	}
	if res.SeverityCounts["medium"] != 2 || res.SeverityCounts["high"] != 1 || res.SeverityCounts["critical"] != 0 || len(res.SeverityCounts) != len(scan.Severities) {
		t.Errorf("severity counts %v", res.SeverityCounts)
	}
	if !strings.HasPrefix(res.DB.SchemaVersion, "v6") || res.DB.Built.IsZero() || res.DB.Checksum == "" {
		t.Errorf("db status %+v", res.DB)
	}
}

func TestScopeAllLayersFindsDeletedPackages(t *testing.T) {
	e := newEnv(t)
	img, _ := e.pushVulnerable(t, "removed:1", fixtures.Vulnerable{Removed: map[string]string{"minimist": "1.2.5"}})
	s := e.scanner(t, testutil.VulnDBs(t).Old)
	squashed, err := s.Scan(context.Background(), scan.Request{Reference: e.reg.Ref("removed:1"), Scope: scan.Squashed})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Scan(context.Background(), scan.Request{Reference: e.reg.Ref("removed:1"), Scope: scan.AllLayers})
	if err != nil {
		t.Fatal(err)
	}
	if find(squashed, "GHSA-xvch-5gv4-984h", "minimist") != nil {
		t.Error("squashed scope reports a package the final filesystem does not hold")
	}
	v := find(all, "GHSA-xvch-5gv4-984h", "minimist")
	if v == nil || v.Severity != "critical" || v.CVSSScore == nil || *v.CVSSScore != 9.8 {
		t.Fatalf("all-layers scope misses the deleted minimist: %+v", v)
	}
	if v.LayerDigest != layerDigests(t, img)[3] {
		t.Errorf("minimist attributed to %s, not the layer that added it", v.LayerDigest)
	}
	if all.PackageCount <= squashed.PackageCount {
		t.Errorf("all-layers found %d packages, squashed %d", all.PackageCount, squashed.PackageCount)
	}
}

func TestCachedSBOMIsRematchedWithoutPullingLayers(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	dbs := testutil.VulnDBs(t)
	ctx := context.Background()
	req := scan.Request{Reference: e.reg.Ref("app:1")}

	e.reg.ResetRequests()
	first, err := e.scanner(t, dbs.Old).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || e.reg.BlobRequests() == 0 {
		t.Fatalf("first scan: cached %v, blob requests %d", first.Cached, e.reg.BlobRequests())
	}
	if find(first, fixtures.LodashReDoS.GHSAID, "lodash") != nil {
		t.Fatal("the old database already knows the new advisory")
	}

	// A later plan (a new process) with an updated database.
	e.reg.ResetRequests()
	second, err := e.scanner(t, dbs.New).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cached || e.reg.BlobRequests() != 0 {
		t.Fatalf("second scan pulled blobs: cached %v, requests %v", second.Cached, e.reg.Requests())
	}
	v := find(second, fixtures.LodashReDoS.GHSAID, "lodash")
	if v == nil || !v.New || v.Severity != "medium" {
		t.Fatalf("the advisory published after the first scan is not reported as new: %+v", v)
	}
	if old := find(second, "GHSA-35jh-r3h4-6jhm", "lodash"); old == nil || old.New {
		t.Errorf("a finding known at the first scan is reported as new: %+v", old)
	}
	if len(second.Vulnerabilities) != len(first.Vulnerabilities)+1 {
		t.Errorf("second scan %d findings, first %d", len(second.Vulnerabilities), len(first.Vulnerabilities))
	}
}

func TestCorruptCacheEntryIsRebuilt(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	ctx := context.Background()
	req := scan.Request{Reference: e.reg.Ref("app:1")}
	first, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := filepath.Glob(filepath.Join(e.cacheDir, "squashed", "sha256-*[0-9a-f].json"))
	if len(entries) != 1 {
		t.Fatalf("cache entries %v", entries)
	}
	for name, content := range map[string]string{
		"garbage":       "{not json",
		"foreign":       strings.Replace(readFile(t, entries[0]), first.Digest, "sha256:"+strings.Repeat("1", 64), 1),
		"other version": strings.Replace(readFile(t, entries[0]), `"syft_version":"`, `"syft_version":"0.0.1-`, 1),
	} {
		if err := os.WriteFile(entries[0], []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		e.reg.ResetRequests()
		res, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Cached || e.reg.BlobRequests() == 0 || len(res.Vulnerabilities) != len(first.Vulnerabilities) {
			t.Errorf("%s entry was trusted: cached %v, %d findings", name, res.Cached, len(res.Vulnerabilities))
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConcurrentScansShareOneCatalog(t *testing.T) {
	e := newEnv(t)
	img, _ := e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	s := e.scanner(t, testutil.VulnDBs(t).Old)
	e.reg.ResetRequests()
	var wg sync.WaitGroup
	results := make([]*scan.Result, 10)
	errs := make([]error, 10)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = s.Scan(context.Background(), scan.Request{Reference: e.reg.Ref("app:1")})
		})
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if len(results[i].Vulnerabilities) != len(results[0].Vulnerabilities) {
			t.Errorf("scan %d: %d findings, scan 0: %d", i, len(results[i].Vulnerabilities), len(results[0].Vulnerabilities))
		}
	}
	layers, _ := img.Layers()
	if n := e.reg.BlobRequests(); n != len(layers)+1 { // each layer and the config, once
		t.Errorf("10 concurrent scans of one digest made %d blob requests, want %d", n, len(layers)+1)
	}
}

func TestSBOMFormats(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	for _, f := range scan.Formats {
		var docs []string
		for range 2 { // a fresh process each time: the cached document is reused
			res, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("app:1"), SBOMFormat: f})
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, res.SBOM)
		}
		if !strings.Contains(docs[0], "lodash") || docs[0] != docs[1] {
			t.Errorf("%s: not deterministic or incomplete (%d bytes)", f, len(docs[0]))
		}
	}
	_, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("app:1"), SBOMFormat: "xml"})
	if err == nil || !strings.Contains(err.Error(), "cyclonedx-json") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestEmptyImageWarns(t *testing.T) {
	e := newEnv(t)
	e.reg.Push(t, "scratch:1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"hello.txt": []byte("hi")})}}))
	res, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("scratch:1")})
	if err != nil {
		t.Fatal(err)
	}
	if res.PackageCount != 0 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "no packages") {
		t.Errorf("count %d warnings %v", res.PackageCount, res.Warnings)
	}
}

func TestDatabaseFailureStopsTheScan(t *testing.T) {
	e := newEnv(t)
	e.reg.Push(t, "app:1", testutil.RandomImage(t, 1, v1.Config{}))
	m, err := vulndb.New(vulndb.Config{CacheDir: t.TempDir(), MaxAge: time.Hour, UpdateURL: "http://127.0.0.1:1/latest.json"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.ResetRequests()
	_, err = scan.New(e.client, m, e.cacheDir).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("app:1")})
	if _, ok := errors.AsType[*vulndb.Error](err); !ok {
		t.Fatalf("missing database: %v", err)
	}
	if e.reg.BlobRequests() != 0 {
		t.Error("layers were pulled although the database was unusable")
	}
}

func TestCancelledScan(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	s := e.scanner(t, testutil.VulnDBs(t).Old)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1")}); err == nil {
		t.Fatal("a cancelled scan returned a result")
	}
}

// A match is reused while the database is unchanged (the SBOM is not even
// read); a new database re-matches, and an SBOM that is missing or altered
// then is never trusted: the image is cataloged again.
func TestMatchReuseAndSBOMIntegrity(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	dbs := testutil.VulnDBs(t)
	ctx := context.Background()
	req := scan.Request{Reference: e.reg.Ref("app:1")}
	first, err := e.scanner(t, dbs.Old).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sboms, _ := filepath.Glob(filepath.Join(e.cacheDir, "squashed", "*.syft-json.json"))
	if len(sboms) != 1 {
		t.Fatalf("SBOM files %v", sboms)
	}
	if err := os.Remove(sboms[0]); err != nil {
		t.Fatal(err)
	}
	e.reg.ResetRequests()
	same, err := e.scanner(t, dbs.Old).Scan(ctx, req)
	if err != nil {
		t.Fatalf("same database, SBOM gone: %v", err)
	}
	if !same.Cached || e.reg.BlobRequests() != 0 || len(same.Vulnerabilities) != len(first.Vulnerabilities) {
		t.Errorf("the unchanged database did not reuse the match: cached %v, %d blob requests", same.Cached, e.reg.BlobRequests())
	}

	for name, damage := range map[string]func(string){
		"missing": func(string) {},
		"altered": func(p string) {
			if err := os.WriteFile(p, []byte(`{"artifacts":[]}`), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			// Start from a complete entry matched against the old database.
			if _, err := e.scanner(t, dbs.Old).Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1"), SBOMFormat: scan.FormatSyftJSON}); err != nil {
				t.Fatal(err)
			}
			sboms, _ := filepath.Glob(filepath.Join(e.cacheDir, "squashed", "*.syft-json.json"))
			if name == "missing" {
				for _, p := range sboms {
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				for _, p := range sboms {
					damage(p)
				}
			}
			e.reg.ResetRequests()
			res, err := e.scanner(t, dbs.New).Scan(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Cached || e.reg.BlobRequests() == 0 {
				t.Errorf("a %s SBOM was not rebuilt: cached %v", name, res.Cached)
			}
			if v := find(res, fixtures.LodashReDoS.GHSAID, "lodash"); v == nil {
				t.Errorf("the new database's advisory is missing after the rebuild")
			}
		})
	}
}

// The SBOM cache is a trust boundary: a directory others can write is not
// used (the scan still works, every time from the image).
func TestCacheWritableByOthersIsNotUsed(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	if err := os.Chmod(e.cacheDir, 0o777); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		e.reg.ResetRequests()
		res, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("app:1"), SBOMFormat: scan.FormatCycloneDXJSON})
		if err != nil {
			t.Fatal(err)
		}
		if res.Cached || e.reg.BlobRequests() == 0 || len(res.Vulnerabilities) != 5 || res.SBOM == "" {
			t.Errorf("scan %d: cached %v, %d findings", i, res.Cached, len(res.Vulnerabilities))
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "can be written by other users") {
			t.Errorf("scan %d: warnings %v", i, res.Warnings)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(e.cacheDir, "*", "*")); len(entries) != 0 {
		t.Errorf("an untrusted cache was written: %v", entries)
	}
}
