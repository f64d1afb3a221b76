// Package provider is the Terraform glue of imagegate: schemas, models and
// the conversion between them and the domain packages. Nothing here knows how
// to talk to a registry or scan an image.
package provider

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

var _ provider.Provider = &imagegateProvider{}

// option changes how the provider is built; tests use it to inject
// transports and clocks.
type option func(*imagegateProvider)

// withClock sets the clock used for database age and exception expiry, so
// tests never sleep.
func withClock(now func() time.Time) option {
	return func(p *imagegateProvider) { p.now = now }
}

// withEnv replaces the environment lookup (for the enforcement override).
func withEnv(getenv func(string) string) option {
	return func(p *imagegateProvider) { p.getenv = getenv }
}

// New returns a constructor for the provider, as providerserver expects.
func New(version string, opts ...option) func() provider.Provider {
	return func() provider.Provider {
		p := &imagegateProvider{version: version, getenv: os.Getenv, now: time.Now}
		for _, o := range opts {
			o(p)
		}
		return p
	}
}

type imagegateProvider struct {
	version string
	now     func() time.Time
	getenv  func(string) string

	// mu guards current: the data of the last Configure, closed when the
	// provider is configured again (a new command in the same process).
	mu      sync.Mutex
	current *providerData
}

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	registry    *registry.Client
	db          *vulndb.Manager
	scanner     *scan.Scanner
	gate        *gate.Gate
	verifier    *verify.Verifier
	enforcement enforcement
	// now is the provider's clock.
	now func() time.Time
	// signer is registry_attestations' signing key, if any: it signs
	// published SBOMs and the verdicts that bring no key of their own.
	signer *attest.Signer
	// verdictSigners are the verdicts' own keys loaded so far, by the
	// SHA-256 of the key and its password (verdictSigner).
	verdictSigners sync.Map
	// secrets are masked in every log line (see logged).
	secrets []string
}

// enforcement says whether failed gates fail the run, and what decided it.
type enforcement struct {
	on     bool
	source string
}

// EnforceEnv overrides the provider's enforce setting for one run.
const EnforceEnv = "IMAGEGATE_ENFORCE"

type providerModel struct {
	RegistryAuth       []registryAuthModel   `tfsdk:"registry_auth"`
	InsecureRegistries []types.String        `tfsdk:"insecure_registries"`
	Platform           types.String          `tfsdk:"platform"`
	MaxRetries         types.Int64           `tfsdk:"max_retries"`
	RequestTimeout     types.String          `tfsdk:"request_timeout"`
	VulnerabilityDB    *vulnerabilityDBModel `tfsdk:"vulnerability_db"`
	SBOMCacheDir       types.String          `tfsdk:"sbom_cache_dir"`
	Enforce            types.Bool            `tfsdk:"enforce"`
	MaxImageLayers     types.Int64           `tfsdk:"max_image_layers"`
	MaxIndexImages     types.Int64           `tfsdk:"max_index_images"`
	MaxImageSize       types.String          `tfsdk:"max_image_size"`
	ScanTimeout        types.String          `tfsdk:"scan_timeout"`
	MinTransferRate    types.String          `tfsdk:"min_transfer_rate"`
	// RegistryAttestations: see attestations.go.
	RegistryAttestations *registryAttestationsModel `tfsdk:"registry_attestations"`
}

