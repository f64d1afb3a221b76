package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

// signaturesRuleModel is the policy's signatures rule.
type signaturesRuleModel struct {
	Action types.String `tfsdk:"action"`
	signerRequirementsModel
	Attestations []predicateTypeModel `tfsdk:"attestations"`
	PerPlatform  types.Bool           `tfsdk:"per_platform"`
}

type predicateTypeModel struct {
	PredicateType types.String `tfsdk:"predicate_type"`
}

func signaturesRuleAttribute() schema.SingleNestedAttribute {
	optional := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "Require cosign signatures (and attestations) by the listed signers, verified offline at plan time. The digest the reference resolves to is verified (the index digest for a multi-platform image) and, with `per_platform`, each gated platform's manifest digest too; a tag is never trusted, only the digest it resolved to. " +
			"Both formats cosign writes are read: the classic `sha256-<hex>.sig` and `.att` tags, and sigstore bundles attached as OCI 1.1 referrers. Each expected signer that did not sign is a violation whose subject names it (`key sha256:…` or `identity issuer=… subject=…`). " +
			"Use the `imagegate_signatures` data source to see what verifies on an image.",
		Optional: true,
		Attributes: map[string]schema.Attribute{
			"action": actionAttribute(),
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
			"trusted_root": optional(descTrustedRoot + " The document holds it re-encoded compactly with sorted keys."),
			"require_docker_reference": schema.BoolAttribute{
				MarkdownDescription: descRequireDockerReference,
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"annotations": schema.MapAttribute{
				MarkdownDescription: descAnnotations,
				Optional:            true,
				ElementType:         types.StringType,
			},
			"attestations": schema.ListNestedAttribute{
				MarkdownDescription: descAttestationsRequired,
				Optional:            true,
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"predicate_type": schema.StringAttribute{MarkdownDescription: descPredicateType, Required: true},
				}},
			},
			"minimum": schema.Int64Attribute{
				MarkdownDescription: descMinimum,
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(1),
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"per_platform": schema.BoolAttribute{
				MarkdownDescription: "Whether each platform's image manifest of a multi-platform index must be signed too, not only the index: each gated platform is verified with the same requirements, and its violations are reported on that platform. It has no effect on a single image. Defaults to false.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
		},
	}
}

// toRule converts the rule; ok is false when a value is not known yet.
func (m *signaturesRuleModel) toRule() (*policy.SignaturesRule, bool) {
	if m.Action.IsUnknown() || m.PerPlatform.IsUnknown() {
		return nil, false
	}
	pts := make([]types.String, len(m.Attestations))
	for i, a := range m.Attestations {
		pts[i] = a.PredicateType
	}
	req, ok := m.requirements(pts)
	if !ok {
		return nil, false
	}
	return &policy.SignaturesRule{Action: m.Action.ValueString(), Requirements: req, PerPlatform: m.PerPlatform.ValueBool()}, true
}

// signaturesRuleFromPolicy is the model of a (normalised) rule, for import.
func signaturesRuleFromPolicy(r *policy.SignaturesRule) *signaturesRuleModel {
	m := &signaturesRuleModel{Action: types.StringValue(r.Action), PerPlatform: types.BoolValue(r.PerPlatform)}
	m.fromRequirements(r.Requirements)
	for _, a := range r.Attestations {
		m.Attestations = append(m.Attestations, predicateTypeModel{PredicateType: types.StringValue(a.PredicateType)})
	}
	return m
}
