package provider

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
)

// limitAttributes are the provider settings that bound what one image may
// cost, so a hostile image or registry fails closed instead of filling the
// disk or holding a plan open.
func limitAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"max_image_layers": schema.Int64Attribute{
			MarkdownDescription: fmt.Sprintf("The most layers an image may have to be scanned. An image with more fails its scan before any layer is pulled. Defaults to %d.", registry.DefaultMaxImageLayers),
			Optional:            true,
			Validators:          []validator.Int64{int64validator.AtLeast(1)},
		},
		"max_index_images": schema.Int64Attribute{
			MarkdownDescription: fmt.Sprintf("The most runnable images (platforms) a multi-platform index may list to be gated or scanned: each is pulled and scanned, so a hostile index of thousands fails at once instead. Defaults to %d.", registry.DefaultMaxIndexImages),
			Optional:            true,
			Validators:          []validator.Int64{int64validator.AtLeast(1)},
		},
		"max_image_size": schema.StringAttribute{
			MarkdownDescription: "The most bytes the layers of one image may hold uncompressed, such as `20GiB`, `500MB` or a plain number of bytes. The bytes are counted while the layers are pulled, so an oversized image (or a compression bomb) fails its scan before it fills the disk. Defaults to `20GiB`.",
			Optional:            true,
			Validators:          []validator.String{byteSizeSyntax("Invalid Max Image Size", `must be a positive size such as "20GiB", "500MB" or a number of bytes`, "")},
		},
		"scan_timeout": schema.StringAttribute{
			MarkdownDescription: "How long the whole scan of one image (resolving, pulling, cataloging and matching) may take, as a Go duration such as `30m` or `1h`, besides `request_timeout` for each request. A scan that takes longer fails. Defaults to `30m`.",
			Optional:            true,
			Validators:          []validator.String{durationSyntax("Invalid Scan Timeout", `"30m" or "1h"`)},
		},
		"min_transfer_rate": schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("The slowest average rate at which a registry may send a response body, layers included, such as `10KiB/s`; it is averaged over windows of %s, so a registry that trickles a byte at a time fails the scan instead of holding the plan open. Defaults to `1KiB/s`.", registry.DefaultTransferRateWindow),
			Optional:            true,
			Validators:          []validator.String{byteSizeSyntax("Invalid Min Transfer Rate", `must be a positive rate in bytes per second such as "10KiB/s" or "1MB/s"`, "/s")},
		},
	}
}

// applyLimits reads the limit settings into the registry options and
// returns the scanner options, adding an attribute error for each bad value.
func applyLimits(cfg providerModel, opts *registry.Options, diags *diag.Diagnostics) []scan.Option {
	if !cfg.MaxImageLayers.IsNull() {
		opts.MaxImageLayers = int(min(cfg.MaxImageLayers.ValueInt64(), math.MaxInt32))
	}
	if !cfg.MaxIndexImages.IsNull() {
		opts.MaxIndexImages = int(min(cfg.MaxIndexImages.ValueInt64(), math.MaxInt32))
	}
	if !cfg.MaxImageSize.IsNull() {
		n, err := parseBytes(cfg.MaxImageSize, "")
		if err != nil {
			diags.AddAttributeError(path.Root("max_image_size"), "Invalid Max Image Size",
				"max_image_size must be a positive size such as \"20GiB\", \"500MB\" or a number of bytes; got "+cfg.MaxImageSize.String()+".")
		}
		opts.MaxImageSize = n
	}
	if !cfg.MinTransferRate.IsNull() {
		n, err := parseBytes(cfg.MinTransferRate, "/s")
		if err != nil {
			diags.AddAttributeError(path.Root("min_transfer_rate"), "Invalid Min Transfer Rate",
				"min_transfer_rate must be a positive rate in bytes per second such as \"10KiB/s\" or \"1MB/s\"; got "+cfg.MinTransferRate.String()+".")
		}
		opts.MinTransferRate = n
	}
	var out []scan.Option
	if !cfg.ScanTimeout.IsNull() {
		d, err := time.ParseDuration(cfg.ScanTimeout.ValueString())
		if err != nil || d <= 0 {
			diags.AddAttributeError(path.Root("scan_timeout"), "Invalid Scan Timeout",
				"scan_timeout must be a positive Go duration such as \"30m\" or \"1h\"; got "+cfg.ScanTimeout.String()+".")
		}
		out = append(out, scan.WithTimeout(d))
	}
	return out
}

// parseBytes parses a positive size such as "20GiB", "500 MB" or "1024",
// with an optional suffix (such as "/s") after the unit.
func parseBytes(v types.String, suffix string) (int64, error) {
	s := strings.TrimSpace(v.ValueString())
	if suffix != "" {
		s = strings.TrimSpace(strings.TrimSuffix(s, suffix))
	}
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, err
	}
	if n == 0 || n > math.MaxInt64 {
		return 0, fmt.Errorf("%s is out of range", v)
	}
	return int64(n), nil
}
