package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func referenceAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "The image reference, by tag (`registry/repository:tag`) or by digest (`registry/repository@sha256:…`).",
		Required:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
	}
}

func platformAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "The platform (`os/arch` or `os/arch/variant`) to choose when the reference names a multi-platform index. Defaults to the provider's `platform`.",
		Optional:            true,
	}
}

func computedString(desc string) schema.StringAttribute {
	return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
}

func computedStrings(desc string) schema.ListAttribute {
	return schema.ListAttribute{MarkdownDescription: desc, Computed: true, ElementType: types.StringType}
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
