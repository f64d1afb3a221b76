package provider

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

var _ datasource.DataSourceWithConfigure = &imageDataSource{}

// NewImageDataSource returns the imagegate_image data source.
func NewImageDataSource() datasource.DataSource { return &imageDataSource{} }

type imageDataSource struct {
	data *providerData
}

type imageModel struct {
	Reference       types.String      `tfsdk:"reference"`
	Platform        types.String      `tfsdk:"platform"`
	Digest          types.String      `tfsdk:"digest"`
	IndexDigest     types.String      `tfsdk:"index_digest"`
	PinnedReference types.String      `tfsdk:"pinned_reference"`
	OS              types.String      `tfsdk:"os"`
	Architecture    types.String      `tfsdk:"architecture"`
	Created         types.String      `tfsdk:"created"`
	User            types.String      `tfsdk:"user"`
	Labels          map[string]string `tfsdk:"labels"`
	Annotations     map[string]string `tfsdk:"annotations"`
	EnvNames        []string          `tfsdk:"env_names"`
	Healthcheck     []string          `tfsdk:"healthcheck"`
	ExposedPorts    []string          `tfsdk:"exposed_ports"`
	Entrypoint      []string          `tfsdk:"entrypoint"`
	Cmd             []string          `tfsdk:"cmd"`
	Layers          []layerModel      `tfsdk:"layers"`
	History         []historyModel    `tfsdk:"history"`
	BaseImage       *baseImageModel   `tfsdk:"base_image"`
	Size            types.Int64       `tfsdk:"size"`
	IncludeChecks   types.Bool        `tfsdk:"include_checks"`
	Checks          []imageCheckModel `tfsdk:"checks"`
}

// imageCheckModel is one hygiene check applied to the image.
type imageCheckModel struct {
	ID       string       `tfsdk:"id"`
	CIS      types.String `tfsdk:"cis"`
	Passed   bool         `tfsdk:"passed"`
	Subjects []string     `tfsdk:"subjects"`
}

type layerModel struct {
	Digest    string `tfsdk:"digest"`
	DiffID    string `tfsdk:"diff_id"`
	Size      int64  `tfsdk:"size"`
	MediaType string `tfsdk:"media_type"`
}

type historyModel struct {
	CreatedBy  string `tfsdk:"created_by"`
	EmptyLayer bool   `tfsdk:"empty_layer"`
}

type baseImageModel struct {
	Name   types.String `tfsdk:"name"`
	Digest types.String `tfsdk:"digest"`
}

func (d *imageDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_image"
}

func (d *imageDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Resolves an image reference to a digest and reads its manifest and config. No layer is pulled unless `include_checks` is true. Use `pinned_reference` wherever the image is deployed, so that what runs is exactly what was read.",
		Attributes: map[string]schema.Attribute{
			"reference":        referenceAttribute(),
			"platform":         platformAttribute(),
			"digest":           computedString("The digest of the platform image manifest, `sha256:…`. For a multi-platform index this is the manifest chosen by `platform`."),
			"index_digest":     computedString("The digest of the multi-platform index the reference names, or null when it names a single image."),
			"pinned_reference": computedString("The image pinned by digest, `registry/repository@sha256:…`."),
			"os":               computedString("The operating system from the image config, such as `linux`."),
			"architecture":     computedString("The CPU architecture from the image config, such as `amd64`."),
			"created":          computedString("When the image was built, in RFC 3339 form, as its config records; null when the config does not say."),
			"user":             computedString("The `USER` configured in the image, exactly as written (empty means root)."),
			"labels": schema.MapAttribute{
				MarkdownDescription: "The labels in the image config.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"annotations": schema.MapAttribute{
				MarkdownDescription: "The annotations on the image manifest.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"env_names":     computedStrings("The names of the environment variables set in the image config, sorted. Values are never read into state, since they may be secrets."),
			"healthcheck":   computedStrings("The `HEALTHCHECK` test command configured in the image, such as `[\"CMD-SHELL\", \"curl -f http://localhost/\"]`, or null when none is configured."),
			"exposed_ports": computedStrings("The ports the image exposes, such as `8080/tcp`, sorted."),
			"entrypoint":    computedStrings("The image's `ENTRYPOINT`."),
			"cmd":           computedStrings("The image's `CMD`."),
			"layers": schema.ListNestedAttribute{
				MarkdownDescription: "The filesystem layers, bottom first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"digest":     computedString("The digest of the compressed layer blob."),
					"diff_id":    computedString("The digest of the uncompressed layer, as the config lists it."),
					"size":       schema.Int64Attribute{MarkdownDescription: "The compressed size of the layer in bytes.", Computed: true},
					"media_type": computedString("The media type of the layer blob."),
				}},
			},
			"history": schema.ListNestedAttribute{
				MarkdownDescription: "The build steps recorded in the image config, oldest first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"created_by":  computedString("The command that created this step. Build-argument values that `docker build` records there (`RUN |1 TOKEN=… …`) are replaced by `<redacted>`, keeping the names: they may be secrets."),
					"empty_layer": schema.BoolAttribute{MarkdownDescription: "Whether the step added no layer (an `ENV` or `USER` instruction, for example).", Computed: true},
				}},
			},
			"base_image": schema.SingleNestedAttribute{
				MarkdownDescription: "The base image the image claims, from the `org.opencontainers.image.base.name` and `org.opencontainers.image.base.digest` annotations on the manifest (or the index), or null when they are absent. This is a claim, not proof: policies check it against the layers.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"name":   computedString("The base image reference the annotations name."),
					"digest": computedString("The base image digest the annotations name."),
				},
			},
			"size": schema.Int64Attribute{
				MarkdownDescription: "The total compressed size of the layers in bytes.",
				Computed:            true,
			},
			"include_checks": schema.BoolAttribute{
				MarkdownDescription: "Whether to apply every CIS image hygiene check to the image and report them in `checks`. Defaults to false, and then no layer is pulled. With true the image's layers are pulled and scanned like `imagegate_scan` does (the SBOM cache is used and filled), so it needs the provider's vulnerability database and takes as long as a scan.",
				Optional:            true,
			},
			"checks": schema.ListNestedAttribute{
				MarkdownDescription: "With `include_checks = true`, every hygiene check of `imagegate_policy`'s `checks` rule applied to the image with its defaults, without a policy, sorted by id: `denied_packages` (remote-access and network tools such as `openssh-server`, `sudo`, `netcat*`), `require_healthcheck`, `forbid_update_alone`, `forbid_setuid` (no path allowed), `forbid_add`, `forbid_secrets`, `forbid_latest_tag`, `max_age` (90 days), `required_labels` (`org.opencontainers.image.source` and `org.opencontainers.image.revision`) and `account_anomalies`. Null when `include_checks` is false.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":       computedString("The check id, as in the policy's `checks` rule and, after `checks.`, in a gate violation's `rule`."),
					"cis":      computedString("The CIS Docker Benchmark item the check implements, such as `4.8`, or null when no CIS item covers it."),
					"passed":   schema.BoolAttribute{MarkdownDescription: "Whether the image passes the check.", Computed: true},
					"subjects": computedStrings("What failed the check, sorted: packages, paths, variables (`env <NAME>`), build steps (`history[<index>]`), labels or accounts, as in a gate violation's `subject`; never a secret value. Empty when the check passed."),
				}},
			},
		},
	}
}

