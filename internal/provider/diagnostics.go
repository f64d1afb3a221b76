package provider

import (
	"errors"
	"fmt"
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
	detail := err.Error()
	if h := re.Hint(); h != "" {
		detail += "\n\n" + h
	}
	switch re.Kind {
	case registry.KindInvalidReference:
		diags.AddAttributeError(refAttr, "Invalid Image Reference", detail)
	case registry.KindInvalidPlatform:
		diags.AddAttributeError(platformAttr, "Invalid Platform", detail)
	case registry.KindPlatform:
		diags.AddAttributeError(platformAttr, "Platform Not In Image", detail)
	case registry.KindNotFound:
		diags.AddAttributeError(refAttr, "Image Not Found", detail)
	case registry.KindUnauthorized:
		diags.AddError("Registry Authentication Failed", detail)
	case registry.KindInsecure:
		diags.AddError("Plain HTTP Registry Refused", detail)
	case registry.KindUnreachable:
		diags.AddError("Registry Unreachable", detail)
	case registry.KindUnsupported:
		diags.AddAttributeError(refAttr, "Unsupported Image", detail)
	default:
		diags.AddError("Image Read Failed", detail)
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
		diags.AddError("Vulnerability Database Unusable", detail+".\n\n"+dbErr.Hint())
		return
	}
	if reqErr, ok := errors.AsType[*scan.RequestError](err); ok {
		diags.AddAttributeError(path.Root(reqErr.Attribute), "Invalid Scan Request", reqErr.Error()+".")
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
