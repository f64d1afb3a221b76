package registry

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The image references of the provider have one home: these helpers, built
// on go-containerregistry's name and v1 packages, so that no caller
// re-derives repositories, hosts, tags or platform strings by hand.

// Pin is repo@digest, the form an image is acted on in once resolved.
func Pin(repo name.Repository, digest string) string {
	return repo.Name() + "@" + digest
}

// ExplicitTag returns the tag that ref writes out, and false when ref names
// no tag (an implicit "latest") or is not a valid tag reference.
// "localhost:5000/app" names no tag: the port is not one.
func ExplicitTag(ref string) (string, bool) {
	t, err := name.NewTag(ref, name.WithDefaultTag(""))
	if err != nil || t.TagStr() == "" {
		return "", false
	}
	return t.TagStr(), true
}

// Host is the registry host of ref as go-containerregistry resolves it
// ("index.docker.io" for Docker Hub's short names).
func Host(ref string) (string, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	return r.Context().RegistryStr(), nil
}

// Repository is the full repository name of ref ("index.docker.io/library/alpine"
// for "alpine").
func Repository(ref string) (string, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	return r.Context().Name(), nil
}

// PlatformString is os/arch[/variant], the form the provider's platform
// settings take; the OS version and features are left out.
func PlatformString(p v1.Platform) string {
	return v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}.String()
}
