package provider

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

var (
	_ datasource.DataSourceWithConfigure      = &signaturesDataSource{}
	_ datasource.DataSourceWithValidateConfig = &signaturesDataSource{}
)

// NewSignaturesDataSource returns the imagegate_signatures data source.
func NewSignaturesDataSource() datasource.DataSource { return &signaturesDataSource{} }

type signaturesDataSource struct {
	data *providerData
}

type signaturesModel struct {
	Reference types.String `tfsdk:"reference"`
	Platform  types.String `tfsdk:"platform"`
	signerRequirementsModel
	Attestations []attestationResultModel `tfsdk:"attestations"`
	Verified     types.Bool               `tfsdk:"verified"`
	Digest       types.String             `tfsdk:"digest"`
	Signers      []signerModel            `tfsdk:"signers"`
	Failures     []string                 `tfsdk:"failures"`
}

type attestationResultModel struct {
	PredicateType types.String `tfsdk:"predicate_type"`
	Verified      types.Bool   `tfsdk:"verified"`
}

type signerModel struct {
	KeyID   types.String `tfsdk:"key_id"`
	Issuer  types.String `tfsdk:"issuer"`
	Subject types.String `tfsdk:"subject"`
	Format  types.String `tfsdk:"format"`
}

func (d *signaturesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_signatures"
}

func (d *signaturesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	optional := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Verifies the cosign signatures and attestations attached to an image, offline, at plan time. It reads both formats cosign writes: the classic `sha256-<hex>.sig` and `.att` tags, and sigstore bundles attached as OCI 1.1 referrers. " +
			"The reference is resolved once and only `repository@digest` is verified. An image that is not signed as required is data, not an error: `verified` is false and `failures` says why; use `imagegate_gate` with a `signatures` rule in the policy to fail the plan. " +
			"An error is reported only when verification cannot be carried out: invalid requirements, an unreachable registry, a breached limit.",
		Attributes: map[string]schema.Attribute{
			"reference": referenceAttribute(),
			"platform": schema.StringAttribute{
				MarkdownDescription: "The platform (`os/arch` or `os/arch/variant`) whose image manifest is verified when the reference names a multi-platform index, instead of the index itself. Without it, the digest the reference resolves to (the index, or the single image) is verified. For a single image, the platform must be the image's own.",
				Optional:            true,
				Validators:          []validator.String{platformSyntax},
			},
			"keys": schema.ListAttribute{
				MarkdownDescription: descKeys,
				Optional:            true,
				ElementType:         types.StringType,
			},
			"identities": schema.ListNestedAttribute{
				MarkdownDescription: descIdentities,
				Optional:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"issuer":        optional(descIssuer),
					"issuer_regex":  optional(descIssuerRegex),
					"subject":       optional(descSubject),
					"subject_regex": optional(descSubjectRegex),
				}},
			},
			"trusted_root": optional(descTrustedRoot),
			"require_docker_reference": schema.BoolAttribute{
				MarkdownDescription: descRequireDockerReference,
				Optional:            true,
			},
			"annotations": schema.MapAttribute{
				MarkdownDescription: descAnnotations,
				Optional:            true,
				ElementType:         types.StringType,
			},
			"attestations": schema.ListNestedAttribute{
				MarkdownDescription: descAttestationsRequired + " Each entry reports whether it verified.",
				Optional:            true,
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"predicate_type": schema.StringAttribute{MarkdownDescription: descPredicateType, Required: true},
					"verified": schema.BoolAttribute{
						MarkdownDescription: "Whether an attestation of this predicate type, signed by one of the signers, verified on the digest.",
						Computed:            true,
					},
				}},
			},
			"minimum": schema.Int64Attribute{
				MarkdownDescription: descMinimum,
				Optional:            true,
				Computed:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"verified": schema.BoolAttribute{
				MarkdownDescription: "Whether at least `minimum` distinct signers signed the digest (with the required annotations and docker reference) and every required attestation verified.",
				Computed:            true,
			},
			"digest": computedString("The digest verified, `sha256:…`: the one the reference resolves to, or the platform's manifest digest when `platform` is set."),
			"signers": schema.ListNestedAttribute{
				MarkdownDescription: "The signers whose signatures verified, one entry per signer and format, sorted.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key_id":  computedString("For a key signer, `sha256:<hex>`: the SHA-256 of the public key's DER (PKIX) encoding; null for a keyless signer."),
					"issuer":  computedString("For a keyless signer, the certificate's OIDC issuer; null for a key signer."),
					"subject": computedString("For a keyless signer, the certificate's subject; null for a key signer."),
					"format":  computedString("Where the signature was found: `classic` (a `sha256-<hex>.sig` tag) or `bundle` (a sigstore bundle referrer)."),
				}},
			},
			"failures": computedStrings("Why each expected signer, attestation or minimum was not met, as `<expected>: <message>` (for example `key sha256:…: no cosign signature is attached …`), sorted; for debugging a `verified = false`. A verified result can still list signers beyond the minimum that did not sign."),
		},
	}
}

