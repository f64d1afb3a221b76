package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
)

var _ datasource.DataSourceWithConfigure = &scanDataSource{}

// NewScanDataSource returns the imagegate_scan data source.
func NewScanDataSource() datasource.DataSource { return &scanDataSource{} }

type scanDataSource struct {
	data *providerData
}

type scanModel struct {
	Reference       types.String         `tfsdk:"reference"`
	Platform        types.String         `tfsdk:"platform"`
	Scope           types.String         `tfsdk:"scope"`
	SBOMFormat      types.String         `tfsdk:"sbom_format"`
	IncludePackages types.Bool           `tfsdk:"include_packages"`
	Digest          types.String         `tfsdk:"digest"`
	PinnedReference types.String         `tfsdk:"pinned_reference"`
	Distro          *distroModel         `tfsdk:"distro"`
	PackageCount    types.Int64          `tfsdk:"package_count"`
	Packages        []packageModel       `tfsdk:"packages"`
	Vulnerabilities []vulnerabilityModel `tfsdk:"vulnerabilities"`
	SeverityCounts  map[string]int64     `tfsdk:"severity_counts"`
	DB              *dbModel             `tfsdk:"db"`
	SBOM            types.String         `tfsdk:"sbom"`
}

type distroModel struct {
	ID      string `tfsdk:"id"`
	Version string `tfsdk:"version"`
}

type packageModel struct {
	Name    string `tfsdk:"name"`
	Version string `tfsdk:"version"`
	Type    string `tfsdk:"type"`
	PURL    string `tfsdk:"purl"`
}

type vulnerabilityModel struct {
	ID              string        `tfsdk:"id"`
	Aliases         []string      `tfsdk:"aliases"`
	Severity        string        `tfsdk:"severity"`
	CVSSScore       types.Float64 `tfsdk:"cvss_score"`
	CVSSVector      types.String  `tfsdk:"cvss_vector"`
	PackageName     string        `tfsdk:"package_name"`
	PackageVersion  string        `tfsdk:"package_version"`
	PackageType     string        `tfsdk:"package_type"`
	PURL            string        `tfsdk:"purl"`
	FixState        string        `tfsdk:"fix_state"`
	FixedInVersions []string      `tfsdk:"fixed_in_versions"`
	Namespace       string        `tfsdk:"namespace"`
	URLs            []string      `tfsdk:"urls"`
	LayerDigest     types.String  `tfsdk:"layer_digest"`
}

type dbModel struct {
	Built         string `tfsdk:"built"`
	SchemaVersion string `tfsdk:"schema_version"`
	Checksum      string `tfsdk:"checksum"`
}

func (d *scanDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_scan"
}

