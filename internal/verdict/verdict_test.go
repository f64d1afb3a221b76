package verdict

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

const (
	indexDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	amdDigest   = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	armDigest   = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var built = time.Date(2026, 11, 1, 3, 4, 5, 0, time.FixedZone("x", 3600))

func testPolicy(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func platform(pl, digest, checksum string, vs ...policy.Violation) gate.Platform {
	return gate.Platform{
		Platform: pl,
		Image:    &registry.Image{Digest: digest},
		Scan:     &scan.Result{DB: vulndb.Status{Built: built, Checksum: checksum, SchemaVersion: "v6.0.2"}},
		Decision: policy.Decision{Passed: true, Violations: vs},
	}
}

func warn(pl, rule, subject string) policy.Violation {
	return policy.Violation{Platform: pl, Rule: rule, Action: policy.ActionWarn, Subject: subject, Message: subject + " is only a warning"}
}

// result is a passing decision on a two-platform index whose platforms and
// violations are given out of order.
func result() *gate.Result {
	return &gate.Result{
		Digest: indexDigest, Index: true,
		Decision: policy.Decision{Passed: true, Violations: []policy.Violation{
			warn("linux/arm64", "vulnerabilities", "CVE-2 b@1"),
			warn("linux/amd64", "vulnerabilities", "CVE-9 z@1"),
			warn("linux/amd64", "checks.forbid_setuid", "/usr/bin/su"),
			warn("linux/amd64", "vulnerabilities", "CVE-1 a@1"),
		}},
		Platforms: []gate.Platform{
			platform("linux/arm64", armDigest, "xxh64:abc"),
			platform("linux/amd64", amdDigest, "xxh64:abc"),
		},
	}
}

const doc = `{"name": "production", "user": {"require_non_root": true}}`

func input(t *testing.T, res *gate.Result) Input {
	t.Helper()
	d, err := name.NewDigest("registry.example/app@" + indexDigest)
	if err != nil {
		t.Fatal(err)
	}
	return Input{Reference: "registry.example/app:1", Digest: d, Policy: testPolicy(t, doc), Document: []byte(doc), Result: res, Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
}

func TestNewPredicate(t *testing.T) {
	in := input(t, result())
	p, err := NewPredicate(in)
	if err != nil {
		t.Fatal(err)
	}
	_, id, err := in.Policy.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if p.Policy.Name != "production" || p.Policy.ID != id || !strings.HasPrefix(id, "sha256:") {
		t.Errorf("policy = %+v, want name production and id %s", p.Policy, id)
	}
	// The document hash is of the bytes given; the id is of the canonical form.
	sum := sha256.Sum256([]byte(doc))
	if p.Policy.DocumentSHA256 != "sha256:"+hex.EncodeToString(sum[:]) || p.Policy.DocumentSHA256 == p.Policy.ID {
		t.Errorf("document_sha256 = %q, want the SHA-256 of the document as given (not the canonical id %s)", p.Policy.DocumentSHA256, id)
	}
	if !p.Passed || p.Image.Digest != indexDigest || p.Image.Repository != "registry.example/app" || p.Image.Reference != "registry.example/app:1" {
		t.Errorf("image = %+v passed = %v", p.Image, p.Passed)
	}
	if p.Database != (Database{Built: "2026-11-01T02:04:05Z", Checksum: "xxh64:abc", Schema: "v6.0.2"}) {
		t.Errorf("database = %+v, want the build time in UTC, the checksum and the schema", p.Database)
	}
	if p.Scanner.Grype != scan.GrypeVersion || p.Scanner.Syft != scan.SyftVersion || p.Scanner.Grype == "" || p.Scanner.Syft == "" {
		t.Errorf("scanner = %+v, want grype %q and syft %q", p.Scanner, scan.GrypeVersion, scan.SyftVersion)
	}
	wantPlatforms := []Platform{{"linux/amd64", amdDigest}, {"linux/arm64", armDigest}}
	if len(p.Platforms) != 2 || p.Platforms[0] != wantPlatforms[0] || p.Platforms[1] != wantPlatforms[1] {
		t.Errorf("platforms = %+v, want %+v (sorted)", p.Platforms, wantPlatforms)
	}
	var subjects []string
	for _, v := range p.Violations {
		subjects = append(subjects, v.Platform+" "+v.Rule+" "+v.Subject)
	}
	want := []string{
		"linux/amd64 checks.forbid_setuid /usr/bin/su",
		"linux/amd64 vulnerabilities CVE-1 a@1",
		"linux/amd64 vulnerabilities CVE-9 z@1",
		"linux/arm64 vulnerabilities CVE-2 b@1",
	}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant (sorted by platform, rule, subject):\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
	}
	if p.EvaluatedAt != "2026-11-02T00:00:00Z" {
		t.Errorf("evaluated_at = %q", p.EvaluatedAt)
	}
}

// TestNewPredicateDeterministic: the same decision, whatever the order of
// its platforms and violations, is the same predicate byte for byte.
func TestNewPredicateDeterministic(t *testing.T) {
	a, err := NewPredicate(input(t, result()))
	if err != nil {
		t.Fatal(err)
	}
	r := result()
	r.Platforms[0], r.Platforms[1] = r.Platforms[1], r.Platforms[0]
	vs := r.Decision.Violations
	for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
		vs[i], vs[j] = vs[j], vs[i]
	}
	b, err := NewPredicate(input(t, r))
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := a.JSON()
	jb, _ := b.JSON()
	if !bytes.Equal(ja, jb) {
		t.Errorf("the same decision gave two predicates:\n%s\n%s", ja, jb)
	}
	var fields map[string]any
	if err := json.Unmarshal(ja, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"image", "policy", "passed", "platforms", "database", "scanner", "violations", "evaluated_at"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("the predicate has no %q: %s", k, ja)
		}
	}
	if fields["passed"] != true {
		t.Errorf("passed = %v in %s", fields["passed"], ja)
	}
}

