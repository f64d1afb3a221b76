package provider

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

var (
	_ resource.ResourceWithImportState    = &policyResource{}
	_ resource.ResourceWithModifyPlan     = &policyResource{}
	_ resource.ResourceWithValidateConfig = &policyResource{}
)

// NewPolicyResource returns the imagegate_policy resource.
func NewPolicyResource() resource.Resource { return &policyResource{} }

// policyResource is policy as code: its state is the canonical document,
// computed at plan time so a change shows as a diff and gates that read
// `document` are evaluated in the same plan. It calls no remote API.
type policyResource struct{}

type policyModel struct {
	ID              types.String            `tfsdk:"id"`
	Name            types.String            `tfsdk:"name"`
	Description     types.String            `tfsdk:"description"`
	Vulnerabilities *vulnerabilityRuleModel `tfsdk:"vulnerabilities"`
	User            *userRuleModel          `tfsdk:"user"`
	BaseImage       *baseImageRuleModel     `tfsdk:"base_image"`
	Registries      *registryRuleModel      `tfsdk:"registries"`
	Signatures      *signaturesRuleModel    `tfsdk:"signatures"`
	Checks          *checksRuleModel        `tfsdk:"checks"`
	Document        types.String            `tfsdk:"document"`
}

type vulnerabilityRuleModel struct {
	Action         types.String   `tfsdk:"action"`
	FailOnSeverity types.String   `tfsdk:"fail_on_severity"`
	MaxCVSSScore   types.Float64  `tfsdk:"max_cvss_score"`
	OnlyFixed      types.Bool     `tfsdk:"only_fixed"`
	TreatUnknownAs types.String   `tfsdk:"treat_unknown_as"`
	Ignore         []ignoreModel  `tfsdk:"ignore"`
	VEXDocuments   []types.String `tfsdk:"vex_documents"`
	IgnoreFile     types.String   `tfsdk:"ignore_file"`
}

type ignoreModel struct {
	ID       types.String `tfsdk:"id"`
	Package  types.String `tfsdk:"package"`
	Version  types.String `tfsdk:"version"`
	Type     types.String `tfsdk:"type"`
	PURL     types.String `tfsdk:"purl"`
	Location types.String `tfsdk:"location"`
	Reason   types.String `tfsdk:"reason"`
	Expires  types.String `tfsdk:"expires"`
}

type userRuleModel struct {
	Action         types.String `tfsdk:"action"`
	RequireNonRoot types.Bool   `tfsdk:"require_non_root"`
}

type baseImageRuleModel struct {
	Action  types.String   `tfsdk:"action"`
	Trusted []types.String `tfsdk:"trusted"`
	Require types.Bool     `tfsdk:"require"`
}

type registryRuleModel struct {
	Action  types.String   `tfsdk:"action"`
	Trusted []types.String `tfsdk:"trusted"`
}

func (r *policyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_policy"
}

func actionAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "What a violation of this rule does: `stop` (the default) fails the gate, `warn` reports it as a warning and lets the gate pass.",
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(policy.ActionStop),
		// The policy's own validation (validatePolicyConfig) names a bad
		// action and the fix: a schema validator would add a second error.
	}
}

