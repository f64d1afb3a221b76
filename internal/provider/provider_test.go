package provider

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// TestMain keeps the developer's Docker credentials out of the tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagegate-docker-config")
	if err != nil {
		panic(err)
	}
	os.Setenv("DOCKER_CONFIG", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func factories(opts ...Option) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"imagegate": providerserver.NewProtocol6WithError(New("test", opts...)()),
	}
}

// providerConfig is a provider block allowing plain HTTP to the given test
// registries, followed by extra provider settings.
func providerConfig(extra string, insecureHosts ...string) string {
	quoted := make([]string, len(insecureHosts))
	for i, h := range insecureHosts {
		quoted[i] = fmt.Sprintf("%q", h)
	}
	return fmt.Sprintf(`
provider "imagegate" {
  insecure_registries = [%s]
  max_retries         = 0
%s
}
`, strings.Join(quoted, ", "), extra)
}
