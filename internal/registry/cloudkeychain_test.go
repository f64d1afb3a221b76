package registry

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// fakeKeychain hands out a basic credential naming the keychain and records
// every registry it was asked about.
type fakeKeychain struct {
	user  string
	asked []string
}

func (f *fakeKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	f.asked = append(f.asked, r.RegistryStr())
	return &authn.Basic{Username: f.user, Password: "secret-" + f.user}, nil
}

func fakeClouds() (CloudKeychains, map[string]*fakeKeychain) {
	f := map[string]*fakeKeychain{
		"google": {user: "google"}, "ecr": {user: "ecr"}, "acr": {user: "acr"}, "github": {user: "github"},
	}
	return CloudKeychains{Google: f["google"], ECR: f["ecr"], ACR: f["acr"], GitHub: f["github"]}, f
}

func TestCloudOf(t *testing.T) {
	for _, tc := range []struct {
		host string
		want Cloud
	}{
		{"gcr.io", CloudGoogle},
		{"eu.gcr.io", CloudGoogle},
		{"GCR.IO", CloudGoogle},
		{"europe-west1-docker.pkg.dev", CloudGoogle},
		{"us-docker.pkg.dev", CloudGoogle},
		{"evilgcr.io", CloudNone},
		{"gcr.io.evil.com", CloudNone},
		{"evilpkg.dev", CloudNone},
		{"pkg.dev", CloudNone},
		{".gcr.io", CloudNone},
		{"gcr.io:443", CloudNone},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", CloudECR},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", CloudECR},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", CloudECR},
		{"public.ecr.aws", CloudECR},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.com", CloudNone},
		{"evil.123456789012.dkr.ecr.us-east-1.amazonaws.com", CloudNone},
		{"12345.dkr.ecr.us-east-1.amazonaws.com", CloudNone},
		{"dkr.ecr.us-east-1.amazonaws.com", CloudNone},
		{"myregistry.azurecr.io", CloudACR},
		{"myregistry.azurecr.cn", CloudACR},
		{"myregistry.azurecr.us", CloudACR},
		{"x.azurecr.io.attacker.net", CloudNone},
		{"azurecr.io", CloudNone},
		{"evilazurecr.io", CloudNone},
		{"ghcr.io", CloudGitHub},
		{"ghcr.io.evil.com", CloudNone},
		{"evil.ghcr.io", CloudNone},
		{"ghcr.io:5000", CloudNone},
		{"index.docker.io", CloudNone},
		{"localhost:5000", CloudNone},
		{"127.0.0.1", CloudNone},
		{"", CloudNone},
	} {
		if got := CloudOf(tc.host); got != tc.want {
			t.Errorf("CloudOf(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestKeychainCloudChoice(t *testing.T) {
	for _, tc := range []struct {
		ref      string
		wantUser string // "" means anonymous
		asked    string // the only fake keychain that may be asked
	}{
		{"gcr.io/p/i:1", "google", "google"},
		{"europe-docker.pkg.dev/p/r/i:1", "google", "google"},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/i:1", "ecr", "ecr"},
		{"reg.azurecr.io/i:1", "acr", "acr"},
		{"ghcr.io/o/i:1", "github", "github"},
		{"evilgcr.io/p/i:1", "", ""},
		{"ghcr.io.evil.com/o/i:1", "", ""},
		{"x.azurecr.io.attacker.net/i:1", "", ""},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.com/i:1", "", ""},
		{"docker.io/library/alpine:3", "", ""},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			clouds, fakes := fakeClouds()
			kc, err := newKeychain(nil, authn.NewMultiKeychain(), &clouds)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := name.ParseReference(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			auth, err := authn.Resolve(context.Background(), kc, ref.Context())
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := auth.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tc.wantUser {
				t.Errorf("username = %q, want %q", cfg.Username, tc.wantUser)
			}
			for n, f := range fakes {
				if n != tc.asked && len(f.asked) > 0 {
					t.Errorf("the %s keychain was asked about %v; cloud credentials must stay on their own hosts", n, f.asked)
				}
			}
		})
	}
}

// A configured credential always wins: registry_auth first, then the Docker
// config (the fallback keychain); the cloud keychain is not even asked.
func TestKeychainConfiguredCredentialWins(t *testing.T) {
	ref, err := name.ParseReference("ghcr.io/o/i:1")
	if err != nil {
		t.Fatal(err)
	}

	clouds, fakes := fakeClouds()
	kc, err := newKeychain([]Credential{{Address: "ghcr.io", Username: "configured", Password: "pw"}}, authn.NewMultiKeychain(), &clouds)
	if err != nil {
		t.Fatal(err)
	}
	assertUser(t, kc, ref, "configured")
	if len(fakes["github"].asked) != 0 {
		t.Errorf("github keychain asked although registry_auth has ghcr.io")
	}

	clouds, fakes = fakeClouds()
	docker := &fakeKeychain{user: "docker-config"}
	kc, err = newKeychain(nil, docker, &clouds)
	if err != nil {
		t.Fatal(err)
	}
	assertUser(t, kc, ref, "docker-config")
	if len(fakes["github"].asked) != 0 {
		t.Errorf("github keychain asked although the Docker config has a credential")
	}
}

func assertUser(t *testing.T, kc authn.Keychain, ref name.Reference, want string) {
	t.Helper()
	auth, err := authn.Resolve(context.Background(), kc, ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != want {
		t.Errorf("username = %q, want %q", cfg.Username, want)
	}
}

// The default keychains are built without touching the network or the
// environment, and each cloud has one.
func TestDefaultCloudKeychains(t *testing.T) {
	d := DefaultCloudKeychains()
	if d.Google == nil || d.ECR == nil || d.ACR == nil || d.GitHub == nil {
		t.Fatalf("DefaultCloudKeychains left a cloud without keychain: %+v", d)
	}
}
