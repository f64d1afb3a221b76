package provider

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

// checksRuleModel is the policy's CIS image hygiene checks.
type checksRuleModel struct {
	Action             types.String            `tfsdk:"action"`
	Actions            map[string]types.String `tfsdk:"actions"`
	DeniedPackages     []types.String          `tfsdk:"denied_packages"`
	RequireHealthcheck types.Bool              `tfsdk:"require_healthcheck"`
	ForbidUpdateAlone  types.Bool              `tfsdk:"forbid_update_alone"`
	ForbidSetuid       types.Bool              `tfsdk:"forbid_setuid"`
	AllowedSetuidPaths []types.String          `tfsdk:"allowed_setuid_paths"`
	ForbidAdd          types.Bool              `tfsdk:"forbid_add"`
	ForbidSecrets      types.Bool              `tfsdk:"forbid_secrets"`
	ForbidLatestTag    types.Bool              `tfsdk:"forbid_latest_tag"`
	MaxAge             types.String            `tfsdk:"max_age"`
	RequiredLabels     []types.String          `tfsdk:"required_labels"`
	AccountAnomalies   types.Bool              `tfsdk:"account_anomalies"`
}

func checksRuleAttribute() schema.SingleNestedAttribute {
	flag := func(desc string) schema.BoolAttribute {
		return schema.BoolAttribute{MarkdownDescription: desc + " Defaults to false.", Optional: true, Computed: true, Default: booldefault.StaticBool(false)}
	}
	list := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{
			MarkdownDescription: desc,
			Optional:            true,
			ElementType:         types.StringType,
			Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
		}
	}
	action := actionAttribute()
	action.MarkdownDescription = "What a violation of a check that `actions` does not name does: `stop` (the default) fails the gate, `warn` reports it as a warning and lets the gate pass."
	return schema.SingleNestedAttribute{
		MarkdownDescription: "The CIS Docker Benchmark image hygiene checks (section 4, container images and build file), decided from the image itself: its config, build history, SBOM and final filesystem (whiteouts honoured). Each check is off until its attribute is set, and each violation is tagged with its CIS id (`cis`) and names the package, path, variable, build step, label or account at fault, never a secret value. " +
			"A rule that enables no check is refused. The other CIS items are covered by other rules: 4.1 by `user`, 4.2 by `base_image`, 4.4 by `vulnerabilities` (and `max_age`), 4.5 by `signatures`. " +
			"Use the `imagegate_image` data source with `include_checks = true` to see how an image fares against every check without a policy.",
		Optional: true,
		Attributes: map[string]schema.Attribute{
			"action": action,
			"actions": schema.MapAttribute{
				MarkdownDescription: "The action of individual checks, overriding `action`: a map from a check id (`denied_packages`, `require_healthcheck`, `forbid_update_alone`, `forbid_setuid`, `forbid_add`, `forbid_secrets`, `forbid_latest_tag`, `max_age`, `required_labels` or `account_anomalies`) to `stop` or `warn`, such as `{ max_age = \"warn\" }`. A check named here must be enabled. The document keeps only the entries that differ from `action`.",
				Optional:            true,
				ElementType:         types.StringType,
				Validators:          []validator.Map{mapvalidator.SizeAtLeast(1), checksFieldValidator{field: "actions"}},
			},
			"denied_packages":      list("CIS 4.3 (install only necessary packages): package names or globs (`openssh-server`, `sudo`, `netcat*`) that must not be installed, matched case-insensitively against the package names of the SBOM; each installed package that matches is a violation naming it and its version. The document holds the list sorted."),
			"require_healthcheck":  flag("CIS 4.6: whether the image config must define a `HEALTHCHECK` that is not `NONE`, so the runtime can tell a live container from a hung one."),
			"forbid_update_alone":  flag("CIS 4.7: whether a build step that updates a package index without installing in the same step (`apt-get update`, `apt update`, `apk update`, `yum makecache`, `dnf makecache`, `zypper refresh`) fails, since a later step would install from a stale, cached index. The violation names the step as `history[<index>]`."),
			"forbid_setuid":        flag("CIS 4.8: whether files with the setuid or setgid bit in the image's final filesystem fail (a file removed or changed by a later layer is judged as the last layer leaves it). Each file is a violation naming its path; list deliberate ones in `allowed_setuid_paths`."),
			"allowed_setuid_paths": list("Absolute paths or globs (`/usr/bin/passwd`, `/usr/lib/*/ssh-keysign`) that may keep the setuid or setgid bit under `forbid_setuid`, which must be true. The document holds the list sorted."),
			"forbid_add":           flag("CIS 4.9: whether `ADD` steps in the build history fail (use `COPY`, which neither fetches URLs nor unpacks archives). An `ADD` from a URL or a Git repository is always reported; the one exception is a first layer that adds a local root filesystem archive to `/`, which every distribution base image is made of."),
			"forbid_secrets":       flag("CIS 4.10: whether credentials in the image fail: environment variables with a sensitive name (token, password, secret, key) or a credential-shaped value (private keys, cloud access keys, tokens), build steps that record one (inline, or as a build argument), and files that hold one (private keys, `.aws/credentials`, `.docker/config.json` with auths, `id_rsa`, …) in any layer, including one a later layer deleted or replaced, since it can still be extracted from its layer. The violation names the variable (`env <NAME>`), the step (`history[<index>]`) or the path and the kind of credential, never the value."),
			"forbid_latest_tag":    flag("Whether a reference with the tag `latest`, or with no tag (which means `latest`) and no digest, fails, so every plan gates the same image. No CIS item covers it."),
			"max_age": schema.StringAttribute{
				MarkdownDescription: "CIS 4.4 (rebuild images to include security patches): the oldest an image may be, by the creation time its config records, as a Go duration in hours, minutes or seconds (`720h` for 30 days); an image without a creation time fails. The document holds it as Go prints it (`720h0m0s`).",
				Optional:            true,
				Validators:          []validator.String{checksFieldValidator{field: "max_age"}},
			},
			"required_labels":   list("Labels the image config must set to a non-empty value, such as `org.opencontainers.image.source` and `org.opencontainers.image.revision`, which trace an image to its source; each missing or empty label is a violation naming it. No CIS item covers it. The document holds the list sorted."),
			"account_anomalies": flag("Whether account anomalies in the image's `/etc/passwd` and `/etc/shadow` fail: a second UID-0 account (read as container runtimes read the UID field, so `00` and a field that does not parse are 0) and an account with an empty password. The violation names the account, never a password hash. No CIS item covers it; it complements the `user` rule (CIS 4.1)."),
		},
	}
}