type vulnerabilityDBModel struct {
	CacheDir           types.String `tfsdk:"cache_dir"`
	UpdateURL          types.String `tfsdk:"update_url"`
	AutoUpdate         types.Bool   `tfsdk:"auto_update"`
	MaxAge             types.String `tfsdk:"max_age"`
	ValidateChecksum   types.Bool   `tfsdk:"validate_checksum"`
	CACert             types.String `tfsdk:"ca_cert"`
	Archive            types.String `tfsdk:"archive"`
	RequireUpdateCheck types.Bool   `tfsdk:"require_update_check"`
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
				MarkdownDescription: "Credentials for registries, by address. Registries not listed here use the Docker config file and its credential helpers; when that has nothing for a cloud registry, the cloud's own credentials from the environment are used, chosen by the registry host only: Google (`gcr.io`, `*.gcr.io`, `*.pkg.dev`: gcloud, application default credentials or the metadata server), Amazon ECR (`<account>.dkr.ecr.<region>.amazonaws.com` and `public.ecr.aws`: the AWS SDK's default chain), Azure ACR (`*.azurecr.io`, `.cn`, `.us`, `.de`: `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and `AZURE_CLIENT_SECRET` or `AZURE_FEDERATED_TOKEN_FILE`) and GitHub (`ghcr.io`: `GITHUB_TOKEN`, `GITHUB_ACTOR`). A credential listed here always wins. Credentials are never written to state or logs.",
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
				MarkdownDescription: "The platform (`os/arch` or `os/arch/variant`) that `imagegate_image` chooses from a multi-platform index when it does not set its own. Defaults to `linux/amd64`. Scans and gates are not narrowed by it: they cover every platform of an index unless their own `platforms` says otherwise.",
				Optional:            true,
				Validators:          []validator.String{platformSyntax},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: "How many times a registry request is retried after a 408, 429 or 5xx answer or a network failure, with exponential backoff. Defaults to 3; 0 turns retries off.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, 10)},
			},
			"vulnerability_db": schema.SingleNestedAttribute{
				MarkdownDescription: "Where grype's vulnerability database lives and how it is kept current. It is opened once per provider process and shared by every scan. Each setting left unset is read from the grype CLI's environment variable for it (`GRYPE_DB_CACHE_DIR`, `GRYPE_DB_UPDATE_URL`, `GRYPE_DB_AUTO_UPDATE`, `GRYPE_DB_MAX_ALLOWED_BUILT_AGE`, `GRYPE_DB_CA_CERT`), so a CI job that runs grype shares its setup; the configuration wins over the environment. A database that is missing, corrupt, of the wrong schema or older than `max_age` fails the scan: the gate never passes on data it could not read.",
				Optional:            true,
				Attributes: map[string]schema.Attribute{
					"cache_dir": schema.StringAttribute{
						MarkdownDescription: "The database directory, in grype's layout (`<cache_dir>/6/vulnerability.db`), so the grype CLI and imagegate share one download. When unset, the `GRYPE_DB_CACHE_DIR` environment variable, else grype's own cache directory (`$XDG_CACHE_HOME/grype/db`).",
						Optional:            true,
					},
					"update_url": schema.StringAttribute{
						MarkdownDescription: "The database listing (`latest.json`) or the base URL it is found under. When unset, the `GRYPE_DB_UPDATE_URL` environment variable, else grype's public listing. Credentials in it (a user and password, or query tokens) are sent to the server but never shown: messages and warnings print the URL with them replaced by `<redacted>`.",
						Optional:            true,
						Sensitive:           true,
					},
					"auto_update": schema.BoolAttribute{
						MarkdownDescription: "Whether to check `update_url` for a newer database before the first scan of each run, and install it. When unset, the `GRYPE_DB_AUTO_UPDATE` environment variable (`true` or `false`), else true.",
						Optional:            true,
					},
					"max_age": schema.StringAttribute{
						MarkdownDescription: "The oldest database build accepted, as a Go duration. When unset, the `GRYPE_DB_MAX_ALLOWED_BUILT_AGE` environment variable (a Go duration), else `120h`.",
						Optional:            true,
						Validators:          []validator.String{durationSyntax("Invalid Database Max Age", `"120h" or "24h"`)},
					},
					"validate_checksum": schema.BoolAttribute{
						MarkdownDescription: "Whether to verify the database file against the checksum recorded when it was installed. Defaults to true.",
						Optional:            true,
					},
					"ca_cert": schema.StringAttribute{
						MarkdownDescription: "A PEM file of certificate authorities to trust for `update_url`. When unset, the `GRYPE_DB_CA_CERT` environment variable, else the system's roots.",
						Optional:            true,
					},
					"archive": schema.StringAttribute{
						MarkdownDescription: "A database archive (`.tar.gz` or `.tar.zst`, as `grype db` builds and publishes them) to import, for air-gapped use. It is imported again only when its content changes. Usually combined with `auto_update = false`.",
						Optional:            true,
					},
					"require_update_check": schema.BoolAttribute{
						MarkdownDescription: "Whether a failed update check is an error. Defaults to false: the failure is a warning, and the installed database is used if it is fresh enough.",
						Optional:            true,
					},
				},
			},
			"enforce": schema.BoolAttribute{
				MarkdownDescription: "Whether a failed `imagegate_gate` fails the run. Defaults to true. The escape hatch for emergencies: Terraform also reads data sources during `terraform destroy` and emergency applies, and a gate must never trap a team. Setting this to false, or the environment variable `IMAGEGATE_ENFORCE=false` (which wins over this setting), turns every failing gate into a warning that says enforcement was switched off and by what.",
				Optional:            true,
			},
			"sbom_cache_dir": schema.StringAttribute{
				MarkdownDescription: "Where the SBOM of each scanned digest is cached, so a re-plan of an unchanged image re-matches it without pulling layers. Defaults to `imagegate/sbom` under the user's cache directory. Whoever can write the cache decides what later plans find, so it is created private (0700), and a directory another user owns or others can write is not used (the scan then pulls the image every time, with a warning).",
				Optional:            true,
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: "How long a registry may take to start answering a request, or stall while sending one, as a Go duration such as `30s` or `2m`. Defaults to `60s`.",
				Optional:            true,
				Validators:          []validator.String{durationSyntax("Invalid Request Timeout", `"30s" or "2m"`)},
			},
		},
	}
	maps.Copy(resp.Schema.Attributes, limitAttributes())
	maps.Copy(resp.Schema.Attributes, attestationAttributes())
}

