package main

import (
	"strings"
	"testing"
	"time"
)

// TestBlobGets: the fleet case counts the GETs of the image's layer blobs
// in go-containerregistry's registry log, and only those: HEADs, other
// blobs, manifests and error lines of other requests are not layer fetches.
func TestBlobGets(t *testing.T) {
	layer := "sha256:" + strings.Repeat("a", 64)
	config := "sha256:" + strings.Repeat("c", 64)
	logText := strings.Join([]string{
		"2026/11/28 00:00:00 serving on port 40000",
		"2026/11/28 00:00:01 HEAD /v2/bench/big/blobs/" + layer,
		"2026/11/28 00:00:01 GET /v2/bench/big/manifests/fleet-1",
		"2026/11/28 00:00:01 GET /v2/bench/big/blobs/" + config,
		"2026/11/28 00:00:02 GET /v2/bench/big/blobs/" + layer,
		"2026/11/28 00:00:02 GET /v2/bench/big/blobs/" + layer + "?ns=x",
		"2026/11/28 00:00:02 GET /v2/bench/big/manifests/sha256-x.att 404 MANIFEST_UNKNOWN Unknown manifest",
	}, "\n")
	got, all, err := blobGets(strings.NewReader(logText), map[string]bool{layer: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || all != 3 {
		t.Fatalf("blobGets = %q, %d blob GETs; want the 2 layer GETs of 3 blob GETs", got, all)
	}
	for _, g := range got {
		if !strings.HasPrefix(g, "GET /v2/bench/big/blobs/"+layer) {
			t.Errorf("counted %q as a layer GET", g)
		}
	}
	if got, _, _ := blobGets(strings.NewReader(logText), map[string]bool{}); len(got) != 0 {
		t.Errorf("with no layers, blobGets = %q", got)
	}
}

// TestFleetVerdict: a layer blob fetched by runner B fails the run.
func TestFleetVerdict(t *testing.T) {
	if err := fleetVerdict(&fleetResults{layerGets: [][]string{nil, nil}}); err != nil {
		t.Fatalf("no layer GETs: %v", err)
	}
	err := fleetVerdict(&fleetResults{layerGets: [][]string{nil, {"GET /v2/bench/big/blobs/sha256:aa"}}})
	if err == nil || !strings.Contains(err.Error(), "fetched 1 layer blobs") {
		t.Fatalf("one layer GET: %v", err)
	}
}

// TestFleetInReport: the fleet case's rows, its target with PASS/FAIL, the
// layer-blob count and its section are in the full report.
func TestFleetInReport(t *testing.T) {
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	r := &results{
		grype: stats{N: 3, Wall: sec(1.5), RSSKB: 200 << 10},
		cold:  stats{N: 3, Wall: sec(1.4), ProviderRSSKB: 190 << 10},
		warm:  stats{N: 3, Wall: sec(0.2)},
		many:  stats{N: 3, Wall: sec(0.3)},
		fleet: fleetResults{
			a:         stats{N: 3, Wall: sec(2.0)},
			b:         stats{N: 3, Wall: sec(0.3)},
			layerGets: [][]string{nil, nil, nil},
			blobGets:  []int{4, 4, 4},
			layers:    10, pkgCount: 546, findings: 6,
		},
	}
	md := renderReport(options{}, r).markdown
	for _, want := range []string{
		"| i. fleet runner B: imagegate `tofu plan`, empty SBOM cache, `use_sbom`",
		"Runner B (use_sbom, empty SBOM cache) wall time <= 0.2x runner A's cold plan (runner B 0.30 s / runner A 2.00 s) | 0.150x | <= 0.2x | **PASS** |",
		"| Layer blobs fetched by runner B, all 3 repetitions (the registry's request log) | 0 | = 0 | **PASS** |",
		"Layer blobs fetched by runner B: 0 (of the image's 10 layer blobs",
		"never changes the image, its digest or its tags",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	r.fleet.b.Wall = sec(0.5)
	r.fleet.layerGets[1] = []string{"GET /v2/bench/big/blobs/sha256:aa"}
	md = renderReport(options{}, r).markdown
	for _, want := range []string{"| 0.250x | <= 0.2x | **FAIL** |", "| 1 | = 0 | **FAIL** |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
