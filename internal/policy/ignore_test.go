package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestIgnoreMatchesPackageFields(t *testing.T) {
	fd := Finding{ID: "CVE-2021-44228", Aliases: []string{"GHSA-jfh8-c2jp-5v3q"}, Severity: "critical",
		Package: "log4j-core", Version: "2.14.1", Type: "java-archive", FixState: "fixed",
		PURL:      "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
		Locations: []string{"/opt/app/lib/log4j-core-2.14.1.jar"}}
	for _, tc := range []struct {
		name string
		ig   Ignore
		want bool
	}{
		{"id", Ignore{ID: "CVE-2021-44228"}, true},
		{"alias", Ignore{ID: "ghsa-jfh8-c2jp-5v3q"}, true},
		{"other id", Ignore{ID: "CVE-2021-45046"}, false},
		{"package", Ignore{ID: "CVE-2021-44228", Package: "log4j-core"}, true},
		{"other package", Ignore{ID: "CVE-2021-44228", Package: "log4j-api"}, false},
		{"version", Ignore{ID: "CVE-2021-44228", Version: "2.14.1"}, true},
		{"other version", Ignore{ID: "CVE-2021-44228", Version: "2.14.0"}, false},
		{"type", Ignore{ID: "CVE-2021-44228", Type: "java-archive"}, true},
		{"other type", Ignore{ID: "CVE-2021-44228", Type: "npm"}, false},
		{"purl with group", Ignore{ID: "CVE-2021-44228", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core"}, true},
		{"purl with version", Ignore{ID: "CVE-2021-44228", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}, true},
		{"purl of another group", Ignore{ID: "CVE-2021-44228", PURL: "pkg:maven/com.evil/log4j-core"}, false},
		{"purl of another version", Ignore{ID: "CVE-2021-44228", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.0"}, false},
		{"location exact", Ignore{ID: "CVE-2021-44228", Location: "/opt/app/lib/log4j-core-2.14.1.jar"}, true},
		{"location glob", Ignore{ID: "CVE-2021-44228", Location: "/opt/app/**"}, true},
		{"location single star stays in a segment", Ignore{ID: "CVE-2021-44228", Location: "/opt/*.jar"}, false},
		{"other location", Ignore{ID: "CVE-2021-44228", Location: "/usr/share/**"}, false},
		{"fix state", Ignore{ID: "CVE-2021-44228", FixState: "fixed"}, true},
		{"primary id only", Ignore{ID: "CVE-2021-44228", PrimaryIDOnly: true}, true},
		{"primary id only: not by alias", Ignore{ID: "GHSA-jfh8-c2jp-5v3q", PrimaryIDOnly: true}, false},
		{"other fix state", Ignore{ID: "CVE-2021-44228", FixState: "wont-fix"}, false},
		{"every field", Ignore{ID: "CVE-2021-44228", Package: "log4j-core", Version: "2.14.1", Type: "java-archive",
			PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", Location: "/opt/app/lib/*.jar", FixState: "fixed"}, true},
		{"every field but one", Ignore{ID: "CVE-2021-44228", Package: "log4j-core", Version: "2.14.1", Type: "java-archive",
			PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", Location: "/srv/*.jar", FixState: "fixed"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ig.Reason = "r"
			p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", Ignore: []Ignore{tc.ig}}}
			d := Evaluate(p, Facts{Now: now, Findings: []Finding{fd}})
			if d.Passed != tc.want || (len(d.Suppressed) == 1) != tc.want {
				t.Fatalf("passed = %v, want %v: %+v", d.Passed, tc.want, d)
			}
		})
	}
}

func TestIgnoreValidation(t *testing.T) {
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high",
		Ignore:          []Ignore{{ID: "CVE-1", Reason: "r", PURL: "maven/log4j"}, {ID: "CVE-1", Reason: "r", Location: "/a/[b"}, {ID: "CVE-1", Reason: "r", FixState: "later"}},
		IgnoreFileRules: []Ignore{{ID: "CVE-2", Source: ".grype.yaml:4"}},
	}}
	err := p.Validate()
	if err == nil {
		t.Fatal("invalid exceptions accepted")
	}
	for _, want := range []string{
		`vulnerabilities.ignore[0].purl: "maven/log4j" is not a package URL`,
		`vulnerabilities.ignore[1].location: "/a/[b" is not a valid glob`,
		`vulnerabilities.ignore[2].fix_state: "later" is not a fix state`,
		`vulnerabilities.ignore_file_rules[0] (.grype.yaml:4).reason: is required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// The evaluation time is a fact, so the warnings are deterministic: now is
// 2027-01-15T10:00:00Z.
func TestExceptionWarnings(t *testing.T) {
	findings := []Finding{
		{ID: "CVE-1", Severity: "critical", Package: "a", Version: "1"},
		{ID: "CVE-2", Severity: "low", Package: "b", Version: "1"},
	}
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high",
		Ignore: []Ignore{
			{ID: "CVE-1", Reason: "used, far expiry", Expires: "2027-06-30"},
			{ID: "CVE-2", Reason: "used though below the threshold"},
			{ID: "CVE-3", Reason: "no such finding"},
			{ID: "CVE-1", Package: "other", Reason: "another package"},
			{ID: "CVE-1", Reason: "lapsed", Expires: "2027-01-14"},
			{ID: "CVE-2", Reason: "expires in 14 days", Expires: "2027-01-28"},
			{ID: "CVE-2", Reason: "expires in 15 days", Expires: "2027-01-30"},
		},
		IgnoreFileRules: []Ignore{
			{ID: "CVE-1", Reason: "file, path 1", Location: "/nowhere/**", Source: ".trivyignore.yaml:3"},
			{ID: "CVE-1", Reason: "file, path 2", Source: ".trivyignore.yaml:3"},
			{ID: "CVE-9", Reason: "file, unused", Source: ".grype.yaml:7"},
		},
	}}
	d := Evaluate(p, Facts{Now: now, Findings: findings})
	var got []string
	for _, w := range d.ExceptionWarnings {
		got = append(got, w.Kind+" "+w.Exception)
	}
	want := []string{
		"unused vulnerabilities.ignore[2]",
		"unused vulnerabilities.ignore[3]",
		"expired vulnerabilities.ignore[4]",
		"expiring vulnerabilities.ignore[5]",
		"unused .grype.yaml:7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings\n got %q\nwant %q", got, want)
	}
	if m := d.ExceptionWarnings[2].Message; !strings.Contains(m, "vulnerabilities.ignore[4] (CVE-1) expired on 2027-01-14 and no longer applies") {
		t.Errorf("expired message: %s", m)
	}
	if m := d.ExceptionWarnings[3].Message; !strings.Contains(m, "vulnerabilities.ignore[5] (CVE-2) expires on 2027-01-28, within 14 days") {
		t.Errorf("expiring message: %s", m)
	}
	if m := d.ExceptionWarnings[4].Message; !strings.Contains(m, ".grype.yaml:7 (CVE-9) matches no finding of this image") {
		t.Errorf("unused message: %s", m)
	}
	// A file rule suppresses, named by its file and line.
	if len(d.Suppressed) != 1 || d.Suppressed[0].Reason != "vulnerabilities.ignore[0] (CVE-1): used, far expiry (until 2027-06-30)" {
		t.Errorf("suppressed: %+v", d.Suppressed)
	}
	p.Vulnerabilities.Ignore = nil
	d = Evaluate(p, Facts{Now: now, Findings: findings})
	if len(d.Suppressed) != 1 || d.Suppressed[0].Reason != ".trivyignore.yaml:3 (CVE-1): file, path 2" {
		t.Errorf("suppressed by a file rule: %+v", d.Suppressed)
	}
}

const grypeYAML = `# grype configuration
output: table
fail-on-severity: high
ignore:
  - vulnerability: CVE-2021-44228
    reason: log4j is never loaded
    package:
      name: log4j-core
      version: 2.14.1
      type: java-archive
      location: "/opt/app/**"
  - vulnerability: GHSA-jfh8-c2jp-5v3q
    fix-state: not-fixed
    include-aliases: true
    reason: no fix yet
`

const trivyYAML = `vulnerabilities:
  - id: CVE-2022-40897
    paths:
      - "usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA"
      - "/opt/**"
    purls:
      - "pkg:pypi/setuptools@58.1.0"
    statement: Accept the risk
  - id: CVE-2023-3446
    statement: not reachable
    expired_at: 2027-09-01
`

func TestParseIgnoreFile(t *testing.T) {
	got, err := ParseIgnoreFile(".grype.yaml", []byte(grypeYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := []Ignore{
		{ID: "CVE-2021-44228", Package: "log4j-core", Version: "2.14.1", Type: "java-archive", Location: "/opt/app/**", Reason: "log4j is never loaded", Source: ".grype.yaml:5", PrimaryIDOnly: true},
		{ID: "GHSA-jfh8-c2jp-5v3q", FixState: "not-fixed", Reason: "no fix yet", Source: ".grype.yaml:12"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grype\n got %+v\nwant %+v", got, want)
	}
	got, err = ParseIgnoreFile("sec/.trivyignore.yaml", []byte(trivyYAML))
	if err != nil {
		t.Fatal(err)
	}
	want = []Ignore{
		{ID: "CVE-2022-40897", Location: "/usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA", PURL: "pkg:pypi/setuptools@58.1.0", Reason: "Accept the risk", Source: "sec/.trivyignore.yaml:2"},
		{ID: "CVE-2022-40897", Location: "/opt/**", PURL: "pkg:pypi/setuptools@58.1.0", Reason: "Accept the risk", Source: "sec/.trivyignore.yaml:2"},
		{ID: "CVE-2023-3446", Reason: "not reachable", Expires: "2027-09-01", Source: "sec/.trivyignore.yaml:9"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trivy\n got %+v\nwant %+v", got, want)
	}
	// The parsed rules are valid policy exceptions.
	p := &Policy{Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high", IgnoreFile: "sec/.trivyignore.yaml", IgnoreFileRules: got}}
	if err := p.Validate(); err != nil {
		t.Errorf("parsed rules refused: %v", err)
	}
}

func TestParseIgnoreFileRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"empty", ``, "the file is empty"},
		{"not yaml", "ignore: [", "not valid YAML"},
		{"plain .trivyignore", "CVE-2021-1\nCVE-2021-2\n", "a plain .trivyignore with one id a line is not supported"},
		{"neither", "output: json\n", "neither a grype configuration"},
		{"both", "ignore: []\nvulnerabilities: []\n", "keep one format per file"},
		{"grype namespace", "ignore:\n  - vulnerability: CVE-1\n    namespace: debian:12\n    reason: r\n", "line 3: `namespace` is not supported"},
		{"grype vex-status", "ignore:\n  - vulnerability: CVE-1\n    vex-status: not_affected\n    reason: r\n", "line 3: `vex-status` is not supported: VEX-driven rules belong in vulnerabilities.vex_documents"},
		{"grype match-type", "ignore:\n  - vulnerability: CVE-1\n    match-type: exact-direct-match\n    reason: r\n", "`match-type` is not supported"},
		{"grype upstream-name", "ignore:\n  - vulnerability: CVE-1\n    reason: r\n    package:\n      upstream-name: openssl\n", "line 5: `upstream-name` is not supported"},
		{"grype language", "ignore:\n  - vulnerability: CVE-1\n    reason: r\n    package:\n      language: java\n", "`language` is not supported"},
		{"grype unknown key", "ignore:\n  - vulnerability: CVE-1\n    reasn: r\n", "line 3: unknown key `reasn`"},
		{"grype no vulnerability", "ignore:\n  - package:\n      name: lodash\n    reason: r\n", "line 2: the rule names no vulnerability"},
		{"grype regex name", "ignore:\n  - vulnerability: CVE-1\n    reason: r\n    package:\n      name: lo.*\n", "looks like a regular expression"},
		{"grype ignore not a list", "ignore: CVE-1\n", "`ignore` must be a list"},
		{"trivy misconfigurations", "vulnerabilities: []\nmisconfigurations:\n  - id: AVD-DS-0001\n", "line 3: `misconfigurations` is not supported: the gate judges vulnerabilities only"},
		{"trivy secrets", "secrets:\n  - id: aws-access-key-id\n", "`secrets` is not supported"},
		{"trivy unknown key", "vulnerabilities:\n  - id: CVE-1\n    statment: r\n", "line 3: unknown key `statment`"}, //nolint:misspell // a misspelt key, on purpose
		{"trivy no id", "vulnerabilities:\n  - statement: r\n", "line 2: the entry has no id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIgnoreFile("f.yaml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseIgnoreFile() = %v, want an error containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "reading f.yaml: ") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}