func (d *imageDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *imageDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = logged(ctx, d.data)
	var m imageModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.IncludeChecks.ValueBool() {
		// The reference is resolved once, for the image and its checks.
		hr, err := d.data.gate.Hygiene(ctx, gate.HygieneRequest{Reference: m.Reference.ValueString(), Platform: m.Platform.ValueString()})
		if err != nil {
			scanError(&resp.Diagnostics, m.Reference.ValueString(), err, path.Root("platform"))
			return
		}
		scanWarnings(&resp.Diagnostics, hr.Scan)
		m.fill(hr.Image)
		m.fillChecks(hr.Checks)
		resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
		return
	}
	img, err := d.data.registry.Inspect(ctx, m.Reference.ValueString(), m.Platform.ValueString())
	if err != nil {
		registryError(&resp.Diagnostics, err, path.Root("platform"))
		return
	}
	m.fill(img)
	m.Checks = nil
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (m *imageModel) fill(img *registry.Image) {
	m.Digest = types.StringValue(img.Digest)
	m.IndexDigest = optionalString(img.IndexDigest)
	m.PinnedReference = types.StringValue(img.PinnedReference)
	m.OS = types.StringValue(img.OS)
	m.Architecture = types.StringValue(img.Architecture)
	m.Created = types.StringNull()
	if !img.Created.IsZero() {
		m.Created = types.StringValue(img.Created.Format(time.RFC3339))
	}
	m.User = types.StringValue(img.User)
	m.Labels = img.Labels
	m.Annotations = img.Annotations
	m.EnvNames = img.EnvNames
	m.Healthcheck = img.Healthcheck
	m.ExposedPorts = img.ExposedPorts
	m.Entrypoint = img.Entrypoint
	m.Cmd = img.Cmd
	m.Layers = make([]layerModel, len(img.Layers))
	for i, l := range img.Layers {
		m.Layers[i] = layerModel{Digest: l.Digest, DiffID: l.DiffID, Size: l.Size, MediaType: l.MediaType}
	}
	m.History = make([]historyModel, len(img.History))
	for i, h := range img.History {
		m.History[i] = historyModel{CreatedBy: h.CreatedBy, EmptyLayer: h.EmptyLayer}
	}
	m.BaseImage = nil
	if b := img.BaseImage; b != nil {
		m.BaseImage = &baseImageModel{Name: optionalString(b.Name), Digest: optionalString(b.Digest)}
	}
	m.Size = types.Int64Value(img.Size)
}

// fillChecks sets checks from the hygiene results, sorted by id.
func (m *imageModel) fillChecks(checks []policy.CheckResult) {
	m.Checks = make([]imageCheckModel, len(checks))
	for i, c := range checks {
		subjects := slices.Clone(c.Subjects)
		if subjects == nil {
			subjects = []string{}
		}
		m.Checks[i] = imageCheckModel{ID: c.ID, CIS: optionalString(c.CIS), Passed: c.Passed, Subjects: subjects}
	}
	slices.SortFunc(m.Checks, func(a, b imageCheckModel) int { return strings.Compare(a.ID, b.ID) })
}