func (r *policyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A container-image policy, as code: the rules an image must meet to pass `imagegate_gate`. A policy must check something: one without rules, or with a rule that cannot fail (such as `user = {}`), is refused. Nothing is created remotely; the resource holds the canonical, versioned JSON `document`, which is computed at plan time so every change shows in the plan diff. The same JSON can be written by hand and passed to a gate with `file(\"policy.json\")`; both paths share one validator.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The SHA-256 of the canonical document, `sha256:…`.",
				Computed:            true,
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "The policy's name, shown in gate failures.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "What the policy is for.",
				Optional:            true,
			},
			"vulnerabilities": schema.SingleNestedAttribute{
				MarkdownDescription: "Fail on scan findings by severity or CVSS score. Set at least one of `fail_on_severity` and `max_cvss_score`.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"action": actionAttribute(),
					"fail_on_severity": schema.StringAttribute{
						MarkdownDescription: "A finding at or above this severity fails: `negligible`, `low`, `medium`, `high` or `critical`. \"Severity greater than medium, stop\" is `high`. Findings of unknown severity never meet it unless `treat_unknown_as` is set (or use `max_cvss_score` for those with a score).",
						Optional:            true,
						Validators:          []validator.String{vulnerabilityField("fail_on_severity")},
					},
					"max_cvss_score": schema.Float64Attribute{
						MarkdownDescription: "A finding whose highest CVSS base score is at or above this value (0 to 10) fails. A finding without a score is judged by the lower bound of its severity's CVSS v3 band (low 0.1, medium 4.0, high 7.0, critical 9.0); one with neither a score nor a known severity counts only when `treat_unknown_as` gives it a severity.",
						Optional:            true,
						Validators:          []validator.Float64{vulnerabilityField("max_cvss_score")},
					},
					"treat_unknown_as": schema.StringAttribute{
						MarkdownDescription: "The severity a finding of unknown severity is judged as, under both `fail_on_severity` and `max_cvss_score` (when it has no CVSS score): `negligible`, `low`, `medium`, `high` or `critical`. A newly published CVE is often not scored yet; the scan first takes the severity from the records the database holds for its aliases (CVE, GHSA), and only findings still unknown are treated this way. When unset, such findings never meet a severity threshold, and the gate's warnings say how many were left unevaluated.",
						Optional:            true,
						Validators:          []validator.String{vulnerabilityField("treat_unknown_as")},
					},
					"only_fixed": schema.BoolAttribute{
						MarkdownDescription: "Whether only findings with a released fix count. Defaults to false.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(false),
					},
					"ignore": schema.ListNestedAttribute{
						MarkdownDescription: "Exceptions, matched the way grype's and Trivy's ignore rules are. Each names a vulnerability by id (a CVE, GHSA or GO id, matched against the finding's id and aliases), optionally narrowed to a package by name, version, type, package URL or location (every field set must match), with a required reason and an optional expiry after which the exception lapses and the gate fails again, saying so. An exception that matches no finding of the image, that expires within 14 days, or that has expired is reported in the gate's warnings.",
						Optional:            true,
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"id": schema.StringAttribute{
								MarkdownDescription: "The vulnerability id, such as `CVE-2021-23337` or `GHSA-35jh-r3h4-6jhm`.",
								Required:            true,
							},
							"package": schema.StringAttribute{
								MarkdownDescription: "Limit the exception to this package name, exactly as the scan reports it (`lodash`, `golang.org/x/net`, `libssl3`).",
								Optional:            true,
							},
							"version": schema.StringAttribute{
								MarkdownDescription: "Limit the exception to this installed package version, exactly as the scan reports it.",
								Optional:            true,
							},
							"type": schema.StringAttribute{
								MarkdownDescription: "Limit the exception to this package type as the scan reports it, such as `deb`, `apk`, `npm`, `python`, `go-module` or `java-archive`.",
								Optional:            true,
							},
							"purl": schema.StringAttribute{
								MarkdownDescription: "Limit the exception to the package with this package URL, compared with the one the scan found: type, namespace (such as a Maven group or a Debian vendor) and name must match; a version or qualifiers, when given, must match too (`pkg:maven/org.apache.logging.log4j/log4j-core` covers every version of that group's artifact).",
								Optional:            true,
							},
							"location": schema.StringAttribute{
								MarkdownDescription: "Limit the exception to packages found at a path matching this glob, as grype's `package.location`: `*` stays within a path segment, `**` crosses them (`/opt/app/**/*.jar`).",
								Optional:            true,
							},
							"reason": schema.StringAttribute{
								MarkdownDescription: "Why the exception is acceptable; shown in gate output.",
								Required:            true,
							},
							"expires": schema.StringAttribute{
								MarkdownDescription: "When the exception lapses: an RFC 3339 date (`2027-01-31`, valid through that day, UTC) or timestamp (`2027-01-31T00:00:00Z`).",
								Optional:            true,
								Validators:          []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`), "must be an RFC 3339 date or timestamp, such as 2027-01-31")},
							},
						}},
					},
					"ignore_file": schema.StringAttribute{
						MarkdownDescription: "A file of exceptions teams already keep for their scanners, read when the plan is made: a grype configuration (`.grype.yaml`, its `ignore:` list) or a Trivy ignore file (`.trivyignore.yaml`, its `vulnerabilities:` list). A relative path is taken from the directory Terraform runs in (use `\"${path.module}/.grype.yaml\"` for a module's own file). Its rules join `ignore` (the policy's own entries are tried first) and are named by file and line in the gate's output; a grype rule matches the finding's own id only, unless it sets `include-aliases: true`, as grype does. A rule the policy cannot express exactly (grype's `namespace`, `vex-status`, `match-type`, package `language` or `upstream-name`, a package name that is a regular expression; Trivy's `misconfigurations`, `secrets` or `licenses`) is an error naming its line, never dropped; every rule needs a reason (grype's `reason`, Trivy's `statement`).",
						Optional:            true,
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
					},
					"vex_documents": schema.ListAttribute{
						MarkdownDescription: "VEX documents, OpenVEX or CycloneDX VEX JSON (the JSON text, for example `file(\"vex.json\")`). A `not_affected` or `fixed` OpenVEX statement suppresses findings when one of its products names the image by digest (`@id` or `identifiers.purl`, such as `pkg:oci/app@sha256%3A…`); its subcomponents, package URLs, narrow it to those packages, compared with the package URL the scanner found (type, namespace such as a Maven group or a Debian vendor, name and, when given, version and qualifiers must match). A statement without products, or whose products are only packages, suppresses nothing. In CycloneDX, a vulnerability whose `analysis.state` is `not_affected`, `false_positive`, `resolved` or `resolved_with_pedigree` suppresses findings when the BOM's `metadata.component` (or the `affects` ref itself) names the image by digest; `affects` refs to package components or purls narrow it to those packages. The latest applicable statement wins.",
						Optional:            true,
						ElementType:         types.StringType,
					},
				},
			},
			"user": schema.SingleNestedAttribute{
				MarkdownDescription: "Rules about the user the image runs as.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"action": actionAttribute(),
					"require_non_root": schema.BoolAttribute{
						MarkdownDescription: "Fail when the image runs as root; it is the rule's only check, so a `user` rule without it is refused. The USER is resolved against the image's own `/etc/passwd` and `/etc/group` exactly as runc, containerd and Docker resolve it (with `github.com/moby/sys/user`): lines are trimmed, the first matching line wins, and a missing or unparsable UID field counts as 0. An empty USER, `root`, `0`, `0:0`, `root:<group>`, `0:<group>` and a named user whose UID reads as 0 are all root, and the failure says why; a named user (`root` included) missing from `/etc/passwd` and a named group missing from `/etc/group` fail because the container could not start, and a UID outside 0 to 2147483647 fails because runtimes cut it to 32 bits, which can give 0.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(false),
					},
				},
			},
			"base_image": schema.SingleNestedAttribute{
				MarkdownDescription: "Require a trusted base image, proved by layers: a trusted base's layers (same platform) must be a prefix of the image's. The `org.opencontainers.image.base.name` and `org.opencontainers.image.base.digest` annotations nominate a candidate, but a label is not proof: an image whose annotations claim a trusted base its layers do not match fails.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"action": actionAttribute(),
					"trusted": schema.ListAttribute{
						MarkdownDescription: "Trusted bases. A reference by tag (`registry.example.com/base/debian:12`) trusts the manifest the tag names when the plan runs; by digest (`…@sha256:…`, a platform manifest or an index) that manifest only. A repository without tag or digest (`registry.example.com/base/debian`) trusts any manifest of it that the image's layers prove, such as an earlier manifest of a tag that has moved since the image was built; as no registry lists every manifest a repository ever had, that manifest must be nominated by the image's base annotations (the repository's `latest` is compared too). Repository globs follow sigstore policy-controller: `*` matches within one path segment (`cgr.dev/chainguard/*` trusts `cgr.dev/chainguard/static`, not `cgr.dev/chainguard/team/static`), `**` across segments (`registry.example.com/base/**` trusts every repository under `base/`); a glob, like a repository entry, is compared with the manifest the annotations nominate. Names are matched fully qualified: `alpine` is `index.docker.io/library/alpine`.",
						Required:            true,
						ElementType:         types.StringType,
						Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
					},
					"require": schema.BoolAttribute{
						MarkdownDescription: "Whether an image must prove one of the trusted bases by its layers. Defaults to true: an image that proves none fails, with or without base annotations. Set it to false to fail only an image whose annotations name an untrusted base or a trusted base its layers do not match (an image that names no base then passes).",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(true),
					},
				},
			},
			"registries": schema.SingleNestedAttribute{
				MarkdownDescription: "Where the image itself may come from.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"action": actionAttribute(),
					"trusted": schema.ListAttribute{
						MarkdownDescription: "Trusted registry hosts (`ghcr.io`, `*.example.com`) or repository globs: `*` matches within one path segment (`ghcr.io/acme/*` trusts `ghcr.io/acme/app`, not `ghcr.io/acme/team/app`), `**` across segments (`ghcr.io/acme/**` trusts both).",
						Required:            true,
						ElementType:         types.StringType,
						Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
					},
				},
			},
			"signatures": signaturesRuleAttribute(),
			"checks":     checksRuleAttribute(),
			"document": schema.StringAttribute{
				MarkdownDescription: "The canonical policy document (versioned JSON), to pass to `imagegate_gate.policy`. Known at plan time.",
				Computed:            true,
			},
		},
	}
}

