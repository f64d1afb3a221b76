package provider

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// TestMain keeps the developer's Docker credentials out of the tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagegate-docker-config")
	if err != nil {
		panic(err)
	}
	if err := os.Setenv("DOCKER_CONFIG", dir); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	testutil.CleanupVulnDBs()
	os.Exit(code)
}

func factories(opts ...option) map[string]func() (tfprotov6.ProviderServer, error) {
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

// scanEnv is a registry, a database server and private cache directories
// for scan tests.
type scanEnv struct {
	reg      *testutil.Registry
	dbs      *testutil.Databases
	dbServer *testutil.DBServer
	dbDir    string
	sbomDir  string
}

func newScanEnv(t *testing.T) *scanEnv {
	t.Helper()
	dbs := testutil.VulnDBs(t)
	return &scanEnv{reg: testutil.NewRegistry(t), dbs: dbs, dbServer: testutil.NewDBServer(t, dbs.Old), dbDir: t.TempDir(), sbomDir: t.TempDir()}
}

// provider is a provider block for the env, with extra vulnerability_db
// settings.
func (e *scanEnv) provider(dbExtra string) string {
	return e.providerWith(dbExtra, "")
}

// providerWith is provider with more top-level settings.
func (e *scanEnv) providerWith(dbExtra, settings string) string {
	return providerConfig(fmt.Sprintf(`
  sbom_cache_dir = %q
  vulnerability_db = {
    cache_dir            = %q
    update_url           = %q
    require_update_check = true
%s
  }%s`, e.sbomDir, e.dbDir, e.dbServer.URL(), dbExtra, settings), e.reg.Host)
}
