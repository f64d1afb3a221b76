// Command bench measures imagegate against the grype CLI of the same
// version on one machine in one run: it builds a realistic image (500+
// packages, 200+ MB compressed) and 20 smaller ones in Go, pushes them to a
// loopback registry, installs an offline vulnerability database for both
// tools, times cold and warm scans under a real `tofu plan`, and writes
// BENCHMARKS.md. scripts/bench.sh (make bench) builds the tools, starts the
// registry and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

type options struct {
	registry string // host:port of the loopback registry
	tofu     string
	grype    string
	provider string // the real provider binary (wrapped for RSS measurement)
	work     string // scratch directory, removed by the caller
	out      string // BENCHMARKS.md
	reps     int
	// cliConfig is the OpenTofu CLI configuration (scripts/dev-overrides.sh
	// WORK/plugins); the driver writes the same when it is not given.
	cliConfig string
	// registryLog is the registry's request log (its standard error), read
	// by the fleet case; only, when "fleet", runs the warm-up and the fleet
	// case alone and writes a partial report.
	registryLog string
	only        string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "scan" {
		if err := runScan(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.registry, "registry", "", "host:port of the loopback registry")
	flag.StringVar(&o.tofu, "tofu", "", "the OpenTofu CLI")
	flag.StringVar(&o.grype, "grype", "", "the grype CLI")
	flag.StringVar(&o.provider, "provider", "", "the provider binary")
	flag.StringVar(&o.work, "work", "", "scratch directory")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "where to write the report")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each measurement (the median is reported)")
	flag.StringVar(&o.cliConfig, "cli-config", "", "OpenTofu CLI configuration with dev_overrides pointing at WORK/plugins (default: written by the driver)")
	flag.StringVar(&o.registryLog, "registry-log", "", "the registry's request log (go-containerregistry's cmd/registry logs each request to standard error)")
	flag.StringVar(&o.only, "only", "", `"fleet": run only the warm-up and the fleet case (registry_attestations), for checking it; the report is partial`)
	flag.Parse()
	if o.only != "" && o.only != "fleet" {
		fmt.Fprintf(os.Stderr, "bench: -only %q is not a case: the only partial run is -only fleet\n", o.only)
		os.Exit(2)
	}
	if o.registry == "" || o.tofu == "" || o.grype == "" || o.provider == "" || o.work == "" || o.reps < 1 {
		fmt.Fprintln(os.Stderr, "usage: bench -registry host:port -tofu PATH -grype PATH -provider PATH -work DIR [-out BENCHMARKS.md] [-reps 3]")
		os.Exit(2)
	}
	for _, p := range []*string{&o.tofu, &o.grype, &o.provider, &o.work, &o.out, &o.cliConfig, &o.registryLog} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			log.Fatal(err)
		}
		*p = abs
	}
	log.SetFlags(log.Ltime)
	if err := run(context.Background(), o); err != nil {
		log.Fatal(err)
	}
}

// results is everything the report needs.
type results struct {
	machine  machineFacts
	big      imageFacts
	small    []imageFacts
	pushTime time.Duration
	dbBuild  time.Duration
	dbFacts  string

	warmupPlan time.Duration // first plan: database import + cold scan

	grype, cold, warm, many stats
	manyFirst               sample // the plan that cataloged the 20 images

	grypePkgs     map[string]int // by type, from grype's CycloneDX output
	imagegatePkgs map[string]int // by type, from include_packages
	pkgCount      int            // imagegate's package_count
	grypeMatches  int            // raw matches in grype's JSON
	grypeSet      []string       // unique "id package version"
	imagegateSet  []string
	warmSame      bool // the warm plans reported the same findings as the cold ones
	manyPkgs      int
	manyFindings  int
	manyImages    int
	// The many-images cases: 20 cold images in one plan against the sum of
	// their single cold plans, and 100 cached digests in one plan.
	scale scaleResults
	// The fleet case: runner A publishes, runner B uses the attestation.
	fleet fleetResults

	// Where the time goes: the scan package alone (bench scan, no tofu),
	// cold and warm; a plan that resolves the image without scanning it
	// (the fixed cost of a plan); and the grype CLI doing no work.
	alone              map[string]stats
	aloneDB, aloneScan map[string]time.Duration
	resolvePlan        stats
	grypeIdle          stats
	// CPU profiles of the scan package: share of samples by part, and
	// CPU seconds sampled per scan.
	profile    map[string]map[string]float64
	profileCPU map[string]float64
}

