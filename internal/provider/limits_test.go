package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// limitsProvider is the env's provider block with extra top-level settings.
func (e *scanEnv) limitsProvider(extra string) string {
	return providerConfig(fmt.Sprintf(`
  sbom_cache_dir = %q
  vulnerability_db = {
    cache_dir            = %q
    update_url           = %q
    require_update_check = true
  }
%s`, e.sbomDir, e.dbDir, e.dbServer.URL(), extra), e.reg.Host)
}

func TestAccProviderLimitSettingsInvalid(t *testing.T) {
	data := `
data "imagegate_image" "x" {
  reference = "example.com/app:v1"
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: providerConfig(`max_image_size = "huge"`) + data, ExpectError: regexp.MustCompile(`(?s)Invalid Max Image Size.*20GiB`)},
			{Config: providerConfig(`max_image_size = "0"`) + data, ExpectError: regexp.MustCompile(`Invalid Max Image Size`)},
			{Config: providerConfig(`min_transfer_rate = "fast"`) + data, ExpectError: regexp.MustCompile(`(?s)Invalid Min Transfer Rate.*10KiB/s`)},
			{Config: providerConfig(`scan_timeout = "0s"`) + data, ExpectError: regexp.MustCompile(`(?s)Invalid Scan Timeout.*30m`)},
			{Config: providerConfig(`max_image_layers = 0`) + data, ExpectError: regexp.MustCompile(`(?s)max_image_layers.*at least 1`)},
		},
	})
}

func TestAccScanLimits(t *testing.T) {
	e := newScanEnv(t)
	// 8 MiB of zeros: a few KiB to pull, 8 MiB unpacked.
	zeros := testutil.Layer(t, testutil.Files{"zeros": make([]byte, 8<<20)})
	bomb := e.reg.Push(t, "bomb:1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{zeros}}))
	many := e.reg.Push(t, "many:1", testutil.RandomImage(t, 3, v1.Config{}))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config:      e.limitsProvider(`max_image_size = "1MiB"`) + scanConfig("bomb", e.reg.Ref("bomb:1"), ""),
				ExpectError: regexp.MustCompile(`(?s)Image Exceeds Provider Limit.*` + regexp.QuoteMeta(bomb) + `.*max_image_size\s+\(1.0\s+MiB\).*raise\s+max_image_size`),
			},
			{
				Config:      e.limitsProvider(`max_image_layers = 2`) + scanConfig("many", e.reg.Ref("many:1"), ""),
				ExpectError: regexp.MustCompile(`(?s)Image Exceeds Provider Limit.*` + regexp.QuoteMeta(many) + `.*has\s+3\s+layers.*max_image_layers\s+\(2\)`),
			},
			{
				// Every setting given and within its limit: the scan passes.
				Config: e.limitsProvider(`
  max_image_size    = "20GiB"
  max_image_layers  = 256
  scan_timeout      = "30m"
  min_transfer_rate = "10KiB/s"`) + scanConfig("bomb", e.reg.Ref("bomb:1"), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_scan.bomb", tfjsonpath.New("pinned_reference"), knownvalue.StringExact(bomb)),
				},
			},
		},
	})
}

func TestApplyLimits(t *testing.T) {
	cfg := providerModel{
		MaxImageLayers:  types.Int64Value(10),
		MaxImageSize:    types.StringValue("20GiB"),
		MinTransferRate: types.StringValue("10 KiB/s"),
		ScanTimeout:     types.StringValue("5m"),
	}
	var opts registry.Options
	var diags diag.Diagnostics
	scanOpts := applyLimits(cfg, &opts, &diags)
	if diags.HasError() || opts.MaxImageLayers != 10 || opts.MaxImageSize != 20<<30 || opts.MinTransferRate != 10<<10 || len(scanOpts) != 1 {
		t.Fatalf("valid settings: %+v %v", opts, diags)
	}
	if n, _ := parseBytes(types.StringValue("500MB"), ""); n != 500_000_000 {
		t.Errorf("500MB is %d bytes", n)
	}
	for name, bad := range map[string]providerModel{
		"max_image_size":    {MaxImageSize: types.StringValue("-1GiB")},
		"min_transfer_rate": {MinTransferRate: types.StringValue("0/s")},
		"scan_timeout":      {ScanTimeout: types.StringValue("30")},
	} {
		var diags diag.Diagnostics
		applyLimits(bad, &registry.Options{}, &diags)
		if !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), name) {
			t.Errorf("%s: %v", name, diags)
		}
	}
}