func (d *scanDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Scans an image for vulnerabilities: syft finds the OS and language packages (dpkg, apk, rpm, Go binaries, npm, Python, Java and the rest) and grype matches them against its vulnerability database. The SBOM of each digest is cached, so a later plan re-matches it against the current database without pulling layers, and a CVE published after the first scan shows up at the next plan.",
		Attributes: map[string]schema.Attribute{
			"reference": referenceAttribute(),
			"platform":  platformAttribute(),
			"scope": schema.StringAttribute{
				MarkdownDescription: "Which files are cataloged: `squashed` (the default: what the final filesystem holds) or `all-layers` (also packages added in one layer and deleted in a later one, which still ship in the image).",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(string(scan.Squashed), string(scan.AllLayers))},
			},
			"sbom_format": schema.StringAttribute{
				MarkdownDescription: "When set, `sbom` holds the image's SBOM in this format: `cyclonedx-json`, `spdx-json` or `syft-json`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(scan.Formats...)},
			},
			"include_packages": schema.BoolAttribute{
				MarkdownDescription: "Whether to list every package in `packages`. Defaults to false: Terraform stores each data source's result in state, and hundreds of packages per image would bloat it.",
				Optional:            true,
			},
			"digest":           computedString("The digest of the scanned platform image manifest."),
			"pinned_reference": computedString("The scanned image pinned by digest, `registry/repository@sha256:…`."),
			"distro": schema.SingleNestedAttribute{
				MarkdownDescription: "The operating system distribution found in the image, or null when there is none.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"id":      computedString("The distribution id from os-release, such as `debian` or `alpine`."),
					"version": computedString("The distribution version, such as `12.5`."),
				},
			},
			"package_count": schema.Int64Attribute{
				MarkdownDescription: "How many packages were found.",
				Computed:            true,
			},
			"packages": schema.ListNestedAttribute{
				MarkdownDescription: "Every package found, sorted by name, version and type; null unless `include_packages` is true.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":    computedString("The package name."),
					"version": computedString("The installed version."),
					"type":    computedString("The package type, such as `deb`, `npm` or `go-module`."),
					"purl":    computedString("The package URL."),
				}},
			},
			"vulnerabilities": schema.ListNestedAttribute{
				MarkdownDescription: "Every finding (a vulnerability in one package), sorted by id, then package name, then version, so an unchanged image and database give an empty plan.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":                computedString("The vulnerability id as the database records it: a CVE, GHSA or GO id."),
					"aliases":           computedStrings("Other ids of the same vulnerability, such as the CVE of a GHSA advisory, sorted."),
					"severity":          computedString("grype's severity: `negligible`, `low`, `medium`, `high`, `critical` or `unknown`."),
					"cvss_score":        schema.Float64Attribute{MarkdownDescription: "The highest CVSS base score the database has for the finding, or null when it has none.", Computed: true},
					"cvss_vector":       computedString("The CVSS vector of that score, or null."),
					"package_name":      computedString("The vulnerable package."),
					"package_version":   computedString("The installed version."),
					"package_type":      computedString("The package type, such as `deb`, `npm` or `go-module`."),
					"purl":              computedString("The package URL."),
					"fix_state":         computedString("Whether a fix exists: `fixed`, `not-fixed`, `wont-fix` or `unknown`."),
					"fixed_in_versions": computedStrings("The versions that fix the vulnerability, sorted."),
					"namespace":         computedString("The database namespace the record came from, such as `debian:distro:debian:12` or `github:language:javascript`."),
					"urls":              computedStrings("Reference URLs for the vulnerability, sorted."),
					"layer_digest":      computedString("The digest of the layer that introduced the package (as in `imagegate_image.layers[*].digest`)."),
				}},
			},
			"severity_counts": schema.MapAttribute{
				MarkdownDescription: "How many findings there are of each severity; every severity name is present, with 0 when there is none.",
				Computed:            true,
				ElementType:         types.Int64Type,
			},
			"db": schema.SingleNestedAttribute{
				MarkdownDescription: "The vulnerability database the image was matched against.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"built":          computedString("When the database was built, in RFC 3339 form."),
					"schema_version": computedString("The database schema version, such as `v6.1.10`."),
					"checksum":       computedString("The checksum of the database file, as recorded when it was installed."),
				},
			},
			"sbom": computedString("The SBOM in `sbom_format`, or null when `sbom_format` is not set. It is made once per digest and cached, so it is identical between plans."),
		},
	}
}

func (d *scanDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *scanDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m scanModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	res, err := d.data.scanner.Scan(ctx, scan.Request{
		Reference:  m.Reference.ValueString(),
		Platform:   m.Platform.ValueString(),
		Scope:      scan.Scope(m.Scope.ValueString()),
		SBOMFormat: m.SBOMFormat.ValueString(),
	})
	if err != nil {
		scanError(&resp.Diagnostics, m.Reference.ValueString(), err)
		return
	}
	scanWarnings(&resp.Diagnostics, res)
	m.fill(res)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (m *scanModel) fill(res *scan.Result) {
	m.Digest = types.StringValue(res.Digest)
	m.PinnedReference = types.StringValue(res.PinnedReference)
	m.Distro = nil
	if res.Distro != nil {
		m.Distro = &distroModel{ID: res.Distro.ID, Version: res.Distro.Version}
	}
	m.PackageCount = types.Int64Value(int64(res.PackageCount))
	m.Packages = nil
	if m.IncludePackages.ValueBool() {
		m.Packages = make([]packageModel, len(res.Packages))
		for i, p := range res.Packages {
			m.Packages[i] = packageModel{Name: p.Name, Version: p.Version, Type: p.Type, PURL: p.PURL}
		}
	}
	m.Vulnerabilities = make([]vulnerabilityModel, len(res.Vulnerabilities))
	for i, v := range res.Vulnerabilities {
		vm := vulnerabilityModel{
			ID: v.ID, Aliases: v.Aliases, Severity: v.Severity,
			CVSSScore: types.Float64Null(), CVSSVector: optionalString(v.CVSSVector),
			PackageName: v.PackageName, PackageVersion: v.PackageVersion, PackageType: v.PackageType, PURL: v.PURL,
			FixState: v.FixState, FixedInVersions: v.FixedIn, Namespace: v.Namespace, URLs: v.URLs,
			LayerDigest: optionalString(v.LayerDigest),
		}
		if v.CVSSScore != nil {
			vm.CVSSScore = types.Float64Value(*v.CVSSScore)
		}
		m.Vulnerabilities[i] = vm
	}
	m.SeverityCounts = map[string]int64{}
	for k, n := range res.SeverityCounts {
		m.SeverityCounts[k] = int64(n)
	}
	m.DB = &dbModel{Built: res.DB.Built.UTC().Format(time.RFC3339), SchemaVersion: res.DB.SchemaVersion, Checksum: res.DB.Checksum}
	m.SBOM = optionalString(res.SBOM)
}
