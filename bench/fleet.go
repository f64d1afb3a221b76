package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// The fleet case (issue 12, registry_attestations): runner A plans the big
// image cold and publishes its SBOM as a signed attestation; runner B, a
// fresh machine (empty SBOM cache, database present), plans the same
// digest with use_sbom and must not fetch a single layer blob.

// fleetConfig is the big configuration's data source and output under a
// provider block with registry_attestations (attestations is the body of
// that attribute) and the reference as a variable, so each repetition can
// plan a digest of its own.
func fleetConfig(attestations string) string {
	// providerBlock, with registry_attestations before its closing brace.
	return strings.TrimSuffix(providerBlock, "}\n") + `  registry_attestations = {
` + attestations + `
  }
}

variable "reference" { type = string }

data "imagegate_scan" "big" {
  reference = var.reference
}

output "scan" {
  value = {
    digest        = data.imagegate_scan.big.digest
    package_count = data.imagegate_scan.big.package_count
    findings      = [for v in data.imagegate_scan.big.vulnerabilities : "${v.id} ${v.package_name} ${v.package_version}"]
  }
}
`
}

// fleetResults is the fleet case: runner A's cold plans that publish,
// runner B's plans that use the attestation, and what the registry's
// request log saw during runner B's plans.
type fleetResults struct {
	a, b stats
	// layerGets is, per repetition, the GETs of the big image's layer
	// blobs in the registry's request log during runner B's plan;
	// blobGets all blob GETs in the same window (config and attestation
	// blobs included), for information.
	layerGets [][]string
	blobGets  []int
	// attestations is the number of attestations on each repetition's
	// digest after runner A's plan (always 1: a fresh digest per
	// repetition, see measureFleet).
	attestations []int
	pkgCount     int
	findings     int
	layers       int // layer blobs of the big image
	lastRef      string
	// Runner B's scan package alone (bench scan -trusted-key): timed, by
	// phase, and its CPU profile by part (profileParts).
	alone              stats
	aloneDB, aloneScan time.Duration
	profile            map[string]float64
	profileCPU         float64
	// The floor of any plan: OpenTofu planning a configuration with no
	// provider, and the provider binary started with no work.
	tofuAlone, providerStart stats
}

// floorConfig needs no provider: its plan is OpenTofu's own cost. It
// declares the variable every benchmark plan is given.
const floorConfig = `variable "sbom_cache_dir" { type = string }

output "floor" {
  value = 1
}
`

func (f *fleetResults) layerGetCount() int {
	n := 0
	for _, g := range f.layerGets {
		n += len(g)
	}
	return n
}

// writeKeyPair generates an ECDSA P-256 key pair and writes it to dir as
// cosign.key (PKCS#8 PEM, unencrypted) and cosign.pub (PKIX PEM). An
// unencrypted key keeps scrypt, which decrypting a cosign key costs in
// every provider process, out of runner A's time: runner A, the baseline,
// is not slowed to flatter runner B.
func writeKeyPair(dir string) (keyPath, pubPath string, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generating the signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", fmt.Errorf("encoding the signing key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("encoding the public key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	// The provider reads the key the same way: fail here, not in a plan.
	if _, err := attest.LoadSigner(keyPEM, nil); err != nil {
		return "", "", fmt.Errorf("checking the generated signing key: %w", err)
	}
	keyPath, pubPath = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return "", "", err
	}
	return keyPath, pubPath, nil
}

// fleetDigest pushes the big image again under tag with an annotation of
// its own: a new manifest digest with the same config and layer blobs
// (already in the registry, so nothing large is uploaded). Each repetition
// gets a digest that no runner has cataloged or published for: repeated
// publishes on one digest append an attestation each time (the envelope
// carries a timestamp and a fresh ECDSA signature, so cosign's duplicate
// detector never matches), and runner B would read a growing list.
func fleetDigest(ctx context.Context, client *registry.Client, host, tag string) (string, error) {
	src, err := name.ParseReference(host+"/bench/big:1", name.Insecure)
	if err != nil {
		return "", err
	}
	img, err := remote.Image(src, remote.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", src, err)
	}
	annotated, ok := mutate.Annotations(img, map[string]string{"org.imagegate.bench.fleet": tag}).(v1.Image)
	if !ok {
		return "", fmt.Errorf("annotating %s: not an image", src)
	}
	ref := host + "/bench/big:" + tag
	if err := client.Write(ctx, ref, annotated); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := annotated.Digest()
	if err != nil {
		return "", err
	}
	return host + "/bench/big@" + d.String(), nil
}

