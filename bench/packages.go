package main

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

// The benchmark image's package lists are data, kept static so that the
// image is the same on every machine and in every run; the files say where
// they came from.
var (
	//go:embed data/debian-packages.tsv
	debianPackagesTSV string
	//go:embed data/npm-packages.tsv
	npmPackagesTSV string

	debianPackages = mustDebianPackages(debianPackagesTSV)
	npmPackages    = mustNPMPackages(npmPackagesTSV)
)

// tsvRows returns the tab-separated fields of each line that is neither
// empty nor a comment, each with exactly n fields (trailing empty fields may
// be left out).
func tsvRows(name, text string, n int) [][]string {
	var rows [][]string
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) > n || f[0] == "" {
			panic(fmt.Sprintf("bench/data/%s line %d: want at most %d tab-separated fields with a name, got %q", name, i+1, n, line))
		}
		rows = append(rows, append(f, make([]string, n-len(f))...))
	}
	return rows
}

func mustDebianPackages(text string) []fixtures.DebianPackage {
	var out []fixtures.DebianPackage
	for _, r := range tsvRows("debian-packages.tsv", text, 3) {
		out = append(out, fixtures.DebianPackage{Name: r[0], Version: r[1], Source: r[2]})
	}
	return out
}

func mustNPMPackages(text string) map[string]string {
	out := map[string]string{}
	for _, r := range tsvRows("npm-packages.tsv", text, 2) {
		out[r[0]] = r[1]
	}
	return out
}
