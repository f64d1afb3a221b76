package scan_test

import (
	"context"
	"strings"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// A cold catalog reads each layer blob from the registry exactly once:
// stereoscope fetches and unpacks it, and the catalog, the account files
// and the hygiene facts all read that one unpacked copy. With an SBOM
// output (licenses) too, and in both scopes.
func TestColdCatalogFetchesEachLayerOnce(t *testing.T) {
	for _, c := range []struct {
		name  string
		scope scan.Scope
		sbom  string
	}{
		{"squashed", scan.Squashed, ""},
		{"all-layers", scan.AllLayers, ""},
		{"squashed with an SBOM", scan.Squashed, scan.FormatSyftJSON},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			img, _ := e.pushVulnerable(t, "vuln:1", fixtures.Vulnerable{User: "app", Removed: map[string]string{"minimist": "1.2.5"}})
			layers := layerDigests(t, img)
			e.reg.ResetRequests()
			res, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("vuln:1"), Scope: c.scope, SBOMFormat: c.sbom})
			if err != nil {
				t.Fatal(err)
			}
			if res.Cached || len(res.Files) == 0 || res.Hygiene == nil {
				t.Fatalf("not a cold catalog with account files and hygiene facts: cached %v, files %d, hygiene %v", res.Cached, len(res.Files), res.Hygiene)
			}
			gets := map[string]int{}
			for _, q := range e.reg.Requests() {
				if strings.HasPrefix(q, "GET ") && strings.Contains(q, "/blobs/") {
					gets[q[strings.LastIndex(q, "/")+1:]]++
				}
			}
			for i, d := range layers {
				if gets[d] != 1 {
					t.Errorf("layer %d (%s) was fetched %d times, want once", i, d, gets[d])
				}
			}
		})
	}
}
