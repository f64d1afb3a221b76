package provider

import (
	"cmp"
	"context"
	"slices"
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
	Platforms       []string             `tfsdk:"platforms"`
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
	PlatformResults []scanPlatformModel  `tfsdk:"platform_results"`
	DB              *dbModel             `tfsdk:"db"`
	SBOM            types.String         `tfsdk:"sbom"`
}

type distroModel struct {
	ID      string `tfsdk:"id"`
	Version string `tfsdk:"version"`
}

type scanPlatformModel struct {
	Platform       types.String     `tfsdk:"platform"`
	Digest         string           `tfsdk:"digest"`
	PackageCount   int64            `tfsdk:"package_count"`
	SeverityCounts map[string]int64 `tfsdk:"severity_counts"`
}

type packageModel struct {
	Platform types.String `tfsdk:"platform"`
	Name     string       `tfsdk:"name"`
	Version  string       `tfsdk:"version"`
	Type     string       `tfsdk:"type"`
	PURL     string       `tfsdk:"purl"`
}

type vulnerabilityModel struct {
	Platform        types.String  `tfsdk:"platform"`
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
	New             bool          `tfsdk:"new"`
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
		MarkdownDescription: "Scans an image for vulnerabilities: syft finds the OS and language packages (dpkg, apk, rpm, Go binaries, npm, Python, Java and the rest) and grype matches them against its vulnerability database. Every platform of a multi-platform index is scanned (or those `platforms` selects), each cached by its own manifest digest. The SBOM of each digest is cached, so a later plan re-matches it against the current database without pulling layers, and a CVE published after the first scan shows up at the next plan.",
		Attributes: map[string]schema.Attribute{
			"reference": referenceAttribute(),
			"platform":  deprecatedPlatformAttribute(),
			"platforms": platformsAttribute("scan"),
			"scope": schema.StringAttribute{
				MarkdownDescription: "Which files are cataloged: `squashed` (the default: what the final filesystem holds) or `all-layers` (also packages added in one layer and deleted in a later one, which still ship in the image).",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(string(scan.Squashed), string(scan.AllLayers))},
			},
			"sbom_format": schema.StringAttribute{
				MarkdownDescription: "When set, `sbom` holds the image's SBOM in this format: `cyclonedx-json`, `spdx-json` or `syft-json`. An SBOM describes one image: for a multi-platform index, select one platform with `platforms`. The SBOM lists each package's licenses, so asking for it runs syft's license scanner, which scans without it skip: the first plan that asks for an SBOM of an image cached without licenses pulls and catalogs it again.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(scan.Formats...)},
			},
			"include_packages": schema.BoolAttribute{
				MarkdownDescription: "Whether to list every package in `packages`. Defaults to false: Terraform stores each data source's result in state, and hundreds of packages per image would bloat it.",
				Optional:            true,
			},
			"digest":           computedString("The digest the reference resolved to: the multi-platform index, or the single image manifest."),
			"pinned_reference": computedString("The scanned reference pinned by that digest, `registry/repository@sha256:…`."),
			"distro": schema.SingleNestedAttribute{
				MarkdownDescription: "The operating system distribution found in the image, or null when there is none (or when the platforms scanned disagree).",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"id":      computedString("The distribution id from os-release, such as `debian` or `alpine`."),
					"version": computedString("The distribution version, such as `12.5`."),
				},
			},
			"package_count": schema.Int64Attribute{
				MarkdownDescription: "How many packages were found, summed over the platforms scanned.",
				Computed:            true,
			},
			"packages": schema.ListNestedAttribute{
				MarkdownDescription: "Every package found, sorted by name, version, type and platform; null unless `include_packages` is true.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"platform": computedString("The platform of the image the package is in, or null when the reference names a single image."),
					"name":     computedString("The package name."),
					"version":  computedString("The installed version."),
					"type":     computedString("The package type, such as `deb`, `npm` or `go-module`."),
					"purl":     computedString("The package URL."),
				}},
			},
			"vulnerabilities": schema.ListNestedAttribute{
				MarkdownDescription: "Every finding (a vulnerability in one package of one platform's image), sorted by id, then package name, version and platform, so an unchanged image and database give an empty plan.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"platform":          computedString("The platform of the image the finding is in, or null when the reference names a single image."),
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
					"new":               schema.BoolAttribute{MarkdownDescription: newDescription, Computed: true},
				}},
			},
			"severity_counts": schema.MapAttribute{
				MarkdownDescription: "How many findings there are of each severity, summed over the platforms scanned; every severity name is present, with 0 when there is none.",
				Computed:            true,
				ElementType:         types.Int64Type,
			},
			"platform_results": schema.ListNestedAttribute{
				MarkdownDescription: "One summary per image scanned, sorted by platform: a single image has one, an index one per platform.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"platform":      computedString("The platform, `os/arch[/variant]`, or null when the reference names a single image."),
					"digest":        computedString("The digest of the platform's image manifest."),
					"package_count": schema.Int64Attribute{MarkdownDescription: "How many packages were found in this platform's image.", Computed: true},
					"severity_counts": schema.MapAttribute{
						MarkdownDescription: "How many findings this platform's image has of each severity.",
						Computed:            true,
						ElementType:         types.Int64Type,
					},
				}},
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
	ctx = logged(ctx, d.data)
	var m scanModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	res, err := d.data.scanner.ScanAll(ctx, scan.Request{
		Reference:  m.Reference.ValueString(),
		Scope:      scan.Scope(m.Scope.ValueString()),
		SBOMFormat: m.SBOMFormat.ValueString(),
	}, selectedPlatforms(m.Platform, m.Platforms))
	if err != nil {
		scanError(&resp.Diagnostics, m.Reference.ValueString(), err, platformsPath(m.Platform))
		return
	}
	scanWarnings(&resp.Diagnostics, res.Scans()...)
	m.fill(res)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (m *scanModel) fill(set *scan.SetResult) {
	m.Digest = types.StringValue(set.Digest)
	m.PinnedReference = types.StringValue(set.PinnedReference)
	m.Distro = nil
	if d := commonDistro(set); d != nil {
		m.Distro = &distroModel{ID: d.ID, Version: d.Version}
	}
	m.Packages = nil
	if m.IncludePackages.ValueBool() {
		m.Packages = []packageModel{}
	}
	m.Vulnerabilities = []vulnerabilityModel{}
	m.SeverityCounts = map[string]int64{}
	m.PlatformResults = make([]scanPlatformModel, len(set.Platforms))
	var packages int64
	for i, res := range set.Platforms {
		platform := optionalString(res.Platform)
		packages += int64(res.PackageCount)
		if m.Packages != nil {
			for _, p := range res.Packages {
				m.Packages = append(m.Packages, packageModel{Platform: platform, Name: p.Name, Version: p.Version, Type: p.Type, PURL: p.PURL})
			}
		}
		for _, v := range res.Vulnerabilities {
			vm := vulnerabilityModel{
				Platform: platform, ID: v.ID, Aliases: v.Aliases, Severity: v.Severity,
				CVSSScore: types.Float64Null(), CVSSVector: optionalString(v.CVSSVector),
				PackageName: v.PackageName, PackageVersion: v.PackageVersion, PackageType: v.PackageType, PURL: v.PURL,
				FixState: v.FixState, FixedInVersions: v.FixedIn, Namespace: v.Namespace, URLs: v.URLs,
				LayerDigest: optionalString(v.LayerDigest), New: v.New,
			}
			if v.CVSSScore != nil {
				vm.CVSSScore = types.Float64Value(*v.CVSSScore)
			}
			m.Vulnerabilities = append(m.Vulnerabilities, vm)
		}
		counts := map[string]int64{}
		for k, n := range res.SeverityCounts {
			counts[k] = int64(n)
			m.SeverityCounts[k] += int64(n)
		}
		m.PlatformResults[i] = scanPlatformModel{Platform: platform, Digest: res.Digest, PackageCount: int64(res.PackageCount), SeverityCounts: counts}
	}
	// Each platform's lists are sorted and the platforms are in order, so a
	// stable sort keeps the platforms of one package or finding together.
	slices.SortStableFunc(m.Packages, func(a, b packageModel) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Type, b.Type))
	})
	slices.SortStableFunc(m.Vulnerabilities, func(a, b vulnerabilityModel) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.PackageName, b.PackageName), cmp.Compare(a.PackageVersion, b.PackageVersion))
	})
	m.PackageCount = types.Int64Value(packages)
	first := set.Platforms[0].Result
	m.DB = &dbModel{Built: first.DB.Built.UTC().Format(time.RFC3339), SchemaVersion: first.DB.SchemaVersion, Checksum: first.DB.Checksum}
	m.SBOM = optionalString(first.SBOM)
}

// commonDistro is the distribution every platform's image has, or nil.
func commonDistro(set *scan.SetResult) *scan.Distro {
	d := set.Platforms[0].Distro
	for _, p := range set.Platforms[1:] {
		if p.Distro == nil || d == nil || *p.Distro != *d {
			return nil
		}
	}
	return d
}