// toPolicy converts the model. ok is false when a value is not yet known.
func (m *policyModel) toPolicy() (p *policy.Policy, ok bool) {
	known := func(vs ...interface{ IsUnknown() bool }) bool {
		for _, v := range vs {
			if v.IsUnknown() {
				return false
			}
		}
		return true
	}
	strs := func(in []types.String) ([]string, bool) {
		var out []string
		for _, s := range in {
			if s.IsUnknown() {
				return nil, false
			}
			out = append(out, s.ValueString())
		}
		return out, true
	}
	if !known(m.Name, m.Description) {
		return nil, false
	}
	p = &policy.Policy{Version: policy.Version, Name: m.Name.ValueString(), Description: m.Description.ValueString()}
	if v := m.Vulnerabilities; v != nil {
		if !known(v.Action, v.FailOnSeverity, v.MaxCVSSScore, v.OnlyFixed, v.TreatUnknownAs) {
			return nil, false
		}
		r := &policy.VulnerabilityRule{Action: v.Action.ValueString(), FailOnSeverity: v.FailOnSeverity.ValueString(), OnlyFixed: v.OnlyFixed.ValueBool(), TreatUnknownAs: v.TreatUnknownAs.ValueString()}
		if !v.MaxCVSSScore.IsNull() {
			score := v.MaxCVSSScore.ValueFloat64()
			r.MaxCVSSScore = &score
		}
		for _, ig := range v.Ignore {
			if !known(ig.ID, ig.Package, ig.Version, ig.Type, ig.PURL, ig.Location, ig.Reason, ig.Expires) {
				return nil, false
			}
			r.Ignore = append(r.Ignore, policy.Ignore{ID: ig.ID.ValueString(), Package: ig.Package.ValueString(),
				Version: ig.Version.ValueString(), Type: ig.Type.ValueString(), PURL: ig.PURL.ValueString(), Location: ig.Location.ValueString(),
				Reason: ig.Reason.ValueString(), Expires: ig.Expires.ValueString()})
		}
		if !known(v.IgnoreFile) {
			return nil, false
		}
		r.IgnoreFile = v.IgnoreFile.ValueString()
		if r.VEXDocuments, ok = strs(v.VEXDocuments); !ok {
			return nil, false
		}
		p.Vulnerabilities = r
	}
	if u := m.User; u != nil {
		if !known(u.Action, u.RequireNonRoot) {
			return nil, false
		}
		p.User = &policy.UserRule{Action: u.Action.ValueString(), RequireNonRoot: u.RequireNonRoot.ValueBool()}
	}
	if b := m.BaseImage; b != nil {
		trusted, ok := strs(b.Trusted)
		if !ok || !known(b.Action, b.Require) {
			return nil, false
		}
		p.BaseImage = &policy.BaseImageRule{Action: b.Action.ValueString(), Trusted: trusted}
		if !b.Require.IsNull() { // null in config: the default, as the plan will fill it
			require := b.Require.ValueBool()
			p.BaseImage.Require = &require
		}
	}
	if g := m.Registries; g != nil {
		trusted, ok := strs(g.Trusted)
		if !ok || !known(g.Action) {
			return nil, false
		}
		p.Registries = &policy.RegistryRule{Action: g.Action.ValueString(), Trusted: trusted}
	}
	if sg := m.Signatures; sg != nil {
		if p.Signatures, ok = sg.toRule(); !ok {
			return nil, false
		}
	}
	if c := m.Checks; c != nil {
		if p.Checks, ok = c.toRule(); !ok {
			return nil, false
		}
	}
	return p, true
}

