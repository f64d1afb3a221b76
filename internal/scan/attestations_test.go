package scan_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// runner is one machine of a fleet: its own database copy and its own,
// initially empty, SBOM cache.
func runner(t *testing.T, c *registry.Client, db *fixtures.BuiltDB, cacheDir string, a scan.Attestations) *scan.Scanner {
	t.Helper()
	m, err := vulndb.New(vulndb.Config{CacheDir: t.TempDir(), Archive: db.Archive, MaxAge: time.Hour, ValidateChecksum: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return scan.New(c, m, cacheDir, scan.WithAttestations(a))
}

// testSigner returns a PKCS#8 signer and its public key.
func testSigner(t *testing.T) (*attest.Signer, string) {
	t.Helper()
	k, pub := testutil.GenerateKey(t, "")
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	s, err := attest.LoadSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

// findings lists a result's findings with everything the gate reads.
func findings(res *scan.Result) string {
	var s []string
	for _, v := range res.Vulnerabilities {
		score := "-"
		if v.CVSSScore != nil {
			score = fmt.Sprint(*v.CVSSScore)
		}
		s = append(s, strings.Join([]string{v.ID, v.PackageName, v.PackageVersion, v.PackageType, v.Severity, score, v.FixState, strings.Join(v.FixedIn, ","), v.LayerDigest}, " "))
	}
	return strings.Join(s, "\n")
}

// idPackageVersion lists the (id, package, version) set, the parity
// test's comparison.
func idPackageVersion(res *scan.Result) string {
	var s []string
	for _, v := range res.Vulnerabilities {
		s = append(s, v.ID+" "+v.PackageName+" "+v.PackageVersion)
	}
	return strings.Join(uniq(s), "\n")
}

// layerBlobsFetched lists the GETs of the image's layer blobs.
func layerBlobsFetched(t *testing.T, r *testutil.Registry, img v1.Image) []string {
	t.Helper()
	var out []string
	for _, d := range layerDigests(t, img) {
		for _, q := range r.Requests() {
			if strings.HasPrefix(q, "GET ") && strings.Contains(q, "/blobs/"+d) {
				out = append(out, q)
			}
		}
	}
	return out
}

func hasWarning(res *scan.Result, parts ...string) bool {
	for _, w := range res.Warnings {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(w, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestSBOMAttestationPublishThenUse: runner A catalogs and publishes; runner
// B, with an empty cache, uses the attestation without fetching a layer
// blob and finds exactly what A found.
func TestSBOMAttestationPublishThenUse(t *testing.T) {
	e := newEnv(t)
	img, pinned := e.pushVulnerable(t, "app:1", fixtures.Vulnerable{User: "app"})
	s, pub := testSigner(t)
	dbs := testutil.VulnDBs(t)
	ctx := context.Background()
	req := scan.Request{Reference: e.reg.Ref("app:1")}

	a := runner(t, e.client, dbs.Old, t.TempDir(), scan.Attestations{PublishSBOM: true, Signer: s})
	first, err := a.Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Warnings) != 0 || first.SBOMSource != scan.SourceCatalog || len(first.Vulnerabilities) == 0 {
		t.Fatalf("runner A: source %q, %d findings, warnings %q", first.SBOMSource, len(first.Vulnerabilities), first.Warnings)
	}
	if len(layerBlobsFetched(t, e.reg, img)) == 0 {
		t.Fatal("runner A did not pull the layers")
	}

	// Another runner cataloging the digest cold does not publish it again.
	again := runner(t, e.client, dbs.Old, t.TempDir(), scan.Attestations{PublishSBOM: true, Signer: s})
	if _, err := again.Scan(ctx, req); err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(pinned, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if sts, _, err := verify.New(e.client, nil).Statements(ctx, d, []string{pub}, scan.SBOMPredicateTypes); err != nil || len(sts) != 1 {
		t.Fatalf("after two cold catalogs with publish_sbom: %d SBOM attestations (err %v), want 1", len(sts), err)
	}

	bCache := t.TempDir()
	b := runner(t, e.client, dbs.Old, bCache, scan.Attestations{UseSBOM: true, TrustedKeys: []string{pub}})
	e.reg.ResetRequests()
	second, err := b.Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := layerBlobsFetched(t, e.reg, img); len(got) != 0 {
		t.Fatalf("runner B fetched layer blobs although an SBOM attestation was there: %v", got)
	}
	if second.SBOMSource != scan.SourceAttestation || !strings.Contains(second.SBOMAttestation, s.KeyID()) || len(second.Warnings) != 0 {
		t.Fatalf("runner B: source %q (%s), warnings %q", second.SBOMSource, second.SBOMAttestation, second.Warnings)
	}
	if second.PinnedReference != pinned || second.Files != nil || second.Hygiene != nil {
		t.Errorf("runner B: pinned %s, files %v, hygiene %v (an attestation has neither)", second.PinnedReference, second.Files, second.Hygiene)
	}
	if got, want := findings(second), findings(first); got != want {
		t.Errorf("findings from the attestation differ from the catalog's\nattestation:\n%s\ncatalog:\n%s", got, want)
	}
	if fmt.Sprint(second.Packages) != fmt.Sprint(first.Packages) || fmt.Sprint(second.Distro) != fmt.Sprint(first.Distro) {
		t.Errorf("packages or distro differ:\n%v %v\n%v %v", second.Packages, second.Distro, first.Packages, first.Distro)
	}

	// A later plan on runner B reads its own cache: still no layer, the
	// source remembered.
	b2 := runner(t, e.client, dbs.New, bCache, scan.Attestations{UseSBOM: true, TrustedKeys: []string{pub}})
	e.reg.ResetRequests()
	third, err := b2.Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !third.Cached || third.SBOMSource != scan.SourceAttestation || len(layerBlobsFetched(t, e.reg, img)) != 0 {
		t.Fatalf("runner B re-plan: cached %v, source %q, requests %v", third.Cached, third.SBOMSource, e.reg.Requests())
	}
	if find(third, fixtures.LodashReDoS.GHSAID, "lodash") == nil {
		t.Error("the re-plan with a newer database missed the newer advisory")
	}

	// The cache outlives the setting, and other configurations may share
	// it: an attested entry is used only while use_sbom trusts its signer.
	_, otherPub := testSigner(t)
	for name, a := range map[string]scan.Attestations{
		"use_sbom off":        {},
		"another trusted key": {UseSBOM: true, TrustedKeys: []string{otherPub}},
	} {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(bCache)); err != nil {
			t.Fatal(err)
		}
		e.reg.ResetRequests()
		res, err := runner(t, e.client, dbs.Old, dir, a).Scan(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.SBOMSource != scan.SourceCatalog || res.Cached || len(layerBlobsFetched(t, e.reg, img)) == 0 {
			t.Errorf("%s: source %q, cached %v: the attested cache entry was used", name, res.SBOMSource, res.Cached)
		}
		if got, want := findings(res), findings(first); got != want {
			t.Errorf("%s: findings differ from the catalog's:\n%s\nwant:\n%s", name, got, want)
		}
	}

	// A scan that needs the layer facts (the user or checks rule) never
	// takes them from an attestation: it catalogs, and has them.
	e.reg.ResetRequests()
	facts, err := b2.Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1"), LayerFacts: true})
	if err != nil {
		t.Fatal(err)
	}
	if facts.SBOMSource != scan.SourceCatalog || string(facts.Files["/etc/passwd"]) != fixtures.Passwd || facts.Hygiene == nil || len(layerBlobsFetched(t, e.reg, img)) == 0 {
		t.Fatalf("layer facts: source %q, files %q, hygiene %v", facts.SBOMSource, facts.Files, facts.Hygiene)
	}

	// All-layers scans never use an SBOM of the squashed filesystem.
	e.reg.ResetRequests()
	all, err := runner(t, e.client, dbs.Old, t.TempDir(), scan.Attestations{UseSBOM: true, TrustedKeys: []string{pub}}).Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1"), Scope: scan.AllLayers})
	if err != nil {
		t.Fatal(err)
	}
	if all.SBOMSource != scan.SourceCatalog || len(layerBlobsFetched(t, e.reg, img)) == 0 {
		t.Fatalf("all-layers used the attestation: %q", all.SBOMSource)
	}
}

// TestSBOMAttestationIgnored: an attestation that does not verify, is about
// another digest, or is of another predicate type is ignored with a
// warning, and the image is cataloged: the findings are the catalog's.
func TestSBOMAttestationIgnored(t *testing.T) {
	dbs := testutil.VulnDBs(t)
	ctx := context.Background()
	signer, pub := testSigner(t)
	rawKey, rawPub := testutil.GenerateKey(t, "")
	_, foreignPub := testutil.GenerateKey(t, "")

	// The baseline and the SBOM document, from a catalog.
	base := newEnv(t)
	base.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	want, err := runner(t, base.client, dbs.Old, t.TempDir(), scan.Attestations{}).Scan(ctx, scan.Request{Reference: base.reg.Ref("app:1"), SBOMFormat: scan.FormatSyftJSON})
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(want.SBOM)

	for _, tc := range []struct {
		name    string
		trusted string
		attach  func(t *testing.T, e *env, pinned string)
		warning []string
	}{
		{"tampered payload", pub, func(t *testing.T, e *env, pinned string) {
			publish(t, e, pinned, doc, signer)
			e.reg.TamperAttestations(t, pinned, func(st map[string]any) {
				testutil.As[map[string]any](t, st["predicate"])["Data"] = `{"artifacts":[]}`
			})
		}, []string{"was ignored", "does not verify"}},
		{"foreign key", foreignPub, func(t *testing.T, e *env, pinned string) {
			publish(t, e, pinned, doc, signer)
		}, []string{"was ignored", "does not verify with this key"}},
		{"another digest", rawPub, func(t *testing.T, e *env, pinned string) {
			e.reg.SignWithKey(t, pinned, rawKey, testutil.SignOptions{PredicateType: "custom", Predicate: doc, SignedDigest: "sha256:" + strings.Repeat("ab", 32)})
		}, []string{"was ignored", "made for another digest"}},
		{"another predicate type", rawPub, func(t *testing.T, e *env, pinned string) {
			e.reg.SignWithKey(t, pinned, rawKey, testutil.SignOptions{PredicateType: "https://example.com/my-sbom/v1", Predicate: []byte(`{"x":1}`)})
		}, []string{"No SBOM attestation", "https://example.com/my-sbom/v1"}},
		{"not an SBOM", rawPub, func(t *testing.T, e *env, pinned string) {
			e.reg.SignWithKey(t, pinned, rawKey, testutil.SignOptions{PredicateType: "custom", Predicate: []byte("hello, not an sbom")})
		}, []string{"was ignored", "does not decode"}},
		{"another image's SBOM", rawPub, func(t *testing.T, e *env, pinned string) {
			other := strings.ReplaceAll(string(doc), want.Digest, "sha256:"+strings.Repeat("cd", 32))
			e.reg.SignWithKey(t, pinned, rawKey, testutil.SignOptions{PredicateType: "custom", Predicate: []byte(other)})
		}, []string{"was ignored", "describes the image sha256:cdcd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			img, pinned := e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
			tc.attach(t, e, pinned)
			e.reg.ResetRequests()
			res, err := runner(t, e.client, dbs.Old, t.TempDir(), scan.Attestations{UseSBOM: true, TrustedKeys: []string{tc.trusted}}).Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1")})
			if err != nil {
				t.Fatal(err)
			}
			if res.SBOMSource != scan.SourceCatalog || !hasWarning(res, tc.warning...) {
				t.Fatalf("source %q, warnings %q; want a catalog and a warning with %q", res.SBOMSource, res.Warnings, tc.warning)
			}
			if len(layerBlobsFetched(t, e.reg, img)) == 0 {
				t.Error("the image was not cataloged")
			}
			if got := findings(res); got != findings(want) {
				t.Errorf("findings differ from the catalog's:\n%s\nwant:\n%s", got, findings(want))
			}
		})
	}
}

func publish(t *testing.T, e *env, pinned string, doc []byte, s *attest.Signer) {
	t.Helper()
	d, err := e.client.ResolveDigest(context.Background(), pinned)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attest.New(e.client, nil).Publish(context.Background(), d, "custom", doc, s); err != nil {
		t.Fatal(err)
	}
}

// TestSBOMPublishRefusedIsAWarning: a registry that refuses the
// attestation's upload costs a warning, never the scan.
func TestSBOMPublishRefusedIsAWarning(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	host := e.reg.Faulty(t, testutil.FailBlobUploads(1, 1000, http.StatusForbidden))
	c, err := registry.New(registry.Options{InsecureRegistries: []string{host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := testSigner(t)
	res, err := runner(t, c, testutil.VulnDBs(t).Old, t.TempDir(), scan.Attestations{PublishSBOM: true, Signer: s}).Scan(context.Background(), scan.Request{Reference: host + "/app:1"})
	if err != nil {
		t.Fatalf("a refused publish failed the scan: %v", err)
	}
	if len(res.Vulnerabilities) == 0 || !hasWarning(res, "was not published as an attestation", ".att", "The scan is not affected") {
		t.Fatalf("findings %d, warnings %q", len(res.Vulnerabilities), res.Warnings)
	}
}

// TestSBOMAttestationsFromCosignCLI: SBOMs attached by the cosign CLI as
// SPDX JSON and CycloneDX, in both storage formats, are used, and their
// findings include every (id, package, version) of the catalog's.
func TestSBOMAttestationsFromCosignCLI(t *testing.T) {
	keyPath, pub := testutil.CosignKeyPair(t)
	dbs := testutil.VulnDBs(t)
	ctx := context.Background()
	base := newEnv(t)
	base.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	cat := runner(t, base.client, dbs.Old, t.TempDir(), scan.Attestations{})
	want, err := cat.Scan(ctx, scan.Request{Reference: base.reg.Ref("app:1")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ typ, format string }{{"spdxjson", scan.FormatSPDXJSON}, {"cyclonedx", scan.FormatCycloneDXJSON}} {
		for _, classic := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/classic=%v", tc.typ, classic), func(t *testing.T) {
				res, err := cat.Scan(ctx, scan.Request{Reference: base.reg.Ref("app:1"), SBOMFormat: tc.format})
				if err != nil {
					t.Fatal(err)
				}
				e := newEnv(t)
				img, pinned := e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
				testutil.CosignAttest(t, keyPath, pinned, tc.typ, []byte(res.SBOM), classic)
				// The cosign CLI verifies it too.
				testutil.Cosign(t, "verify-attestation", "--key", testutil.CosignPublicKeyPath(keyPath), "--type", tc.typ, "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", pinned)
				e.reg.ResetRequests()
				got, err := runner(t, e.client, dbs.Old, t.TempDir(), scan.Attestations{UseSBOM: true, TrustedKeys: []string{pub}}).Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1")})
				if err != nil {
					t.Fatal(err)
				}
				if got.SBOMSource != scan.SourceAttestation || len(layerBlobsFetched(t, e.reg, img)) != 0 {
					t.Fatalf("source %q, warnings %q, requests %v", got.SBOMSource, got.Warnings, e.reg.Requests())
				}
				// SPDX and CycloneDX do not carry syft's Go symbols, with which
				// grype drops Go findings whose vulnerable code is not linked:
				// they may add findings, never lose one.
				a, b := idPackageVersion(got), idPackageVersion(want)
				have := map[string]bool{}
				for l := range strings.SplitSeq(a, "\n") {
					have[l] = true
				}
				for l := range strings.SplitSeq(b, "\n") {
					if !have[l] {
						t.Errorf("the %s attestation lost the catalog's finding %q\nattestation:\n%s\ncatalog:\n%s", tc.typ, l, a, b)
					}
				}
				if b == "" {
					t.Error("the catalog found nothing to compare")
				}
			})
		}
	}
}

// TestPublishedSBOMVerifiesWithCosignCLI: cosign verify-attestation --type
// custom accepts what publish_sbom attached, and its Data is the SBOM.
func TestPublishedSBOMVerifiesWithCosignCLI(t *testing.T) {
	keyPath, _ := testutil.CosignKeyPair(t)
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := attest.LoadSigner(key, []byte(testutil.CosignPassword))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	_, pinned := e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	res, err := runner(t, e.client, testutil.VulnDBs(t).Old, t.TempDir(), scan.Attestations{PublishSBOM: true, Signer: s}).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("app:1"), SBOMFormat: scan.FormatSyftJSON})
	if err != nil || len(res.Warnings) != 0 {
		t.Fatalf("%v %q", err, res.Warnings)
	}
	out := testutil.Cosign(t, "verify-attestation", "--key", testutil.CosignPublicKeyPath(keyPath), "--type", "custom", "--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", pinned)
	var env struct{ Payload string }
	if err := json.Unmarshal([]byte(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0]), &env); err != nil {
		t.Fatalf("cosign printed %q: %v", out, err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct{ Data string }
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != attest.PredicateCustom || st.Predicate.Data != res.SBOM {
		t.Errorf("the verified statement is of type %q with %d bytes of data, want %q with the %d-byte syft-json SBOM", st.PredicateType, len(st.Predicate.Data), attest.PredicateCustom, len(res.SBOM))
	}
}

// TestSBOMAttestationPreference: of several SBOM attestations that verify,
// a syft-json one is used before a build's SPDX, and the latest attached
// to the .att tag before an older one and before a bundle referrer,
// whatever the order on the digest.
func TestSBOMAttestationPreference(t *testing.T) {
	dbs := testutil.VulnDBs(t)
	ctx := context.Background()
	key, pub := testutil.GenerateKey(t, "")
	e := newEnv(t)
	_, pinned := e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	cat := runner(t, e.client, dbs.Old, t.TempDir(), scan.Attestations{})
	for _, a := range []struct{ typ, format string }{{"spdxjson", scan.FormatSPDXJSON}, {"custom", scan.FormatSyftJSON}, {"custom", scan.FormatSyftJSON}, {"spdxjson", scan.FormatSPDXJSON}} {
		res, err := cat.Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1"), SBOMFormat: a.format})
		if err != nil {
			t.Fatal(err)
		}
		e.reg.SignWithKey(t, pinned, key, testutil.SignOptions{PredicateType: a.typ, Predicate: []byte(res.SBOM)})
		if a.typ == "custom" {
			e.reg.SignWithKey(t, pinned, key, testutil.SignOptions{Format: testutil.FormatBundle, PredicateType: a.typ, Predicate: []byte(res.SBOM)})
		}
	}
	res, err := runner(t, e.client, dbs.Old, t.TempDir(), scan.Attestations{UseSBOM: true, TrustedKeys: []string{pub}}).Scan(ctx, scan.Request{Reference: e.reg.Ref("app:1")})
	if err != nil {
		t.Fatal(err)
	}
	if res.SBOMSource != scan.SourceAttestation || !strings.Contains(res.SBOMAttestation, ".att layer 2 ") || !strings.Contains(res.SBOMAttestation, attest.PredicateCustom) {
		t.Errorf("used %q (source %q, warnings %q), want the latest syft-json attestation, .att layer 2", res.SBOMAttestation, res.SBOMSource, res.Warnings)
	}
}
