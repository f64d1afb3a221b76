package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

func referenceAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "The image reference, by tag (`registry/repository:tag`) or by digest (`registry/repository@sha256:…`).",
		Required:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1), referenceSyntax},
	}
}

func platformAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "The platform (`os/arch` or `os/arch/variant`) to choose when the reference names a multi-platform index. Defaults to the provider's `platform`.",
		Optional:            true,
		Validators:          []validator.String{platformSyntax},
	}
}

// platformsAttribute narrows the images of an index that a scan or gate
// covers.
func platformsAttribute(what string) schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: "The platforms (`os/arch` or `os/arch/variant`) to " + what + " when the reference names a multi-platform index. By default every platform of the index is covered (attestation manifests, such as buildx's `unknown/unknown` entries, are skipped, since no runtime runs them); each platform listed must be in the index. For a single image, a listed platform must be the image's own (an image whose config names no platform is accepted as it is).",
		Optional:            true,
		ElementType:         types.StringType,
		Validators: []validator.List{
			listvalidator.SizeAtLeast(1),
			listvalidator.UniqueValues(),
			listvalidator.ValueStringsAre(platformSyntax),
			listvalidator.ConflictsWith(path.MatchRoot("platform")),
		},
	}
}

// deprecatedPlatformAttribute is the single platform scans and gates took
// before they covered every platform of an index.
func deprecatedPlatformAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Deprecated: use `platforms`. The same as `platforms = [platform]`.",
		DeprecationMessage:  "Use platforms = [\"os/arch\"] instead. Without either, every platform of a multi-platform index is covered, not the provider's default platform alone.",
		Optional:            true,
		Validators:          []validator.String{platformSyntax},
	}
}

// selectedPlatforms merges the deprecated platform into platforms.
func selectedPlatforms(platform types.String, platforms []string) []string {
	if platform.ValueString() != "" {
		return []string{platform.ValueString()}
	}
	return platforms
}

// platformsPath is the attribute a platform error belongs to: the
// deprecated platform when the configuration uses it.
func platformsPath(platform types.String) path.Path {
	if platform.ValueString() != "" {
		return path.Root("platform")
	}
	return path.Root("platforms")
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

// referenceSyntax checks an image reference with go-containerregistry's
// parser at validate time.
var referenceSyntax validator.String = refValidator{tag: false}

// tagSyntax requires registry/repository:tag (no digest) at validate time.
var tagSyntax validator.String = refValidator{tag: true}

type refValidator struct{ tag bool }

func (v refValidator) Description(context.Context) string {
	if v.tag {
		return "must be registry/repository:tag"
	}
	return "must be an image reference, registry/repository:tag or registry/repository@sha256:<64 hex digits>"
}

func (v refValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v refValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	var err error
	if v.tag {
		if strings.Contains(s, "@") {
			err = fmt.Errorf("a digest cannot be written to")
		} else if _, err = name.NewTag(s, name.StrictValidation); err != nil {
			// A valid reference without a tag: say so rather than quote the
			// strict parser's "tag must be at least 1 characters".
			if _, perr := registry.Repository(s); perr == nil {
				if _, explicit := registry.ExplicitTag(s); !explicit {
					err = fmt.Errorf("it names no tag: use registry/repository:tag (write :latest explicitly if that is meant)")
				}
			}
		}
	} else {
		_, err = name.ParseReference(s, name.WeakValidation)
	}
	if err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Image Reference", fmt.Sprintf("%q %s: %v", s, v.Description(ctx), err))
	}
}
