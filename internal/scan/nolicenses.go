package scan

// Cataloging without syft's license scanner.
//
// syft v1.57 builds google/licensecheck's scanner in every CreateSBOM whose
// context carries none (about a third of a cold catalog's CPU), and offers
// no public setting to leave it out. Matching never reads licenses, so a
// catalog that is only matched hands syft a scanner that scans nothing:
// syft's own licenses.NewScanner with no scan function (its FindEvidence
// then returns no evidence without reading the file), put in the context by
// syft's own licenses.SetContextLicenseScanner. Both live in syft's
// internal package, so they are reached by go:linkname; the value crosses
// this package only as the two words of an interface, never looked into.
// TestNoLicenseScannerMatchesSyft checks the signatures against the syft
// source in the module cache, so an upgrade that changes them fails the
// tests instead of the build silently calling the wrong thing.

import (
	"context"
	"unsafe"

	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"
	"github.com/google/licensecheck"
)

// licenseScannerConfig has the layout of syft's internal
// licenses.ScannerConfig.
type licenseScannerConfig struct {
	CoverageThreshold float64
	Scanner           func([]byte) licensecheck.Coverage
}

// licenseScanner carries a value of syft's internal licenses.Scanner
// interface without looking into it: an interface value is two words.
type licenseScanner struct{ tab, data unsafe.Pointer } //nolint:unused // the two words are carried, never read

//go:linkname syftNewLicenseScanner github.com/anchore/syft/internal/licenses.NewScanner
func syftNewLicenseScanner(c *licenseScannerConfig) (licenseScanner, error)

//go:linkname syftSetContextLicenseScanner github.com/anchore/syft/internal/licenses.SetContextLicenseScanner
func syftSetContextLicenseScanner(ctx context.Context, s licenseScanner) context.Context

// withoutLicenseScanning returns ctx carrying a license scanner that scans
// nothing, so syft.CreateSBOM neither builds nor runs google/licensecheck.
func withoutLicenseScanning(ctx context.Context) context.Context {
	// A non-nil config: NewScanner(nil) would build the default scanner.
	s, err := syftNewLicenseScanner(&licenseScannerConfig{})
	if err != nil || s.tab == nil {
		// Not reached with syft v1.57 (NewScanner with a config cannot
		// fail); syft then builds its default scanner, which only costs CPU.
		return ctx
	}
	return syftSetContextLicenseScanner(ctx, s)
}

// withoutLicenses removes every license from an SBOM cataloged without the
// license scanner: the licenses syft could still read from package metadata
// would be a partial list, and license files would be reduced to the hash of
// nothing. Such an SBOM is only matched (see Entry.Licenses); package IDs,
// and so relationships, are unchanged.
func withoutLicenses(sb *sbom.SBOM) {
	out := pkg.NewCollection()
	for p := range sb.Artifacts.Packages.Enumerate() {
		p.Licenses = pkg.NewLicenseSet()
		out.Add(p)
	}
	sb.Artifacts.Packages = out
	sb.Artifacts.FileLicenses = nil
}