// toRule converts the rule; ok is false when a value is not known yet.
func (m *checksRuleModel) toRule() (*policy.ChecksRule, bool) {
	for _, v := range []interface{ IsUnknown() bool }{m.Action, m.RequireHealthcheck, m.ForbidUpdateAlone, m.ForbidSetuid, m.ForbidAdd, m.ForbidSecrets, m.ForbidLatestTag, m.MaxAge, m.AccountAnomalies} {
		if v.IsUnknown() {
			return nil, false
		}
	}
	r := &policy.ChecksRule{
		Action: m.Action.ValueString(), RequireHealthcheck: m.RequireHealthcheck.ValueBool(), ForbidUpdateAlone: m.ForbidUpdateAlone.ValueBool(),
		ForbidSetuid: m.ForbidSetuid.ValueBool(), ForbidAdd: m.ForbidAdd.ValueBool(), ForbidSecrets: m.ForbidSecrets.ValueBool(),
		ForbidLatestTag: m.ForbidLatestTag.ValueBool(), MaxAge: m.MaxAge.ValueString(), AccountAnomalies: m.AccountAnomalies.ValueBool(),
	}
	var ok bool
	if r.DeniedPackages, ok = knownStrings(m.DeniedPackages); !ok {
		return nil, false
	}
	if r.AllowedSetuidPaths, ok = knownStrings(m.AllowedSetuidPaths); !ok {
		return nil, false
	}
	if r.RequiredLabels, ok = knownStrings(m.RequiredLabels); !ok {
		return nil, false
	}
	if m.Actions != nil {
		r.Actions = map[string]string{}
		for id, a := range m.Actions {
			if a.IsUnknown() {
				return nil, false
			}
			r.Actions[id] = a.ValueString()
		}
	}
	return r, true
}