func run(ctx context.Context, o options) error {
	var res results
	var err error
	res.machine = readMachine(o)
	log.Printf("machine: %s", res.machine.summary())

	dirs := map[string]string{}
	for _, d := range []string{"logs", "tmp", "docker", "plugins", "rss", "db", "dbbuild", "tf/big", "tf/many", "tf/resolve"} {
		dirs[d] = filepath.Join(o.work, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			return err
		}
	}

	log.Printf("building and pushing the benchmark images to %s", o.registry)
	start := time.Now()
	res.big, res.small, err = pushImages(ctx, o.registry)
	if err != nil {
		return err
	}
	res.pushTime = time.Since(start)
	log.Printf("pushed %s (%s, %d layers) and %d smaller images in %s", res.big.Ref, mb(res.big.CompressedBytes), res.big.Layers, len(res.small), res.pushTime.Round(time.Second))

	log.Printf("building the offline vulnerability database (fixtures.StandardVulnData)")
	start = time.Now()
	db, err := fixtures.BuildVulnDB(fixtures.StandardVulnData(), dirs["dbbuild"])
	if err != nil {
		return err
	}
	res.dbBuild = time.Since(start)
	if fi, err := os.Stat(db.Archive); err == nil {
		res.dbFacts = fmt.Sprintf("`%s`, %s", filepath.Base(db.Archive), mb(fi.Size()))
	}
	if fi, err := os.Stat(filepath.Join(db.Dir, "vulnerability.db")); err == nil {
		res.dbFacts += fmt.Sprintf(" (vulnerability.db %s)", mb(fi.Size()))
	}
	log.Printf("database %s built in %s", res.dbFacts, res.dbBuild.Round(time.Second))

	// The provider runs behind a wrapper that records its own peak RSS:
	// tofu starts it as a plugin, one report file per process.
	wrapper := fmt.Sprintf("#!/bin/sh\nexec /usr/bin/time -v -o \"${IMAGEGATE_BENCH_RSS_DIR:-/tmp}/provider.$$\" %q \"$@\"\n", o.provider)
	if err := os.WriteFile(filepath.Join(dirs["plugins"], "terraform-provider-imagegate"), []byte(wrapper), 0o755); err != nil {
		return err
	}
	cliConfig := o.cliConfig
	if cliConfig == "" {
		cliConfig = filepath.Join(o.work, "cli.tfrc")
		if err := os.WriteFile(cliConfig, []byte(fmt.Sprintf(`disable_checkpoint = true
provider_installation {
  dev_overrides {
    "imagegate/imagegate" = %q
  }
  direct {}
}
`, dirs["plugins"])), 0o644); err != nil {
			return err
		}
	} else if b, err := os.ReadFile(cliConfig); err != nil {
		return err
	} else if !strings.Contains(string(b), dirs["plugins"]) {
		return fmt.Errorf("%s does not point dev_overrides at %s", cliConfig, dirs["plugins"])
	}
	common := map[string]any{"registry": o.registry, "db_cache_dir": dirs["db"], "db_archive": db.Archive, "sbom_cache_dir": filepath.Join(o.work, "sbom-unused")}
	if err := writeConfig(dirs["tf/big"], bigConfig, common); err != nil {
		return err
	}
	var refs []string
	for _, s := range res.small {
		refs = append(refs, s.Ref)
	}
	manyVars := map[string]any{"references": refs}
	maps.Copy(manyVars, common)
	if err := writeConfig(dirs["tf/many"], manyConfig, manyVars); err != nil {
		return err
	}
	if err := writeConfig(dirs["tf/resolve"], resolveConfig, common); err != nil {
		return err
	}

	// One environment for both tools: no Docker credentials, scratch space
	// under the work directory, no update checks, the offline database.
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + dirs["tmp"],
		"DOCKER_CONFIG=" + dirs["docker"],
		"TF_CLI_CONFIG_FILE=" + cliConfig,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"IMAGEGATE_BENCH_RSS_DIR=" + dirs["rss"],
		"GRYPE_DB_CACHE_DIR=" + dirs["db"],
		"GRYPE_DB_AUTO_UPDATE=false",
		"GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false",
		"GRYPE_REGISTRY_INSECURE_USE_HTTP=true",
	}
	r := &runner{dir: dirs["logs"], rssDir: dirs["rss"], env: env}
	bigRef := "registry:" + o.registry + "/bench/big:1"

	plan := func(label, dir, sbomDir string, timed bool, extra ...string) (sample, error) {
		_ = os.Remove(filepath.Join(dir, "tfplan"))
		args := append([]string{o.tofu, "plan", "-input=false", "-lock=false", "-no-color", "-out=tfplan", "-var", "sbom_cache_dir=" + sbomDir}, extra...)
		return r.run(ctx, label, dir, timed, args...)
	}
	show := func(label, dir, output string, into any) error {
		s, err := r.run(ctx, label, dir, false, o.tofu, "show", "-json", "-no-color", "tfplan")
		if err != nil {
			return err
		}
		return planOutput(s.Stdout, output, into)
	}

	// Warm-up, not counted: the first plan imports the database archive
	// into the shared cache directory (grype reads it from there too), and
	// both tools' binaries get into the page cache.
	log.Printf("warm-up: first imagegate plan (imports the database archive)")
	s, err := plan("warmup-imagegate", dirs["tf/big"], filepath.Join(o.work, "sbom-warmup"), true)
	if err != nil {
		return err
	}
	res.warmupPlan = s.Wall
	var warm0 bigResult
	if err := show("warmup-show", dirs["tf/big"], "scan", &warm0); err != nil {
		return err
	}
	log.Printf("warm-up plan took %s: %d packages, %d findings", s.Wall.Round(time.Millisecond), warm0.PackageCount, len(warm0.Findings))

	if o.only == "fleet" {
		if err := measureFleet(ctx, o, r, plan, show, common, &res.fleet); err != nil {
			return err
		}
		res.machine.LoadEnd = loadAvg()
		report := renderFleetOnly(&res)
		fmt.Println()
		fmt.Println(report)
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
		log.Printf("wrote %s (the fleet case only)", o.out)
		return fleetVerdict(&res.fleet)
	}

	log.Printf("warm-up: grype CLI (CycloneDX output, for the package count by type)")
	s, err = r.run(ctx, "warmup-grype-cyclonedx", o.work, true, o.grype, bigRef, "-o", "cyclonedx-json")
	if err != nil {
		return err
	}
	if res.grypePkgs, err = grypePackages(s.Stdout); err != nil {
		return err
	}
	log.Printf("grype cataloged %d packages (%s) in %s", total(res.grypePkgs), byType(res.grypePkgs), s.Wall.Round(time.Millisecond))

	// The measurements proper, interleaved so that drift in the machine
	// affects every case alike.
	var gs, cs, ws []sample
	for i := 1; i <= o.reps; i++ {
		log.Printf("repetition %d/%d: grype CLI cold scan", i, o.reps)
		s, err := r.run(ctx, fmt.Sprintf("grype-cold-%d", i), o.work, true, o.grype, bigRef, "-o", "json")
		if err != nil {
			return err
		}
		raw, set, err := grypeFindings(s.Stdout)
		if err != nil {
			return err
		}
		if i > 1 && !slices.Equal(set, res.grypeSet) {
			return fmt.Errorf("grype reported different findings in repetition %d", i)
		}
		res.grypeMatches, res.grypeSet = raw, set
		gs = append(gs, s)
		log.Printf("  grype: %s, peak RSS %s, %d matches", s.Wall.Round(time.Millisecond), kb(s.RSSKB), raw)

		sbom := filepath.Join(o.work, fmt.Sprintf("sbom-cold-%d", i))
		log.Printf("repetition %d/%d: imagegate cold plan (empty SBOM cache)", i, o.reps)
		s, err = plan(fmt.Sprintf("imagegate-cold-%d", i), dirs["tf/big"], sbom, true)
		if err != nil {
			return err
		}
		var cold bigResult
		if err := show(fmt.Sprintf("imagegate-cold-%d-show", i), dirs["tf/big"], "scan", &cold); err != nil {
			return err
		}
		if i > 1 && !slices.Equal(uniq(cold.Findings), res.imagegateSet) {
			return fmt.Errorf("imagegate reported different findings in repetition %d", i)
		}
		res.pkgCount, res.imagegateSet = cold.PackageCount, uniq(cold.Findings)
		cs = append(cs, s)
		log.Printf("  imagegate cold: %s, peak RSS provider %s / tofu %s (%d provider processes), %d packages, %d findings",
			s.Wall.Round(time.Millisecond), kb(s.ProviderRSSKB), kb(s.RSSKB), s.ProviderRuns, cold.PackageCount, len(cold.Findings))

		log.Printf("repetition %d/%d: imagegate warm re-plan (same SBOM cache)", i, o.reps)
		s, err = plan(fmt.Sprintf("imagegate-warm-%d", i), dirs["tf/big"], sbom, true)
		if err != nil {
			return err
		}
		var warm bigResult
		if err := show(fmt.Sprintf("imagegate-warm-%d-show", i), dirs["tf/big"], "scan", &warm); err != nil {
			return err
		}
		res.warmSame = slices.Equal(uniq(warm.Findings), res.imagegateSet) && warm.PackageCount == cold.PackageCount
		if !res.warmSame {
			return fmt.Errorf("the warm plan reported %d packages and %d findings, the cold one %d and %d", warm.PackageCount, len(warm.Findings), cold.PackageCount, len(cold.Findings))
		}
		ws = append(ws, s)
		log.Printf("  imagegate warm: %s, peak RSS provider %s / tofu %s", s.Wall.Round(time.Millisecond), kb(s.ProviderRSSKB), kb(s.RSSKB))
	}
	res.grype, res.cold, res.warm = summarize(gs), summarize(cs), summarize(ws)

	// Packages by type, from a warm plan that lists them (not timed).
	if _, err := plan("imagegate-packages", dirs["tf/big"], filepath.Join(o.work, "sbom-cold-1"), false, "-var", "include_packages=true"); err != nil {
		return err
	}
	var full bigResult
	if err := show("imagegate-packages-show", dirs["tf/big"], "scan", &full); err != nil {
		return err
	}
	res.imagegatePkgs = countTypes(full.PackageTypes)

	// 20 distinct images in one plan: the first plan catalogs them (reported
	// for information), then the cached re-plans are measured.
	many := filepath.Join(o.work, "sbom-many")
	log.Printf("20 images: first plan (catalogs all 20)")
	if res.manyFirst, err = plan("many-first", dirs["tf/many"], many, true); err != nil {
		return err
	}
	log.Printf("  first plan: %s", res.manyFirst.Wall.Round(time.Millisecond))
	var ms []sample
	for i := 1; i <= o.reps; i++ {
		s, err := plan(fmt.Sprintf("many-warm-%d", i), dirs["tf/many"], many, true)
		if err != nil {
			return err
		}
		ms = append(ms, s)
		log.Printf("repetition %d/%d: 20 cached images: %s, peak RSS provider %s", i, o.reps, s.Wall.Round(time.Millisecond), kb(s.ProviderRSSKB))
	}
	res.many = summarize(ms)
	var mr manyResult
	if err := show("many-show", dirs["tf/many"], "scans", &mr); err != nil {
		return err
	}
	res.manyImages = len(mr)
	for _, v := range mr {
		res.manyPkgs += v.PackageCount
		res.manyFindings += v.Findings
	}

	if err := measureScale(ctx, o, plan, dirs, common, res.small, &res.scale); err != nil {
		return err
	}

	if err := measureFleet(ctx, o, r, plan, show, common, &res.fleet); err != nil {
		return err
	}

	if err := diagnose(ctx, o, r, plan, dirs, db.Archive, &res); err != nil {
		return err
	}

	res.machine.LoadEnd = loadAvg()
	report := renderReport(o, &res)
	fmt.Println()
	fmt.Println(report.console)
	if err := os.WriteFile(o.out, []byte(report.markdown), 0o644); err != nil {
		return err
	}
	log.Printf("wrote %s", o.out)
	return fleetVerdict(&res.fleet)
}

