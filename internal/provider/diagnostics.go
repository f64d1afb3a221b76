package provider

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

func unknownConfig(diags *diag.Diagnostics, p path.Path) {
	const detail = "This provider setting depends on a value that is not known until apply. Set it from variables or literals so the provider can be configured, and images gated, at plan time."
	if p.Equal(path.Empty()) {
		diags.AddError("Unknown Provider Configuration", detail)
		return
	}
	diags.AddAttributeError(p, "Unknown Provider Configuration", detail)
}

// configureData takes the provider's data in a data source or resource
// Configure, reporting a clear error when it is of the wrong type.
func configureData(raw any, diags *diag.Diagnostics) *providerData {
	if raw == nil {
		return nil // the provider is not configured yet (validation)
	}
	d, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", raw))
		return nil
	}
	return d
}

// registryError turns a registry failure into a diagnostic, on the
// attribute at fault when there is one (platformAttr for platforms).
func registryError(diags *diag.Diagnostics, err error, platformAttr path.Path) {
	registryErrorAt(diags, err, path.Root("reference"), platformAttr)
}

// registryErrorAt is registryError for a resource whose reference is in
// refAttr.
func registryErrorAt(diags *diag.Diagnostics, err error, refAttr, platformAttr path.Path) {
	var re *registry.Error
	if !errors.As(err, &re) {
		diags.AddError("Image Read Failed", err.Error())
		return
	}
	d := registryDiagnostic(re.Kind)
	detail := err.Error()
	if h := registryHint(err, re.Kind); h != "" {
		detail += "\n\n" + h
	}
	switch d.attr {
	case attrReference:
		diags.AddAttributeError(refAttr, d.summary, detail)
	case attrPlatform:
		diags.AddAttributeError(platformAttr, d.summary, detail)
	default:
		diags.AddError(d.summary, detail)
	}
}

// attrRole says which of a data source's attributes a failure is about.
type attrRole int

const (
	attrNone attrRole = iota
	attrReference
	attrPlatform
)

// kindDiagnostic is how the provider reports one kind of domain failure:
// the summary, what the user can do, and the attribute at fault.
type kindDiagnostic struct {
	summary string
	hint    string
	attr    attrRole
}

// registryDiagnostics says, for each kind of registry failure, what the
// user sees and can do; the registry package states only the facts.
var registryDiagnostics = map[registry.Kind]kindDiagnostic{
	registry.KindInvalidReference: {"Invalid Image Reference", "Use registry/repository:tag or registry/repository@sha256:<64 hex digits>.", attrReference},
	registry.KindInvalidPlatform:  {"Invalid Platform", "Set platform to one the image provides.", attrPlatform},
	registry.KindPlatform:         {"Platform Not In Image", "Set platform to one the image provides.", attrPlatform},
	registry.KindNotFound:         {"Image Not Found", "Check the registry, repository and tag or digest, and that the image was pushed.", attrReference},
	registry.KindUnauthorized:     {"Registry Authentication Failed", "Check the credentials for this registry in the provider's registry_auth, or in the Docker config file and its credential helpers.", attrNone},
	registry.KindInsecure:         {"Plain HTTP Registry Refused", "Serve the registry over HTTPS, or list it in the provider's insecure_registries if plain HTTP is intended.", attrNone},
	registry.KindUnreachable:      {"Registry Unreachable", "Check that the registry address is right and reachable from where Terraform runs; raise request_timeout or max_retries if it is slow.", attrNone},
	registry.KindUnsupported:      {"Unsupported Image", "", attrReference},
}

// registryDiagnostic is the report of a registry failure of kind k.
func registryDiagnostic(k registry.Kind) kindDiagnostic {
	if d, ok := registryDiagnostics[k]; ok {
		return d
	}
	return kindDiagnostic{summary: "Image Read Failed"}
}

// registryHint says what to do about err, a registry failure of kind k:
// for a plain HTTP registry it names the host to allow.
func registryHint(err error, k registry.Kind) string {
	if ie, ok := errors.AsType[*registry.InsecureError](err); ok && k == registry.KindInsecure {
		return fmt.Sprintf("Serve the registry over HTTPS, or, if plain HTTP is intended, add %q to the provider's insecure_registries.", ie.Registry)
	}
	return registryDiagnostic(k).hint
}

// dbUpdateHint is the way to a current database, shared by several hints.
const dbUpdateHint = "Let the provider download a current database (vulnerability_db.auto_update = true, the default, with update_url reachable), run `grype db update` with the same cache directory, or import an archive with vulnerability_db.archive."

