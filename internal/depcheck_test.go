package internal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainPackagesDoNotImportTerraform keeps the layering honest: only
// internal/provider may depend on the Terraform plugin libraries.
func TestDomainPackagesDoNotImportTerraform(t *testing.T) {
	const module = "github.com/imagegate/terraform-provider-imagegate/"
	all := goList(t, module+"internal/...")
	var domain []string
	for _, p := range all {
		if p != module+"internal/provider" && p != module+"internal" {
			domain = append(domain, p)
		}
	}
	if len(domain) == 0 {
		t.Fatal("no domain packages found")
	}
	for _, dep := range goList(t, append([]string{"-deps"}, domain...)...) {
		if strings.HasPrefix(dep, "github.com/hashicorp/terraform-plugin-") {
			t.Errorf("a domain package depends on %s; only internal/provider may", dep)
		}
	}
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}}"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}
