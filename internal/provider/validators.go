package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// Validators that run at `terraform validate`, on the value as written, with
// the same parsers the provider uses when it acts on the value, so validate
// and plan never disagree. Each skips a null or unknown value: an unknown is
// checked again when the provider reads it.

// platformSyntax checks os/arch or os/arch/variant with the registry
// package's parser.
var platformSyntax validator.String = stringCheck{
	desc:    "must be os/arch or os/arch/variant, such as linux/amd64 or linux/arm64/v8",
	summary: "Invalid Platform",
	check: func(s string) error {
		_, err := registry.ParsePlatform(s)
		return err
	},
}

// durationSyntax checks a positive Go duration (time.ParseDuration); the
// summary and examples are those Configure uses for the same setting.
func durationSyntax(summary, examples string) validator.String {
	return stringCheck{
		desc:    "must be a positive Go duration such as " + examples,
		summary: summary,
		check: func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			if d <= 0 {
				return fmt.Errorf("%s is not positive", d)
			}
			return nil
		},
	}
}

// byteSizeSyntax checks a positive size, such as "20GiB" or, with the
// suffix "/s", a rate such as "10KiB/s", with the parser Configure uses.
func byteSizeSyntax(summary, desc, suffix string) validator.String {
	return stringCheck{
		desc:    desc,
		summary: summary,
		check: func(s string) error {
			_, err := parseBytes(types.StringValue(s), suffix)
			return err
		},
	}
}

// stringCheck is a string validator from a parse function.
type stringCheck struct {
	desc    string
	summary string
	check   func(string) error
}

func (v stringCheck) Description(context.Context) string { return v.desc }

func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary,
			fmt.Sprintf("%s %s; got %q (%v).", req.Path, v.desc, req.ConfigValue.ValueString(), err))
	}
}

// policyDocumentSyntax parses a policy document argument (a gate's
// `policy`) with policy.Parse, the validator of the imagegate_policy
// resource and data source, so a hand-written JSON policy with a typo is
// refused at validate, before any registry is contacted.
var policyDocumentSyntax validator.String = policyDocumentValidator{}

type policyDocumentValidator struct{}

func (policyDocumentValidator) Description(context.Context) string {
	return "must be a valid policy document (JSON)"
}

func (v policyDocumentValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (policyDocumentValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := policy.Parse([]byte(req.ConfigValue.ValueString())); err != nil {
		invalidPolicyArgument(&resp.Diagnostics, req.Path, err)
	}
}

// invalidPolicyArgument reports a policy document argument that does not
// parse, at validate time and when a gate reads it.
func invalidPolicyArgument(diags *diag.Diagnostics, at path.Path, err error) {
	diags.AddAttributeError(at, "Invalid Policy", err.Error()+". Pass the document of an imagegate_policy_document (or imagegate_policy), or a policy JSON file that validates.")
}

// vulnerabilityField checks one attribute of the vulnerabilities rule with
// the policy's own validator, at validate time even when the rest of the
// configuration is not known yet. Its diagnostic is the one the whole
// policy's validation gives for the attribute (same summary, detail and
// path), so when both run Terraform shows the problem once.
type vulnerabilityField string

func (f vulnerabilityField) Description(context.Context) string {
	return "must be valid for the policy's vulnerabilities." + string(f)
}

func (f vulnerabilityField) MarkdownDescription(ctx context.Context) string {
	return f.Description(ctx)
}

func (f vulnerabilityField) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	r := &policy.VulnerabilityRule{FailOnSeverity: "critical"}
	switch f {
	case "fail_on_severity":
		r.FailOnSeverity = req.ConfigValue.ValueString()
	case "treat_unknown_as":
		r.TreatUnknownAs = req.ConfigValue.ValueString()
	}
	f.report(r, &resp.Diagnostics)
}

func (f vulnerabilityField) ValidateFloat64(_ context.Context, req validator.Float64Request, resp *validator.Float64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	score := req.ConfigValue.ValueFloat64()
	f.report(&policy.VulnerabilityRule{MaxCVSSScore: &score}, &resp.Diagnostics)
}

// report adds the policy's problems with the field.
func (f vulnerabilityField) report(r *policy.VulnerabilityRule, diags *diag.Diagnostics) {
	err := (&policy.Policy{Version: policy.Version, Name: "validate", Vulnerabilities: r}).Validate()
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		return
	}
	for _, pr := range ve.Problems {
		if pr.Path != "vulnerabilities."+string(f) {
			continue
		}
		if p, ok := problemPath(pr.Path); ok {
			diags.AddAttributeError(p, "Invalid Policy", pr.String()+".")
		}
	}
}