func (d *signaturesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the requirements as soon as they are known, so a
// malformed key or regular expression fails validate, not plan.
func (d *signaturesDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	// The model's lists and maps cannot hold an unknown value: wait for
	// the requirements to be known (the reference need not be).
	var attrs map[string]tftypes.Value
	if err := req.Config.Raw.As(&attrs); err != nil {
		return
	}
	for _, name := range []string{"keys", "identities", "trusted_root", "require_docker_reference", "annotations", "attestations", "minimum"} {
		if !attrs[name].IsFullyKnown() {
			return
		}
	}
	var m signaturesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r, ok := m.requirements(m.predicateTypes())
	if !ok {
		return // checked again at read, once known
	}
	// A minimum below 1 has its own validator; do not report it twice.
	r.Minimum = max(r.Minimum, 1)
	requirementProblems(&resp.Diagnostics, r.Check())
}

func (m *signaturesModel) predicateTypes() []types.String {
	out := make([]types.String, len(m.Attestations))
	for i, a := range m.Attestations {
		out[i] = a.PredicateType
	}
	return out
}

func (d *signaturesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = logged(ctx, d.data)
	var m signaturesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r, ok := m.requirements(m.predicateTypes())
	if !ok {
		resp.Diagnostics.AddError("Unknown Signature Requirements", "The signature requirements depend on a value that is not known yet; this data source is read once they are.")
		return
	}
	if ps := r.Check(); len(ps) > 0 {
		requirementProblems(&resp.Diagnostics, ps)
		return
	}
	ref := m.Reference.ValueString()
	// Resolve once; from here on only repository@digest is read. Without a
	// platform that is the digest the reference names, and the manifests
	// of an index's platforms are not read.
	var target name.Digest
	var err error
	if p := m.Platform.ValueString(); p != "" {
		var set *registry.Set
		if set, err = d.data.registry.ResolveAll(ctx, ref, []string{p}); err == nil {
			img := set.Images[0]
			target = img.Ref.Context().Digest(img.Digest.String())
		}
	} else {
		target, err = d.data.registry.ResolveDigest(ctx, ref)
	}
	if err != nil {
		verifyError(&resp.Diagnostics, ref, err)
		return
	}
	res, err := d.data.verifier.Verify(ctx, target, r)
	if err != nil {
		verifyError(&resp.Diagnostics, target.String(), err)
		return
	}
	m.fill(res)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// fill sets the outputs; the required attestations keep their configured
// order, each with its result.
func (m *signaturesModel) fill(res *verify.Result) {
	if m.Minimum.IsNull() {
		m.Minimum = types.Int64Value(1)
	}
	m.Verified = types.BoolValue(res.Verified)
	m.Digest = types.StringValue(res.Digest)
	m.Signers = make([]signerModel, len(res.Signers))
	for i, s := range res.Signers {
		m.Signers[i] = signerModel{KeyID: optionalString(s.KeyID), Issuer: optionalString(s.Issuer), Subject: optionalString(s.Subject), Format: types.StringValue(s.Format)}
	}
	verified := map[string]bool{}
	for _, a := range res.Attestations {
		verified[a.PredicateType] = a.Verified
	}
	for i := range m.Attestations {
		m.Attestations[i].Verified = types.BoolValue(verified[m.Attestations[i].PredicateType.ValueString()])
	}
	m.Failures = make([]string, len(res.Failures))
	for i, f := range res.Failures {
		m.Failures[i] = f.Expected + ": " + f.Message
	}
}
