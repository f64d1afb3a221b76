package registry

import (
	"context"
	"io"
	"strings"

	ecr "github.com/awslabs/amazon-ecr-credential-helper/ecr-login"
	ecrapi "github.com/awslabs/amazon-ecr-credential-helper/ecr-login/api"
	"github.com/chrismellard/docker-credential-acr-env/pkg/credhelper"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/authn/github"
	"github.com/google/go-containerregistry/pkg/v1/google"
)

// Cloud names the cloud whose keychain serves a registry host.
type Cloud string

// The clouds whose registries get credentials from the environment, the way
// ko and apko find them.
const (
	CloudNone   Cloud = ""
	CloudGoogle Cloud = "google"
	CloudECR    Cloud = "ecr"
	CloudACR    Cloud = "acr"
	CloudGitHub Cloud = "github"
)

// CloudKeychains are the keychains asked for a registry of their own cloud
// when neither registry_auth nor the Docker config has a credential for it.
// A nil field means that cloud's registries get no cloud credential.
type CloudKeychains struct {
	Google authn.Keychain
	ECR    authn.Keychain
	ACR    authn.Keychain
	GitHub authn.Keychain
}

// DefaultCloudKeychains returns go-containerregistry's Google keychain
// (gcloud, application default credentials, the metadata server), the ECR
// credential helper (the AWS SDK's default chain), the ACR helper
// (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE,
// AZURE_TENANT_ID) and the GitHub keychain (GITHUB_TOKEN, GITHUB_ACTOR).
func DefaultCloudKeychains() CloudKeychains {
	return CloudKeychains{
		Google: google.Keychain,
		ECR:    authn.NewKeychainFromHelper(ecr.NewECRHelper(ecr.WithLogger(io.Discard))),
		ACR:    authn.NewKeychainFromHelper(credhelper.NewACRCredentialsHelper()),
		GitHub: github.Keychain,
	}
}

// CloudOf tells which cloud's keychain may serve host (as
// go-containerregistry spells a registry: host or host:port). Matching is on
// the whole host name, so a look-alike such as evilgcr.io, ghcr.io.evil.com
// or x.azurecr.io.attacker.net gets no cloud credential. A host with a port
// is never a cloud registry.
func CloudOf(host string) Cloud {
	h := strings.ToLower(host)
	if h == "" || strings.ContainsAny(h, ":/@") {
		return CloudNone
	}
	switch {
	case h == "gcr.io", hasLabelSuffix(h, ".gcr.io"), hasLabelSuffix(h, ".pkg.dev"):
		return CloudGoogle
	case h == "ghcr.io":
		return CloudGitHub
	case hasLabelSuffix(h, ".azurecr.io"), hasLabelSuffix(h, ".azurecr.cn"),
		hasLabelSuffix(h, ".azurecr.de"), hasLabelSuffix(h, ".azurecr.us"):
		return CloudACR
	}
	// The helper's own parser: <account>.dkr.ecr[-fips].<region>.amazonaws.com
	// (.com.cn, the isolated partitions) and public.ecr.aws, anchored at both
	// ends.
	if _, err := ecrapi.ExtractRegistry(h); err == nil {
		return CloudECR
	}
	return CloudNone
}

// hasLabelSuffix reports whether h ends in suffix (which starts with a dot)
// after at least one non-empty label.
func hasLabelSuffix(h, suffix string) bool {
	if !strings.HasSuffix(h, suffix) {
		return false
	}
	rest := strings.TrimSuffix(h, suffix)
	return rest != "" && !strings.HasSuffix(rest, ".") && !strings.HasPrefix(rest, ".")
}

func (c CloudKeychains) forHost(host string) authn.Keychain {
	switch CloudOf(host) {
	case CloudGoogle:
		return c.Google
	case CloudECR:
		return c.ECR
	case CloudACR:
		return c.ACR
	case CloudGitHub:
		return c.GitHub
	}
	return nil
}

// resolveCloud asks the keychain of host's cloud, and only that one, for a
// credential; Anonymous when host belongs to no cloud or the cloud has none.
func (c CloudKeychains) resolveCloud(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	kc := c.forHost(r.RegistryStr())
	if kc == nil {
		return authn.Anonymous, nil
	}
	return authn.Resolve(ctx, kc, r)
}
