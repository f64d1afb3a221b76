package registry_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

func TestPin(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for in, want := range map[string]string{
		"alpine:3.20":                  "index.docker.io/library/alpine@" + d,
		"localhost:5000/app:v1":        "localhost:5000/app@" + d,
		"ghcr.io/acme/app@" + d:        "ghcr.io/acme/app@" + d,
		"example.com/team/app:v1@" + d: "example.com/team/app@" + d,
	} {
		r, err := name.ParseReference(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := registry.Pin(r.Context(), d); got != want {
			t.Errorf("Pin(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestExplicitTag(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		tag  string
		want bool
	}{
		{"example.com/app:v1", "v1", true},
		{"example.com/app:latest", "latest", true},
		{"example.com/app", "", false},
		{"localhost:5000/app", "", false}, // the port is not a tag
		{"localhost:5000/app:v2", "v2", true},
		{"alpine", "", false},
		{"example.com/app:", "", false},
		{"example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "", false},
	} {
		tag, ok := registry.ExplicitTag(tc.ref)
		if tag != tc.tag || ok != tc.want {
			t.Errorf("ExplicitTag(%q) = %q, %v; want %q, %v", tc.ref, tag, ok, tc.tag, tc.want)
		}
	}
}

func TestHostAndRepository(t *testing.T) {
	for _, tc := range []struct{ ref, host, repo string }{
		{"alpine", "index.docker.io", "index.docker.io/library/alpine"},
		{"docker.io/bitnami/redis:7", "index.docker.io", "index.docker.io/bitnami/redis"},
		{"localhost:5000/app:v1", "localhost:5000", "localhost:5000/app"},
		{"ghcr.io/acme/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "ghcr.io", "ghcr.io/acme/team/app"},
	} {
		host, err := registry.Host(tc.ref)
		if err != nil || host != tc.host {
			t.Errorf("Host(%q) = %q, %v; want %q", tc.ref, host, err, tc.host)
		}
		repo, err := registry.Repository(tc.ref)
		if err != nil || repo != tc.repo {
			t.Errorf("Repository(%q) = %q, %v; want %q", tc.ref, repo, err, tc.repo)
		}
	}
	if _, err := registry.Host("Not A Reference"); err == nil {
		t.Error("Host accepted an invalid reference")
	}
}

func TestPlatformStringAndParse(t *testing.T) {
	if got := registry.PlatformString(v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1234"}); got != "windows/amd64" {
		t.Errorf("PlatformString with an OS version = %q", got)
	}
	if got := registry.PlatformString(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}); got != "linux/arm64/v8" {
		t.Errorf("PlatformString = %q", got)
	}
	for _, ok := range []string{"linux/amd64", "linux/arm64/v8", "windows/amd64"} {
		p, err := registry.ParsePlatform(ok)
		if err != nil || registry.PlatformString(p) != ok {
			t.Errorf("ParsePlatform(%q) = %v, %v", ok, p, err)
		}
	}
	for _, bad := range []string{"", "amd64", "linux", "linux/", "/amd64", "linux/amd64/", "linux//v8", "linux/arm64/v8/x", "windows/amd64:10.0", " linux/amd64"} {
		if p, err := registry.ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q) accepted: %v", bad, p)
		}
	}
}
