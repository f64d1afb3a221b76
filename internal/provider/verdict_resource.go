package provider

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/verdict"
)

var (
	_ resource.ResourceWithConfigure      = &verdictResource{}
	_ resource.ResourceWithModifyPlan     = &verdictResource{}
	_ resource.ResourceWithImportState    = &verdictResource{}
	_ resource.ResourceWithValidateConfig = &verdictResource{}
)

// NewVerdictResource returns the imagegate_verdict resource.
func NewVerdictResource() resource.Resource { return &verdictResource{} }

// verdictResource gates an image at plan and apply and, when it passes,
// attaches the decision to its digest as a signed in-toto attestation.
type verdictResource struct{ data *providerData }

type verdictModel struct {
	ID                 types.String   `tfsdk:"id"`
	Reference          types.String   `tfsdk:"reference"`
	Policy             types.String   `tfsdk:"policy"`
	Platforms          types.List     `tfsdk:"platforms"`
	SigningKey         types.String   `tfsdk:"signing_key"`
	SigningKeyPassword types.String   `tfsdk:"signing_key_password"`
	Digest             types.String   `tfsdk:"digest"`
	Passed             types.Bool     `tfsdk:"passed"`
	PolicyID           types.String   `tfsdk:"policy_id"`
	PublicKey          types.String   `tfsdk:"public_key"`
	PredicateType      types.String   `tfsdk:"predicate_type"`
	AttestationDigest  types.String   `tfsdk:"attestation_digest"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func (r *verdictResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_verdict"
}

func (r *verdictResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Attaches imagegate's decision to an image digest as a signed in-toto attestation (predicate type `" + verdict.PredicateType + "`), so an admission controller can require \"approved by imagegate under policy X\" at deploy time (see the admission guide). " +
			"The reference is resolved to a digest and gated at plan time with the same engine as `imagegate_gate` (every platform of an index must pass), so `terraform plan` fails for an image that would be refused, with the same message; apply gates again (the database may have changed) and only then signs and attaches the verdict. A failing image gets no verdict and fails the apply. " +
			"The attestation is stored as `cosign attest` stores it (a DSSE envelope in the digest's `sha256-<hex>.att` manifest, no transparency log), so `cosign verify-attestation --key cosign.pub --type " + verdict.PredicateType + " --insecure-ignore-tlog=true`, the sigstore policy-controller, Kyverno and `imagegate_signatures` verify it. Attaching it never changes the image, its digest or its tags. " +
			"Refresh checks that a verdict signed by the key for this policy is still attached; one removed out of band shows as a re-create. Destroy only forgets the verdict: attestations are not deleted from the registry. Import is not supported: apply creates a new verdict instead. " +
			"The provider's `enforce = false` does not apply: a verdict is only ever written for an image that passed.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The image the verdict is attached to, `registry/repository@sha256:…`.",
				Computed:            true,
			},
			"reference": schema.StringAttribute{
				MarkdownDescription: "The image, by tag (`registry/repository:tag`) or by digest (`registry/repository@sha256:…`). It is resolved to a digest at plan time; a new digest replaces the verdict (the old digest keeps its own).",
				Required:            true,
				Validators:          []validator.String{referenceSyntax},
			},
			"policy": schema.StringAttribute{
				MarkdownDescription: "The policy document the image must pass: an `imagegate_policy`'s `document`, or a policy JSON file that validates. Its id (`policy_id`) is written into the verdict, for admission rules to require.",
				Required:            true,
			},
			"platforms": schema.ListAttribute{
				MarkdownDescription: "The platforms (`os/arch` or `os/arch/variant`) to gate when the reference names a multi-platform index. By default every platform is gated and the verdict is attached to the index digest. With exactly one platform listed, the verdict is attached to that platform's image digest; listing several (but not all) platforms is refused, since no single digest covers exactly the platforms gated.",
				Optional:            true,
				ElementType:         types.StringType,
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(platformSyntax),
				},
			},
			"signing_key": schema.StringAttribute{
				MarkdownDescription: "The private key that signs the verdict, in PEM: cosign's encrypted format (`cosign generate-key-pair`, with `signing_key_password`) or an unencrypted PKCS#8 key (ECDSA P-256/P-384/P-521, Ed25519 or RSA of 2048 bits or more). Write-only: it is never stored in state or shown in plan output, which needs Terraform 1.11 or OpenTofu 1.11 or later. When it is unset, the verdict is signed with the provider's `registry_attestations.signing_key`, the place for the key with older Terraform versions (provider configuration is never stored in state either); one of the two is required. Changing the key (which changes `public_key`) attaches a new verdict signed with it.",
				Optional:            true,
				Sensitive:           true,
				WriteOnly:           true,
			},
			"signing_key_password": schema.StringAttribute{
				MarkdownDescription: "The password of an encrypted cosign `signing_key`; leave it unset for a PKCS#8 key. Write-only, like `signing_key`. A wrong password fails the plan with a message that never contains it.",
				Optional:            true,
				Sensitive:           true,
				WriteOnly:           true,
			},
			"digest": computed("The digest the verdict is attached to, `sha256:…`, known at plan time: the index for a multi-platform image (or the one platform's image when `platforms` selects exactly one), else the image."),
			"passed": schema.BoolAttribute{
				MarkdownDescription: "Whether the image passed the policy. Always true once the verdict exists: a failing image fails the plan and the apply and gets no verdict.",
				Computed:            true,
			},
			"policy_id":          computed("The id of the policy the verdict is for: the SHA-256 of its canonical document, `sha256:…`, as `imagegate_policy`'s `id`. The verdict's `predicate.policy.id`, which admission rules compare."),
			"public_key":         computed("The public key of the signing key, in PEM (as `cosign.pub`): give it to `cosign verify-attestation --key`, to the admission controller, or to `imagegate_signatures`' `keys`."),
			"predicate_type":     computed("The in-toto predicate type of the verdict, `" + verdict.PredicateType + "`."),
			"attestation_digest": computed("The digest of the digest's `sha256-<hex>.att` manifest right after the verdict was appended to it. Attestations attached later (by imagegate or cosign) change that manifest; refresh looks for the verdict itself, so that is not drift."),
			"timeouts":           timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true}),
		},
	}
}

func (r *verdictResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *verdictResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m verdictModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !m.SigningKey.IsNull() && !req.ClientCapabilities.WriteOnlyAttributesAllowed {
		resp.Diagnostics.AddAttributeError(path.Root("signing_key"), "Write-Only Signing Key Not Supported",
			"signing_key is write-only, so that the key is never stored in state, and this Terraform version cannot send write-only attributes (Terraform 1.11 and OpenTofu 1.11 can). Remove signing_key and signing_key_password from imagegate_verdict and set the key in the provider's registry_attestations.signing_key and signing_key_password instead: provider configuration is never stored in state either.")
	}
	if !m.SigningKeyPassword.IsNull() && m.SigningKey.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("signing_key_password"), "Password Without Signing Key",
			"signing_key_password is set but signing_key is not: set the encrypted cosign key it belongs to, or remove the password (a key in the provider's registry_attestations takes its password there).")
	}
	if m.Policy.IsUnknown() || m.Policy.IsNull() {
		return
	}
	if _, err := policy.Parse([]byte(m.Policy.ValueString())); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("policy"), "Invalid Policy", err.Error()+". Pass the document of an imagegate_policy, or a policy JSON file that validates.")
	}
}

// signer returns the key that signs the verdict: the configuration's
// write-only signing_key, else the provider's registry_attestations key.
// unknown says the key is known only at apply.
func (r *verdictResource) signer(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) (s *attest.Signer, unknown bool) {
	var key, password types.String
	diags.Append(config.GetAttribute(ctx, path.Root("signing_key"), &key)...)
	diags.Append(config.GetAttribute(ctx, path.Root("signing_key_password"), &password)...)
	switch {
	case diags.HasError():
		return nil, false
	case key.IsUnknown() || password.IsUnknown():
		return nil, true
	case !key.IsNull():
		return r.data.verdictSigner(key.ValueString(), password.ValueString(), diags), false
	case r.data.signer != nil:
		return r.data.signer, false
	}
	diags.AddAttributeError(path.Root("signing_key"), "Missing Signing Key",
		"imagegate_verdict signs each verdict and has no key: set signing_key (write-only, with Terraform 1.11 or OpenTofu 1.11 or later), or the provider's registry_attestations.signing_key, which every version supports. Neither is ever stored in state.")
	return nil, false
}

// verdictSigner is loadVerdictSigner once per key and password in this
// process: decrypting a cosign key costs scrypt (tens of MiB and a good
// part of a second) every time, and a configuration may sign many verdicts
// with one key, each in its plan and again in its apply. A key that does
// not load is not kept, so each verdict reports it.
func (d *providerData) verdictSigner(key, password string, diags *diag.Diagnostics) *attest.Signer {
	id := sha256.Sum256([]byte(key + "\x00" + password)) // a PEM key holds no NUL
	if v, ok := d.verdictSigners.Load(id); ok {
		if s, ok := v.(*attest.Signer); ok {
			return s
		}
	}
	s := loadVerdictSigner(key, password, diags)
	if s != nil {
		d.verdictSigners.Store(id, s)
	}
	return s
}

// loadVerdictSigner reads the signing key, reporting a problem on the key
// or on its password. attest's messages never contain the password; the
// password is taken out anyway, should a message ever echo it.
func loadVerdictSigner(key, password string, diags *diag.Diagnostics) *attest.Signer {
	s, err := attest.LoadSigner([]byte(key), []byte(password))
	if err == nil {
		return s
	}
	msg := err.Error()
	if password != "" {
		msg = strings.ReplaceAll(msg, password, "<redacted>")
	}
	at, summary := path.Root("signing_key"), "Invalid Signing Key"
	if strings.Contains(msg, "password") {
		at, summary = path.Root("signing_key_password"), "Signing Key Password Does Not Fit"
	}
	diags.AddAttributeError(at, summary, msg+".")
	return nil
}

// verdictPlan is what a plan knows about a verdict: the policy parsed and
// the reference resolved to the digest the verdict goes on.
type verdictPlan struct {
	policy   *policy.Policy
	policyID string
	digest   name.Digest // repository@sha256:…, what the verdict is attached to
	// resolved is repository@sha256:… of what the reference named (the
	// index, when platforms selects one of its images): the gate evaluates
	// it with platforms, so each image is named by its platform.
	resolved  string
	platforms []string
}

// resolve parses the policy and resolves the reference to the digest the
// verdict would be attached to, as the gate approves it.
func (r *verdictResource) resolve(ctx context.Context, m *verdictModel, diags *diag.Diagnostics) *verdictPlan {
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
	var platforms []string
	if !m.Platforms.IsNull() {
		diags.Append(m.Platforms.ElementsAs(ctx, &platforms, false)...)
		if diags.HasError() {
			return nil
		}
	}
	set, err := r.data.registry.ResolveAll(ctx, m.Reference.ValueString(), platforms)
	if err != nil {
		registryErrorAt(diags, err, path.Root("reference"), path.Root("platforms"))
		return nil
	}
	repo := set.Ref.Context()
	var d name.Digest
	switch {
	case !set.Index || len(set.Skipped) == 0:
		d = repo.Digest(set.Digest.String())
	case len(set.Images) == 1:
		d = repo.Digest(set.Images[0].Digest.String())
	default:
		diags.AddAttributeError(path.Root("platforms"), "No Single Digest for the Platforms",
			fmt.Sprintf("platforms selects %d of the platforms of %s (%s) and leaves out %s: a verdict on the index digest would also approve the platforms not gated, and no platform's digest covers the others. Remove platforms to gate the whole index, or give one imagegate_verdict per platform.",
				len(set.Images), m.Reference.ValueString(), strings.Join(imagePlatforms(set.Images), ", "), strings.Join(set.Skipped, ", ")))
		return nil
	}
	return &verdictPlan{policy: pol, policyID: id, digest: d, resolved: set.PinnedReference(), platforms: platforms}
}

// gate gates what the verdict is for; ref is the reference as written.
func (r *verdictResource) gate(ctx context.Context, p *verdictPlan, ref string, diags *diag.Diagnostics) *gate.Result {
	req := gate.Request{Reference: p.resolved, Platforms: p.platforms, Policy: p.policy}
	return r.data.gateBeforeWrite(ctx, req, ref, path.Root("reference"), path.Root("platforms"), gateMore, diags)
}

func (r *verdictResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or validation before the provider is configured
	}
	var plan verdictModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *verdictModel
	if !req.State.Raw.IsNull() {
		state = &verdictModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	plan.PredicateType = types.StringValue(verdict.PredicateType)
	// A key that does not load (a wrong password) fails the plan, not the
	// apply after the gate.
	switch s, unknown := r.signer(ctx, req.Config, &resp.Diagnostics); {
	case unknown:
		plan.PublicKey = types.StringUnknown()
	case s == nil:
		return
	default:
		pub, err := s.PublicKeyPEM()
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("signing_key"), "Invalid Signing Key", err.Error()+".")
			return
		}
		plan.PublicKey = types.StringValue(pub)
	}
	if plan.Reference.IsUnknown() || plan.Policy.IsUnknown() || !fullyKnown(ctx, plan.Platforms) {
		// Known at apply; the gate runs then.
		plan.ID, plan.Digest, plan.PolicyID = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
		plan.Passed, plan.AttestationDigest = types.BoolUnknown(), types.StringUnknown()
		if state != nil && (plan.Reference.IsUnknown() || !fullyKnown(ctx, plan.Platforms)) {
			// The digest may change, which replaces the verdict; the
			// apply cannot turn a planned update into a replacement.
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("reference"))
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	p := r.resolve(ctx, &plan, &resp.Diagnostics)
	if p == nil {
		return
	}
	plan.ID, plan.Digest, plan.PolicyID = types.StringValue(p.digest.String()), types.StringValue(p.digest.DigestStr()), types.StringValue(p.policyID)
	if state != nil && state.ID.ValueString() != plan.ID.ValueString() {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("digest"))
	}
	if publishes(state, &plan) {
		// The apply will attach a verdict: gate now, so the plan fails for
		// an image that would be refused.
		if r.gate(ctx, p, plan.Reference.ValueString(), &resp.Diagnostics) == nil {
			return
		}
		plan.Passed, plan.AttestationDigest = types.BoolValue(true), types.StringUnknown()
	} else {
		plan.Passed, plan.AttestationDigest = state.Passed, state.AttestationDigest
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// publishes says whether applying plan over state attaches a verdict: a
// first verdict, another digest, policy, signing key or platform set.
// Other changes (timeouts, the reference's spelling) only update the
// state.
func publishes(state, plan *verdictModel) bool {
	return state == nil || state.AttestationDigest.IsNull() || state.ID.ValueString() != plan.ID.ValueString() ||
		state.PolicyID.ValueString() != plan.PolicyID.ValueString() ||
		plan.PublicKey.IsUnknown() || state.PublicKey.ValueString() != plan.PublicKey.ValueString() ||
		!state.Platforms.Equal(plan.Platforms)
}

func (r *verdictResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m verdictModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Create(ctx, 30*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.publish(ctx, &m, req.Config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *verdictResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, state verdictModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if publishes(&state, &m) {
		timeout, diags := m.Timeouts.Update(ctx, 30*time.Minute)
		resp.Diagnostics.Append(diags...)
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		r.publish(ctx, &m, req.Config, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// publish gates the image again (the database may have changed since the
// plan) and, only when it passes, signs the verdict and attaches it.
func (r *verdictResource) publish(ctx context.Context, m *verdictModel, config tfsdk.Config, diags *diag.Diagnostics) {
	signer, _ := r.signer(ctx, config, diags)
	if signer == nil {
		return
	}
	pub, err := signer.PublicKeyPEM()
	if err != nil {
		diags.AddAttributeError(path.Root("signing_key"), "Invalid Signing Key", err.Error()+".")
		return
	}
	p := r.resolve(ctx, m, diags)
	if p == nil {
		return
	}
	if planned := m.ID.ValueString(); planned != "" && planned != p.digest.String() {
		diags.AddAttributeError(path.Root("reference"), "Reference Moved Since the Plan",
			fmt.Sprintf("%s resolved to %s when the plan was made and resolves to %s now. No verdict was attached: plan again to judge the new digest.", m.Reference.ValueString(), planned, p.digest))
		return
	}
	res := r.gate(ctx, p, m.Reference.ValueString(), diags)
	if res == nil {
		return
	}
	if res.ApprovedReference != p.digest.String() {
		diags.AddError("Verdict Not Attached", fmt.Sprintf("The gate approved %q, not %s, so no verdict was attached. This is a bug in imagegate: please report it.", res.ApprovedReference, p.digest))
		return
	}
	pred, err := verdict.NewPredicate(verdict.Input{
		Reference: m.Reference.ValueString(), Digest: p.digest, Policy: p.policy, Document: []byte(m.Policy.ValueString()), Result: res, Now: r.data.now(),
	})
	if err != nil {
		diags.AddError("Verdict Not Attached", err.Error()+".")
		return
	}
	out, err := verdict.Publish(ctx, attest.New(r.data.registry, nil), p.digest, pred, signer)
	if err != nil {
		diags.AddAttributeError(path.Root("reference"), "Verdict Not Attached", fmt.Sprintf("%s passed policy %q, but its verdict could not be attached: %v. Nothing else was changed; apply again once the registry accepts writes to %s.", p.digest, p.policy.Name, err, p.digest.Context()))
		return
	}
	m.ID, m.Digest, m.PolicyID = types.StringValue(p.digest.String()), types.StringValue(p.digest.DigestStr()), types.StringValue(p.policyID)
	m.Passed, m.PublicKey, m.PredicateType = types.BoolValue(true), types.StringValue(pub), types.StringValue(verdict.PredicateType)
	m.AttestationDigest = optionalString(out.ManifestDigest)
}

func (r *verdictResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m verdictModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.ID.IsNull() || m.PublicKey.IsNull() || m.PolicyID.IsNull() {
		return
	}
	timeout, diags := m.Timeouts.Read(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ref, err := r.data.registry.ParseReference(m.ID.ValueString())
	d, ok := ref.(name.Digest)
	if err != nil || !ok {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid Verdict Id", fmt.Sprintf("%q is not registry/repository@sha256:<hex>: remove the resource from the state and apply again.", m.ID.ValueString()))
		return
	}
	found, err := verdict.Find(ctx, r.data.verifier, d, m.PublicKey.ValueString(), m.PolicyID.ValueString())
	if err != nil {
		verifyError(&resp.Diagnostics, d.String(), err)
		return
	}
	if found == nil {
		resp.Diagnostics.AddWarning("Verdict Attestation Missing",
			fmt.Sprintf("No verdict of policy %s signed by the configured key is attached to %s any more (it was removed outside Terraform); the plan attaches a new one.", m.PolicyID.ValueString(), d))
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// Delete forgets the verdict: attestations stay in the registry, since
// other verdicts and SBOMs share the digest's .att manifest and a
// registry may refuse deletes.
func (r *verdictResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// ImportState refuses: no import id can name the signing key, and applying
// creates a new verdict just as well.
func (r *verdictResource) ImportState(_ context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.AddError("Import Not Supported",
		fmt.Sprintf("imagegate_verdict cannot be imported (id %q): declare the resource and apply, which gates the image and attaches a new verdict signed with its key; existing attestations stay where they are.", req.ID))
}

// imagePlatforms lists the platforms of resolved images, sorted.
func imagePlatforms(imgs []*registry.Resolved) []string {
	out := make([]string, len(imgs))
	for i, img := range imgs {
		out[i] = img.Platform
	}
	slices.Sort(out)
	return out
}

// fullyKnown says whether v and every value in it are known.
func fullyKnown(ctx context.Context, v attr.Value) bool {
	tv, err := v.ToTerraformValue(ctx)
	return err == nil && tv.IsFullyKnown()
}
