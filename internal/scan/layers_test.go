package scan_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
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

// Layers are fetched concurrently within bounds: several images scanned at
// once (as Terraform reads data sources) have more than one layer in
// flight, and never more than the Scanner's catalogs at once, each with
// stereoscope's per-image bound (one fetch per CPU, at most 8).
func TestLayersAreFetchedConcurrentlyWithinBounds(t *testing.T) {
	e := newEnv(t)
	const images = 3
	var refs []string
	layers := 0
	for i := range images {
		img, _ := e.pushVulnerable(t, fmt.Sprintf("svc-%d:1", i), fixtures.Vulnerable{NPM: map[string]string{"lodash": "4.17.20", fmt.Sprintf("pkg-%d", i): "1.0.0"}})
		layers = len(layerDigests(t, img))
		refs = append(refs, fmt.Sprintf("svc-%d:1", i))
	}
	var mu sync.Mutex
	inFlight, peak := 0, 0
	host := e.reg.Faulty(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		// Slow enough that fetches which can overlap do.
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return false
	})
	s := limitedScanner(t, e, host, registry.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, images)
	for _, ref := range refs {
		wg.Go(func() {
			_, err := s.Scan(context.Background(), scan.Request{Reference: host + "/" + ref})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	cpus := runtime.NumCPU()
	bound := max(2, cpus) * max(1, min(cpus, 8, layers))
	t.Logf("at most %d blobs in flight (bound %d)", peak, bound)
	if peak < 2 || peak > bound {
		t.Errorf("at most %d blobs were fetched at once, want between 2 and %d", peak, bound)
	}
}
