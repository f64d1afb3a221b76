package main

import "testing"

func TestPackageLists(t *testing.T) {
	if len(debianPackages) != 346 || len(npmPackages) != 185 {
		t.Fatalf("got %d Debian and %d npm packages, want 346 and 185: the data files changed", len(debianPackages), len(npmPackages))
	}
	if got := npmPackages["lodash"]; got != "4.17.20" {
		t.Errorf("lodash = %q, want 4.17.20 (the benchmark's known advisory)", got)
	}
	var withSource int
	for _, p := range debianPackages {
		if p.Name == "" || p.Version == "" {
			t.Errorf("package without a name or version: %+v", p)
		}
		if p.Source != "" {
			withSource++
		}
	}
	if withSource == 0 {
		t.Error("no Debian package has a source package: the third column was not read")
	}
}

func TestTSVRowsRefusesExtraFields(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a row with too many fields was accepted")
		}
	}()
	tsvRows("x.tsv", "a\tb\tc\n", 2)
}
