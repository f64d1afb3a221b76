package main

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

type machineFacts struct {
	CPUs      int
	CPUModel  string
	MemTotal  string
	Kernel    string
	OS        string
	Go        string
	Tofu      string
	Grype     string // the grype CLI's version
	Embedded  string // grype and syft versions compiled into the provider
	Timestamp time.Time
	// LoadStart and LoadEnd are /proc/loadavg at the start and the end of
	// the run: other work on the machine shows up in the figures.
	LoadStart, LoadEnd string
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (m machineFacts) summary() string {
	return fmt.Sprintf("%d CPUs (%s), %s RAM, %s, %s", m.CPUs, m.CPUModel, m.MemTotal, m.OS, m.Go)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(s)
}

func readMachine(o options) machineFacts {
	m := machineFacts{CPUs: runtime.NumCPU(), Timestamp: time.Now().UTC(), LoadStart: loadAvg()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kbs int64
			if n, _ := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kbs); n == 1 {
				m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kbs)/(1<<20))
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + firstLine(b)
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := exec.Command("go", "version").Output(); err == nil {
		m.Go = firstLine(b)
	} else {
		m.Go = runtime.Version()
	}
	if b, err := exec.Command(o.tofu, "version").Output(); err == nil {
		m.Tofu = firstLine(b)
	}
	if stamps, _ := filepath.Glob(filepath.Join(filepath.Dir(o.grype), ".grype-*")); len(stamps) == 1 {
		m.Grype = "grype " + strings.TrimPrefix(filepath.Base(stamps[0]), ".grype-")
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var parts []string
		for _, d := range bi.Deps {
			if d.Path == "github.com/anchore/grype" || d.Path == "github.com/anchore/syft" || d.Path == "github.com/anchore/stereoscope" {
				parts = append(parts, strings.TrimPrefix(d.Path, "github.com/anchore/")+" "+d.Version)
			}
		}
		m.Embedded = strings.Join(parts, ", ")
	}
	return m
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
func kb(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }
func secs(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func sortedKeys(m map[string]int) []string {
	return slices.Sorted(maps.Keys(m))
}

type rendered struct{ console, markdown string }

type target struct {
	name   string
	ratio  float64
	limit  float64
	detail string
	// unit follows the value and the limit: "x" (a ratio) unless set.
	unit string
}

func (t target) pass() bool { return t.ratio <= t.limit }

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func renderReport(o options, r *results) rendered {
	coldRatio := r.cold.Wall.Seconds() / r.grype.Wall.Seconds()
	warmRatio := r.warm.Wall.Seconds() / r.cold.Wall.Seconds()
	rssRatio := float64(r.cold.ProviderRSSKB) / float64(r.grype.RSSKB)
	targets := []target{
		{"Cold scan wall time <= 0.7x the grype CLI's", coldRatio, 0.7,
			fmt.Sprintf("imagegate cold plan %s / grype CLI %s", secs(r.cold.Wall), secs(r.grype.Wall)), ""},
		{"Warm re-plan wall time <= 0.1x the cold plan's", warmRatio, 0.1,
			fmt.Sprintf("warm plan %s / cold plan %s", secs(r.warm.Wall), secs(r.cold.Wall)), ""},
		{"Peak RSS <= 0.8x the grype CLI's", rssRatio, 0.8,
			fmt.Sprintf("provider process %s / grype CLI %s (cold scans)", kb(r.cold.ProviderRSSKB), kb(r.grype.RSSKB)), ""},
	}
	if sc := r.scale; sc.manyCold.N > 0 {
		targets = append(targets,
			target{fmt.Sprintf("%d distinct cold images in one plan <= 0.6x the sum of their single cold plans", r.manyImages),
				sc.manyCold.Wall.Seconds() / sc.singlesSum.Wall.Seconds(), 0.6,
				fmt.Sprintf("one plan %s / %d single plans %s", secs(sc.manyCold.Wall), r.manyImages, secs(sc.singlesSum.Wall)), ""},
			target{fmt.Sprintf("%d cached digests in one plan < 2 s", sc.hundredN), sc.hundred.Wall.Seconds(), 2.0,
				fmt.Sprintf("median wall time of the plan, %d `imagegate_scan` data sources", sc.hundredN), " s"})
	}
	fleetTargets, fleetRatioRows, fleetSection := fleetReport(r)
	targets = append(targets, fleetTargets...)

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "| Case | Wall time (median) | min – max | CPU user+sys (median) | Peak RSS, scanning process | Peak RSS, whole command |\n")
	fmt.Fprintf(&tbl, "|---|---:|---:|---:|---:|---:|\n")
	row := func(name string, st stats, scanRSS int64) {
		fmt.Fprintf(&tbl, "| %s | %s | %s – %s | %s | %s | %s |\n", name, secs(st.Wall), secs(st.WallMin), secs(st.WallMax), secs(st.CPU), kb(scanRSS), kb(st.RSSKB))
	}
	row("a. grype CLI, cold scan of the big image", r.grype, r.grype.RSSKB)
	row("b. imagegate `tofu plan`, cold (empty SBOM cache)", r.cold, r.cold.ProviderRSSKB)
	row("c. imagegate `tofu plan`, warm (SBOM cached)", r.warm, r.warm.ProviderRSSKB)
	row(fmt.Sprintf("d. imagegate `tofu plan`, %d cached images in one plan", r.manyImages), r.many, r.many.ProviderRSSKB)
	if sc := r.scale; sc.manyCold.N > 0 {
		row(fmt.Sprintf("e. imagegate `tofu plan`, %d distinct cold images in one plan (empty SBOM cache)", r.manyImages), sc.manyCold, sc.manyCold.ProviderRSSKB)
		row(fmt.Sprintf("f. the sum of %d single cold `tofu plan`s, one per image (RSS: the largest)", r.manyImages), sc.singlesSum, sc.singlesSum.ProviderRSSKB)
		row(fmt.Sprintf("g. imagegate `tofu plan`, %d cached digests in one plan", sc.hundredN), sc.hundred, sc.hundred.ProviderRSSKB)
	}
	fleetRows(&r.fleet, row)

	var rat strings.Builder
	fmt.Fprintf(&rat, "| Ratio | Value | Target | Result |\n|---|---:|---:|---|\n")
	for _, t := range targets {
		unit := t.unit
		if unit == "" {
			unit = "x"
		}
		fmt.Fprintf(&rat, "| %s (%s) | %.3f%s | <= %.1f%s | **%s** |\n", t.name, t.detail, t.ratio, unit, t.limit, unit, passFail(t.pass()))
	}
	rat.WriteString(fleetRatioRows)
	if sc := r.scale; sc.manyCold.N > 0 {
		fmt.Fprintf(&rat, "| Informational: CPU time of %d cold images in one plan / the sum of their single cold plans | %.2fx | – | – |\n", r.manyImages, sc.manyCold.CPU.Seconds()/sc.singlesSum.CPU.Seconds())
	}
	fmt.Fprintf(&rat, "| Informational: tofu process tree peak RSS (cold plan) / grype CLI | %.2fx | – | – |\n", float64(r.cold.RSSKB)/float64(r.grype.RSSKB))
	fmt.Fprintf(&rat, "| Informational: CPU time of the cold plan (tofu + provider) / grype CLI | %.2fx | – | – |\n", r.cold.CPU.Seconds()/r.grype.CPU.Seconds())
	fmt.Fprintf(&rat, "| Informational: %d cached images / 1 cached image (warm plans) | %.2fx | – | – |\n", r.manyImages, r.many.Wall.Seconds()/r.warm.Wall.Seconds())

	var work strings.Builder
	fmt.Fprintf(&work, "| Big image | grype CLI | imagegate |\n|---|---:|---:|\n")
	fmt.Fprintf(&work, "| Packages | %d | %d |\n", total(r.grypePkgs), r.pkgCount)
	types := map[string]int{}
	for k := range r.grypePkgs {
		types[k] = 1
	}
	for k := range r.imagegatePkgs {
		types[k] = 1
	}
	for _, k := range sortedKeys(types) {
		fmt.Fprintf(&work, "| &nbsp;&nbsp;of type `%s` | %d | %d |\n", k, r.grypePkgs[k], r.imagegatePkgs[k])
	}
	fmt.Fprintf(&work, "| Findings (unique vulnerability, package, version) | %d | %d |\n", len(r.grypeSet), len(r.imagegateSet))
	fmt.Fprintf(&work, "| Raw entries (grype `matches`, imagegate `vulnerabilities`) | %d | %d |\n", r.grypeMatches, len(r.imagegateSet))
	same := "yes"
	if !slices.Equal(r.grypeSet, r.imagegateSet) {
		same = "**no**"
	}
	fmt.Fprintf(&work, "\nSame set of findings from both tools: %s.\n", same)

	var md strings.Builder
	md.WriteString("# Benchmarks\n\n")
	md.WriteString("imagegate scanning at plan time, against the grype CLI of the version it embeds, measured side by side in one run on one machine. ")
	md.WriteString("This file is written by `make bench` (`scripts/bench.sh`, `bench/`); the figures below are from the last run, not edited by hand.\n\n")
	md.WriteString("Reproduce with:\n\n```sh\nmake bench\n```\n\n")
	md.WriteString("## Results\n\n")
	fmt.Fprintf(&md, "Median of %d repetitions of each case.\n\n", r.cold.N)
	md.WriteString(tbl.String())
	md.WriteString("\n")
	md.WriteString(rat.String())
	md.WriteString("\n")
	failed := 0
	for _, t := range targets {
		if !t.pass() {
			failed++
		}
	}
	if r.cold.WallMin <= r.grype.WallMax && r.grype.WallMin <= r.cold.WallMax {
		fmt.Fprintf(&md, "The min – max ranges of the grype CLI (%s – %s) and of the cold plan (%s – %s) overlap: the cold-scan comparison is within this run's noise, and its result can differ from one run to the next.\n\n",
			secs(r.grype.WallMin), secs(r.grype.WallMax), secs(r.cold.WallMin), secs(r.cold.WallMax))
	}
	if failed == 0 {
		md.WriteString("All targets are met in this run.\n\n")
	} else {
		fmt.Fprintf(&md, "**%d of %d targets are missed in this run**; the figures above are as measured.\n\n", failed, len(targets))
	}
	md.WriteString("Informational single runs (not repeated, not targets):\n\n")
	fmt.Fprintf(&md, "- First imagegate plan of the run, which imports the database archive and catalogs the big image cold (the warm-up): %s.\n", secs(r.warmupPlan))
	fmt.Fprintf(&md, "- First plan of the %d-image configuration, cataloging all of them (%d packages, %d findings in all): %s, peak RSS of the provider %s.\n",
		r.manyImages, r.manyPkgs, r.manyFindings, secs(r.manyFirst.Wall), kb(r.manyFirst.ProviderRSSKB))
	if sc := r.scale; sc.hundredN > 0 {
		fmt.Fprintf(&md, "- First plan of the %d-digest configuration, cataloging all of them: %s, peak RSS of the provider %s. Slowest single cold plan of a small image: %s.\n",
			sc.hundredN, secs(sc.hundredRun.Wall), kb(sc.hundredRun.ProviderRSSKB), secs(sc.singleMax))
	}
	md.WriteString(fleetSection)
	if r.alone != nil {
		md.WriteString("\n## Where the time and memory go\n\n")
		md.WriteString("To separate the scan from the cost of running inside OpenTofu, the same run also measures the provider's scan package (`internal/scan`, `internal/vulndb`, `internal/registry`, set up as the provider's `Configure` sets them up) in a process of its own, `bench scan`, with the same database and a fresh, then a warm, SBOM cache; a `tofu plan` of the same provider configuration with one `imagegate_image` data source on the big image, which resolves it without pulling a layer or opening the database: what every plan costs before it scans anything; and `grype version`, the grype CLI started without work.\n\n")
		md.WriteString("| Part | Wall time (median) | CPU user+sys | Peak RSS | Database open | Scan (pull, catalog, match) |\n|---|---:|---:|---:|---:|---:|\n")
		for _, c := range []string{"cold", "warm"} {
			st := r.alone[c]
			fmt.Fprintf(&md, "| Scan package alone, %s | %s | %s | %s | %s | %s |\n", c, secs(st.Wall), secs(st.CPU), kb(st.RSSKB), secs(r.aloneDB[c]), secs(r.aloneScan[c]))
		}
		fmt.Fprintf(&md, "| `tofu plan` of one `imagegate_image` on the big image: resolve only, no pull, no database (%d provider processes) | %s | %s | %s (provider), %s (whole command) | – | – |\n",
			r.resolvePlan.ProviderRuns, secs(r.resolvePlan.Wall), secs(r.resolvePlan.CPU), kb(r.resolvePlan.ProviderRSSKB), kb(r.resolvePlan.RSSKB))
		fmt.Fprintf(&md, "| `grype version`: the grype CLI started, no work | %s | %s | %s | – | – |\n", secs(r.grypeIdle.Wall), secs(r.grypeIdle.CPU), kb(r.grypeIdle.RSSKB))
		fmt.Fprintf(&md, "\n- Scan package alone, cold / grype CLI cold: %.2fx wall time, %.2fx peak RSS.\n",
			r.alone["cold"].Wall.Seconds()/r.grype.Wall.Seconds(), float64(r.alone["cold"].RSSKB)/float64(r.grype.RSSKB))
		fmt.Fprintf(&md, "- Cold plan minus the scan package alone, cold: %+.2f s. Warm plan minus the scan package alone, warm: %+.2f s. A plan that only resolves the image takes %s.\n",
			r.cold.Wall.Seconds()-r.alone["cold"].Wall.Seconds(), r.warm.Wall.Seconds()-r.alone["warm"].Wall.Seconds(), secs(r.resolvePlan.Wall))
		fmt.Fprintf(&md, "- Scan package alone, warm / cold: %.2fx wall time (the scan phase alone, without process start and database open: %.2fx). The warm scan reuses the digest's match because the database and grype are unchanged (the cache keys a match by the database checksum, build time and schema, and the grype version); a new database makes the next plan re-match the cached SBOM, which is what lets a CVE published after the first scan show up. What remains of a warm plan is mostly OpenTofu's own cost, as the resolve-only plan shows.\n",
			r.alone["warm"].Wall.Seconds()/r.alone["cold"].Wall.Seconds(), r.aloneScan["warm"].Seconds()/r.aloneScan["cold"].Seconds())
		fmt.Fprintf(&md, "- Peak RSS: the provider process in the cold plan %s, the scan package alone %s (%+.0f MiB), the grype CLI %s. Started and idle, the provider process already holds %s (resolve-only plan) and the grype CLI %s (`grype version`): a difference of %+.0f MiB before any scan.\n",
			kb(r.cold.ProviderRSSKB), kb(r.alone["cold"].RSSKB), float64(r.cold.ProviderRSSKB-r.alone["cold"].RSSKB)/1024, kb(r.grype.RSSKB),
			kb(r.resolvePlan.ProviderRSSKB), kb(r.grypeIdle.RSSKB), float64(r.resolvePlan.ProviderRSSKB-r.grypeIdle.RSSKB)/1024)
	}
	if r.profile != nil {
		md.WriteString("\nCPU profile of the scan package (`bench scan -cpuprofile`, runtime/pprof, read with `go tool pprof -focus`): the share of CPU samples in each part, over 3 cold scans (each with an empty SBOM cache) and 6 warm scans (each with a new `Scanner` over the same cache, as a new plan has). Parts overlap (a part counts every sample with one of its functions on the stack).\n\n")
		md.WriteString("| Part | Cold scan | Warm scan |\n|---|---:|---:|\n")
		fmt.Fprintf(&md, "| CPU sampled per scan | %.2f s | %.2f s |\n", r.profileCPU["cold"], r.profileCPU["warm"])
		for _, p := range profileParts {
			name := p.Name
			if strings.HasPrefix(name, "  ") {
				name = "&nbsp;&nbsp;" + strings.TrimSpace(name)
			}
			fmt.Fprintf(&md, "| %s | %.0f%% | %.0f%% |\n", name, r.profile["cold"][p.Name], r.profile["warm"][p.Name])
		}
	}
	md.WriteString("\n## Same work\n\n")
	md.WriteString("Both tools scanned the same image against the same database file. grype's package counts come from a CycloneDX run of the grype CLI (the warm-up); imagegate's from a plan with `include_packages = true`.\n\n")
	md.WriteString(work.String())
	md.WriteString("\n## What is measured\n\n")
	fmt.Fprintf(&md, "- **a. grype CLI cold**: `grype registry:%s -o json`, with `GRYPE_DB_CACHE_DIR` set to the database directory imagegate installed, `GRYPE_DB_AUTO_UPDATE=false`, `GRYPE_DB_VALIDATE_AGE=false`, `GRYPE_CHECK_FOR_APP_UPDATE=false`, `GRYPE_REGISTRY_INSECURE_USE_HTTP=true`. grype keeps no image cache, so every run pulls and unpacks every layer.\n", strings.Replace(r.big.Ref, strings.SplitN(r.big.Ref, "/", 2)[0], "HOST", 1))
	md.WriteString("- **b. imagegate cold**: `tofu plan` of a configuration with one `data \"imagegate_scan\"` on the big image, with a fresh, empty `sbom_cache_dir` for each repetition and the database already imported (`vulnerability_db = { cache_dir, archive, auto_update = false }`; the import happens in an uncounted warm-up plan). The wall time is the whole `tofu plan` command: OpenTofu's start, the provider's start, opening the database, the pull, cataloging and matching, and writing the plan file.\n")
	md.WriteString("- **c. imagegate warm**: the same plan again with the same `sbom_cache_dir`: the cache entry is read and, the database being unchanged, its match is reused; no layer is pulled and the SBOM is not decoded. After a database update the SBOM is re-matched (covered by the tests, not timed here).\n")
	fmt.Fprintf(&md, "- **d. %d cached images**: one `tofu plan` of a configuration with %d `imagegate_scan` data sources on %d distinct images (`for_each`), after a first plan cataloged them.\n", r.manyImages, r.manyImages, r.manyImages)
	if sc := r.scale; sc.manyCold.N > 0 {
		fmt.Fprintf(&md, "- **e. %d cold images in one plan**: the same configuration with a fresh, empty `sbom_cache_dir` for each repetition: one provider process catalogs the %d images (at most as many at once as the machine has CPUs, over one database handle) while OpenTofu reads the data sources in parallel.\n", r.manyImages, r.manyImages)
		fmt.Fprintf(&md, "- **f. the sum of %d single cold plans**: each small image alone in the same configuration (`-var references=[…]`), each with a fresh, empty `sbom_cache_dir`; wall and CPU times are summed over the %d plans of a repetition, interleaved with case e.\n", r.manyImages, r.manyImages)
		fmt.Fprintf(&md, "- **g. %d cached digests**: one `tofu plan` of %d `imagegate_scan` data sources on %d distinct small images (`bench/tiny-001:1` … : the small images' Debian base layer and a layer of their own with a build id and 3 npm packages), after a first plan cataloged them.\n", sc.hundredN, sc.hundredN, sc.hundredN)
	}
	md.WriteString("- **Wall time** is measured around the command; **CPU** and **peak RSS** come from GNU `time -v`. For `tofu plan`, the \"whole command\" RSS is what `time` reports for tofu, which is the largest of tofu and each child it waited for (Linux `wait4` semantics: the maximum, not the sum, of the process tree); the \"scanning process\" RSS is the provider's own, measured by a wrapper script in the `dev_overrides` directory that runs the provider binary under `/usr/bin/time -v` (the largest over the provider processes tofu started during the plan: " + fmt.Sprint(r.cold.ProviderRuns) + " per plan in this run, for the schema, for validation and for the plan itself). The RSS target compares the provider process, which does the work the grype CLI does, with the grype CLI; tofu's own memory is on top of that and shown in the last column.\n")
	md.WriteString("- The provider, the grype CLI, OpenTofu and the `bench` driver are copied (`cp`) into the scratch directory before they run, all the same way: peak RSS includes the executable's pages mapped into the process, and how many the kernel maps depends on how the file was written (on the benchmark machine, a provider binary just written by the Go linker mapped about 29 MiB more at start than a `cp` of the same file).\n")
	md.WriteString("- Runs are interleaved (grype, imagegate cold, imagegate warm; three times) so that drift in the machine affects every case alike. Everything is local: the registry is go-containerregistry's in-memory `cmd/registry` on a loopback port.\n")
	md.WriteString("\n## Machine\n\n")
	fmt.Fprintf(&md, "- CPUs: %d (`nproc`), %s\n", r.machine.CPUs, r.machine.CPUModel)
	fmt.Fprintf(&md, "- Memory: %s\n", r.machine.MemTotal)
	fmt.Fprintf(&md, "- OS: %s, %s\n", r.machine.OS, r.machine.Kernel)
	fmt.Fprintf(&md, "- Go: %s\n", r.machine.Go)
	fmt.Fprintf(&md, "- OpenTofu: %s; grype CLI: %s; compiled into the provider: %s\n", r.machine.Tofu, r.machine.Grype, r.machine.Embedded)
	fmt.Fprintf(&md, "- Run: %s; load average (1, 5, 15 min) %s at the start, %s at the end. The machine is not isolated: other processes running at the same time add noise, which the interleaving and the median only partly absorb.\n",
		r.machine.Timestamp.Format(time.RFC3339), r.machine.LoadStart, r.machine.LoadEnd)
	md.WriteString("\n## Images\n\n")
	fmt.Fprintf(&md, "Built in Go by `bench/` with `internal/fixtures` and pushed in %s; deterministic (fixed package lists, fixed timestamps, filler bytes from a seeded ChaCha8 stream, the Go binary built with -trimpath and -buildvcs=false, so its bytes do not depend on the commit of this repository).\n\n", r.pushTime.Round(time.Second))
	fmt.Fprintf(&md, "- **Big image** `bench/big:1` (`%s`): %s compressed in %d layers. A Debian 12 base with %d entries in the dpkg status database (real bookworm package names and versions), an Express application with %d npm packages under `/app/node_modules` (lodash 4.17.20 and minimist 1.2.5 among them), %d copies of a Go binary built against golang.org/x/text v0.3.5, and %d layers of incompressible data (%d files of %d MiB under `/usr/share/bench/`).\n",
		r.big.Digest, mb(r.big.CompressedBytes), r.big.Layers, r.big.DpkgEntries, r.big.NPMPackages, r.big.GoBinaries, bigBlobLayers, bigBlobLayers*bigBlobFiles, bigBlobFileSize>>20)
	var smallBytes int64
	for _, s := range r.small {
		smallBytes += s.CompressedBytes
	}
	if len(r.small) > 0 {
		fmt.Fprintf(&md, "- **%d smaller images** `bench/svc-01:1` … `bench/svc-%02d:1`: %s compressed each on average, %d layers: a shared Debian base (%d dpkg entries), %d MiB of data and %d npm packages that differ per image, and the Go binary.\n",
			len(r.small), len(r.small), mb(smallBytes/int64(len(r.small))), r.small[0].Layers, r.small[0].DpkgEntries, smallBlobFileSize>>20, r.small[0].NPMPackages)
	}
	fmt.Fprintf(&md, "- **Vulnerability database**: `fixtures.BuildVulnDB(fixtures.StandardVulnData())`: the real Go vulnerability database (%s) plus GitHub and Debian advisories for lodash, minimist, openssl and tar; %s; built in %s.\n",
		strings.Split(goVulnDBModule(), "@")[1], r.dbFacts, r.dbBuild.Round(time.Second))

	var con strings.Builder
	con.WriteString("Results (median of " + fmt.Sprint(r.cold.N) + "):\n\n")
	con.WriteString(tbl.String())
	con.WriteString("\n")
	con.WriteString(rat.String())
	con.WriteString("\n")
	con.WriteString(work.String())
	return rendered{console: con.String(), markdown: md.String()}
}

func goVulnDBModule() string { return fixtures.GoVulnDBModule }