// fromPolicy fills the model from a (validated) document, for import.
func (m *policyModel) fromPolicy(p *policy.Policy) {
	m.Name = types.StringValue(p.Name)
	m.Description = optionalString(p.Description)
	strs := func(in []string) []types.String {
		var out []types.String
		for _, s := range in {
			out = append(out, types.StringValue(s))
		}
		return out
	}
	m.Vulnerabilities, m.User, m.BaseImage, m.Registries, m.Signatures, m.Checks = nil, nil, nil, nil, nil, nil
	if v := p.Vulnerabilities; v != nil {
		r := &vulnerabilityRuleModel{Action: types.StringValue(v.Action), FailOnSeverity: optionalString(v.FailOnSeverity), MaxCVSSScore: types.Float64Null(), OnlyFixed: types.BoolValue(v.OnlyFixed), TreatUnknownAs: optionalString(v.TreatUnknownAs), VEXDocuments: strs(v.VEXDocuments)}
		if v.MaxCVSSScore != nil {
			r.MaxCVSSScore = types.Float64Value(*v.MaxCVSSScore)
		}
		for _, ig := range v.Ignore {
			r.Ignore = append(r.Ignore, ignoreModel{ID: types.StringValue(ig.ID), Package: optionalString(ig.Package),
				Version: optionalString(ig.Version), Type: optionalString(ig.Type), PURL: optionalString(ig.PURL), Location: optionalString(ig.Location),
				Reason: types.StringValue(ig.Reason), Expires: optionalString(ig.Expires)})
		}
		r.IgnoreFile = optionalString(v.IgnoreFile)
		m.Vulnerabilities = r
	}
	if u := p.User; u != nil {
		m.User = &userRuleModel{Action: types.StringValue(u.Action), RequireNonRoot: types.BoolValue(u.RequireNonRoot)}
	}
	if b := p.BaseImage; b != nil {
		m.BaseImage = &baseImageRuleModel{Action: types.StringValue(b.Action), Trusted: strs(b.Trusted), Require: types.BoolValue(b.Required())}
	}
	if g := p.Registries; g != nil {
		m.Registries = &registryRuleModel{Action: types.StringValue(g.Action), Trusted: strs(g.Trusted)}
	}
	if sg := p.Signatures; sg != nil {
		m.Signatures = signaturesRuleFromPolicy(sg)
	}
	if c := p.Checks; c != nil {
		m.Checks = checksRuleFromPolicy(c)
	}
}

