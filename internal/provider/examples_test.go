package provider

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccExamples runs `get` (modules) and `validate` on every example configuration
// with the CLI under test and this provider, so the examples in the docs
// keep working.
func TestAccExamples(t *testing.T) {
	cli, cfg, work := devOverrideCLI(t)
	examples := filepath.Join(work, "examples")
	if out, err := exec.Command("cp", "-r", "../../examples", examples).CombinedOutput(); err != nil {
		t.Fatalf("copying the examples: %v\n%s", err, out)
	}
	var dirs []string
	_ = filepath.WalkDir(examples, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".tf") && !strings.Contains(p, "/modules/") {
			if len(dirs) == 0 || dirs[len(dirs)-1] != filepath.Dir(p) {
				dirs = append(dirs, filepath.Dir(p))
			}
		}
		return nil
	})
	if len(dirs) < 8 {
		t.Fatalf("found only %d example directories: %v", len(dirs), dirs)
	}
	for _, dir := range dirs {
		name, _ := filepath.Rel(examples, dir)
		t.Run(name, func(t *testing.T) {
			for _, args := range [][]string{{"get", "-no-color"}, {"validate", "-no-color"}} {
				cmd := exec.Command(cli, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s %s: %v\n%s", filepath.Base(cli), args[0], err, out)
				}
			}
		})
	}
}

// devOverrideCLI builds the provider and returns the CLI under test, a CLI
// configuration that installs that build with a dev override, and a work
// directory; it skips the test outside acceptance runs.
func devOverrideCLI(t *testing.T) (cli, cfg, work string) {
	t.Helper()
	cli = os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || cli == "" {
		t.Skip("acceptance tests need TF_ACC and TF_ACC_TERRAFORM_PATH (make test sets them)")
	}
	work = t.TempDir()
	plugins := filepath.Join(work, "plugins")
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "terraform-provider-imagegate"), "../..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	cfg = filepath.Join(work, "cli.tfrc")
	if err := os.WriteFile(cfg, []byte(`disable_checkpoint = true
provider_installation {
  dev_overrides {
    "imagegate/imagegate" = "`+plugins+`"
  }
  direct {}
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return cli, cfg, work
}
