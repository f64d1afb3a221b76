package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// f64 keeps float literals float64 (new(7) would be an *int).
func f64(v float64) *float64 { return new(v) }

const validVEX = `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"sec","timestamp":"2026-01-01T00:00:00Z","version":1,
 "statements":[{"vulnerability":{"name":"CVE-2024-0001"},"status":"not_affected","justification":"vulnerable_code_not_present"}]}`

func TestParseAcceptsAFullPolicy(t *testing.T) {
	doc := `{
	  "version": 1,
	  "name": "prod",
	  "description": "production gate",
	  "vulnerabilities": {
	    "action": "stop", "fail_on_severity": "High", "max_cvss_score": 9, "only_fixed": true,
	    "ignore": [{"id": "CVE-2021-23337", "package": "lodash", "reason": "not reachable", "expires": "2027-01-31"},
	               {"id": "GHSA-35jh-r3h4-6jhm", "reason": "same", "expires": "2027-01-31T12:00:00Z"}],
	    "vex_documents": [` + jsonString(validVEX) + `]
	  },
	  "user": {"action": "warn", "require_non_root": true},
	  "base_image": {"action": "stop", "trusted": ["cgr.dev/chainguard/*", "alpine:3.20", "docker.io/library/debian@sha256:` + strings.Repeat("a", 64) + `"], "require": true},
	  "registries": {"action": "stop", "trusted": ["ghcr.io", "docker.io/library/*", "localhost:5000"]}
	}`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p.Name != "prod" || p.Vulnerabilities.FailOnSeverity != "High" || *p.Vulnerabilities.MaxCVSSScore != 9 ||
		len(p.Vulnerabilities.Ignore) != 2 || !p.User.RequireNonRoot || len(p.BaseImage.Trusted) != 3 || len(p.Registries.Trusted) != 3 {
		t.Errorf("Parse gave %+v", p)
	}
}

