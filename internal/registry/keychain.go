package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// staticKeychain serves configured credentials by registry host, defers
// every other registry to a fallback keychain (the Docker config), and asks
// the keychain of the registry's own cloud only when both have nothing.
type staticKeychain struct {
	creds    map[string]authn.AuthConfig
	fallback authn.Keychain
	cloud    CloudKeychains
}

func newKeychain(creds []Credential, fallback authn.Keychain, cloud *CloudKeychains) (authn.Keychain, error) {
	if fallback == nil {
		fallback = authn.DefaultKeychain
	}
	if cloud == nil {
		d := DefaultCloudKeychains()
		cloud = &d
	}
	k := &staticKeychain{creds: map[string]authn.AuthConfig{}, fallback: fallback, cloud: *cloud}
	for i, c := range creds {
		host, err := normalizeRegistry(c.Address)
		if err != nil {
			return nil, fmt.Errorf("registry_auth[%d] address %q: %w", i, c.Address, err)
		}
		if _, dup := k.creds[host]; dup {
			return nil, fmt.Errorf("registry_auth[%d]: registry %s has more than one entry; keep one", i, host)
		}
		hasBasic := c.Username != "" || c.Password != ""
		if hasBasic == (c.IdentityToken != "") {
			return nil, fmt.Errorf("registry_auth[%d] for %s: set either username and password, or identity_token", i, host)
		}
		if hasBasic && (c.Username == "" || c.Password == "") {
			return nil, fmt.Errorf("registry_auth[%d] for %s: username and password must both be set", i, host)
		}
		k.creds[host] = authn.AuthConfig{Username: c.Username, Password: c.Password, IdentityToken: c.IdentityToken}
	}
	return k, nil
}

func (k *staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

func (k *staticKeychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	if cfg, ok := k.creds[r.RegistryStr()]; ok {
		return authn.FromConfig(cfg), nil
	}
	auth, err := authn.Resolve(ctx, k.fallback, r)
	if err != nil || auth != authn.Anonymous {
		return auth, err
	}
	return k.cloud.resolveCloud(ctx, r)
}

// normalizeRegistry turns "docker.io", "https://ghcr.io/" or "localhost:5000"
// into the host form go-containerregistry uses.
func normalizeRegistry(addr string) (string, error) {
	for _, prefix := range []string{"https://", "http://"} {
		if len(addr) > len(prefix) && addr[:len(prefix)] == prefix {
			addr = addr[len(prefix):]
		}
	}
	for len(addr) > 0 && addr[len(addr)-1] == '/' {
		addr = addr[:len(addr)-1]
	}
	if addr == "" {
		return "", fmt.Errorf("registry address is empty")
	}
	reg, err := name.NewRegistry(addr, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("not a registry host (expected host or host:port, such as ghcr.io or localhost:5000): %w", err)
	}
	return reg.RegistryStr(), nil
}
