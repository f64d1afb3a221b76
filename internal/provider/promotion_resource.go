package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/promote"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

var (
	_ resource.ResourceWithConfigure      = &promotionResource{}
	_ resource.ResourceWithModifyPlan     = &promotionResource{}
	_ resource.ResourceWithImportState    = &promotionResource{}
	_ resource.ResourceWithValidateConfig = &promotionResource{}
)

// NewPromotionResource returns the imagegate_promotion resource.
func NewPromotionResource() resource.Resource { return &promotionResource{} }

// promotionResource copies an approved digest from a staging registry to a
// production tag. The gate runs at plan time and again just before the
// copy; refresh re-checks the tag (drift) and the digest's compliance.
type promotionResource struct{ data *providerData }

type promotionModel struct {
	ID                   types.String   `tfsdk:"id"`
	Source               types.String   `tfsdk:"source"`
	Destination          types.String   `tfsdk:"destination"`
	Policy               types.String   `tfsdk:"policy"`
	CopySignatures       types.Bool     `tfsdk:"copy_signatures"`
	KeepOnDestroy        types.Bool     `tfsdk:"keep_on_destroy"`
	Digest               types.String   `tfsdk:"digest"`
	DestinationReference types.String   `tfsdk:"destination_reference"`
	PolicyID             types.String   `tfsdk:"policy_id"`
	Evaluation           types.Object   `tfsdk:"evaluation"`
	Compliant            types.Bool     `tfsdk:"compliant"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

var (
	evaluationViolationType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"platform": types.StringType, "rule": types.StringType, "cis": types.StringType, "action": types.StringType, "subject": types.StringType, "message": types.StringType,
	}}
	evaluationType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"passed": types.BoolType, "db_built": types.StringType, "violations": types.ListType{ElemType: evaluationViolationType},
	}}
)

func (r *promotionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_promotion"
}

func (r *promotionResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Promotes an approved image from a staging registry to a production tag: the last step of the pipeline in \"Securing Container Images\", managed by Terraform so production only ever receives approved digests and drift shows in the plan. " +
			"The source is resolved to a digest at plan time and gated there with the same engine as `imagegate_gate` (every platform of an index must pass), so `terraform plan` already fails for an image that would be refused; apply evaluates again just before copying, since the database may have changed. " +
			"The copy is by digest (every blob and child manifest, then signatures and referrers), and the tag is written last and confirmed, so it never names an incomplete image. " +
			"Refresh re-checks the tag (a tag moved or deleted out of band shows as a re-create) and re-matches the promoted digest's cached SBOM against the current database: `compliant` turns false, with a warning, when a vulnerability published after the promotion breaks the policy. " +
			"Promotion always enforces the policy: the provider's `enforce = false` does not let a failing image into production.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The destination tag and the promoted digest, `registry/repository:tag@sha256:…` (the import id).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"source": schema.StringAttribute{
				MarkdownDescription: "The image in the staging registry, by tag or digest. It is resolved to a digest at plan time, so the plan shows exactly which digest is promoted; a new digest replaces the promotion.",
				Required:            true,
				Validators:          []validator.String{referenceSyntax},
			},
			"destination": schema.StringAttribute{
				MarkdownDescription: "The production tag, `registry/repository:tag`. Changing it replaces the promotion.",
				Required:            true,
				Validators:          []validator.String{tagSyntax},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"policy": schema.StringAttribute{
				MarkdownDescription: "The policy document the image must pass: an `imagegate_policy`'s or `imagegate_policy_document`'s `document`, or a policy JSON file that validates.",
				Required:            true,
			},
			"copy_signatures": schema.BoolAttribute{
				MarkdownDescription: "Whether the signatures, attestations and SBOMs attached to the digest (and to each platform's manifest of an index) are copied too: the classic cosign `sha256-<hex>.sig`, `.att` and `.sbom` tags and the OCI referrers. Defaults to true.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"keep_on_destroy": schema.BoolAttribute{
				MarkdownDescription: "Whether destroying the promotion leaves the image at the destination. Defaults to true: destroy only forgets the promotion. With false, destroy deletes the destination manifest (and so its tag) if the tag still names the promoted digest; a registry that does not allow deletion makes destroy fail with a message saying so.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"digest": schema.StringAttribute{
				MarkdownDescription: "The promoted digest, `sha256:…` (of the index for a multi-platform image), known at plan time.",
				Computed:            true,
			},
			"destination_reference": schema.StringAttribute{
				MarkdownDescription: "The promoted image in the production registry, pinned: `registry/repository@sha256:…`.",
				Computed:            true,
			},
			"policy_id": schema.StringAttribute{
				MarkdownDescription: "The id of the policy the image was promoted under: the SHA-256 of its canonical document, `sha256:…`.",
				Computed:            true,
			},
			"evaluation": schema.SingleNestedAttribute{
				MarkdownDescription: "The gate's decision on the promoted digest, made at apply and refreshed with every plan.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"passed":   schema.BoolAttribute{MarkdownDescription: "Whether the image passed the policy.", Computed: true},
					"db_built": computed("When the vulnerability database used was built (RFC 3339, UTC)."),
					"violations": schema.ListNestedAttribute{
						MarkdownDescription: "The violations, warn-level ones included, most important first, as in `imagegate_gate`'s `violations`.",
						Computed:            true,
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"platform": computed("The platform the violation was found in, for an index; null otherwise."),
							"rule":     computed("The rule violated: `vulnerabilities`, `user`, `base_image`, `registries`, `signatures`, `policy`, or `checks.<check id>` for a hygiene check."),
							"cis":      computed("The CIS Docker Benchmark item the rule or check implements, such as `4.8` for `checks.forbid_setuid`, or null when no CIS item covers it."),
							"action":   computed("`stop` or `warn`."),
							"subject":  computed("What the violation is about: a vulnerability and package, the user, the base, the repository or the expected signer."),
							"message":  computed("A readable explanation."),
						}},
					},
				},
			},
			"compliant": schema.BoolAttribute{
				MarkdownDescription: "Whether the promoted digest still passes the policy against the current vulnerability database. Re-evaluated at every refresh from the cached SBOM (no layer is pulled again); false, with a warning naming the findings, when a vulnerability published after the promotion breaks the policy. A non-compliant promotion is not undone: it is an alert.",
				Computed:            true,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

func (r *promotionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *promotionResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var p types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("policy"), &p)...)
	if p.IsUnknown() || p.IsNull() {
		return
	}
	if _, err := policy.Parse([]byte(p.ValueString())); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("policy"), "Invalid Policy", err.Error()+".")
	}
}

// planned is what a plan knows about a promotion: the source resolved and
// the policy parsed.
type planned struct {
	source  name.Digest // staging repository@digest
	dest    name.Tag
	policy  *policy.Policy
	id      string
	digest  string
	destRef string
}

// resolve parses the policy and destination and resolves the source to a
// digest, reporting problems on their attributes.
func (r *promotionResource) resolve(ctx context.Context, m *promotionModel, diags *diag.Diagnostics) *planned {
	pol, err := policy.Parse([]byte(m.Policy.ValueString()))
	if err != nil {
		diags.AddAttributeError(path.Root("policy"), "Invalid Policy", err.Error()+".")
		return nil
	}
	_, id, err := pol.Canonical()
	if err != nil {
		diags.AddAttributeError(path.Root("policy"), "Invalid Policy", err.Error()+".")
		return nil
	}
	dest, err := promote.ParseDestination(r.data.registry, m.Destination.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("destination"), "Invalid Destination", err.Error())
		return nil
	}
	set, err := r.data.registry.ResolveAll(ctx, m.Source.ValueString(), nil)
	if err != nil {
		registryErrorAt(diags, err, path.Root("source"), path.Root("source"))
		return nil
	}
	digest := set.Digest.String()
	return &planned{
		source: set.Ref.Context().Digest(digest), dest: dest, policy: pol, id: id, digest: digest,
		destRef: registry.Pin(dest.Context(), digest),
	}
}

func (r *promotionResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	ctx = logged(ctx, r.data)
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or validation before the provider is configured
	}
	var plan promotionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *promotionModel
	if !req.State.Raw.IsNull() {
		state = &promotionModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if plan.Source.IsUnknown() || plan.Policy.IsUnknown() || plan.Destination.IsUnknown() {
		// Known at apply; the gate runs then. A source known only then
		// may name another digest, which replaces the promotion: the apply
		// cannot turn a planned update into a replacement.
		if state != nil && plan.Source.IsUnknown() {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("source"))
		}
		return
	}
	p := r.resolve(ctx, &plan, &resp.Diagnostics)
	if p == nil {
		return
	}
	plan.Digest, plan.DestinationReference, plan.PolicyID = types.StringValue(p.digest), types.StringValue(p.destRef), types.StringValue(p.id)
	plan.ID = types.StringValue(p.dest.String() + "@" + p.digest)
	changed := copies(state, &plan)
	if state != nil && state.Digest.ValueString() != p.digest {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("digest"))
	}
	if changed {
		// The apply will copy: gate now, so the plan fails for an image
		// that would be refused.
		if r.gateSource(ctx, p, &resp.Diagnostics) == nil {
			return
		}
		plan.Evaluation, plan.Compliant = types.ObjectUnknown(evaluationType.AttrTypes), types.BoolUnknown()
	} else {
		plan.Evaluation, plan.Compliant = state.Evaluation, state.Compliant
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *promotionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = logged(ctx, r.data)
	var m promotionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Create(ctx, 30*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.promote(ctx, &m, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *promotionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	ctx = logged(ctx, r.data)
	var m, state promotionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if copies(&state, &m) {
		timeout, diags := m.Timeouts.Update(ctx, 30*time.Minute)
		resp.Diagnostics.Append(diags...)
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		r.promote(ctx, &m, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// copies says whether applying plan over state copies (and so gates)
// anything: a first promotion, another digest or destination, another
// policy, or signatures newly asked for. Other changes (keep_on_destroy,
// timeouts, the source's spelling) only update the state.
func copies(state, plan *promotionModel) bool {
	return state == nil || state.Digest.ValueString() != plan.Digest.ValueString() || state.PolicyID.ValueString() != plan.PolicyID.ValueString() ||
		!state.CopySignatures.Equal(plan.CopySignatures) || state.Destination.ValueString() != plan.Destination.ValueString()
}

// gateSource gates the source digest the promotion copies.
func (r *promotionResource) gateSource(ctx context.Context, p *planned, diags *diag.Diagnostics) *gate.Result {
	src := p.source.String()
	return r.data.gateBeforeWrite(ctx, gate.Request{Reference: src, Policy: p.policy}, src, path.Root("source"), path.Root("source"), promotionMore, diags)
}

// promote gates the source again (the database may have changed since the
// plan) and copies it; nothing is copied when the gate fails.
func (r *promotionResource) promote(ctx context.Context, m *promotionModel, diags *diag.Diagnostics) {
	p := r.resolve(ctx, m, diags)
	if p == nil {
		return
	}
	if planned := m.Digest.ValueString(); planned != "" && planned != p.digest {
		diags.AddAttributeError(path.Root("source"), "Source Moved Since the Plan",
			fmt.Sprintf("%s resolved to %s when the plan was made and resolves to %s now. Nothing was copied: plan again to promote the new digest.", m.Source.ValueString(), planned, p.digest))
		return
	}
	res := r.gateSource(ctx, p, diags)
	if res == nil {
		return
	}
	out, err := promote.New(r.data.registry).Copy(ctx, promote.Request{Source: p.source, Destination: p.dest, CopySignatures: m.CopySignatures.ValueBool()})
	if err != nil {
		diags.AddError("Promotion Failed", fmt.Sprintf("Copying %s to %s failed: %v. The destination tag was not moved; apply again to complete the copy (what was already copied is not uploaded again).", p.source, p.dest, err))
		return
	}
	m.Digest, m.DestinationReference, m.PolicyID = types.StringValue(p.digest), types.StringValue(out.DestinationReference), types.StringValue(p.id)
	m.ID = types.StringValue(p.dest.String() + "@" + p.digest)
	m.Evaluation = evaluationValue(res, diags)
	m.Compliant = types.BoolValue(res.Decision.Passed)
}

func evaluationValue(res *gate.Result, diags *diag.Diagnostics) types.Object {
	vs := make([]attr.Value, len(res.Decision.Violations))
	for i, v := range res.Decision.Violations {
		o, d := types.ObjectValue(evaluationViolationType.AttrTypes, map[string]attr.Value{
			"platform": optionalString(v.Platform), "rule": types.StringValue(v.Rule), "cis": optionalString(v.CIS), "action": types.StringValue(v.Action),
			"subject": types.StringValue(v.Subject), "message": types.StringValue(v.Message),
		})
		diags.Append(d...)
		vs[i] = o
	}
	list, d := types.ListValue(evaluationViolationType, vs)
	diags.Append(d...)
	built := types.StringNull()
	if len(res.Platforms) > 0 && res.Platforms[0].Scan != nil {
		built = types.StringValue(res.Platforms[0].Scan.DB.Built.UTC().Format(time.RFC3339))
	}
	o, d := types.ObjectValue(evaluationType.AttrTypes, map[string]attr.Value{
		"passed": types.BoolValue(res.Decision.Passed), "db_built": built, "violations": list,
	})
	diags.Append(d...)
	return o
}

func (r *promotionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx = logged(ctx, r.data)
	var m promotionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Read(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dest, err := promote.ParseDestination(r.data.registry, m.Destination.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("destination"), "Invalid Destination", err.Error())
		return
	}
	current, err := promote.New(r.data.registry).Current(ctx, dest)
	if err != nil {
		registryErrorAt(&resp.Diagnostics, err, path.Root("destination"), path.Root("destination"))
		return
	}
	if current != m.Digest.ValueString() {
		what := "no longer exists"
		if current != "" {
			what = "now names " + current
		}
		resp.Diagnostics.AddWarning("Promoted Tag Changed Outside Terraform",
			fmt.Sprintf("%s %s, not the promoted %s; the plan re-creates the promotion.", dest, what, m.Digest.ValueString()))
		resp.State.RemoveResource(ctx)
		return
	}
	if !m.Policy.IsNull() {
		pol, err := policy.Parse([]byte(m.Policy.ValueString()))
		if err == nil {
			res, err := r.data.gate.Evaluate(ctx, gate.Request{Reference: m.DestinationReference.ValueString(), Policy: pol})
			if err != nil {
				scanErrorAt(&resp.Diagnostics, m.DestinationReference.ValueString(), err, path.Root("destination"), path.Root("destination"))
				return
			}
			m.Evaluation = evaluationValue(res, &resp.Diagnostics)
			m.Compliant = types.BoolValue(res.Decision.Passed)
			if !res.Decision.Passed {
				resp.Diagnostics.AddWarning("Promoted Image No Longer Compliant", noncompliance(m.DestinationReference.ValueString(), pol, res))
			}
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// promotionMore says how to see every violation of a refused promotion.
const promotionMore = "an imagegate_gate of the source with the same policy and enforce = false writes all of them to its violations attribute"

// noncompliance says which violations the promoted digest has now, the
// findings first published after it was first scanned marked as new.
func noncompliance(ref string, pol *policy.Policy, res *gate.Result) string {
	var stops []policy.Violation
	for _, v := range res.Decision.Violations {
		if v.Action == policy.ActionStop {
			stops = append(stops, v)
		}
	}
	return fmt.Sprintf("%s was promoted under policy %q and now fails it with %s (against the vulnerability database built %s):\n%s\n\nThe image stays where it is: rebuild it on patched packages and promote the new digest, or add an exception to the policy.",
		ref, pol.Name, plural(len(stops), "violation"), res.Platforms[0].Scan.DB.Built.UTC().Format(time.RFC3339), listViolationsMore(stops, res, "the promotion's evaluation.violations lists all of them"))
}

func (r *promotionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	ctx = logged(ctx, r.data)
	var m promotionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.KeepOnDestroy.IsNull() || m.KeepOnDestroy.ValueBool() {
		return
	}
	timeout, diags := m.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dest, err := promote.ParseDestination(r.data.registry, m.Destination.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("destination"), "Invalid Destination", err.Error())
		return
	}
	if err := promote.New(r.data.registry).Delete(ctx, dest, m.Digest.ValueString()); err != nil {
		resp.Diagnostics.AddError("Promoted Image Not Deleted", fmt.Sprintf("Deleting %s (%s) failed: %v. Set keep_on_destroy = true to forget the promotion without deleting, or delete the tag with the registry's own tools.", dest, m.Digest.ValueString(), err))
	}
}

// ImportState adopts a promoted tag: the id is
// `registry/repository:tag@sha256:…`. The source and policy come from the
// configuration.
func (r *promotionResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	tag, digest, ok := strings.Cut(req.ID, "@")
	d, err := name.NewDigest(req.ID, name.WeakValidation)
	if _, explicit := registry.ExplicitTag(tag); !ok || err != nil || !explicit {
		resp.Diagnostics.AddError("Invalid Import Id", fmt.Sprintf("%q is not registry/repository:tag@sha256:<64 hex digits>: import a promotion by its destination tag and the digest it holds.", req.ID))
		return
	}
	for attrName, v := range map[string]any{
		"id": req.ID, "destination": tag, "digest": digest, "destination_reference": registry.Pin(d.Context(), digest),
		"copy_signatures": true, "keep_on_destroy": true,
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attrName), v)...)
	}
}