// computeDocument sets id and document from the rules, or unknown when a
// rule is not known yet.
func (m *policyModel) computeDocument(diags *diag.Diagnostics) {
	m.ID, m.Document = types.StringUnknown(), types.StringUnknown()
	p, ok := m.toPolicy()
	if !ok {
		return
	}
	if !loadIgnoreFile(p, diags) {
		return
	}
	doc, id, err := p.Canonical()
	if err != nil {
		policyProblems(diags, err)
		return
	}
	m.ID, m.Document = types.StringValue(id), types.StringValue(string(doc))
}

func (r *policyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validatePolicyConfig(ctx, req.Config, &resp.Diagnostics)
}

func (r *policyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	if !req.Config.Raw.IsFullyKnown() {
		// A rule depends on a value known only at apply: so does the document.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("document"), types.StringUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), types.StringUnknown())...)
		return
	}
	var m policyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.computeDocument(&resp.Diagnostics)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &m)...)
}

func (r *policyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	save(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

func (r *policyResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
	// The state is the policy itself; there is nothing remote to refresh.
}

func (r *policyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	save(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

// save writes the planned policy, with its document, to state.
func save(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, diags *diag.Diagnostics) {
	var m policyModel
	diags.Append(plan.Get(ctx, &m)...)
	if diags.HasError() {
		return
	}
	m.computeDocument(diags)
	diags.Append(state.Set(ctx, &m)...)
}

func (r *policyResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// ImportState adopts a policy document: the import id is the JSON itself,
// for example `terraform import imagegate_policy.base "$(cat policy.json)"`.
func (r *policyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	p, err := policy.Parse([]byte(req.ID))
	if err == nil {
		// Adopt the normalised form (defaults filled, lists sorted), which is
		// what a configuration of the same policy plans.
		var doc []byte
		if doc, _, err = p.Canonical(); err == nil {
			p, err = policy.Parse(doc)
		}
	}
	if err != nil {
		resp.Diagnostics.AddError("Invalid Policy Document", "The import id must be a policy document (JSON): "+err.Error()+".")
		return
	}
	var m policyModel
	m.fromPolicy(p)
	m.computeDocument(&resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// policyProblems reports each problem of a policy on the attribute at fault.
func policyProblems(diags *diag.Diagnostics, err error) {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		diags.AddError("Invalid Policy", err.Error())
		return
	}
	for _, pr := range ve.Problems {
		if p, ok := problemPath(pr.Path); ok {
			diags.AddAttributeError(p, "Invalid Policy", pr.String()+".")
		} else {
			diags.AddError("Invalid Policy", pr.String()+".")
		}
	}
}

// mapAttributes are the policy attributes that are maps, whose problem
// paths end in a key.
var mapAttributes = map[string]bool{"checks.actions": true}

// problemPath turns "vulnerabilities.ignore[2].expires" into an attribute path.
func problemPath(s string) (path.Path, bool) {
	if s == "" {
		return path.Empty(), false
	}
	if strings.HasPrefix(s, "vulnerabilities.ignore_file_rules") {
		// A rule read from the ignore file: the file is at fault.
		return path.Root("vulnerabilities").AtName("ignore_file"), true
	}
	var p path.Path
	parts := strings.Split(s, ".")
	for i, part := range parts {
		name, rest, _ := strings.Cut(part, "[")
		switch {
		case i == 0:
			p = path.Root(name)
		case mapAttributes[strings.Join(parts[:i], ".")]:
			// The key of a map, such as checks.actions.max_age: the rest
			// of the problem path is the key.
			return p.AtMapKey(strings.Join(parts[i:], ".")), true
		default:
			p = p.AtName(name)
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil {
				return path.Empty(), false
			}
			p = p.AtListIndex(n)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return p, true
}
