package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
)

var _ datasource.DataSourceWithValidateConfig = &policyDocumentDataSource{}

// NewPolicyDocumentDataSource returns the imagegate_policy_document data
// source.
func NewPolicyDocumentDataSource() datasource.DataSource { return &policyDocumentDataSource{} }

// policyDocumentDataSource is the imagegate_policy resource's rules as a data
// source, the aws_iam_policy_document pattern: it depends on no managed
// resource, so Terraform reads it during every plan and a gate that reads
// its document is evaluated by the first plan too. Its schema is built from
// the resource's, and its document and id by the same code.
type policyDocumentDataSource struct{}

func (d *policyDocumentDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_policy_document"
}

func (d *policyDocumentDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	var rs resource.SchemaResponse
	(&policyResource{}).Schema(ctx, resource.SchemaRequest{}, &rs)
	resp.Diagnostics.Append(rs.Diagnostics...)
	attrs, err := dataSourceAttributes(rs.Schema.Attributes)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Provider Schema", "Building the imagegate_policy_document schema from imagegate_policy's: "+err.Error()+". This is a bug in the provider.")
		return
	}
	resp.Schema = dsschema.Schema{
		MarkdownDescription: "A container-image policy computed in the plan: the same rules as the `imagegate_policy` resource (one schema serves both), giving the same canonical `document` and `id`. " +
			"Use it to feed `imagegate_gate`: a data source that depends on nothing pending is read during every plan, so a gate that reads its `document` runs in the first plan of a configuration and in every plan that changes the policy, and `terraform plan` fails for a refused image. " +
			"A gate that reads the `document` of an `imagegate_policy` resource is deferred by Terraform to apply whenever that resource has changes pending (its creation, or any rule change). " +
			"A rule that depends on a value known only at apply defers this data source, and the gates reading it, to apply too. Keep the resource for a policy managed and shared as state (import, a module output). " +
			"Attributes that default in the resource (`action`, `only_fixed`, `require`, `minimum`, the checks' flags) read as null here when unset; the document holds their defaults all the same.",
		Attributes: attrs,
	}
}

// ValidateConfig reports the policy's problems at validate time, on the
// attributes at fault, exactly as the resource does.
func (d *policyDocumentDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	validatePolicyConfig(ctx, req.Config, &resp.Diagnostics)
}

func (d *policyDocumentDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m policyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.computeDocument(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Document.IsUnknown() {
		// Terraform reads a data source only once its configuration is
		// known; an unknown document here would be a gate with no policy.
		resp.Diagnostics.AddError("Policy Not Known", "The policy's rules are not all known, so its document cannot be computed. Set the rules from values known at plan time.")
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// validatePolicyConfig checks a policy configuration, of the resource or the
// data source, with the policy's own validator once every value is known, and
// reports each problem on the attribute at fault.
func validatePolicyConfig(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) {
	if !config.Raw.IsFullyKnown() {
		return // validated again at plan time, once the values are known
	}
	var m policyModel
	diags.Append(config.Get(ctx, &m)...)
	if diags.HasError() {
		return
	}
	// Defaults are not applied to config: toPolicy leaves them empty, and
	// the policy fills them as the plan would.
	p, ok := m.toPolicy()
	if !ok {
		return
	}
	if err := p.Validate(); err != nil {
		policyProblems(diags, err)
	}
}