// TestNewPredicateEmptyLists: a single image without warnings has empty
// lists, never null, so a CUE or Rego policy can iterate them.
func TestNewPredicateEmptyLists(t *testing.T) {
	res := &gate.Result{Digest: amdDigest, Decision: policy.Decision{Passed: true}, Platforms: []gate.Platform{platform("", amdDigest, "xxh64:abc")}}
	p, err := NewPredicate(input(t, res))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.JSON()
	if !strings.Contains(string(b), `"violations":[]`) || !strings.Contains(string(b), `"platforms":[{"platform":"","digest":"`+amdDigest+`"}]`) {
		t.Errorf("predicate = %s", b)
	}
}

func TestNewPredicateRefuses(t *testing.T) {
	failed := result()
	failed.Decision.Passed = false
	stop := result()
	stop.Decision.Violations = append(stop.Decision.Violations, policy.Violation{Rule: "user", Action: policy.ActionStop, Subject: "root"})
	mixed := result()
	mixed.Platforms[1].Scan.DB.Checksum = "xxh64:other"
	for name, c := range map[string]struct {
		res  *gate.Result
		want string
	}{
		"failed":         {failed, `failed policy "production": a failing image gets no verdict`},
		"stop violation": {stop, "passed with a stop violation of user"},
		"no scan":        {&gate.Result{Decision: policy.Decision{Passed: true}}, "has no scan"},
		"two databases":  {mixed, "different databases (xxh64:abc and xxh64:other)"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := NewPredicate(input(t, c.res))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("NewPredicate = %+v, %v; want an error containing %q", p, err, c.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	in := input(t, result())
	p, err := NewPredicate(in)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := p.JSON()
	other := *p
	other.Policy.ID = "sha256:other"
	otherPolicy, _ := other.JSON()
	moved := *p
	moved.Image.Digest = amdDigest
	otherDigest, _ := moved.JSON()
	failed := *p
	failed.Passed = false
	notPassed, _ := failed.JSON()
	st := func(typ string, pred []byte) verify.Statement {
		return verify.Statement{PredicateType: typ, Predicate: pred}
	}
	for name, c := range map[string]struct {
		sts  []verify.Statement
		want bool
	}{
		"none":           {nil, false},
		"verdict":        {[]verify.Statement{st(PredicateType, good)}, true},
		"after others":   {[]verify.Statement{st(PredicateType, otherPolicy), st(PredicateType, good)}, true},
		"other policy":   {[]verify.Statement{st(PredicateType, otherPolicy)}, false},
		"other digest":   {[]verify.Statement{st(PredicateType, otherDigest)}, false},
		"not passed":     {[]verify.Statement{st(PredicateType, notPassed)}, false},
		"other type":     {[]verify.Statement{st("https://imagegate.dev/verdict/v2", good)}, false},
		"not an object":  {[]verify.Statement{st(PredicateType, []byte(`"x"`))}, false},
		"float booleans": {[]verify.Statement{st(PredicateType, []byte(`{"passed":1}`))}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := match(c.sts, in.Digest, p.Policy.ID); (got != nil) != c.want {
				t.Errorf("match = %+v, want found %v", got, c.want)
			}
		})
	}
}
