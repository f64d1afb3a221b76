package provider

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// validateCLI builds the provider and returns a function that runs the CLI
// under test's `validate -json` on a configuration, with the provider
// installed by a dev override, as TestAccExamples does. validate neither
// configures the provider nor reads anything: an error it reports was found
// before any registry or database was contacted.
func validateCLI(t *testing.T) func(t *testing.T, config string) validateOutput {
	cli, cfg, _ := devOverrideCLI(t)
	return func(t *testing.T, config string) validateOutput {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(`terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}
`+config), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(cli, "validate", "-json", "-no-color")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg, "TF_LOG=")
		out, _ := cmd.Output() // validate exits 1 on errors; the JSON says why
		var v validateOutput
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%s validate -json: %v\n%s", filepath.Base(cli), err, out)
		}
		return v
	}
}

type validateOutput struct {
	Valid       bool `json:"valid"`
	Diagnostics []struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		Address  string `json:"address"`
		Snippet  *struct {
			Code string `json:"code"`
		} `json:"snippet"`
	} `json:"diagnostics"`
}

// TestAccValidateCatchesMistakes runs `validate` (tofu's or terraform's) on
// broken configurations and checks that each fails there, with the message
// and on the attribute at fault (the source line the CLI points at).
func TestAccValidateCatchesMistakes(t *testing.T) {
	validate := validateCLI(t)
	const provider = `
provider "imagegate" {}
`
	policyDoc := func(body string) string {
		return provider + `
data "imagegate_policy_document" "p" {
  name = "production"
` + body + `
}
`
	}
	gate := func(attrs string) string {
		return provider + `
data "imagegate_gate" "app" {
` + attrs + `
}
`
	}
	const goodPolicy = `jsonencode({ version = 1, name = "p", user = { require_non_root = true } })`
	cases := []struct {
		name, config string
		summary      string
		detail       []string // in the detail, in order
		line         string   // the attribute's source line the CLI shows (its block for a nested attribute, whose path the detail names)
	}{
		{
			name:    "bad reference",
			config:  gate(`  reference = "ghcr.io/acme/App:1"` + "\n  policy = " + goodPolicy),
			summary: "Invalid Image Reference",
			detail:  []string{`"ghcr.io/acme/App:1"`, "must be an image reference", "could not parse reference"},
			line:    `reference = "ghcr.io/acme/App:1"`,
		},
		{
			name:    "bad platform",
			config:  gate(`  reference = "ghcr.io/acme/app:1"` + "\n  platforms = [\"linux/amd64\", \"arm64\"]\n  policy = " + goodPolicy),
			summary: "Invalid Platform",
			detail:  []string{"platforms[1]", "must be os/arch or os/arch/variant", `"arm64"`},
			line:    `platforms = ["linux/amd64", "arm64"]`,
		},
		{
			name: "bad image platform",
			config: provider + `
data "imagegate_image" "app" {
  reference = "ghcr.io/acme/app:1"
  platform  = "linux"
}
`,
			summary: "Invalid Platform",
			detail:  []string{"platform must be os/arch or os/arch/variant", `"linux"`},
			line:    `platform  = "linux"`,
		},
		{
			name: "bad provider duration",
			config: `
provider "imagegate" {
  scan_timeout = "30 minutes"
}

data "imagegate_image" "x" {
  reference = "example.com/app:v1"
}
`,
			summary: "Invalid Scan Timeout",
			detail:  []string{"scan_timeout must be a positive Go duration", `"30 minutes"`},
			line:    `scan_timeout = "30 minutes"`,
		},
		{
			name: "bad database max_age",
			config: `
provider "imagegate" {
  vulnerability_db = { max_age = "5d" }
}

data "imagegate_image" "x" {
  reference = "example.com/app:v1"
}
`,
			summary: "Invalid Database Max Age",
			detail:  []string{"vulnerability_db.max_age must be a positive Go duration", `"5d"`},
			line:    `provider "imagegate" {`, // a nested attribute: the CLI points at the block
		},
		{
			name:    "bad checks max_age",
			config:  policyDoc(`  checks = { max_age = "30d" }`),
			summary: "Invalid Policy",
			detail:  []string{"checks.max_age", `"30d"`},
			line:    `data "imagegate_policy_document" "p" {`, // a nested attribute: the CLI points at the block
		},
		{
			name:    "bad severity",
			config:  policyDoc(`  vulnerabilities = { fail_on_severity = "severe" }`),
			summary: "Invalid Policy",
			detail:  []string{`vulnerabilities.fail_on_severity: "severe" is not a severity; use negligible, low, medium, high or critical`},
			line:    `data "imagegate_policy_document" "p" {`, // a nested attribute: the CLI points at the block
		},
		{
			name:    "bad action",
			config:  policyDoc(`  vulnerabilities = { action = "block", fail_on_severity = "high" }`),
			summary: "Invalid Policy",
			detail:  []string{`vulnerabilities.action: "block" is not an action; use "stop" or "warn"`},
			line:    `data "imagegate_policy_document" "p" {`, // a nested attribute: the CLI points at the block
		},
		{
			name:    "CVSS 11",
			config:  policyDoc(`  vulnerabilities = { max_cvss_score = 11 }`),
			summary: "Invalid Policy",
			detail:  []string{"vulnerabilities.max_cvss_score: 11 is outside 0..10"},
			line:    `data "imagegate_policy_document" "p" {`, // a nested attribute: the CLI points at the block
		},
		{
			name:    "policy document rule that checks nothing",
			config:  policyDoc(`  user = {}`),
			summary: "Invalid Policy",
			detail:  []string{"user: the rule checks nothing"},
			line:    `user = {}`,
		},
		{
			name:    "hand-written policy with an unknown field",
			config:  gate(`  reference = "ghcr.io/acme/app:1"` + "\n" + `  policy = jsonencode({ version = 1, name = "p", user = { require_non_rot = true } })`),
			summary: "Invalid Policy",
			detail:  []string{"user.require_non_rot", "imagegate_policy_document"},
			line:    `policy = jsonencode({ version = 1, name = "p", user = { require_non_rot = true } })`,
		},
		{
			name:    "hand-written policy with a bad severity",
			config:  gate(`  reference = "ghcr.io/acme/app:1"` + "\n" + `  policy = jsonencode({ version = 1, name = "p", vulnerabilities = { fail_on_severity = "severe" } })`),
			summary: "Invalid Policy",
			detail:  []string{"vulnerabilities.fail_on_severity", `"severe" is not a severity`},
			line:    `policy = jsonencode({ version = 1, name = "p", vulnerabilities = { fail_on_severity = "severe" } })`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := validate(t, c.config)
			if out.Valid {
				t.Fatalf("validate accepted:\n%s", c.config)
			}
			var errs []string
			for _, d := range out.Diagnostics {
				if d.Severity != "error" {
					continue
				}
				code := ""
				if d.Snippet != nil {
					code = d.Snippet.Code
				}
				errs = append(errs, d.Summary+" | "+d.Detail+" | "+code)
			}
			if len(errs) != 1 {
				t.Fatalf("%d errors, want 1:\n%s", len(errs), strings.Join(errs, "\n"))
			}
			summary, rest, _ := strings.Cut(errs[0], " | ")
			detail, code, _ := strings.Cut(rest, " | ")
			if summary != c.summary {
				t.Errorf("summary %q, want %q", summary, c.summary)
			}
			at := 0
			for _, w := range c.detail {
				i := strings.Index(detail[at:], w)
				if i < 0 {
					t.Errorf("detail %q lacks %q (in order)", detail, w)
					break
				}
				at += i + len(w)
			}
			if !strings.Contains(code, c.line) {
				t.Errorf("the error points at %q, want the attribute's line %q", code, c.line)
			}
		})
	}
	// The provider is used by a data source: the CLIs validate only the
	// providers something uses.
	// Every attribute above, valid, and values only known at apply (which
	// validate must let through): no error at all.
	t.Run("valid", func(t *testing.T) {
		out := validate(t, `
provider "imagegate" {
  platform         = "linux/arm64/v8"
  scan_timeout     = "30m"
  request_timeout  = "1m30s"
  max_image_size   = "20GiB"
  vulnerability_db = { max_age = "120h" }
  registry_attestations = {
    use_sbom     = true
    trusted_keys = var.keys
  }
}

variable "keys" {
  type = list(string)
}

variable "attestations" {
  type = object({ use_sbom = bool, trusted_keys = list(string) })
}

provider "imagegate" {
  alias                 = "fleet"
  registry_attestations = var.attestations
}

data "imagegate_image" "fleet" {
  provider  = imagegate.fleet
  reference = "ghcr.io/acme/app:1"
}

resource "terraform_data" "late" {
  input = "linux/amd64"
}

data "imagegate_policy_document" "p" {
  name            = "production"
  vulnerabilities = { fail_on_severity = "high", max_cvss_score = 10 }
  checks          = { max_age = "720h" }
}

data "imagegate_image" "app" {
  reference = "ghcr.io/acme/app@sha256:`+strings.Repeat("a", 64)+`"
  platform  = terraform_data.late.output
}

data "imagegate_gate" "app" {
  reference = "ghcr.io/acme/app:1"
  platforms = ["linux/amd64", terraform_data.late.output]
  policy    = data.imagegate_policy_document.p.document
}

data "imagegate_gate" "literal" {
  reference = "ghcr.io/acme/app:1"
  policy    = `+goodPolicy+`
}
`)
		if !out.Valid {
			t.Fatalf("validate refused a valid configuration: %+v", out.Diagnostics)
		}
	})
}
