package provider

import (
	"fmt"
	"maps"
	"slices"

	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// dataSourceAttributes converts resource schema attributes to data source
// attributes, so imagegate_policy_document takes its rules from the one
// definition in imagegate_policy: the same names, descriptions, validators
// and nesting. What data sources cannot have is dropped: defaults (an unset
// attribute stays null, and the policy fills the same default into the
// document) and plan modifiers. A computed attribute with a default in the
// resource is optional here, since nothing would compute it.
func dataSourceAttributes(in map[string]schema.Attribute) (map[string]dsschema.Attribute, error) {
	out := make(map[string]dsschema.Attribute, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		a, err := dataSourceAttribute(in[name])
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[name] = a
	}
	return out, nil
}

// optionalOrComputed is Optional, Computed for a data source attribute: an
// attribute the resource computes only to hold its default is optional.
func optionalOrComputed(optional, computed, hasDefault bool) (bool, bool) {
	if hasDefault {
		return true, false
	}
	return optional, computed
}

func dataSourceAttribute(a schema.Attribute) (dsschema.Attribute, error) {
	switch a := a.(type) {
	case schema.StringAttribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		return dsschema.StringAttribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
		}, nil
	case schema.BoolAttribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		return dsschema.BoolAttribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
		}, nil
	case schema.Int64Attribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		return dsschema.Int64Attribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
		}, nil
	case schema.Float64Attribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		return dsschema.Float64Attribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
		}, nil
	case schema.ListAttribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		return dsschema.ListAttribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
			ElementType: a.ElementType,
		}, nil
	case schema.MapAttribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		return dsschema.MapAttribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
			ElementType: a.ElementType,
		}, nil
	case schema.SingleNestedAttribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		attrs, err := dataSourceAttributes(a.Attributes)
		if err != nil {
			return nil, err
		}
		return dsschema.SingleNestedAttribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
			Attributes: attrs,
		}, nil
	case schema.ListNestedAttribute:
		o, c := optionalOrComputed(a.Optional, a.Computed, a.Default != nil)
		attrs, err := dataSourceAttributes(a.NestedObject.Attributes)
		if err != nil {
			return nil, err
		}
		return dsschema.ListNestedAttribute{
			MarkdownDescription: a.MarkdownDescription, Description: a.Description, DeprecationMessage: a.DeprecationMessage,
			Required: a.Required, Optional: o, Computed: c, Sensitive: a.Sensitive, CustomType: a.CustomType, Validators: a.Validators,
			NestedObject: dsschema.NestedAttributeObject{Attributes: attrs, CustomType: a.NestedObject.CustomType, Validators: a.NestedObject.Validators},
		}, nil
	default:
		return nil, fmt.Errorf("%T has no data source counterpart in dataSourceAttribute", a)
	}
}