func (p *imagegateProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	// A setting known only at apply could switch a check off at plan time
	// (an unknown enforce or validate_checksum reads as false): refuse it.
	if !req.Config.Raw.IsFullyKnown() {
		var attrs map[string]tftypes.Value
		if err := req.Config.Raw.As(&attrs); err == nil {
			for name, v := range attrs {
				if !v.IsFullyKnown() {
					unknownConfig(&resp.Diagnostics, path.Root(name))
				}
			}
		}
		if !resp.Diagnostics.HasError() {
			unknownConfig(&resp.Diagnostics, path.Empty())
		}
		return
	}
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	opts := registry.Options{
		Platform: cfg.Platform.ValueString(),
	}
	for _, a := range cfg.RegistryAuth {
		opts.Credentials = append(opts.Credentials, registry.Credential{
			Address:       a.Address.ValueString(),
			Username:      a.Username.ValueString(),
			Password:      a.Password.ValueString(),
			IdentityToken: a.IdentityToken.ValueString(),
		})
	}
	for _, h := range cfg.InsecureRegistries {
		opts.InsecureRegistries = append(opts.InsecureRegistries, h.ValueString())
	}
	switch {
	case cfg.MaxRetries.IsNull():
	case cfg.MaxRetries.ValueInt64() == 0:
		opts.MaxRetries = -1
	default:
		opts.MaxRetries = int(cfg.MaxRetries.ValueInt64())
	}
	if !cfg.RequestTimeout.IsNull() {
		d, err := time.ParseDuration(cfg.RequestTimeout.ValueString())
		if err != nil || d <= 0 {
			resp.Diagnostics.AddAttributeError(path.Root("request_timeout"), "Invalid Request Timeout",
				"request_timeout must be a positive Go duration such as \"30s\" or \"2m\"; got "+cfg.RequestTimeout.String()+".")
		}
		opts.RequestTimeout = d
	}
	scanOpts := applyLimits(cfg, &opts, &resp.Diagnostics)
	attOpts, signer := attestationOptions(cfg.RegistryAttestations, &resp.Diagnostics)
	scanOpts = append(scanOpts, attOpts...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, err := registry.New(opts)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Registry Configuration", err.Error()+". Fix the provider's registry settings.")
		return
	}
	dbCfg := p.vulnDBConfig(cfg.VulnerabilityDB, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	db, err := vulndb.New(dbCfg)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("vulnerability_db"), "Invalid Vulnerability Database Configuration", err.Error()+". Fix the provider's vulnerability_db settings.")
		return
	}
	enf, err := enforcementFrom(cfg.Enforce, p.getenv(EnforceEnv))
	if err != nil {
		resp.Diagnostics.AddError("Invalid Enforcement Setting", err.Error())
		return
	}
	scanner := scan.New(client, db, cfg.SBOMCacheDir.ValueString(), scanOpts...)
	data := &providerData{registry: client, db: db, scanner: scanner, gate: gate.New(client, scanner, p.now), enforcement: enf, signer: signer, now: p.now}
	data.verifier = verify.New(client, p.now)
	data.secrets = logSecrets(cfg.RegistryAuth, dbCfg.UpdateURL, cfg.RegistryAttestations)
	p.replaceData(data)
	resp.DataSourceData = data
	resp.ResourceData = data
}

