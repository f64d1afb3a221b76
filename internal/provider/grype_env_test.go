package provider

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// The grype CLI's GRYPE_DB_* variables fill the vulnerability_db settings
// the configuration leaves unset: configuration over environment over
// defaults; a bad variable is an error naming it, unless the
// configuration sets that setting (then it is never read).
func TestGrypeEnvPrecedence(t *testing.T) {
	allEnv := map[string]string{
		vulndb.EnvCacheDir: "/env/cache", vulndb.EnvUpdateURL: "https://env.example/latest.json", vulndb.EnvCACert: "/env/ca.pem",
		vulndb.EnvAutoUpdate: "false", vulndb.EnvMaxAge: "48h",
	}
	configured := &vulnerabilityDBModel{
		CacheDir: types.StringValue("/cfg/cache"), UpdateURL: types.StringValue("https://cfg.example/latest.json"), CACert: types.StringValue("/cfg/ca.pem"),
		AutoUpdate: types.BoolValue(true), MaxAge: types.StringValue("24h"),
	}
	defaults := vulndb.Config{AutoUpdate: true, MaxAge: vulndb.DefaultMaxAge}
	tests := []struct {
		name    string
		env     map[string]string
		model   *vulnerabilityDBModel
		want    vulndb.Config // CacheDir, UpdateURL, CACert, AutoUpdate, MaxAge compared
		wantErr string
	}{
		{name: "no block, no env: defaults", want: defaults},
		{name: "empty block, no env: defaults", model: &vulnerabilityDBModel{}, want: defaults},
		{name: "no block: env", env: allEnv,
			want: vulndb.Config{CacheDir: "/env/cache", UpdateURL: "https://env.example/latest.json", CACert: "/env/ca.pem", AutoUpdate: false, MaxAge: 48 * time.Hour}},
		{name: "configuration wins", env: allEnv, model: configured,
			want: vulndb.Config{CacheDir: "/cfg/cache", UpdateURL: "https://cfg.example/latest.json", CACert: "/cfg/ca.pem", AutoUpdate: true, MaxAge: 24 * time.Hour}},
		{name: "per setting", env: allEnv, model: &vulnerabilityDBModel{CacheDir: types.StringValue("/cfg/cache"), AutoUpdate: types.BoolValue(true)},
			want: vulndb.Config{CacheDir: "/cfg/cache", UpdateURL: "https://env.example/latest.json", CACert: "/env/ca.pem", AutoUpdate: true, MaxAge: 48 * time.Hour}},
		{name: "bad bool", env: map[string]string{vulndb.EnvAutoUpdate: "yes please"}, wantErr: `GRYPE_DB_AUTO_UPDATE="yes please" is not a boolean`},
		{name: "bad duration", env: map[string]string{vulndb.EnvMaxAge: "3d"}, wantErr: `GRYPE_DB_MAX_ALLOWED_BUILT_AGE="3d" is not a Go duration`},
		{name: "bad variable of a configured setting is not read", env: map[string]string{vulndb.EnvMaxAge: "3d", vulndb.EnvAutoUpdate: "?"}, model: configured,
			want: vulndb.Config{CacheDir: "/cfg/cache", UpdateURL: "https://cfg.example/latest.json", CACert: "/cfg/ca.pem", AutoUpdate: true, MaxAge: 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testutil.As[*imagegateProvider](t, New("test", withEnv(func(k string) string { return tt.env[k] }))())
			var diags diag.Diagnostics
			got := p.vulnDBConfig(tt.model, &diags)
			if tt.wantErr != "" {
				if !diags.HasError() {
					t.Fatalf("no error; config %+v", got)
				}
				d := diags.Errors()[0]
				if !strings.Contains(d.Detail(), tt.wantErr) || d.Summary() != "Invalid Grype Environment Variable" {
					t.Errorf("%s: %s; want it to contain %q", d.Summary(), d.Detail(), tt.wantErr)
				}
				if withPath, ok := d.(diag.DiagnosticWithPath); !ok || !withPath.Path().Equal(path.Root("vulnerability_db")) {
					t.Errorf("the error is not on vulnerability_db: %v", d)
				}
				return
			}
			if diags.HasError() {
				t.Fatal(diags)
			}
			if got.CacheDir != tt.want.CacheDir || got.UpdateURL != tt.want.UpdateURL || got.CACert != tt.want.CACert ||
				got.AutoUpdate != tt.want.AutoUpdate || got.MaxAge != tt.want.MaxAge {
				t.Errorf("got cache_dir %q update_url %q ca_cert %q auto_update %v max_age %v; want %+v",
					got.CacheDir, got.UpdateURL, got.CACert, got.AutoUpdate, got.MaxAge, tt.want)
			}
		})
	}
}
