package policy

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// The policy package parses references itself, because it must also parse
// globs and stay free of I/O; on concrete references its normalisation
// must agree with go-containerregistry's, which the registry client uses,
// or a trusted entry would name a different repository than the image the
// gate pulls.
func TestRefsAgreeWithGoContainerRegistry(t *testing.T) {
	for _, s := range []string{
		"alpine",
		"alpine:3.20",
		"library/alpine",
		"docker.io/alpine",
		"docker.io/library/alpine:3.20",
		"index.docker.io/library/alpine",
		"index.docker.io/bitnami/redis:7",
		"bitnami/redis",
		"ghcr.io/acme/app:v1",
		"ghcr.io/acme/team/app",
		"cgr.dev/chainguard/static@sha256:" + hex64,
		"ghcr.io/acme/app:v1@sha256:" + hex64,
		"registry.example.com:5000/app:v1",
		"127.0.0.1:5000/app@sha256:" + hex64,
		"localhost/app",
		"localhost:5000/team/app:latest",
		"quay.io/prometheus/node-exporter:v1.8.2",
		"example.com/a/b/c/d:tag_1.2-x",
	} {
		t.Run(s, func(t *testing.T) {
			want, err := name.ParseReference(s, name.WeakValidation)
			if err != nil {
				t.Fatalf("go-containerregistry: %v", err)
			}
			got, err := parseRef(s)
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			if got.repo != want.Context().Name() {
				t.Errorf("repository: policy %q, go-containerregistry %q", got.repo, want.Context().Name())
			}
			host, _, _ := strings.Cut(got.repo, "/")
			if host != want.Context().RegistryStr() {
				t.Errorf("host: policy %q, go-containerregistry %q", host, want.Context().RegistryStr())
			}
			if normalizeHost(want.Context().RegistryStr()) != want.Context().RegistryStr() {
				t.Errorf("normalizeHost changes go-containerregistry's host %q", want.Context().RegistryStr())
			}
			switch r := want.(type) {
			case name.Digest:
				if got.digest != r.DigestStr() {
					t.Errorf("digest: policy %q, go-containerregistry %q", got.digest, r.DigestStr())
				}
			case name.Tag:
				// go-containerregistry fills in "latest"; the policy keeps
				// "no tag" so that an entry without one matches every tag.
				if got.tag != "" && got.tag != r.TagStr() {
					t.Errorf("tag: policy %q, go-containerregistry %q", got.tag, r.TagStr())
				}
			}
			// The normalised repository is a fixed point of both.
			if again := normalizeRepository(got.repo); again != got.repo {
				t.Errorf("normalizeRepository(%q) = %q, not a fixed point", got.repo, again)
			}
		})
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
