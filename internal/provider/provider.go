// Package provider is the Terraform glue of imagegate: schemas, models and
// the conversion between them and the domain packages. Nothing here knows how
// to talk to a registry or scan an image.
package provider

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

var _ provider.Provider = &imagegateProvider{}

// Option changes how the provider is built; tests use it to inject
// transports and clocks.
type Option func(*imagegateProvider)

// WithRegistryTransport sets the base HTTP transport for registry requests.
func WithRegistryTransport(rt http.RoundTripper) Option {
	return func(p *imagegateProvider) { p.transport = rt }
}

// New returns a constructor for the provider, as providerserver expects.
func New(version string, opts ...Option) func() provider.Provider {
	return func() provider.Provider {
		p := &imagegateProvider{version: version}
		for _, o := range opts {
			o(p)
		}
		return p
	}
}

type imagegateProvider struct {
	version   string
	transport http.RoundTripper
}

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	registry *registry.Client
}

type providerModel struct {
	RegistryAuth       []registryAuthModel `tfsdk:"registry_auth"`
	InsecureRegistries []types.String      `tfsdk:"insecure_registries"`
	Platform           types.String        `tfsdk:"platform"`
	MaxRetries         types.Int64         `tfsdk:"max_retries"`
	RequestTimeout     types.String        `tfsdk:"request_timeout"`
}

type registryAuthModel struct {
	Address       types.String `tfsdk:"address"`
	Username      types.String `tfsdk:"username"`
	Password      types.String `tfsdk:"password"`
	IdentityToken types.String `tfsdk:"identity_token"`
}

func (p *imagegateProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "imagegate"
	resp.Version = p.version
}

func (p *imagegateProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The imagegate provider reads, scans and gates container images at plan time, so that an image that breaks policy fails `terraform plan` before anything references it.",
		Attributes: map[string]schema.Attribute{
			"registry_auth": schema.ListNestedAttribute{
				MarkdownDescription: "Credentials for registries, by address. Registries not listed here use the Docker config file and its credential helpers. Credentials are never written to state or logs.",
				Optional:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"address": schema.StringAttribute{
						MarkdownDescription: "The registry host, with a port when it is not 443, such as `ghcr.io` or `registry.example.com:5000`.",
						Required:            true,
					},
					"username": schema.StringAttribute{
						MarkdownDescription: "The user name for basic authentication. Set it together with `password`.",
						Optional:            true,
					},
					"password": schema.StringAttribute{
						MarkdownDescription: "The password or access token for basic authentication. Set it together with `username`.",
						Optional:            true,
						Sensitive:           true,
					},
					"identity_token": schema.StringAttribute{
						MarkdownDescription: "An OAuth2 identity (refresh) token, used instead of `username` and `password`.",
						Optional:            true,
						Sensitive:           true,
					},
				}},
			},
			"insecure_registries": schema.ListAttribute{
				MarkdownDescription: "Registries (host or host:port) that may be reached over plain HTTP. Every other registry must answer over HTTPS, loopback addresses included, so that images come over a secure channel.",
				Optional:            true,
				ElementType:         types.StringType,
				Validators:          []validator.List{listvalidator.UniqueValues()},
			},
			"platform": schema.StringAttribute{
				MarkdownDescription: "The platform (`os/arch` or `os/arch/variant`) chosen from multi-platform images when a data source does not set its own. Defaults to `linux/amd64`.",
				Optional:            true,
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: "How many times a registry request is retried after a 408, 429 or 5xx answer or a network failure, with exponential backoff. Defaults to 3; 0 turns retries off.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, 10)},
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: "How long a registry may take to start answering a request, or stall while sending one, as a Go duration such as `30s` or `2m`. Defaults to `60s`.",
				Optional:            true,
			},
		},
	}
}

func (p *imagegateProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	opts := registry.Options{
		Platform:  cfg.Platform.ValueString(),
		Transport: p.transport,
	}
	if cfg.Platform.IsUnknown() {
		unknownConfig(&resp.Diagnostics, path.Root("platform"))
	}
	for i, a := range cfg.RegistryAuth {
		if a.Address.IsUnknown() || a.Username.IsUnknown() || a.Password.IsUnknown() || a.IdentityToken.IsUnknown() {
			unknownConfig(&resp.Diagnostics, path.Root("registry_auth").AtListIndex(i))
			continue
		}
		opts.Credentials = append(opts.Credentials, registry.Credential{
			Address:       a.Address.ValueString(),
			Username:      a.Username.ValueString(),
			Password:      a.Password.ValueString(),
			IdentityToken: a.IdentityToken.ValueString(),
		})
	}
	for i, h := range cfg.InsecureRegistries {
		if h.IsUnknown() {
			unknownConfig(&resp.Diagnostics, path.Root("insecure_registries").AtListIndex(i))
			continue
		}
		opts.InsecureRegistries = append(opts.InsecureRegistries, h.ValueString())
	}
	switch {
	case cfg.MaxRetries.IsNull():
	case cfg.MaxRetries.ValueInt64() == 0:
		opts.MaxRetries = -1
	default:
		opts.MaxRetries = int(cfg.MaxRetries.ValueInt64())
	}
	if !cfg.RequestTimeout.IsNull() && !cfg.RequestTimeout.IsUnknown() {
		d, err := time.ParseDuration(cfg.RequestTimeout.ValueString())
		if err != nil || d <= 0 {
			resp.Diagnostics.AddAttributeError(path.Root("request_timeout"), "Invalid Request Timeout",
				"request_timeout must be a positive Go duration such as \"30s\" or \"2m\"; got "+cfg.RequestTimeout.String()+".")
		}
		opts.RequestTimeout = d
	}
	if resp.Diagnostics.HasError() {
		return
	}
	client, err := registry.New(opts)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Registry Configuration", err.Error()+". Fix the provider's registry settings.")
		return
	}
	data := &providerData{registry: client}
	resp.DataSourceData = data
	resp.ResourceData = data
}

func (p *imagegateProvider) Resources(context.Context) []func() resource.Resource {
	return nil
}

func (p *imagegateProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewImageDataSource,
	}
}
