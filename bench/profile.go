package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// profilePart is a set of functions whose share of a CPU profile is
// reported: the samples with any frame matching Focus (and none matching
// Ignore). Parts may overlap.
type profilePart struct {
	Name, Focus, Ignore string
}

var profileParts = []profilePart{
	{Name: "Pulling and unpacking layers (stereoscope)", Focus: `anchore/stereoscope`},
	{Name: "syft's license scanner, built once per process, overlapping the pull (google/licensecheck)", Focus: `google/licensecheck`},
	{Name: "syft (catalogers, SBOM encoding and decoding), license scanner excluded", Focus: `anchore/syft/`, Ignore: `google/licensecheck`},
	{Name: "Reading the SBOM back (grype pkg.ProvideFromReader) and the cache entry", Focus: `grype/pkg\.ProvideFromReader|scan\.\(\*Cache\)\.Load`},
	{Name: "Matching (grype VulnerabilityMatcher.FindMatchesContext)", Focus: `grype\.\(\*VulnerabilityMatcher\)\.FindMatchesContext`},
	{Name: "  of which database queries (gorm, SQLite)", Focus: `gorm\.io/|modernc\.org/sqlite|glebarez/`},
	{Name: "Garbage collection (background marking)", Focus: `runtime\.gcBgMarkWorker`},
}

var accountingRE = regexp.MustCompile(`Showing nodes accounting for ([0-9.]+)([a-zµ]*), ([0-9.]+)% of ([0-9.]+)([a-zµ]*) total`)

// profileShares is, for each part, its share of the profile's CPU samples
// and the total CPU seconds the profile sampled, read with `go tool pprof`.
func profileShares(ctx context.Context, path string) (map[string]float64, float64, error) {
	out := map[string]float64{}
	var total float64
	for _, p := range profileParts {
		args := []string{"tool", "pprof", "-top", "-nodecount=1000000", "-focus=" + p.Focus}
		if p.Ignore != "" {
			args = append(args, "-ignore="+p.Ignore)
		}
		b, err := exec.CommandContext(ctx, "go", append(args, path)...).CombinedOutput()
		if err != nil {
			return nil, 0, fmt.Errorf("go tool pprof %s: %w\n%s", path, err, b)
		}
		m := accountingRE.FindStringSubmatch(string(b))
		if m == nil {
			if strings.Contains(string(b), "no samples") || strings.Contains(string(b), "matched no samples") {
				out[p.Name] = 0
				continue
			}
			return nil, 0, fmt.Errorf("go tool pprof %s: unexpected output:\n%s", path, b)
		}
		pct, _ := strconv.ParseFloat(m[3], 64)
		out[p.Name] = pct
		t, _ := strconv.ParseFloat(m[4], 64)
		switch m[5] {
		case "ms":
			t /= 1000
		case "us", "µs":
			t /= 1e6
		case "min":
			t *= 60
		}
		total = t
	}
	return out, total, nil
}