// attestationCount is the number of attestation layers in the .att
// manifest of digest (0 when there is none).
func attestationCount(ctx context.Context, pinned string) (int, error) {
	d, err := name.NewDigest(pinned, name.Insecure)
	if err != nil {
		return 0, err
	}
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".att")
	img, err := remote.Image(tag, remote.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("reading the attestations of %s (%s): %w", pinned, tag, err)
	}
	ls, err := img.Layers()
	if err != nil {
		return 0, fmt.Errorf("reading the attestations of %s (%s): %w", pinned, tag, err)
	}
	return len(ls), nil
}

// blobGets reads the registry's request log (go-containerregistry's
// registry logs "METHOD URL" for each request) from offset on and returns
// the GETs of the given layer blobs, and how many blob GETs there were in
// all.
func blobGets(r io.Reader, layers map[string]bool) (layerGets []string, all int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "GET /v2/")
		if i < 0 {
			continue
		}
		req := line[i:]
		_, blob, ok := strings.Cut(req, "/blobs/")
		if !ok {
			continue
		}
		all++
		digest, _, _ := strings.Cut(blob, " ")
		digest, _, _ = strings.Cut(digest, "?")
		if layers[digest] {
			layerGets = append(layerGets, req)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading the registry's request log: %w", err)
	}
	return layerGets, all, nil
}

// logSize is the current size of the registry's request log.
func logSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("reading the registry's request log: %w", err)
	}
	return fi.Size(), nil
}

// blobGetsSince reads the request log from offset.
func blobGetsSince(path string, offset int64, layers map[string]bool) ([]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the registry's request log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("reading the registry's request log: %w", err)
	}
	return blobGets(f, layers)
}

// planMessages is what a plan printed (standard output and error).
func planMessages(s sample) string {
	out, _ := os.ReadFile(s.Stdout)
	errOut, _ := os.ReadFile(strings.TrimSuffix(s.Stdout, ".out") + ".err")
	return string(out) + string(errOut)
}

