package provider

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/imagegate/terraform-provider-imagegate/internal/private"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// Each kind of registry failure maps to its summary, its hint (naming the
// provider setting to change) and the attribute at fault.
func TestRegistryKindDiagnosticsUnit(t *testing.T) {
	ref, plat := path.Root("reference"), path.Root("platform")
	for _, tc := range []struct {
		kind    registry.Kind
		err     error
		summary string
		hint    string
		attr    path.Path // empty for a provider-wide error
	}{
		{registry.KindInvalidReference, errors.New("bad"), "Invalid Image Reference", "registry/repository@sha256:<64 hex digits>", ref},
		{registry.KindInvalidPlatform, errors.New("bad"), "Invalid Platform", "Set platform to one the image provides.", plat},
		{registry.KindPlatform, errors.New("absent"), "Platform Not In Image", "Set platform to one the image provides.", plat},
		{registry.KindNotFound, errors.New("404"), "Image Not Found", "that the image was pushed", ref},
		{registry.KindUnauthorized, errors.New("401"), "Registry Authentication Failed", "registry_auth", path.Empty()},
		{registry.KindInsecure, &registry.InsecureError{Registry: "127.0.0.1:5000"}, "Plain HTTP Registry Refused", `add "127.0.0.1:5000" to the provider's insecure_registries`, path.Empty()},
		{registry.KindUnreachable, errors.New("timeout"), "Registry Unreachable", "raise request_timeout or max_retries", path.Empty()},
		{registry.KindUnsupported, errors.New("odd"), "Unsupported Image", "", ref},
		{registry.KindOther, errors.New("odd"), "Image Read Failed", "", path.Empty()},
	} {
		t.Run(tc.summary, func(t *testing.T) {
			var diags diag.Diagnostics
			err := fmt.Errorf("wrapped: %w", &registry.Error{Kind: tc.kind, Ref: "example.com/app:v1", Err: tc.err})
			registryErrorAt(&diags, err, ref, plat)
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %v", len(diags), diags)
			}
			d := diags[0]
			if d.Summary() != tc.summary {
				t.Errorf("summary %q, want %q", d.Summary(), tc.summary)
			}
			if !strings.HasPrefix(d.Detail(), err.Error()) || !strings.Contains(d.Detail(), tc.hint) {
				t.Errorf("detail %q, want the error then a hint containing %q", d.Detail(), tc.hint)
			}
			var got path.Path
			if wp, ok := d.(diag.DiagnosticWithPath); ok {
				got = wp.Path()
			}
			if got.String() != tc.attr.String() {
				t.Errorf("attribute %v, want %v", got, tc.attr)
			}
		})
	}
	// The registry package names no provider setting: the hint is the
	// provider's.
	if msg := (&registry.InsecureError{Registry: "h:1"}).Error(); strings.Contains(msg, "insecure_registries") {
		t.Errorf("registry message names a provider setting: %q", msg)
	}
}

// Each kind of database failure has its hint, naming the vulnerability_db
// setting to change; the message itself is the database's facts.
func TestVulnDBKindHintsUnit(t *testing.T) {
	for _, tc := range []struct {
		kind vulndb.Kind
		hint string
	}{
		{vulndb.KindConfig, "Check the vulnerability_db settings of the provider."},
		{vulndb.KindMissing, "vulnerability_db.auto_update = true"},
		{vulndb.KindStale, "Raise vulnerability_db.max_age only if older data is acceptable."},
		{vulndb.KindCorrupt, "Delete the database directory"},
		{vulndb.KindChecksum, "Delete the database directory"},
		{vulndb.KindSchema, "Delete the database directory"},
		{vulndb.KindUntrusted, "trust boundary"},
		{vulndb.KindFuture, "clock"},
		{vulndb.KindUpdate, "require_update_check = false"},
	} {
		var diags diag.Diagnostics
		built := &vulndb.Error{Kind: tc.kind, Path: "/db", Err: errors.New("facts")}
		scanErrorAt(&diags, "example.com/app:v1", fmt.Errorf("scanning: %w", built), path.Root("reference"), path.Root("platform"))
		if len(diags) != 1 || diags[0].Summary() != "Vulnerability Database Unusable" {
			t.Fatalf("kind %d: got %v", tc.kind, diags)
		}
		if d := diags[0].Detail(); !strings.Contains(d, "vulnerability database /db: facts.\n\n") || !strings.Contains(d, tc.hint) {
			t.Errorf("kind %d: detail %q, want the facts and a hint containing %q", tc.kind, d, tc.hint)
		}
	}
}

// An SBOM asked of an index is an error on sbom_format that says which
// platforms to pick; the scan package states only that the image is an
// index.
func TestScanRequestDiagnosticUnit(t *testing.T) {
	var diags diag.Diagnostics
	reqErr := &scan.RequestError{Kind: scan.RequestSBOMOfIndex, Platforms: []string{"linux/amd64", "linux/arm64"}, Err: errors.New("an SBOM describes one image, but r is an index of 2 platforms")}
	scanErrorAt(&diags, "r", reqErr, path.Root("reference"), path.Root("platform"))
	if len(diags) != 1 {
		t.Fatalf("got %v", diags)
	}
	d, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !d.Path().Equal(path.Root("sbom_format")) || d.Summary() != "Invalid Scan Request" {
		t.Fatalf("got %v", diags[0])
	}
	if !strings.Contains(d.Detail(), "sbom_format needs one image: an SBOM describes one image") || !strings.Contains(d.Detail(), `platforms = ["linux/amd64"]`) {
		t.Errorf("detail %q", d.Detail())
	}
}

// The scan's warning of an unused SBOM cache gains the setting to change,
// in the diagnostics and in the gate's warnings alike (both come from
// uniqueWarnings); other warnings are left as they are.
func TestSBOMCacheWarningHintUnit(t *testing.T) {
	pe := &private.Error{Path: "/tmp/c", Reason: private.ReasonOwner, UID: 7}
	cacheWarning := fmt.Sprintf("%s, so every plan pulls and catalogs the image again: %v.", scan.CacheUnused, pe)
	got := uniqueWarnings(&scan.Result{Warnings: []string{cacheWarning, "other"}})
	if len(got) != 2 || got[0] != cacheWarning+" "+sbomCacheHint || got[1] != "other" {
		t.Errorf("got %q", got)
	}
	if !strings.Contains(got[0], "/tmp/c belongs to another user (uid 7)") || !strings.Contains(got[0], "sbom_cache_dir") {
		t.Errorf("got %q", got[0])
	}
}