func jsonString(s string) string {
	b, err := marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseErrorsNameTheFieldPath(t *testing.T) {
	okVuln := `"vulnerabilities":{"fail_on_severity":"high"`
	tests := []struct {
		name, doc string
		want      []string // "path: message" of every problem, in order
	}{
		{"empty", ``, []string{"the policy document is empty"}},
		{"null", `null`, []string{"the policy document must be a JSON object, not null"}},
		{"not an object", `[1]`, []string{"must be an object, not a list"}},
		{"syntax", `{"name": }`, []string{"not valid JSON at byte 9: invalid character '}' looking for beginning of value"}},
		{"truncated", `{"name": "x"`, []string{"not valid JSON: unexpected end of the document"}},
		{"trailing data", `{"name": "x"} {}`, []string{"unexpected data after the policy object"}},
		{"unknown top-level field", `{"nmae": "x"}`, []string{"nmae: unknown field"}}, //nolint:misspell // a misspelt field, on purpose
		{"field names are case-sensitive", `{"Name": "x"}`, []string{"Name: unknown field"}},
		{"duplicate field", `{"name": "a", "name": "b"}`, []string{"name: duplicate field"}},
		{"unknown nested field", `{` + okVuln + `,"ignore":[{"id":"a","reason":"r"},{"id":"b","reason":"r","until":"x"}]}}`,
			[]string{"vulnerabilities.ignore[1].until: unknown field"}},
		{"wrong type string", `{"name": 3}`, []string{"name: must be a string, not 3"}},
		{"wrong type bool", `{"user": {"require_non_root": "yes"}}`, []string{`user.require_non_root: must be true or false, not "yes"`}},
		{"wrong type int", `{"version": 1.5}`, []string{"version: must be an integer, not 1.5"}},
		{"wrong type number", `{` + okVuln + `,"max_cvss_score":"7"}}`, []string{`vulnerabilities.max_cvss_score: must be a number, not "7"`}},
		{"wrong type list", `{"registries": {"trusted": "ghcr.io"}}`, []string{`registries.trusted: must be a list, not "ghcr.io"`}},
		{"wrong type object", `{"user": true}`, []string{"user: must be an object, not true"}},
		{"wrong type in list", `{"registries": {"trusted": ["ghcr.io", 7]}}`, []string{"registries.trusted[1]: must be a string, not 7"}},
		{"version", `{"version": 2, "user": {"require_non_root": true}}`, []string{"version: unsupported version 2; this provider understands version 1"}},
		{"bad expires", `{` + okVuln + `,"ignore":[{"id":"a","reason":"r"},{"id":"b","reason":"r"},{"id":"c","reason":"r","expires":"2027-13-01"}]}}`,
			[]string{`vulnerabilities.ignore[2].expires: "2027-13-01" is not an RFC 3339 date or timestamp`}},
		{"every problem is listed", `{"vulnerabilities":{"action":"block","fail_on_severity":"extreme","max_cvss_score":11,
			"ignore":[{"id":"","reason":" "},{"id":"CVE-1","reason":"r","expires":"31/01/2027"}],"vex_documents":["{}"]},
			"user":{"action":"Stop"},
			"base_image":{"action":"warn","trusted":["", "cgr.dev/[chainguard/*", "alpine:bad tag", "alpine@sha256:abc"]},
			"registries":{"trusted":["ghcr.io/acme/app:1", "ghcr.io@sha256:` + strings.Repeat("a", 64) + `", "[", ""]}}`,
			[]string{
				`vulnerabilities.action: "block" is not an action; use "stop" or "warn"`,
				`vulnerabilities.fail_on_severity: "extreme" is not a severity; use negligible, low, medium, high or critical`,
				`vulnerabilities.max_cvss_score: 11 is outside 0..10`,
				`vulnerabilities.ignore[0].id: is required (a CVE, GHSA or other vulnerability id)`,
				`vulnerabilities.ignore[0].reason: is required: say why the exception is acceptable`,
				`vulnerabilities.ignore[1].expires: "31/01/2027" is not an RFC 3339 date or timestamp`,
				`vulnerabilities.vex_documents[0]: not an OpenVEX document: @context is "", not https://openvex.dev/ns/…`,
				`user.action: "Stop" is not an action; use "stop" or "warn"`,
				`user: the rule checks nothing: set require_non_root = true or remove it`,
				`base_image.trusted[0]: must not be empty`,
				`base_image.trusted[1]: "cgr.dev/[chainguard/*" is not a valid glob: syntax error in pattern`,
				`base_image.trusted[2]: "alpine:bad tag" contains whitespace`,
				`base_image.trusted[3]: "alpine@sha256:abc": "sha256:abc" is not a digest (sha256:<64 lower-case hex digits>)`,
				`registries.trusted[0]: "ghcr.io/acme/app:1" names a tag; list a registry host or a repository glob`,
				`registries.trusted[1]: "ghcr.io@sha256:` + strings.Repeat("a", 64) + `" pins a digest; list a registry host or a repository glob`,
				`registries.trusted[2]: "[" is not a valid glob: syntax error in pattern`,
				`registries.trusted[3]: must not be empty`,
			}},
		{"threshold required", `{"vulnerabilities":{"only_fixed":true}}`,
			[]string{"vulnerabilities: set fail_on_severity, max_cvss_score or both; without a threshold no finding can fail"}},
		{"negative cvss", `{` + okVuln + `,"max_cvss_score":-0.1}}`, []string{"vulnerabilities.max_cvss_score: -0.1 is outside 0..10"}},
		{"unknown is not a threshold", `{"vulnerabilities":{"fail_on_severity":"unknown"}}`,
			[]string{`vulnerabilities.fail_on_severity: "unknown" is not a severity; use negligible, low, medium, high or critical`}},
		{"require without trusted", `{"base_image":{"require":true,"trusted":[]}}`,
			[]string{"base_image.trusted: no base is trusted, so every image would fail (require is true, the default); list at least one"}},
		{"require by default without trusted", `{"base_image":{"action":"warn"}}`,
			[]string{"base_image.trusted: no base is trusted, so every image would fail (require is true, the default); list at least one"}},
		{"base_image checks nothing", `{"base_image":{"require":false,"trusted":[]}}`,
			[]string{"base_image: the rule checks nothing: list the trusted bases in trusted or remove it"}},
		{"user checks nothing", `{"name":"p","user":{}}`,
			[]string{"user: the rule checks nothing: set require_non_root = true or remove it"}},
		{"user switched off checks nothing", `{"name":"p","user":{"action":"warn","require_non_root":false}}`,
			[]string{"user: the rule checks nothing: set require_non_root = true or remove it"}},
		{"no rule at all", `{"version":1,"name":"p"}`,
			[]string{"the policy has no rule, so it checks nothing: set at least one of vulnerabilities, user, base_image, registries or signatures, or the hygiene checks in checks"}},
		{"every rule checks nothing", `{"name":"p","vulnerabilities":{},"user":{},"base_image":{"require":false},"registries":{}}`,
			[]string{
				"vulnerabilities: set fail_on_severity, max_cvss_score or both; without a threshold no finding can fail",
				"user: the rule checks nothing: set require_non_root = true or remove it",
				"base_image: the rule checks nothing: list the trusted bases in trusted or remove it",
				"registries.trusted: no registry is trusted, so every image would fail; list at least one",
			}},
		{"registries without trusted", `{"registries":{"action":"warn"}}`,
			[]string{"registries.trusted: no registry is trusted, so every image would fail; list at least one"}},
		{"vex not json", `{` + okVuln + `,"vex_documents":["not json"]}}`,
			[]string{"vulnerabilities.vex_documents[0]: not valid OpenVEX JSON: invalid character 'o' in literal null (expecting 'u')"}},
		{"vex wrong context", `{` + okVuln + `,"vex_documents":[` + jsonString(`{"@context":"https://example.com/ns","statements":[]}`) + `]}}`,
			[]string{`vulnerabilities.vex_documents[0]: not an OpenVEX document: @context is "https://example.com/ns", not https://openvex.dev/ns/…`}},
		{"vex no statements", `{` + okVuln + `,"vex_documents":[` + jsonString(`{"@context":"https://openvex.dev/ns/v0.2.0"}`) + `]}}`,
			[]string{"vulnerabilities.vex_documents[0]: the OpenVEX document has no statements"}},
		{"vex bad status", `{` + okVuln + `,"vex_documents":[` + jsonString(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"fine"}]}`) + `]}}`,
			[]string{`vulnerabilities.vex_documents[0]: statements[0].status: "fine" is not an OpenVEX status (not_affected, affected, fixed or under_investigation)`}},
		{"vex statement without vulnerability", `{` + okVuln + `,"vex_documents":[` + jsonString(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"status":"fixed"}]}`) + `]}}`,
			[]string{"vulnerabilities.vex_documents[0]: statements[0].vulnerability: needs a name or an @id"}},
		{"vex bad timestamp", `{` + okVuln + `,"vex_documents":[` + jsonString(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":"CVE-1","status":"fixed","timestamp":"yesterday"}]}`) + `]}}`,
			[]string{`vulnerabilities.vex_documents[0]: statements[0].timestamp: "yesterday" is not an RFC 3339 timestamp`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", p)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T %v is not a *ValidationError", err, err)
			}
			var got []string
			for _, pr := range ve.Problems {
				got = append(got, pr.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
			if err.Error() != strings.Join(tt.want, "; ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestParseAcceptsNullAsAbsentAndMissingVersion(t *testing.T) {
	p, err := Parse([]byte(`{"name":"n","description":null,"user":null,"vulnerabilities":{"fail_on_severity":"low","ignore":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.User != nil || p.Version != 0 || p.Vulnerabilities.Ignore != nil {
		t.Errorf("got %+v", p)
	}
}

func TestValidateProblemPaths(t *testing.T) {
	var nilPolicy *Policy
	if err := nilPolicy.Validate(); err == nil {
		t.Error("nil policy validated")
	}
	var ve *ValidationError
	if err := (&Policy{}).Validate(); !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "" {
		t.Errorf("a policy without rules validated: %v", err)
	}
	p := &Policy{Vulnerabilities: &VulnerabilityRule{MaxCVSSScore: new(10.5), Ignore: []Ignore{{ID: "CVE-1"}}}}
	if !errors.As(p.Validate(), &ve) {
		t.Fatal("no ValidationError")
	}
	var paths []string
	for _, pr := range ve.Problems {
		paths = append(paths, pr.Path)
	}
	if want := []string{"vulnerabilities.max_cvss_score", "vulnerabilities.ignore[0].reason"}; !slices.Equal(paths, want) {
		t.Errorf("paths %q, want %q", paths, want)
	}
	for _, good := range []float64{0, 7.5, 10} {
		if err := (&Policy{Vulnerabilities: &VulnerabilityRule{MaxCVSSScore: new(good)}}).Validate(); err != nil {
			t.Errorf("max_cvss_score %v: %v", good, err)
		}
	}
}

func TestTrustedEntryForms(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0f", 32)
	tests := []struct {
		in   string
		want ref
	}{
		{"alpine", ref{repo: "index.docker.io/library/alpine"}},
		{"alpine:3.20", ref{repo: "index.docker.io/library/alpine", tag: "3.20"}},
		{"docker.io/library/alpine:3.20", ref{repo: "index.docker.io/library/alpine", tag: "3.20"}},
		{"docker.io/alpine", ref{repo: "index.docker.io/library/alpine"}},
		{"bitnami/nginx", ref{repo: "index.docker.io/bitnami/nginx"}},
		{"Docker.IO/bitnami/*", ref{repo: "index.docker.io/bitnami/*"}},
		{"cgr.dev/chainguard/*", ref{repo: "cgr.dev/chainguard/*"}},
		{"cgr.dev/chainguard/static@" + digest, ref{repo: "cgr.dev/chainguard/static", digest: digest}},
		{"cgr.dev/chainguard/static:latest@" + digest, ref{repo: "cgr.dev/chainguard/static", tag: "latest", digest: digest}},
		{"localhost:5000/base", ref{repo: "localhost:5000/base"}},
		{"localhost:5000/base:v1", ref{repo: "localhost:5000/base", tag: "v1"}},
		{"localhost/base", ref{repo: "localhost/base"}},
	}
	for _, tt := range tests {
		got, err := parseRef(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "ghcr.io//x", "ghcr.io/x/", "a:", "a:-x", "a@sha256:" + strings.Repeat("A", 64), "a@md5:00", "x/[y"} {
		if _, err := parseRef(bad); err == nil {
			t.Errorf("parseRef(%q) succeeded", bad)
		}
	}
}

func TestCanonical(t *testing.T) {
	a := `{"version":1,"name":"p","registries":{"trusted":["quay.io","ghcr.io","ghcr.io"],"action":"stop"},
	  "vulnerabilities":{"fail_on_severity":"HIGH","ignore":[{"reason":"r2","id":"B"},{"id":"A","reason":"r1"}],
	  "vex_documents":[` + jsonString(validVEX) + `]},
	  "base_image":{"trusted":["z.io/b","a.io/a"]},"user":{"require_non_root":true}}`
	// The same policy: keys reordered, defaults spelled out, trusted lists
	// reordered, VEX document re-indented with its keys reordered.
	reorderedVEX := `{
	  "statements": [{"status": "not_affected", "justification": "vulnerable_code_not_present", "vulnerability": {"name": "CVE-2024-0001"}}],
	  "version": 1, "timestamp": "2026-01-01T00:00:00Z", "author": "sec",
	  "@id": "https://example.com/vex/1", "@context": "https://openvex.dev/ns/v0.2.0"
	}`
	b := `{"user":{"action":"stop","require_non_root":true},"base_image":{"action":"stop","trusted":["a.io/a","z.io/b"],"require":true},
	  "vulnerabilities":{"vex_documents":[` + jsonString(reorderedVEX) + `],"action":"stop","ignore":[{"id":"B","reason":"r2"},{"id":"A","reason":"r1"}],"fail_on_severity":"high"},
	  "registries":{"action":"stop","trusted":["ghcr.io","quay.io"]},"name":"p"}`
	pa, err := Parse([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Parse([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	ca, ida, err := pa.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	cb, idb, err := pb.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if ida != idb || string(ca) != string(cb) {
		t.Fatalf("ids differ:\n%s %s\n%s %s", ida, ca, idb, cb)
	}
	if !strings.HasPrefix(ida, "sha256:") || len(ida) != len("sha256:")+64 {
		t.Errorf("id %q", ida)
	}
	want := `{"version":1,"name":"p","vulnerabilities":{"action":"stop","fail_on_severity":"high","ignore":[{"id":"B","reason":"r2"},{"id":"A","reason":"r1"}],` +
		`"vex_documents":["{\"@context\":\"https://openvex.dev/ns/v0.2.0\",\"@id\":\"https://example.com/vex/1\",\"author\":\"sec\",\"statements\":[{\"justification\":\"vulnerable_code_not_present\",\"status\":\"not_affected\",\"vulnerability\":{\"name\":\"CVE-2024-0001\"}}],\"timestamp\":\"2026-01-01T00:00:00Z\",\"version\":1}"]},` +
		`"user":{"action":"stop","require_non_root":true},"base_image":{"action":"stop","trusted":["a.io/a","z.io/b"],"require":true},"registries":{"action":"stop","trusted":["ghcr.io","quay.io"]}}`
	if string(ca) != want {
		t.Errorf("canonical:\n got %s\nwant %s", ca, want)
	}
	// The canonical form parses back to the same id.
	pc, err := Parse(ca)
	if err != nil {
		t.Fatal(err)
	}
	if _, idc, _ := pc.Canonical(); idc != ida {
		t.Errorf("round trip id %s, want %s", idc, ida)
	}
	// Canonical does not modify the policy.
	if pa.Vulnerabilities.FailOnSeverity != "HIGH" || pa.Registries.Trusted[0] != "quay.io" || pa.Version != 1 || pb.Version != 0 {
		t.Errorf("Canonical changed its receiver: %+v", pa)
	}
	// Changing anything meaningful changes the id: ignore order, a threshold.
	for _, changed := range []string{
		strings.Replace(a, `[{"reason":"r2","id":"B"},{"id":"A","reason":"r1"}]`, `[{"id":"A","reason":"r1"},{"reason":"r2","id":"B"}]`, 1),
		strings.Replace(a, `"HIGH"`, `"critical"`, 1),
		strings.Replace(a, `"HIGH"`, `"critical"`, 1),
		strings.Replace(a, `"base_image":{"trusted":["z.io/b","a.io/a"]}`, `"base_image":{"trusted":["z.io/b","a.io/a"],"require":false}`, 1),
	} {
		pc, err := Parse([]byte(changed))
		if err != nil {
			t.Fatal(err)
		}
		if _, id, _ := pc.Canonical(); id == ida {
			t.Errorf("id did not change for %s", changed)
		}
	}
	if _, _, err := (&Policy{Version: 3}).Canonical(); err == nil || !strings.HasPrefix(err.Error(), "canonicalize policy: version: ") {
		t.Errorf("Canonical of an invalid policy: %v", err)
	}
}

func TestCanonicalMinimal(t *testing.T) {
	rule := &UserRule{RequireNonRoot: true}
	got, id, err := (&Policy{Name: "x", User: rule}).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"version":1,"name":"x","user":{"action":"stop","require_non_root":true}}` {
		t.Errorf("got %s", got)
	}
	got2, id2, _ := (&Policy{Version: 1, Name: "x", User: rule}).Canonical()
	if string(got2) != string(got) || id2 != id {
		t.Errorf("explicit version changes canonical form: %s", got2)
	}
}