// measureFleet runs the fleet case, interleaved per repetition: a fresh
// digest of the big image; runner A's cold plan with publish_sbom (empty
// SBOM cache), which catalogs and publishes; runner B's plan with use_sbom
// and another empty SBOM cache, timed, with the registry's request log
// read around it.
func measureFleet(ctx context.Context, o options, r *runner, plan func(string, string, string, bool, ...string) (sample, error), show func(string, string, string, any) error, common map[string]any, res *fleetResults) error {
	if o.registryLog == "" {
		return fmt.Errorf("the fleet case needs the registry's request log (-registry-log) to check that runner B fetches no layer blob")
	}
	keyDir := filepath.Join(o.work, "keys")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return err
	}
	keyPath, pubPath, err := writeKeyPair(keyDir)
	if err != nil {
		return err
	}
	dirA, dirB := filepath.Join(o.work, "tf", "fleet-a"), filepath.Join(o.work, "tf", "fleet-b")
	vars := map[string]any{"reference": o.registry + "/bench/big:1"}
	maps.Copy(vars, common)
	if err := writeConfig(dirA, fleetConfig(fmt.Sprintf("    publish_sbom = true\n    signing_key  = file(%q)\n    trusted_keys = [file(%q)]", keyPath, pubPath)), vars); err != nil {
		return err
	}
	if err := writeConfig(dirB, fleetConfig(fmt.Sprintf("    use_sbom     = true\n    trusted_keys = [file(%q)]", pubPath)), vars); err != nil {
		return err
	}

	client, err := registry.New(registry.Options{InsecureRegistries: []string{o.registry}})
	if err != nil {
		return err
	}
	bigRef, err := name.ParseReference(o.registry+"/bench/big:1", name.Insecure)
	if err != nil {
		return err
	}
	big, err := remote.Image(bigRef, remote.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("reading %s: %w", bigRef, err)
	}
	ls, err := big.Layers()
	if err != nil {
		return fmt.Errorf("reading the layers of %s: %w", bigRef, err)
	}
	layers := map[string]bool{}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		layers[d.String()] = true
	}
	res.layers = len(layers)

	var as, bs []sample
	for i := 1; i <= o.reps; i++ {
		pinned, err := fleetDigest(ctx, client, o.registry, fmt.Sprintf("fleet-%d", i))
		if err != nil {
			return err
		}
		log.Printf("repetition %d/%d: fleet runner A: cold plan with publish_sbom (%s)", i, o.reps, pinned)
		ref := "reference=" + pinned
		res.lastRef = ref
		s, err := plan(fmt.Sprintf("fleet-a-%d", i), dirA, filepath.Join(o.work, fmt.Sprintf("sbom-fleet-a-%d", i)), true, "-var", ref)
		if err != nil {
			return err
		}
		if msg := planMessages(s); strings.Contains(msg, "was not published") {
			return fmt.Errorf("fleet runner A did not publish the SBOM of %s:\n%s", pinned, msg)
		}
		var a bigResult
		if err := show(fmt.Sprintf("fleet-a-%d-show", i), dirA, "scan", &a); err != nil {
			return err
		}
		n, err := attestationCount(ctx, pinned)
		if err != nil {
			return fmt.Errorf("fleet runner A published no attestation: %w", err)
		}
		if n != 1 {
			return fmt.Errorf("%s carries %d attestations after runner A's plan, expected 1", pinned, n)
		}
		res.attestations = append(res.attestations, n)
		as = append(as, s)
		log.Printf("  runner A: %s, peak RSS provider %s, %d packages, %d findings, %d attestation on the digest",
			s.Wall.Round(time.Millisecond), kb(s.ProviderRSSKB), a.PackageCount, len(a.Findings), n)

		log.Printf("repetition %d/%d: fleet runner B: plan with use_sbom, empty SBOM cache", i, o.reps)
		off, err := logSize(o.registryLog)
		if err != nil {
			return err
		}
		s, err = plan(fmt.Sprintf("fleet-b-%d", i), dirB, filepath.Join(o.work, fmt.Sprintf("sbom-fleet-b-%d", i)), true, "-var", ref)
		if err != nil {
			return err
		}
		got, all, err := blobGetsSince(o.registryLog, off, layers)
		if err != nil {
			return err
		}
		if msg := planMessages(s); strings.Contains(msg, "was ignored") || strings.Contains(msg, "cataloged from its layers") {
			return fmt.Errorf("fleet runner B did not use the attestation of %s:\n%s", pinned, msg)
		}
		var b bigResult
		if err := show(fmt.Sprintf("fleet-b-%d-show", i), dirB, "scan", &b); err != nil {
			return err
		}
		if b.PackageCount != a.PackageCount || !slices.Equal(uniq(b.Findings), uniq(a.Findings)) {
			return fmt.Errorf("fleet runner B reported %d packages and %d findings from the attestation, runner A %d and %d from the layers",
				b.PackageCount, len(uniq(b.Findings)), a.PackageCount, len(uniq(a.Findings)))
		}
		res.pkgCount, res.findings = a.PackageCount, len(uniq(a.Findings))
		res.layerGets = append(res.layerGets, got)
		res.blobGets = append(res.blobGets, all)
		bs = append(bs, s)
		log.Printf("  runner B: %s, peak RSS provider %s, %d layer blobs fetched (%d blob GETs in all)",
			s.Wall.Round(time.Millisecond), kb(s.ProviderRSSKB), len(got), all)
	}
	res.a, res.b = summarize(as), summarize(bs)
	if err := fleetFloor(ctx, o, r, plan, res); err != nil {
		return err
	}
	return fleetAlone(ctx, o, r, common, pubPath, res)
}

// fleetFloor measures what runner B's plan costs before it does anything
// of its own: OpenTofu planning a configuration with no provider, and the
// provider binary started with no work (-help: the Go runtime initialises
// every package the binary links, prints the usage and exits), which
// OpenTofu does once per provider process.
func fleetFloor(ctx context.Context, o options, r *runner, plan func(string, string, string, bool, ...string) (sample, error), res *fleetResults) error {
	dir := filepath.Join(o.work, "tf", "fleet-floor")
	if err := writeConfig(dir, floorConfig, map[string]any{}); err != nil {
		return err
	}
	var tofu, start []sample
	for i := 1; i <= o.reps; i++ {
		s, err := plan(fmt.Sprintf("floor-tofu-%d", i), dir, filepath.Join(o.work, "sbom-floor"), true)
		if err != nil {
			return err
		}
		tofu = append(tofu, s)
		p, err := r.run(ctx, fmt.Sprintf("floor-provider-%d", i), o.work, true, o.provider, "-help")
		if err != nil {
			return err
		}
		start = append(start, p)
		log.Printf("repetition %d/%d: OpenTofu alone %s; the provider started with no work %s", i, o.reps, s.Wall.Round(time.Millisecond), p.Wall.Round(time.Millisecond))
	}
	res.tofuAlone, res.providerStart = summarize(tofu), summarize(start)
	return nil
}

