package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The configurations the benchmark plans. Both use the provider exactly as
// a user would: a plain-HTTP loopback registry allowed explicitly, the
// offline database imported from an archive, and an SBOM cache directory.
const providerBlock = `terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}

variable "registry" { type = string }
variable "db_cache_dir" { type = string }
variable "db_archive" { type = string }
variable "sbom_cache_dir" { type = string }

provider "imagegate" {
  insecure_registries = [var.registry]
  sbom_cache_dir      = var.sbom_cache_dir
  vulnerability_db = {
    cache_dir   = var.db_cache_dir
    archive     = var.db_archive
    auto_update = false
  }
}
`

const bigConfig = providerBlock + `
variable "include_packages" {
  type    = bool
  default = false
}

data "imagegate_scan" "big" {
  reference        = "${var.registry}/bench/big:1"
  include_packages = var.include_packages
}

output "scan" {
  value = {
    digest        = data.imagegate_scan.big.digest
    package_count = data.imagegate_scan.big.package_count
    findings      = [for v in data.imagegate_scan.big.vulnerabilities : "${v.id} ${v.package_name} ${v.package_version}"]
    package_types = try([for p in data.imagegate_scan.big.packages : p.type], [])
  }
}
`

// resolveConfig reads the big image's manifest and config without a scan:
// what a plan of this provider costs before any layer is pulled or any
// database opened (OpenTofu, the provider's starts, Configure, one resolve).
const resolveConfig = providerBlock + `
data "imagegate_image" "big" {
  reference = "${var.registry}/bench/big:1"
}

output "digest" {
  value = data.imagegate_image.big.digest
}
`

const manyConfig = providerBlock + `
variable "references" { type = list(string) }

data "imagegate_scan" "svc" {
  for_each  = toset(var.references)
  reference = each.value
}

output "scans" {
  value = { for ref, s in data.imagegate_scan.svc : ref => {
    package_count = s.package_count
    findings      = length(s.vulnerabilities)
  } }
}
`

func writeConfig(dir, body string, vars map[string]any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(body), 0o644); err != nil {
		return err
	}
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "terraform.tfvars.json"), b, 0o644)
}

// bigResult is the output of the big configuration, from `tofu show -json`.
type bigResult struct {
	Digest       string   `json:"digest"`
	PackageCount int      `json:"package_count"`
	Findings     []string `json:"findings"`
	PackageTypes []string `json:"package_types"`
}

type manyResult map[string]struct {
	PackageCount int `json:"package_count"`
	Findings     int `json:"findings"`
}

// planOutput reads output name from a `tofu show -json` of a saved plan.
func planOutput(showJSON, name string, into any) error {
	b, err := os.ReadFile(showJSON)
	if err != nil {
		return err
	}
	var doc struct {
		PlannedValues struct {
			Outputs map[string]struct {
				Value json.RawMessage `json:"value"`
			} `json:"outputs"`
		} `json:"planned_values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", showJSON, err)
	}
	o, ok := doc.PlannedValues.Outputs[name]
	if !ok || len(o.Value) == 0 {
		return fmt.Errorf("%s: no output %q in the plan", showJSON, name)
	}
	return json.Unmarshal(o.Value, into)
}

// grypeFindings reads the matches of `grype -o json` as sorted, unique
// "id package version" strings (as the parity test compares them).
func grypeFindings(path string) (raw int, set []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	var doc struct {
		Matches []struct {
			Vulnerability struct{ ID string }            `json:"vulnerability"`
			Artifact      struct{ Name, Version string } `json:"artifact"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, m := range doc.Matches {
		set = append(set, m.Vulnerability.ID+" "+m.Artifact.Name+" "+m.Artifact.Version)
	}
	return len(doc.Matches), uniq(set), nil
}

// grypePackages counts the packages of `grype -o cyclonedx-json` by syft
// package type.
func grypePackages(path string) (map[string]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Components []struct {
			Properties []struct{ Name, Value string } `json:"properties"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]int{}
	for _, c := range doc.Components {
		for _, p := range c.Properties {
			if p.Name == "syft:package:type" {
				out[p.Value]++
			}
		}
	}
	return out, nil
}

func countTypes(types []string) map[string]int {
	out := map[string]int{}
	for _, t := range types {
		out[t]++
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func uniq(in []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(in)))
}
