package main

import (
	"strings"
	"testing"
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