// fleetAlone splits runner B's plan: the provider's scan package alone
// (bench scan -trusted-key) on the last repetition's digest with an empty
// SBOM cache, timed by phase, and once more under the CPU profiler (3
// scans, each with an empty cache), so the report says where runner B's
// time goes besides OpenTofu.
func fleetAlone(ctx context.Context, o options, r *runner, common map[string]any, pubPath string, res *fleetResults) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dbDir, _ := common["db_cache_dir"].(string)
	archive, _ := common["db_archive"].(string)
	pinned := strings.TrimPrefix(res.lastRef, "reference=")
	args := func(sbom string, extra ...string) []string {
		return append([]string{self, "scan", "-ref", pinned, "-insecure", o.registry, "-db-cache-dir", dbDir, "-db-archive", archive,
			"-trusted-key", pubPath, "-sbom-cache-dir", sbom}, extra...)
	}
	var ss []sample
	var dbs, scans []time.Duration
	for i := 1; i <= o.reps; i++ {
		s, err := r.run(ctx, fmt.Sprintf("fleet-b-alone-%d", i), o.work, true, args(filepath.Join(o.work, fmt.Sprintf("sbom-fleet-alone-%d", i)))...)
		if err != nil {
			return err
		}
		rep, err := readScanReport(s.Stdout)
		if err != nil {
			return err
		}
		if rep.SBOMSource != "attestation" || rep.PackageCount != res.pkgCount || rep.Findings != res.findings {
			return fmt.Errorf("bench scan -trusted-key: SBOM source %q, %d packages, %d findings, warnings %q; runner A found %d and %d",
				rep.SBOMSource, rep.PackageCount, rep.Findings, rep.Warnings, res.pkgCount, res.findings)
		}
		ss = append(ss, s)
		dbs, scans = append(dbs, rep.DBOpen), append(scans, rep.Scan)
		log.Printf("repetition %d/%d: runner B's scan alone: %s (database open %s, scan from the attestation %s), peak RSS %s", i, o.reps,
			s.Wall.Round(time.Millisecond), rep.DBOpen.Round(time.Millisecond), rep.Scan.Round(time.Millisecond), kb(s.RSSKB))
	}
	res.alone, res.aloneDB, res.aloneScan = summarize(ss), median(dbs), median(scans)
	prof := filepath.Join(r.dir, "scan-fleet-b.pprof")
	if _, err := r.run(ctx, "profile-fleet-b", o.work, false, args(filepath.Join(o.work, "sbom-fleet-profile"), "-fresh", "-repeat", "3", "-cpuprofile", prof)...); err != nil {
		return err
	}
	shares, total, err := profileShares(ctx, prof)
	if err != nil {
		return err
	}
	res.profile, res.profileCPU = shares, total/3
	log.Printf("CPU profile of 3 scans from the attestation: %.2f s sampled per scan", res.profileCPU)
	return nil
}