// enforcementFrom combines the provider setting and the environment
// variable, which wins so an emergency run needs no code change.
func enforcementFrom(setting types.Bool, env string) (enforcement, error) {
	if env != "" {
		on, err := strconv.ParseBool(env)
		if err != nil {
			return enforcement{}, fmt.Errorf("%s=%q is not a boolean; set it to true or false, or unset it", EnforceEnv, env)
		}
		return enforcement{on: on, source: "the " + EnforceEnv + "=" + env + " environment variable"}, nil
	}
	if !setting.IsNull() && !setting.ValueBool() {
		return enforcement{on: false, source: "the provider's enforce = false setting"}, nil
	}
	return enforcement{on: true}, nil
}

// replaceData closes what the previous Configure opened: an open database
// would keep serving its old contents after an update replaced the file.
func (p *imagegateProvider) replaceData(d *providerData) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil {
		_ = p.current.db.Close()
	}
	p.current = d
}

func (p *imagegateProvider) vulnDBConfig(m *vulnerabilityDBModel, diags *diag.Diagnostics) vulndb.Config {
	cfg := vulndb.Config{AutoUpdate: true, ValidateChecksum: true, MaxAge: vulndb.DefaultMaxAge, Version: p.version, Now: p.now}
	if m == nil {
		m = &vulnerabilityDBModel{}
	}
	p.grypeEnv(m, &cfg, diags)
	if !m.CacheDir.IsNull() {
		cfg.CacheDir = m.CacheDir.ValueString()
	}
	if !m.UpdateURL.IsNull() {
		cfg.UpdateURL = m.UpdateURL.ValueString()
	}
	if !m.CACert.IsNull() {
		cfg.CACert = m.CACert.ValueString()
	}
	cfg.Archive = m.Archive.ValueString()
	cfg.RequireUpdateCheck = m.RequireUpdateCheck.ValueBool()
	if !m.AutoUpdate.IsNull() {
		cfg.AutoUpdate = m.AutoUpdate.ValueBool()
	}
	if !m.ValidateChecksum.IsNull() {
		cfg.ValidateChecksum = m.ValidateChecksum.ValueBool()
	}
	if !m.MaxAge.IsNull() {
		d, err := time.ParseDuration(m.MaxAge.ValueString())
		if err != nil || d <= 0 {
			diags.AddAttributeError(path.Root("vulnerability_db").AtName("max_age"), "Invalid Database Max Age",
				"max_age must be a positive Go duration such as \"120h\" or \"24h\"; got "+m.MaxAge.String()+".")
		}
		cfg.MaxAge = d
	}
	return cfg
}

// grypeEnv fills cfg's database settings from the grype CLI's environment
// variables: the provider configuration wins over them, and they win over
// the defaults. A variable is read, and a bad value reported, only when
// the configuration leaves its setting unset.
func (p *imagegateProvider) grypeEnv(m *vulnerabilityDBModel, cfg *vulndb.Config, diags *diag.Diagnostics) {
	set := map[string]bool{
		vulndb.EnvCacheDir: !m.CacheDir.IsNull(), vulndb.EnvUpdateURL: !m.UpdateURL.IsNull(), vulndb.EnvCACert: !m.CACert.IsNull(),
		vulndb.EnvAutoUpdate: !m.AutoUpdate.IsNull(), vulndb.EnvMaxAge: !m.MaxAge.IsNull(),
	}
	env, err := vulndb.ReadEnv(func(name string) string {
		if set[name] {
			return ""
		}
		return p.getenv(name)
	})
	if err != nil {
		diags.AddAttributeError(path.Root("vulnerability_db"), "Invalid Grype Environment Variable",
			err.Error()+". The provider reads the grype CLI's GRYPE_DB_* variables for the vulnerability_db settings its configuration leaves unset; fix or unset the variable, or set the setting in the provider configuration.")
		return
	}
	if env.CacheDir != "" {
		cfg.CacheDir = env.CacheDir
	}
	if env.UpdateURL != "" {
		cfg.UpdateURL = env.UpdateURL
	}
	if env.CACert != "" {
		cfg.CACert = env.CACert
	}
	if env.AutoUpdate != nil {
		cfg.AutoUpdate = *env.AutoUpdate
	}
	if env.MaxAge > 0 {
		cfg.MaxAge = env.MaxAge
	}
}

func (p *imagegateProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewPolicyResource,
		NewPromotionResource,
		NewVerdictResource,
	}
}

func (p *imagegateProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewImageDataSource,
		NewScanDataSource,
		NewGateDataSource,
		NewSignaturesDataSource,
		NewPolicyDocumentDataSource,
	}
}