// vulndbHints says, for each kind of database failure, what the user can
// do; the vulndb package states only the facts.
var vulndbHints = map[vulndb.Kind]string{
	vulndb.KindMissing:   dbUpdateHint,
	vulndb.KindStale:     "The gate will not pass on outdated vulnerability data. " + dbUpdateHint + " Raise vulnerability_db.max_age only if older data is acceptable.",
	vulndb.KindCorrupt:   "Delete the database directory so it is not trusted again, then install a fresh one. " + dbUpdateHint,
	vulndb.KindChecksum:  "Delete the database directory so it is not trusted again, then install a fresh one. " + dbUpdateHint,
	vulndb.KindSchema:    "Delete the database directory so it is not trusted again, then install a fresh one. " + dbUpdateHint,
	vulndb.KindUntrusted: "The vulnerability database directory is a trust boundary: whoever can write it decides what the gate finds. Make vulnerability_db.cache_dir, its 6/ directory and 6/vulnerability.db owned by the user running Terraform and writable by no one else (chmod go-w), or point cache_dir at a private directory of your own.",
	vulndb.KindFuture:    "A build time in the future means this machine's clock is wrong or the database was tampered with. Check the clock (NTP); if it is right, delete the database directory so it is not trusted again, then install a fresh one. " + dbUpdateHint,
	vulndb.KindUpdate:    "Check that vulnerability_db.update_url is reachable from where Terraform runs (and ca_cert, if it uses a private CA), or set require_update_check = false to fall back to the installed database when the check fails.",
}

// vulndbHint says how to fix a database failure of kind k.
func vulndbHint(k vulndb.Kind) string {
	if h, ok := vulndbHints[k]; ok {
		return h
	}
	return "Check the vulnerability_db settings of the provider."
}

// sbomCacheHint follows the scan warning of an SBOM cache that is not used.
const sbomCacheHint = "Set the provider's sbom_cache_dir to a directory of your own that no other user can write."

// withWarningHint adds what to do to a scan warning that the scan package
// states as a fact.
func withWarningHint(w string) string {
	if strings.HasPrefix(w, scan.CacheUnused) {
		return w + " " + sbomCacheHint
	}
	return w
}

// requestError reports a scan request that cannot be served as asked, on
// the attribute at fault.
func requestError(diags *diag.Diagnostics, reqErr *scan.RequestError) {
	switch reqErr.Kind {
	case scan.RequestSBOMOfIndex:
		first := "os/arch"
		if len(reqErr.Platforms) > 0 {
			first = reqErr.Platforms[0]
		}
		diags.AddAttributeError(path.Root("sbom_format"), "Invalid Scan Request",
			fmt.Sprintf("sbom_format needs one image: %v. Select one with platforms = [%q] to get its SBOM.", reqErr, first))
	default:
		diags.AddError("Invalid Scan Request", reqErr.Error()+".")
	}
}

// scanError reports a failed scan: a database problem, a registry problem,
// or a scan that could not finish. Never a partial result.
func scanError(diags *diag.Diagnostics, ref string, err error, platformAttr path.Path) {
	scanErrorAt(diags, ref, err, path.Root("reference"), platformAttr)
}

// scanErrorAt is scanError for a resource whose reference is in refAttr.
func scanErrorAt(diags *diag.Diagnostics, ref string, err error, refAttr, platformAttr path.Path) {
	if limitError(diags, err) {
		return
	}
	if dbErr, ok := errors.AsType[*vulndb.Error](err); ok {
		detail := fmt.Sprintf("%s could not be scanned: %v", ref, dbErr)
		if !dbErr.Built.IsZero() {
			detail += fmt.Sprintf(" (database built %s)", dbErr.Built.UTC().Format(time.RFC3339))
		}
		diags.AddError("Vulnerability Database Unusable", detail+".\n\n"+vulndbHint(dbErr.Kind))
		return
	}
	if reqErr, ok := errors.AsType[*scan.RequestError](err); ok {
		requestError(diags, reqErr)
		return
	}
	if _, ok := errors.AsType[*registry.Error](err); ok {
		registryErrorAt(diags, err, refAttr, platformAttr)
		return
	}
	diags.AddError("Image Scan Failed", fmt.Sprintf("%s could not be scanned completely: %v. A scan that cannot finish fails rather than report fewer vulnerabilities; retry, and check the image and the registry.", ref, err))
}

// scanWarnings turns the scans' warnings into warning diagnostics, each
// once (the platforms of an index share the database's warnings).
func scanWarnings(diags *diag.Diagnostics, results ...*scan.Result) {
	for _, w := range uniqueWarnings(results...) {
		diags.AddWarning("Image Scan Warning", w)
	}
}

// uniqueWarnings lists the scans' warnings in order, each once.
func uniqueWarnings(results ...*scan.Result) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, r := range results {
		for _, w := range r.Warnings {
			w = withWarningHint(w)
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// limitError reports an image that went past one of the provider's limits
// (layers, size, transfer rate, scan time), and says whether err was one.
func limitError(diags *diag.Diagnostics, err error) bool {
	var le *registry.LimitError
	if !errors.As(err, &le) {
		return false
	}
	// An error, not an attribute error: the setting is the provider's, not
	// the data source's.
	diags.AddError("Image Exceeds Provider Limit",
		le.Error()+". The scan stopped there and the image is not gated as passing: a scan that cannot finish fails.")
	return true
}
