package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// TestPolicyDocumentSchemaIsTheResources checks that the data source's
// rules are the resource's: every attribute, at every depth, with the same
// description, requiredness and validators; only defaults are dropped.
func TestPolicyDocumentSchemaIsTheResources(t *testing.T) {
	ctx := context.Background()
	var rs resource.SchemaResponse
	(&policyResource{}).Schema(ctx, resource.SchemaRequest{}, &rs)
	var ds datasource.SchemaResponse
	(&policyDocumentDataSource{}).Schema(ctx, datasource.SchemaRequest{}, &ds)
	if ds.Diagnostics.HasError() {
		t.Fatalf("data source schema: %v", ds.Diagnostics)
	}
	if diags := ds.Schema.ValidateImplementation(ctx); diags.HasError() {
		t.Fatalf("data source schema is not valid: %v", diags)
	}
	var walk func(at string, r map[string]schema.Attribute, d map[string]dsschema.Attribute)
	walk = func(at string, r map[string]schema.Attribute, d map[string]dsschema.Attribute) {
		if len(r) != len(d) {
			t.Errorf("%s: the resource has %d attributes, the data source %d", at, len(r), len(d))
		}
		for name, ra := range r {
			da, ok := d[name]
			if !ok {
				t.Errorf("%s%s: missing from the data source", at, name)
				continue
			}
			if ra.GetMarkdownDescription() == "" || ra.GetMarkdownDescription() != da.GetMarkdownDescription() {
				t.Errorf("%s%s: description %q, want %q", at, name, da.GetMarkdownDescription(), ra.GetMarkdownDescription())
			}
			if ra.IsRequired() != da.IsRequired() {
				t.Errorf("%s%s: required %v, want %v", at, name, da.IsRequired(), ra.IsRequired())
			}
			if ra.IsOptional() && !da.IsOptional() {
				t.Errorf("%s%s: optional in the resource only", at, name)
			}
			if nvs, ok := ra.(interface{ StringValidators() []validator.String }); ok {
				if got, want := len(testutil.As[interface{ StringValidators() []validator.String }](t, da).StringValidators()), len(nvs.StringValidators()); got != want {
					t.Errorf("%s%s: %d validators, want %d", at, name, got, want)
				}
			}
			switch ra := ra.(type) {
			case schema.SingleNestedAttribute:
				walk(at+name+".", ra.Attributes, testutil.As[dsschema.SingleNestedAttribute](t, da).Attributes)
			case schema.ListNestedAttribute:
				walk(at+name+"[].", ra.NestedObject.Attributes, testutil.As[dsschema.ListNestedAttribute](t, da).NestedObject.Attributes)
			case schema.ListAttribute:
				if got, want := len(testutil.As[dsschema.ListAttribute](t, da).Validators), len(ra.Validators); got != want {
					t.Errorf("%s%s: %d list validators, want %d", at, name, got, want)
				}
			case schema.MapAttribute:
				if got, want := len(testutil.As[dsschema.MapAttribute](t, da).Validators), len(ra.Validators); got != want {
					t.Errorf("%s%s: %d map validators, want %d", at, name, got, want)
				}
			}
		}
	}
	walk("", rs.Schema.Attributes, ds.Schema.Attributes)
	for _, name := range []string{"document", "id"} {
		if !ds.Schema.Attributes[name].IsComputed() {
			t.Errorf("%s is not computed in the data source", name)
		}
	}
	// A default becomes an optional attribute, never a computed one that
	// nothing would compute.
	action := testutil.As[dsschema.SingleNestedAttribute](t, ds.Schema.Attributes["user"]).Attributes["action"]
	if !action.IsOptional() || action.IsComputed() {
		t.Errorf("user.action: optional %v computed %v, want optional only", action.IsOptional(), action.IsComputed())
	}
}

func TestDataSourceAttributeUnsupported(t *testing.T) {
	_, err := dataSourceAttributes(map[string]schema.Attribute{"s": schema.SetAttribute{ElementType: types.StringType, Optional: true}})
	if err == nil || !strings.Contains(err.Error(), "attribute s") {
		t.Fatalf("got %v, want an error naming the attribute", err)
	}
}

func TestStringValidators(t *testing.T) {
	cases := []struct {
		name    string
		v       validator.String
		good    []string
		bad     []string
		summary string
		detail  string
	}{
		{"platform", platformSyntax, []string{"linux/amd64", "linux/arm64/v8", "windows/amd64"}, []string{"amd64", "linux/", "linux//v8", "linux/arm64/v8/x", ""}, "Invalid Platform", "os/arch"},
		{"reference", referenceSyntax, []string{"alpine", "ghcr.io/acme/app:1.2", "localhost:5000/app@sha256:" + strings.Repeat("a", 64)}, []string{"ghcr.io/acme/App:1", "app:bad tag", "app@sha256:123", "UPPER/case"}, "Invalid Image Reference", "image reference"},
		{"duration", durationSyntax("Invalid Scan Timeout", `"30m"`), []string{"30m", "1h30m", "500ms"}, []string{"30", "0s", "-1m", "30 days", "1d"}, "Invalid Scan Timeout", `positive Go duration such as "30m"`},
		{"size", byteSizeSyntax("Invalid Max Image Size", "must be a size", ""), []string{"20GiB", "500MB", "1024"}, []string{"huge", "0"}, "Invalid Max Image Size", "must be a size"},
		{"rate", byteSizeSyntax("Invalid Min Transfer Rate", "must be a rate", "/s"), []string{"10KiB/s", "1MB/s"}, []string{"fast", "0/s"}, "Invalid Min Transfer Rate", "must be a rate"},
		{"policy", policyDocumentSyntax, []string{`{"version":1,"name":"p","user":{"require_non_root":true}}`}, []string{`{"version":1,"name":"p","user":{"require_non_rot":true}}`, `{"version":1,"name":"p","vulnerabilities":{"fail_on_severity":"severe"}}`, `{not json`, ``}, "Invalid Policy", "imagegate_policy_document"},
	}
	ctx := context.Background()
	at := path.Root("attr")
	run := func(v validator.String, val types.String) *validator.StringResponse {
		resp := &validator.StringResponse{}
		v.ValidateString(ctx, validator.StringRequest{Path: at, ConfigValue: val}, resp)
		return resp
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, s := range c.good {
				if resp := run(c.v, types.StringValue(s)); resp.Diagnostics.HasError() {
					t.Errorf("%q refused: %v", s, resp.Diagnostics)
				}
			}
			for _, val := range []types.String{types.StringNull(), types.StringUnknown()} {
				if resp := run(c.v, val); resp.Diagnostics.HasError() {
					t.Errorf("%s refused: %v", val, resp.Diagnostics)
				}
			}
			for _, s := range c.bad {
				resp := run(c.v, types.StringValue(s))
				if resp.Diagnostics.ErrorsCount() != 1 {
					t.Errorf("%q: %d errors, want 1: %v", s, resp.Diagnostics.ErrorsCount(), resp.Diagnostics)
					continue
				}
				d := resp.Diagnostics.Errors()[0]
				if d.Summary() != c.summary || !strings.Contains(d.Detail(), c.detail) {
					t.Errorf("%q: %q / %q, want %q / …%s…", s, d.Summary(), d.Detail(), c.summary, c.detail)
				}
				if wp, ok := d.(interface{ Path() path.Path }); !ok || !wp.Path().Equal(at) {
					t.Errorf("%q: the error is not on the attribute", s)
				}
			}
		})
	}
}
