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

// grypeCLI finds the grype CLI of the embedded version, built into
// .tools/bin by scripts/build-clis.sh (make test runs it).
func grypeCLI(t *testing.T) string {
	t.Helper()
	p := os.Getenv("IMAGEGATE_GRYPE")
	if p == "" {
		p, _ = filepath.Abs("../../.tools/bin/grype")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the grype CLI is needed for the parity test: run scripts/build-clis.sh (make test does) or set IMAGEGATE_GRYPE: %v", err)
	}
	return p
}

// TestParityWithGrypeCLI checks that on the same image and the same
// database, imagegate reports the same set of (vulnerability, package,
// version) as the grype CLI of the same version.
//
// The grype CLI v0.121.x ignores --scope (its provider configuration never
// copies the flag into syft's search scope), so it always catalogs the
// squashed filesystem. For all-layers, the CLI is therefore given the SBOM
// imagegate cataloged (grype sbom:FILE): the matching is compared, and the
// cataloging of all layers is covered by TestScopeAllLayersFindsDeletedPackages.
func TestParityWithGrypeCLI(t *testing.T) {
	bin := grypeCLI(t)
	e := newEnv(t)
	images := map[string]v1.Image{}
	var err error
	if images["vulnerable:1"], err = fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"}); err != nil {
		t.Fatal(err)
	}
	if images["removed:1"], err = fixtures.VulnerableImage(fixtures.Vulnerable{Removed: map[string]string{"minimist": "1.2.5", "lodash": "4.17.15"}}); err != nil {
		t.Fatal(err)
	}
	images["scratch:1"] = testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"hello.txt": []byte("hi")})}})
	for ref, img := range images {
		e.reg.Push(t, ref, img)
	}
	s := e.scanner(t, testutil.VulnDBs(t).Old)
	for ref := range images {
		for _, scope := range []scan.Scope{scan.Squashed, scan.AllLayers} {
			t.Run(ref+"/"+string(scope), func(t *testing.T) {
				res, err := s.Scan(context.Background(), scan.Request{Reference: e.reg.Ref(ref), Scope: scope, SBOMFormat: scan.FormatSyftJSON})
				if err != nil {
					t.Fatal(err)
				}
				target := "registry:" + e.reg.Ref(ref)
				if scope == scan.AllLayers {
					target = "sbom:" + filepath.Join(t.TempDir(), "sbom.json")
					if err := os.WriteFile(strings.TrimPrefix(target, "sbom:"), []byte(res.SBOM), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				var ours []string
				for _, v := range res.Vulnerabilities {
					ours = append(ours, v.ID+" "+v.PackageName+" "+v.PackageVersion)
				}
				theirs := runGrype(t, bin, e.dbDir, target)
				if strings.Join(uniq(ours), "\n") != strings.Join(theirs, "\n") {
					t.Errorf("imagegate and grype disagree\nimagegate:\n%s\ngrype:\n%s", strings.Join(uniq(ours), "\n"), strings.Join(theirs, "\n"))
				}
				if ref != "scratch:1" && len(theirs) == 0 {
					t.Error("the parity test compared two empty lists")
				}
				if ref == "removed:1" && scope == scan.AllLayers && !strings.Contains(strings.Join(theirs, "\n"), "minimist") {
					t.Error("the all-layers comparison does not include the deleted package")
				}
			})
		}
	}
}

func runGrype(t *testing.T, bin, dbDir, target string) []string {
	t.Helper()
	cmd := exec.Command(bin, target, "-o", "json")
	cmd.Env = append(os.Environ(),
		"GRYPE_DB_CACHE_DIR="+dbDir,
		"GRYPE_DB_AUTO_UPDATE=false",
		"GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false",
		"GRYPE_REGISTRY_INSECURE_USE_HTTP=true",
		"DOCKER_CONFIG="+t.TempDir(),
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("grype: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Matches []struct {
			Vulnerability struct{ ID string }            `json:"vulnerability"`
			Artifact      struct{ Name, Version string } `json:"artifact"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("grype output: %v", err)
	}
	var set []string
	for _, m := range doc.Matches {
		set = append(set, m.Vulnerability.ID+" "+m.Artifact.Name+" "+m.Artifact.Version)
	}
	return uniq(set)
}

func uniq(in []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(in)))
}