// fleetReport is the fleet case's part of the report: rows of the results
// table, targets, and a section that explains the case.
func fleetReport(r *results) (targets []target, ratioRows, section string) {
	f := &r.fleet
	if f.b.N == 0 {
		return nil, "", ""
	}
	targets = []target{{"Runner B (use_sbom, empty SBOM cache) wall time <= 0.2x runner A's cold plan", f.b.Wall.Seconds() / f.a.Wall.Seconds(), 0.2,
		fmt.Sprintf("runner B %s / runner A %s", secs(f.b.Wall), secs(f.a.Wall)), ""}}
	n := f.layerGetCount()
	ratioRows = fmt.Sprintf("| Layer blobs fetched by runner B, all %d repetitions (the registry's request log) | %d | = 0 | **%s** |\n", len(f.layerGets), n, passFail(n == 0))
	var s strings.Builder
	s.WriteString("\n## A fleet: the registry as the shared SBOM store\n\n")
	s.WriteString("`registry_attestations` lets runners that start with an empty cache share one catalog per digest through the registry. ")
	s.WriteString("**Runner A** is a cold `tofu plan` of the big image (empty `sbom_cache_dir`, database present) with `registry_attestations = { publish_sbom = true, signing_key = file(\"cosign.key\"), trusted_keys = [file(\"cosign.pub\")] }`: it pulls and catalogs the layers, matches, and attaches the syft-json SBOM to the digest as a signed in-toto attestation (cosign's `sha256-<digest>.att` tag). ")
	s.WriteString("**Runner B** is a `tofu plan` on a fresh machine state: another empty `sbom_cache_dir`, the same database, and `registry_attestations = { use_sbom = true, trusted_keys = [file(\"cosign.pub\")] }`: it verifies the attestation and matches its SBOM instead of pulling a layer. ")
	s.WriteString("Publishing is a cache write: it never changes the image, its digest or its tags (the attestation lives under its own tag).\n\n")
	fmt.Fprintf(&s, "- Layer blobs fetched by runner B: %d (of the image's %d layer blobs, counted as GETs of their digests in the registry's request log during each of runner B's plans; %s blob GETs in all per plan, of the image config and the attestation blob, none of them a layer). The bench fails if this is not 0.\n", n, f.layers, joinInts(f.blobGets))
	fmt.Fprintf(&s, "- Runner B reported the same %d packages and %d findings as runner A in every repetition, and printed no warning that the attestation was ignored.\n", f.pkgCount, f.findings)
	s.WriteString("- Each repetition pushes the big image again with an annotation of its own (`bench/big:fleet-N`): a new manifest digest over the same config and layer blobs, so runner A catalogs a digest no runner has seen and publishes the only attestation on it, and runner B reads exactly one. On one digest, every publish appends an attestation (its envelope has a timestamp and a fresh signature, so cosign's duplicate detection never matches), and runner B would read a list that grows with the repetitions.\n")
	s.WriteString("- The key pair is generated in Go at the start of the case (ECDSA P-256, the private key as unencrypted PKCS#8 PEM), so runner A's time includes no scrypt decryption of an encrypted cosign key.\n")
	fmt.Fprintf(&s, "- Runner A: median %s (CPU %s, provider peak RSS %s); runner B: median %s (CPU %s, provider peak RSS %s); %d repetitions, interleaved.\n",
		secs(f.a.Wall), secs(f.a.CPU), kb(f.a.ProviderRSSKB), secs(f.b.Wall), secs(f.b.CPU), kb(f.b.ProviderRSSKB), f.b.N)
	if f.alone.N > 0 {
		fmt.Fprintf(&s, "- Where runner B's time goes: the provider's scan package alone (`bench scan -trusted-key cosign.pub`, empty SBOM cache, same database and digest) takes %s (CPU %s, peak RSS %s): database open %s, scan from the attestation (look up, verify, decode, match) %s. The rest of runner B's plan is OpenTofu and the provider's start.\n",
			secs(f.alone.Wall), secs(f.alone.CPU), kb(f.alone.RSSKB), secs(f.aloneDB), secs(f.aloneScan))
	}
	if ratio := f.b.Wall.Seconds() / f.a.Wall.Seconds(); ratio > 0.2 {
		s.WriteString(fleetShortfall(r))
	}
	if f.profile != nil {
		fmt.Fprintf(&s, "- CPU profile of 3 such scans (%.2f s sampled per scan), share of samples by part:", f.profileCPU)
		for _, p := range profileParts {
			if v := f.profile[p.Name]; v > 0 {
				fmt.Fprintf(&s, " %s %.0f%%;", strings.TrimSpace(p.Name), v)
			}
		}
		s.WriteString("\n")
	}
	return targets, ratioRows, s.String()
}