// knownStrings is the values of a list; ok is false when one is unknown.
func knownStrings(in []types.String) (out []string, ok bool) {
	for _, s := range in {
		if s.IsUnknown() {
			return nil, false
		}
		out = append(out, s.ValueString())
	}
	return out, true
}

// checksRuleFromPolicy is the model of a (normalised) rule, for import.
func checksRuleFromPolicy(r *policy.ChecksRule) *checksRuleModel {
	strs := func(in []string) []types.String {
		var out []types.String
		for _, s := range in {
			out = append(out, types.StringValue(s))
		}
		return out
	}
	m := &checksRuleModel{
		Action: types.StringValue(r.Action), DeniedPackages: strs(r.DeniedPackages),
		RequireHealthcheck: types.BoolValue(r.RequireHealthcheck), ForbidUpdateAlone: types.BoolValue(r.ForbidUpdateAlone),
		ForbidSetuid: types.BoolValue(r.ForbidSetuid), AllowedSetuidPaths: strs(r.AllowedSetuidPaths),
		ForbidAdd: types.BoolValue(r.ForbidAdd), ForbidSecrets: types.BoolValue(r.ForbidSecrets), ForbidLatestTag: types.BoolValue(r.ForbidLatestTag),
		MaxAge: optionalString(r.MaxAge), RequiredLabels: strs(r.RequiredLabels), AccountAnomalies: types.BoolValue(r.AccountAnomalies),
	}
	if len(r.Actions) > 0 {
		m.Actions = map[string]types.String{}
		for _, id := range slices.Sorted(maps.Keys(r.Actions)) {
			m.Actions[id] = types.StringValue(r.Actions[id])
		}
	}
	return m
}

// checksFieldValidator checks one attribute of the checks rule with the
// policy's own validator, at validate time and even when the rest of the
// configuration is not known yet. Its diagnostics are the ones the whole
// policy's validation gives for the attribute, so when both run Terraform
// shows each problem once.
type checksFieldValidator struct {
	field string // "max_age" or "actions"
}

func (v checksFieldValidator) Description(context.Context) string {
	return "must be valid for the policy's checks." + v.field
}

func (v checksFieldValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v checksFieldValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	r := policy.HygieneRule()
	r.MaxAge = req.ConfigValue.ValueString()
	v.report(r, &resp.Diagnostics)
}

func (v checksFieldValidator) ValidateMap(ctx context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var actions map[string]types.String
	resp.Diagnostics.Append(req.ConfigValue.ElementsAs(ctx, &actions, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Every check is enabled here, so only unknown ids and actions are
	// reported; whether a named check is enabled is judged with the rest.
	r := policy.HygieneRule()
	r.Actions = map[string]string{}
	for id, a := range actions {
		if a.IsUnknown() {
			continue
		}
		r.Actions[id] = a.ValueString()
	}
	v.report(r, &resp.Diagnostics)
}

// report adds the policy's problems with the field.
func (v checksFieldValidator) report(r *policy.ChecksRule, diags *diag.Diagnostics) {
	err := (&policy.Policy{Version: policy.Version, Name: "validate", Checks: r}).Validate()
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		return
	}
	prefix := policy.RuleChecks + "." + v.field
	for _, pr := range ve.Problems {
		if pr.Path != prefix && !strings.HasPrefix(pr.Path, prefix+".") && !strings.HasPrefix(pr.Path, prefix+"[") {
			continue
		}
		if p, ok := problemPath(pr.Path); ok {
			diags.AddAttributeError(p, "Invalid Policy", pr.String()+".")
		}
	}
}
