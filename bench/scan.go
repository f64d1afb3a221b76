package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// scanReport is what `bench scan` prints: the phases of one scan made by
// the provider's own scan package in a process of its own, without
// OpenTofu and the plugin protocol around it.
type scanReport struct {
	DBOpen       time.Duration `json:"db_open"`
	Scan         time.Duration `json:"scan"`
	Cached       bool          `json:"cached"`
	PackageCount int           `json:"package_count"`
	Findings     int           `json:"findings"`
	Warnings     []string      `json:"warnings,omitempty"`
	SBOMSource   string        `json:"sbom_source,omitempty"`
}

// runScan is `bench scan`: one scan, as the provider's Configure and the
// imagegate_scan data source set it up, timed by phase.
func runScan(args []string) error {
	fs := flag.NewFlagSet("scan", flag.ExitOnError)
	ref := fs.String("ref", "", "image reference")
	insecure := fs.String("insecure", "", "registry host allowed over plain HTTP")
	dbDir := fs.String("db-cache-dir", "", "vulnerability_db.cache_dir")
	archive := fs.String("db-archive", "", "vulnerability_db.archive")
	sbomDir := fs.String("sbom-cache-dir", "", "sbom_cache_dir")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scan (not the database open) to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile (allocations) at the end to this file")
	repeat := fs.Int("repeat", 1, "scan this many times, each with a new Scanner (as a new provider process would have), for profiling")
	fresh := fs.Bool("fresh", false, "give each repetition its own empty SBOM cache under -sbom-cache-dir (cold scans)")
	trustedKey := fs.String("trusted-key", "", "PEM public key file: scan with registry_attestations = { use_sbom = true, trusted_keys = [this key] } (the fleet case's runner B)")
	_ = fs.Parse(args)
	ctx := context.Background()
	client, err := registry.New(registry.Options{InsecureRegistries: []string{*insecure}})
	if err != nil {
		return err
	}
	m, err := vulndb.New(vulndb.Config{CacheDir: *dbDir, Archive: *archive, AutoUpdate: false, ValidateChecksum: true, MaxAge: vulndb.DefaultMaxAge})
	if err != nil {
		return err
	}
	defer m.Close()
	var rep scanReport
	start := time.Now()
	if _, err := m.Get(ctx); err != nil {
		return err
	}
	rep.DBOpen = time.Since(start)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	var opts []scan.Option
	if *trustedKey != "" {
		pub, err := os.ReadFile(*trustedKey)
		if err != nil {
			return err
		}
		opts = append(opts, scan.WithAttestations(scan.Attestations{UseSBOM: true, TrustedKeys: []string{string(pub)}}))
	}
	start = time.Now()
	var res *scan.Result
	for i := 0; i < max(1, *repeat); i++ {
		dir := *sbomDir
		if *fresh {
			dir = filepath.Join(dir, fmt.Sprintf("rep-%d", i))
		}
		if res, err = scan.New(client, m, dir, opts...).Scan(ctx, scan.Request{Reference: *ref}); err != nil {
			return err
		}
	}
	rep.Scan = time.Since(start) / time.Duration(max(1, *repeat))
	rep.Cached, rep.PackageCount, rep.Findings = res.Cached, res.PackageCount, len(res.Vulnerabilities)
	rep.Warnings, rep.SBOMSource = res.Warnings, res.SBOMSource
	return json.NewEncoder(os.Stdout).Encode(rep)
}

func readScanReport(path string) (scanReport, error) {
	var rep scanReport
	b, err := os.ReadFile(path)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}
