package vulndb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

func TestReadEnv(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		env     map[string]string
		want    vulndb.Env
		wantErr []string // substrings, each must appear
	}{
		{name: "unset", env: nil, want: vulndb.Env{}},
		{name: "empty is unset", env: map[string]string{vulndb.EnvAutoUpdate: "", vulndb.EnvMaxAge: " ", vulndb.EnvCacheDir: ""}, want: vulndb.Env{}},
		{name: "all set", env: map[string]string{
			vulndb.EnvCacheDir: "/var/cache/grype", vulndb.EnvUpdateURL: "https://mirror.example/latest.json",
			vulndb.EnvAutoUpdate: "false", vulndb.EnvMaxAge: "48h", vulndb.EnvCACert: "/etc/ca.pem",
		}, want: vulndb.Env{CacheDir: "/var/cache/grype", UpdateURL: "https://mirror.example/latest.json", AutoUpdate: &no, MaxAge: 48 * time.Hour, CACert: "/etc/ca.pem"}},
		{name: "bool spellings", env: map[string]string{vulndb.EnvAutoUpdate: "1"}, want: vulndb.Env{AutoUpdate: &yes}},
		{name: "bad bool", env: map[string]string{vulndb.EnvAutoUpdate: "sometimes"},
			wantErr: []string{`GRYPE_DB_AUTO_UPDATE="sometimes" is not a boolean`, "true or false"}},
		{name: "bad duration", env: map[string]string{vulndb.EnvMaxAge: "5 days"},
			wantErr: []string{`GRYPE_DB_MAX_ALLOWED_BUILT_AGE="5 days" is not a Go duration`, "120h"}},
		{name: "negative duration", env: map[string]string{vulndb.EnvMaxAge: "-1h"},
			wantErr: []string{`GRYPE_DB_MAX_ALLOWED_BUILT_AGE="-1h" is not positive`}},
		{name: "every bad variable reported", env: map[string]string{vulndb.EnvAutoUpdate: "maybe", vulndb.EnvMaxAge: "0s"},
			wantErr: []string{"GRYPE_DB_AUTO_UPDATE", "GRYPE_DB_MAX_ALLOWED_BUILT_AGE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vulndb.ReadEnv(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.CacheDir != tt.want.CacheDir || got.UpdateURL != tt.want.UpdateURL || got.CACert != tt.want.CACert || got.MaxAge != tt.want.MaxAge ||
				(got.AutoUpdate == nil) != (tt.want.AutoUpdate == nil) || (got.AutoUpdate != nil && *got.AutoUpdate != *tt.want.AutoUpdate) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
