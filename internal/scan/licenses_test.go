package scan_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// mitLicense is the MIT licence text: only syft's license scanner
// (google/licensecheck) recognises it, a copyright file holding it has no
// "License:" field for the dpkg cataloger to parse.
const mitLicense = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

// pushLicensed pushes a Debian image whose tar package has an MIT copyright
// file, and returns its digest.
func pushLicensed(t *testing.T, e *env, ref string) string {
	t.Helper()
	files := fixtures.DebianFiles(fixtures.DefaultDebianPackages)
	files["usr/share/doc/tar/copyright"] = []byte("Copyright (c) 2020 Example Authors\n\n" + mitLicense)
	pinned := e.reg.Push(t, ref, testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, files)}}))
	return pinned[strings.Index(pinned, "@")+1:]
}

// syftLicenses returns the license values syft-json lists for a package.
func syftLicenses(t *testing.T, doc []byte, name string) []string {
	t.Helper()
	var sb struct {
		Artifacts []struct {
			Name     string `json:"name"`
			Licenses []struct {
				Value string `json:"value"`
			} `json:"licenses"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(doc, &sb); err != nil {
		t.Fatalf("decoding the syft-json SBOM: %v", err)
	}
	found := false
	var out []string
	for _, a := range sb.Artifacts {
		if a.Name == name {
			found = true
			for _, l := range a.Licenses {
				out = append(out, l.Value)
			}
		}
	}
	if !found {
		t.Fatalf("package %s is not in the SBOM", name)
	}
	return out
}

// A scan that asks for no SBOM output catalogs without syft's license
// scanner and its cached SBOM carries no licenses (the entry says so); a
// later request for an SBOM on the cached digest catalogs the image again,
// with licenses, rather than answering without them; from then on both
// kinds of request use that entry.
func TestLicensesOnlyWhenAnSBOMIsAskedFor(t *testing.T) {
	e := newEnv(t)
	digest := pushLicensed(t, e, "licensed:1")
	ctx := context.Background()
	db := testutil.VulnDBs(t).Old
	plain := scan.Request{Reference: e.reg.Ref("licensed:1")}

	first, err := e.scanner(t, db).Scan(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if first.SBOM != "" || first.Cached {
		t.Fatalf("first scan: sbom %q, cached %v", first.SBOM, first.Cached)
	}
	entry := scan.NewCache(e.cacheDir).Load(digest, scan.Squashed)
	if entry == nil {
		t.Fatal("the first scan left no cache entry")
	}
	if entry.Licenses {
		t.Error("the entry of a scan without an SBOM output says its SBOM carries licenses")
	}
	doc, err := scan.NewCache(e.cacheDir).LoadSBOM(entry, scan.FormatSyftJSON)
	if err != nil {
		t.Fatal(err)
	}
	if got := syftLicenses(t, doc, "tar"); len(got) != 0 {
		t.Errorf("the SBOM of a scan without an SBOM output lists licenses for tar: %q", got)
	}
	if strings.Contains(string(doc), "Permission is hereby granted") {
		t.Error("the SBOM of a scan without an SBOM output holds license text")
	}

	// A new plan asks for the SBOM: the cached entry lacks licenses, so the
	// image is pulled and cataloged again.
	e.reg.ResetRequests()
	withSBOM := plain
	withSBOM.SBOMFormat = scan.FormatSyftJSON
	second, err := e.scanner(t, db).Scan(ctx, withSBOM)
	if err != nil {
		t.Fatal(err)
	}
	if second.Cached || e.reg.BlobRequests() == 0 {
		t.Errorf("an SBOM request on an entry without licenses was answered from the cache (cached %v, blob requests %d)", second.Cached, e.reg.BlobRequests())
	}
	if got := syftLicenses(t, []byte(second.SBOM), "tar"); !slices.Contains(got, "MIT") {
		t.Errorf("syft-json licenses of tar = %q, want MIT", got)
	}
	if !sameFindings(first, second) {
		t.Errorf("findings changed with licenses: %v vs %v", first.Vulnerabilities, second.Vulnerabilities)
	}
	entry = scan.NewCache(e.cacheDir).Load(digest, scan.Squashed)
	if entry == nil || !entry.Licenses {
		t.Fatalf("the entry after a licensed catalog: %+v", entry)
	}

	// Other formats carry them too, from the same entry, without a pull.
	e.reg.ResetRequests()
	s := e.scanner(t, db)
	withCDX := plain
	withCDX.SBOMFormat = scan.FormatCycloneDXJSON
	third, err := s.Scan(ctx, withCDX)
	if err != nil {
		t.Fatal(err)
	}
	if !third.Cached || e.reg.BlobRequests() != 0 || !strings.Contains(third.SBOM, `"MIT"`) {
		t.Errorf("cyclonedx from the licensed entry: cached %v, blob requests %d, MIT listed %v", third.Cached, e.reg.BlobRequests(), strings.Contains(third.SBOM, `"MIT"`))
	}
	// A request without an SBOM uses the licensed entry as it is.
	fourth, err := s.Scan(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if !fourth.Cached || e.reg.BlobRequests() != 0 {
		t.Errorf("a plain scan after a licensed one pulled again: cached %v, blob requests %d", fourth.Cached, e.reg.BlobRequests())
	}
}

// Within one process too: the entry a plain scan keeps in memory is not
// used to answer an SBOM request, and a licensed entry is not replaced by a
// later plain one.
func TestLicensesInOneProcess(t *testing.T) {
	e := newEnv(t)
	pushLicensed(t, e, "licensed:1")
	ctx := context.Background()
	s := e.scanner(t, testutil.VulnDBs(t).Old)
	plain := scan.Request{Reference: e.reg.Ref("licensed:1")}
	if _, err := s.Scan(ctx, plain); err != nil {
		t.Fatal(err)
	}
	withSBOM := plain
	withSBOM.SBOMFormat = scan.FormatSPDXJSON
	res, err := s.Scan(ctx, withSBOM)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.SBOM, `"MIT"`) {
		t.Errorf("spdx-json after a plain scan in the same process lists no MIT license")
	}
	e.reg.ResetRequests()
	if _, err := s.Scan(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if res, err = s.Scan(ctx, withSBOM); err != nil {
		t.Fatal(err)
	}
	if e.reg.BlobRequests() != 0 || !strings.Contains(res.SBOM, `"MIT"`) {
		t.Errorf("after the licensed catalog: blob requests %d, MIT listed %v", e.reg.BlobRequests(), strings.Contains(res.SBOM, `"MIT"`))
	}
}

func sameFindings(a, b *scan.Result) bool {
	if len(a.Vulnerabilities) != len(b.Vulnerabilities) {
		return false
	}
	for i := range a.Vulnerabilities {
		x, y := a.Vulnerabilities[i], b.Vulnerabilities[i]
		if x.ID != y.ID || x.PackageName != y.PackageName || x.PackageVersion != y.PackageVersion {
			return false
		}
	}
	return true
}

// The license scanner is left out through two functions of syft's internal
// licenses package (nolicenses.go); their signatures and the behaviour it
// relies on are checked against the syft source in the module cache, so an
// upgrade that changes them fails here.
func TestNoLicenseScannerMatchesSyft(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/anchore/syft").Output()
	if err != nil {
		t.Fatalf("locating syft's source: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "licenses")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("reading syft's %s: %v", name, err)
		}
		return string(b)
	}
	scanner, ctx, find := read("scanner.go"), read("context.go"), read("find_evidence.go")
	for _, c := range []struct{ src, want string }{
		{scanner, "type ScannerConfig struct {\n\tCoverageThreshold float64\n\tScanner           func([]byte) licensecheck.Coverage\n}"},
		{scanner, "type Scanner interface {\n\tFindEvidence(context.Context, io.Reader) ([]Evidence, []byte, error)\n}"},
		{scanner, "func NewScanner(c *ScannerConfig) (Scanner, error) {\n\tif c == nil {\n\t\treturn NewDefaultScanner()\n\t}\n\n\treturn &scanner{"},
		{ctx, "func SetContextLicenseScanner(ctx context.Context, s Scanner) context.Context {"},
		{find, "if s.scanner == nil {\n\t\treturn nil, nil, nil\n\t}"},
	} {
		if !strings.Contains(c.src, c.want) {
			t.Errorf("syft %s no longer has %q: update internal/scan/nolicenses.go", scan.SyftVersion, c.want)
		}
	}
}

// Cataloging again for licenses keeps the image's first findings as the
// reference: an advisory published after the first scan is still new.
func TestLicensedRecatalogKeepsFirstFindings(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "vuln:1", fixtures.Vulnerable{User: "app"})
	ctx := context.Background()
	dbs := testutil.VulnDBs(t)
	req := scan.Request{Reference: e.reg.Ref("vuln:1")}
	first, err := e.scanner(t, dbs.Old).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if find(first, fixtures.LodashReDoS.GHSAID, "lodash") != nil {
		t.Fatal("the old database already knows the new advisory")
	}
	req.SBOMFormat = scan.FormatSyftJSON
	e.reg.ResetRequests()
	second, err := e.scanner(t, dbs.New).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Cached || e.reg.BlobRequests() == 0 {
		t.Fatalf("the SBOM request did not catalog again: cached %v, blob requests %d", second.Cached, e.reg.BlobRequests())
	}
	if v := find(second, fixtures.LodashReDoS.GHSAID, "lodash"); v == nil || !v.New {
		t.Errorf("the advisory published after the first scan is not new after the licensed catalog: %+v", v)
	}
	if old := find(second, "GHSA-35jh-r3h4-6jhm", "lodash"); old == nil || old.New {
		t.Errorf("a finding known at the first scan is reported as new: %+v", old)
	}
}