func byType(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// diagnose splits the plan into its parts: the provider's scan package run
// alone in a process of its own (cold, then warm on the same SBOM cache),
// a plan of the same provider configuration that only resolves the image
// (what every plan costs before it scans anything), and `grype version`
// (the grype CLI's memory before it does any work).
func diagnose(ctx context.Context, o options, r *runner, plan func(string, string, string, bool, ...string) (sample, error), dirs map[string]string, archive string, res *results) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	samples := map[string][]sample{}
	phases := map[string][][2]time.Duration{}
	var resolve, idle []sample
	for i := 1; i <= o.reps; i++ {
		sbom := filepath.Join(o.work, fmt.Sprintf("sbom-alone-%d", i))
		for _, c := range []string{"cold", "warm"} {
			s, err := r.run(ctx, fmt.Sprintf("alone-%s-%d", c, i), o.work, true, self, "scan",
				"-ref", o.registry+"/bench/big:1", "-insecure", o.registry,
				"-db-cache-dir", dirs["db"], "-db-archive", archive, "-sbom-cache-dir", sbom)
			if err != nil {
				return err
			}
			rep, err := readScanReport(s.Stdout)
			if err != nil {
				return err
			}
			if rep.Cached != (c == "warm") || rep.PackageCount != res.pkgCount || rep.Findings != len(res.imagegateSet) {
				return fmt.Errorf("bench scan (%s): cached=%v, %d packages, %d findings; the plans found %d and %d", c, rep.Cached, rep.PackageCount, rep.Findings, res.pkgCount, len(res.imagegateSet))
			}
			samples[c] = append(samples[c], s)
			phases[c] = append(phases[c], [2]time.Duration{rep.DBOpen, rep.Scan})
			log.Printf("repetition %d/%d: scan package alone, %s: %s (database open %s, scan %s), peak RSS %s", i, o.reps, c,
				s.Wall.Round(time.Millisecond), rep.DBOpen.Round(time.Millisecond), rep.Scan.Round(time.Millisecond), kb(s.RSSKB))
		}
		s, err := plan(fmt.Sprintf("resolve-plan-%d", i), dirs["tf/resolve"], filepath.Join(o.work, "sbom-resolve"), true)
		if err != nil {
			return err
		}
		resolve = append(resolve, s)
		log.Printf("repetition %d/%d: plan resolving the image without a scan: %s, peak RSS provider %s / tofu %s (%d provider processes)", i, o.reps,
			s.Wall.Round(time.Millisecond), kb(s.ProviderRSSKB), kb(s.RSSKB), s.ProviderRuns)
		if s, err = r.run(ctx, fmt.Sprintf("grype-version-%d", i), o.work, true, o.grype, "version"); err != nil {
			return err
		}
		idle = append(idle, s)
	}
	res.alone, res.aloneDB, res.aloneScan = map[string]stats{}, map[string]time.Duration{}, map[string]time.Duration{}
	for c, ss := range samples {
		res.alone[c] = summarize(ss)
		var dbs, scans []time.Duration
		for _, p := range phases[c] {
			dbs, scans = append(dbs, p[0]), append(scans, p[1])
		}
		res.aloneDB[c], res.aloneScan[c] = median(dbs), median(scans)
	}
	res.resolvePlan, res.grypeIdle = summarize(resolve), summarize(idle)

	// CPU profiles of the scan package (not timed): several cold scans,
	// each with an empty SBOM cache, then several warm ones, each with a new
	// Scanner over the first cache, as a new plan would have.
	res.profile, res.profileCPU = map[string]map[string]float64{}, map[string]float64{}
	profDir := filepath.Join(o.work, "sbom-profile")
	for _, c := range []struct {
		name   string
		repeat int
		extra  []string
	}{
		{"cold", 3, []string{"-sbom-cache-dir", profDir, "-fresh"}},
		{"warm", 6, []string{"-sbom-cache-dir", filepath.Join(profDir, "rep-0")}},
	} {
		prof := filepath.Join(dirs["logs"], "scan-"+c.name+".pprof")
		args := append([]string{self, "scan", "-ref", o.registry + "/bench/big:1", "-insecure", o.registry,
			"-db-cache-dir", dirs["db"], "-db-archive", archive, "-repeat", fmt.Sprint(c.repeat), "-cpuprofile", prof}, c.extra...)
		if _, err := r.run(ctx, "profile-"+c.name, o.work, false, args...); err != nil {
			return err
		}
		shares, total, err := profileShares(ctx, prof)
		if err != nil {
			return err
		}
		res.profile[c.name], res.profileCPU[c.name] = shares, total/float64(c.repeat)
		log.Printf("CPU profile of %d %s scans: %.2f s sampled per scan", c.repeat, c.name, res.profileCPU[c.name])
	}
	return nil
}