// fleetShortfall explains a runner B above 0.2x runner A with this run's
// figures: what runner B cannot skip, and the link speed at which pulling
// the image would put runner A at 5x runner B.
func fleetShortfall(r *results) string {
	f := &r.fleet
	var s strings.Builder
	a := f.a.Wall.Seconds()
	s.WriteString("- Why runner B is above 0.2x here: runner A pulls the image over loopback, so its transfer costs almost nothing, while runner B still starts OpenTofu and the provider and still matches the SBOM against the database")
	if f.alone.N > 0 {
		fmt.Fprintf(&s, " (the scan phase of `bench scan` from the attestation: %s, %.2fx runner A)", secs(f.aloneScan), f.aloneScan.Seconds()/a)
	}
	if r.resolvePlan.N > 0 {
		fmt.Fprintf(&s, "; a plan that only resolves the image, with no pull and no database, already takes %s, %.2fx runner A", secs(r.resolvePlan.Wall), r.resolvePlan.Wall.Seconds()/a)
	}
	s.WriteString(".")
	if f.tofuAlone.N > 0 && f.providerStart.N > 0 && f.b.ProviderRuns > 0 {
		floor := f.tofuAlone.Wall.Seconds() + float64(f.b.ProviderRuns)*f.providerStart.Wall.Seconds()
		fmt.Fprintf(&s, " Runner B's plan also includes roughly OpenTofu's own plan (a configuration with no provider: %s) and %d starts of the provider process (the binary, which links grype, syft and cosign, started with no work: %s", secs(f.tofuAlone.Wall), f.b.ProviderRuns, secs(f.providerStart.Wall))
		if r.grypeIdle.N > 0 {
			fmt.Fprintf(&s, "; `grype version` takes %s", secs(r.grypeIdle.Wall))
		}
		fmt.Fprintf(&s, "): together %.2f s, %.2fx runner A, whatever the scan does.", floor, floor/a)
	}
	if extra := 5*f.b.Wall.Seconds() - f.a.Wall.Seconds(); extra > 0 && r.big.CompressedBytes > 0 {
		mbps := float64(r.big.CompressedBytes) / 1e6 / extra
		fmt.Fprintf(&s, " Over a network, runner A also pays for pulling the image's %s and runner B does not (it reads the image config and one attestation): runner B is at 0.2x runner A once that pull takes %.1f s, on a link slower than %.0f MB/s (%.0f Mbit/s) per runner. That is arithmetic on this run's figures, not a measurement.", mb(r.big.CompressedBytes), extra, mbps, mbps*8)
	}
	s.WriteString("\n")
	return s.String()
}

func joinInts(xs []int) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, ", ")
}

// fleetVerdict fails the run when runner B fetched a layer blob: the
// report is written first, with the requests in the log.
func fleetVerdict(f *fleetResults) error {
	if n := f.layerGetCount(); n > 0 {
		var all []string
		for _, g := range f.layerGets {
			all = append(all, g...)
		}
		return fmt.Errorf("FAIL: runner B fetched %d layer blobs although a trusted SBOM attestation was attached:\n%s", n, strings.Join(all, "\n"))
	}
	return nil
}

// fleetRows adds the fleet case's rows to the results table.
func fleetRows(f *fleetResults, row func(string, stats, int64)) {
	if f.b.N == 0 {
		return
	}
	row("h. fleet runner A: imagegate `tofu plan`, cold, `publish_sbom` (catalogs and publishes the SBOM attestation)", f.a, f.a.ProviderRSSKB)
	row("i. fleet runner B: imagegate `tofu plan`, empty SBOM cache, `use_sbom` (matches the attested SBOM)", f.b, f.b.ProviderRSSKB)
}

// renderFleetOnly is the report of a -only fleet run.
func renderFleetOnly(r *results) string {
	var md strings.Builder
	md.WriteString("# Benchmarks (partial run: the fleet case only)\n\n")
	md.WriteString("Written by `bench -only fleet` (`BENCH_ONLY=fleet scripts/bench.sh`); `make bench` writes the full report.\n\n")
	fmt.Fprintf(&md, "| Case | Wall time (median) | min – max | CPU user+sys (median) | Peak RSS, scanning process | Peak RSS, whole command |\n|---|---:|---:|---:|---:|---:|\n")
	fleetRows(&r.fleet, func(name string, st stats, scanRSS int64) {
		fmt.Fprintf(&md, "| %s | %s | %s – %s | %s | %s | %s |\n", name, secs(st.Wall), secs(st.WallMin), secs(st.WallMax), secs(st.CPU), kb(scanRSS), kb(st.RSSKB))
	})
	targets, ratioRows, section := fleetReport(r)
	md.WriteString("\n| Ratio | Value | Target | Result |\n|---|---:|---:|---|\n")
	for _, t := range targets {
		fmt.Fprintf(&md, "| %s (%s) | %.3fx | <= %.1fx | **%s** |\n", t.name, t.detail, t.ratio, t.limit, passFail(t.pass()))
	}
	md.WriteString(ratioRows)
	md.WriteString(section)
	fmt.Fprintf(&md, "\nMachine: %s; load average %s at the start, %s at the end.\n", r.machine.summary(), r.machine.LoadStart, r.machine.LoadEnd)
	return md.String()
}
