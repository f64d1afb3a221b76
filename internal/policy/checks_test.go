package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

var checksNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// cleanFacts is an image every hygiene check passes.
func cleanFacts() Facts {
	return Facts{
		Now: checksNow,
		Image: Image{
			Reference:   "registry.example.com/app:1.2.3",
			Repository:  "registry.example.com/app",
			User:        "app",
			Created:     checksNow.Add(-24 * time.Hour),
			Labels:      map[string]string{"org.opencontainers.image.source": "https://git.example.com/app", "org.opencontainers.image.revision": "abc123"},
			Healthcheck: []string{"CMD", "/app", "health"},
			Env:         []string{"PATH=/usr/bin:/bin", "POSTGRES_PASSWORD_FILE=/run/secrets/pg", "MODE=prod"},
			History: []HistoryStep{
				{CreatedBy: "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in / "},
				{CreatedBy: "/bin/sh -c #(nop)  CMD [\"bash\"]", EmptyLayer: true},
				{CreatedBy: "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates # buildkit"},
				{CreatedBy: "RUN /bin/sh -c apk update && apk add curl"},
				{CreatedBy: "COPY app /app # buildkit"},
				{CreatedBy: "ARG VERSION=<redacted>", EmptyLayer: true},
				{CreatedBy: "RUN |1 VERSION=<redacted> /bin/sh -c make"},
			},
		},
		Passwd:   []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"),
		Packages: []Package{{Name: "ca-certificates", Version: "2023", Type: "deb"}, {Name: "openssh-client", Version: "9.2", Type: "deb"}},
		Files: &FileFacts{
			Special: []SpecialFile{{Path: "/usr/bin/passwd", Setuid: true}},
			Shadow:  []byte("root:<redacted>\napp:<redacted>\n"),
		},
	}
}

func allChecks() *ChecksRule {
	r := HygieneRule()
	r.AllowedSetuidPaths = []string{"/usr/bin/passwd"}
	return r
}

func TestChecksPassOnACleanImage(t *testing.T) {
	d := Evaluate(&Policy{Name: "p", Checks: allChecks()}, cleanFacts())
	if !d.Passed || len(d.Violations) != 0 {
		t.Fatalf("a clean image fails: %+v", d.Violations)
	}
}

// Each check, one fact at a time: the breaking image fails exactly that
// check with the expected subjects, CIS id and message words.
func TestChecksTable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mutate   func(*Facts)
		check    string
		subjects []string
		words    string
	}{
		{"denied package", func(f *Facts) { f.Packages = append(f.Packages, Package{Name: "sudo", Version: "1.9", Type: "deb"}) },
			CheckDeniedPackages, []string{"sudo@1.9"}, "package sudo 1.9 (deb) is installed"},
		{"denied package by glob, any case", func(f *Facts) { f.Packages = append(f.Packages, Package{Name: "Netcat-OpenBSD", Version: "1"}) },
			CheckDeniedPackages, []string{"Netcat-OpenBSD@1"}, "denies netcat*"},
		{"no healthcheck", func(f *Facts) { f.Image.Healthcheck = nil }, CheckRequireHealthcheck, []string{"HEALTHCHECK"}, "defines no HEALTHCHECK"},
		{"healthcheck NONE", func(f *Facts) { f.Image.Healthcheck = []string{"NONE"} }, CheckRequireHealthcheck, []string{"HEALTHCHECK"}, "is NONE"},
		{"apt-get update alone", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "RUN /bin/sh -c apt-get update # buildkit"})
		}, CheckForbidUpdateAlone, []string{"history[7]"}, "updates the package index without installing"},
		{"apk update alone (legacy builder)", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "/bin/sh -c apk update"})
		}, CheckForbidUpdateAlone, []string{"history[7]"}, "stale, cached index"},
		{"dnf makecache alone", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "RUN /bin/sh -c dnf -y makecache; echo done"})
		}, CheckForbidUpdateAlone, []string{"history[7]"}, "makecache"},
		{"setuid not allowed", func(f *Facts) {
			f.Files.Special = append(f.Files.Special, SpecialFile{Path: "/usr/bin/su", Setuid: true}, SpecialFile{Path: "/usr/bin/wall", Setgid: true})
		}, CheckForbidSetuid, []string{"/usr/bin/su", "/usr/bin/wall"}, "has the setuid bit"},
		{"setuid past the listing bound", func(f *Facts) { f.Files.SpecialOmitted = 3 }, CheckForbidSetuid, []string{"files"}, "3 more setuid or setgid files"},
		{"ADD of a local archive", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "ADD app.tar.gz /app # buildkit"})
		}, CheckForbidAdd, []string{"history[7]"}, "use COPY"},
		{"ADD from a URL", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "ADD https://example.com/tool.tgz /opt/ # buildkit"})
		}, CheckForbidAdd, []string{"history[7]"}, "fetch remote content"},
		{"ADD of a root filesystem above the first layer", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in / "})
		}, CheckForbidAdd, []string{"history[7]"}, "use COPY"},
		{"secret env by name", func(f *Facts) { f.Image.Env = append(f.Image.Env, "DB_PASSWORD=hunter2") },
			CheckForbidSecrets, []string{"env DB_PASSWORD"}, "a sensitive name"},
		{"secret env by value", func(f *Facts) { f.Image.Env = append(f.Image.Env, "DEPLOY=AKIAIOSFODNN7EXAMPLE") },
			CheckForbidSecrets, []string{"env DEPLOY"}, "shaped like an AWS access key id"},
		{"inline credential recorded by the registry", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "RUN /bin/sh -c git clone https://ci:<redacted>@git/x", Credentials: []string{"password in a URL"}})
		}, CheckForbidSecrets, []string{"history[7]"}, "password in a URL"},
		{"inline credential not yet redacted", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "RUN /bin/sh -c curl -u admin:hunter2 https://x/"})
		}, CheckForbidSecrets, []string{"history[7]"}, "credentials option"},
		{"sensitive build argument", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "RUN |2 GITHUB_TOKEN=<redacted> VERSION=<redacted> /bin/sh -c make"})
		}, CheckForbidSecrets, []string{"history[7]"}, "build argument GITHUB_TOKEN"},
		{"sensitive ARG default", func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "ARG NPM_TOKEN=<redacted>", EmptyLayer: true})
		}, CheckForbidSecrets, []string{"history[7]"}, "build argument NPM_TOKEN"},
		{"secret file", func(f *Facts) {
			f.Files.Secrets = []SecretFile{{Path: "/root/.ssh/id_rsa", Kind: "SSH private key"}, {Path: "/root/.aws/credentials", Kind: "AWS credentials"}}
		}, CheckForbidSecrets, []string{"/root/.aws/credentials", "/root/.ssh/id_rsa"}, "holds an AWS credentials"},
		{"latest tag", func(f *Facts) { f.Image.Reference = "registry.example.com/app:latest" },
			CheckForbidLatestTag, []string{"registry.example.com/app:latest"}, "uses the tag latest"},
		{"no tag", func(f *Facts) { f.Image.Reference = "localhost:5000/app" },
			CheckForbidLatestTag, []string{"localhost:5000/app"}, "has no tag"},
		{"too old", func(f *Facts) { f.Image.Created = checksNow.Add(-100 * 24 * time.Hour) },
			CheckMaxAge, []string{"created"}, "(100 days ago), more than max_age 2160h0m0s"},
		{"reproducible epoch", func(f *Facts) { f.Image.Created = time.Unix(0, 0).UTC() },
			CheckMaxAge, []string{"created"}, "SOURCE_DATE_EPOCH"},
		{"no creation time", func(f *Facts) { f.Image.Created = time.Time{} }, CheckMaxAge, []string{"created"}, "no creation time"},
		{"missing label", func(f *Facts) { delete(f.Image.Labels, "org.opencontainers.image.source") },
			CheckRequiredLabels, []string{"org.opencontainers.image.source"}, "has no label"},
		{"empty label", func(f *Facts) { f.Image.Labels["org.opencontainers.image.revision"] = " " },
			CheckRequiredLabels, []string{"org.opencontainers.image.revision"}, "is empty"},
		{"second root account", func(f *Facts) { f.Passwd = append(f.Passwd, "toor:x:0:0::/root:/bin/sh\n"...) },
			CheckAccountAnomalies, []string{"account toor"}, "has UID 0: a second root account"},
		{"numeric root variant 00", func(f *Facts) { f.Passwd = append(f.Passwd, "admin:x:00:0::/:/bin/sh\n"...) },
			CheckAccountAnomalies, []string{"account admin"}, `the UID field "00"`},
		{"numeric root variant +0", func(f *Facts) { f.Passwd = append(f.Passwd, "plus:x:+0:0::/:/bin/sh\n"...) },
			CheckAccountAnomalies, []string{"account plus"}, `the UID field "+0"`},
		{"unparsable UID read as 0", func(f *Facts) { f.Passwd = append(f.Passwd, "odd:x:zero:0::/:/bin/sh\n"...) },
			CheckAccountAnomalies, []string{"account odd"}, `the UID field "zero"`},
		{"UID truncated to 0", func(f *Facts) { f.Passwd = append(f.Passwd, "wrap:x:4294967296:0::/:/bin/sh\n"...) },
			CheckAccountAnomalies, []string{"account wrap"}, `"4294967296"`},
		{"empty shadow password", func(f *Facts) { f.Files.Shadow = append(f.Files.Shadow, "guest:\n"...) },
			CheckAccountAnomalies, []string{"account guest"}, "empty password"},
		{"empty passwd password", func(f *Facts) { f.Passwd = append(f.Passwd, "guest::1001:1001::/:/bin/sh\n"...) },
			CheckAccountAnomalies, []string{"account guest"}, "empty password field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cleanFacts()
			tc.mutate(&f)
			d := Evaluate(&Policy{Name: "p", Checks: allChecks()}, f)
			if d.Passed {
				t.Fatalf("passed: %+v", d.Violations)
			}
			var subjects []string
			for _, v := range d.Violations {
				if v.Rule != RuleChecks+"."+tc.check {
					t.Errorf("another check failed: %+v", v)
					continue
				}
				if v.CIS != CheckCIS(tc.check) || v.Action != ActionStop {
					t.Errorf("CIS %q action %q, want %q stop", v.CIS, v.Action, CheckCIS(tc.check))
				}
				subjects = append(subjects, v.Subject)
				if !strings.Contains(v.Message, tc.words) && !strings.Contains(d.Violations[0].Message, tc.words) {
					t.Errorf("message %q lacks %q", v.Message, tc.words)
				}
				for _, secret := range []string{"hunter2", "AKIAIOSFODNN7EXAMPLE"} {
					if strings.Contains(v.Message, secret) || strings.Contains(v.Subject, secret) {
						t.Errorf("violation shows the secret: %+v", v)
					}
				}
			}
			if !slices.Equal(subjects, tc.subjects) {
				t.Errorf("subjects %q, want %q", subjects, tc.subjects)
			}
			// The same image through Hygiene fails the same check with the
			// same subjects (the defaults match allChecks but for the
			// allowed setuid path, which Hygiene has not).
			for _, r := range Hygiene(f) {
				if r.ID == tc.check && (r.Passed || !slices.Contains(r.Subjects, tc.subjects[0])) {
					t.Errorf("Hygiene: %+v", r)
				}
			}
		})
	}
}

func TestChecksPassingVariants(t *testing.T) {
	for name, mutate := range map[string]func(*Facts){
		"apt-get update with install": func(f *Facts) { f.Image.History[2].CreatedBy = "/bin/sh -c apt-get -q update && apt-get -y upgrade" },
		"apk add --update":            func(f *Facts) { f.Image.History[3].CreatedBy = "RUN /bin/sh -c apk add --update curl" },
		"allowed setuid glob":         func(f *Facts) { f.Files.Special = []SpecialFile{{Path: "/usr/lib/openssh/ssh-keysign", Setuid: true}} },
		"digest reference":            func(f *Facts) { f.Image.Reference = "registry.example.com/app@sha256:" + strings.Repeat("a", 64) },
		"latest pinned by digest":     func(f *Facts) { f.Image.Reference = "app:latest@sha256:" + strings.Repeat("a", 64) },
		"alpine's root filesystem": func(f *Facts) {
			f.Image.History[0].CreatedBy = "ADD alpine-minirootfs-3.19.1-x86_64.tar.gz / # buildkit"
		},
		"registry port is not a tag": func(f *Facts) { f.Image.Reference = "localhost:5000/app:v1" },
		"exactly max_age":            func(f *Facts) { f.Image.Created = checksNow.Add(-2160 * time.Hour) },
		"secret name holding a path": func(f *Facts) { f.Image.Env = append(f.Image.Env, "API_KEY=/run/secrets/key") },
		"secret name empty":          func(f *Facts) { f.Image.Env = append(f.Image.Env, "API_TOKEN=") },
		"locked accounts":            func(f *Facts) { f.Files.Shadow = []byte("root:<redacted>\nnobody:<redacted>\n") },
		"no /etc/passwd":             func(f *Facts) { f.Passwd = nil },
		"ENV of a sensitive name is env's job": func(f *Facts) {
			f.Image.History = append(f.Image.History, HistoryStep{CreatedBy: "ENV MODE=<redacted>"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := cleanFacts()
			mutate(&f)
			r := allChecks()
			r.AllowedSetuidPaths = []string{"/usr/bin/passwd", "/usr/lib/*/ssh-keysign"}
			if d := Evaluate(&Policy{Name: "p", Checks: r}, f); !d.Passed || len(d.Violations) != 0 {
				t.Errorf("fails: %+v", d.Violations)
			}
		})
	}
}

// A file check without file facts fails closed: the gate could not decide.
func TestFileChecksFailClosed(t *testing.T) {
	for _, r := range []*ChecksRule{{ForbidSetuid: true}, {ForbidSecrets: true}, {AccountAnomalies: true}} {
		f := cleanFacts()
		f.Files = nil
		d := Evaluate(&Policy{Name: "p", Checks: r}, f)
		if d.Passed || len(d.Violations) != 1 || !strings.Contains(d.Violations[0].Message, "not examined") {
			t.Errorf("%+v without file facts: %+v", r, d)
		}
	}
}

// Only the enabled checks run, each with its own action.
func TestChecksActions(t *testing.T) {
	f := cleanFacts()
	f.Image.Healthcheck = nil
	f.Image.Reference = "app:latest"
	f.Packages = append(f.Packages, Package{Name: "sudo"})
	p := &Policy{Name: "p", Checks: &ChecksRule{RequireHealthcheck: true, ForbidLatestTag: true, Actions: map[string]string{CheckRequireHealthcheck: ActionWarn}}}
	d := Evaluate(p, f)
	var got []string
	for _, v := range d.Violations {
		got = append(got, v.Rule+" "+v.Action)
	}
	if want := []string{"checks.forbid_latest_tag stop", "checks.require_healthcheck warn"}; !slices.Equal(got, want) || d.Passed {
		t.Errorf("violations %q (passed %v), want %q", got, d.Passed, want)
	}
	p.Checks.Actions[CheckForbidLatestTag] = ActionWarn
	if d := Evaluate(p, f); !d.Passed || len(d.Violations) != 2 {
		t.Errorf("warn-only checks: passed %v, %+v", d.Passed, d.Violations)
	}
}

func TestChecksValidation(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"name":"p","checks":{}}`, "checks: the rule checks nothing: enable at least one of denied_packages, require_healthcheck, forbid_update_alone, forbid_setuid, forbid_add, forbid_secrets, forbid_latest_tag, max_age, required_labels, account_anomalies, or remove it"},
		{`{"name":"p","checks":{"action":"warn","require_healthcheck":false}}`, "checks: the rule checks nothing"},
		{`{"name":"p","checks":{"max_age":"30d"}}`, `checks.max_age: "30d" is not a Go duration; write hours, for example "720h" for 30 days`},
		{`{"name":"p","checks":{"max_age":"-1h"}}`, `checks.max_age: "-1h" is not positive`},
		{`{"name":"p","checks":{"max_age":720}}`, "checks.max_age: must be a string, not 720"},
		{`{"name":"p","checks":{"require_healthcheck":"yes"}}`, `checks.require_healthcheck: must be true or false, not "yes"`},
		{`{"name":"p","checks":{"forbid_setuid":true,"allowed_setuid_paths":["usr/bin/su"]}}`, `checks.allowed_setuid_paths[0]: "usr/bin/su" is not an absolute path or glob: start it with /`},
		{`{"name":"p","checks":{"forbid_add":true,"allowed_setuid_paths":["/usr/bin/su"]}}`, "checks.allowed_setuid_paths: has no effect unless forbid_setuid is true"},
		{`{"name":"p","checks":{"denied_packages":["sudo","[z"]}}`, `checks.denied_packages[1]: "[z" is not a valid glob`},
		{`{"name":"p","checks":{"denied_packages":[""]}}`, `checks.denied_packages[0]: "" is not a package name or glob`},
		{`{"name":"p","checks":{"required_labels":[" a"]}}`, `checks.required_labels[0]: " a" is not a label key`},
		{`{"name":"p","checks":{"forbid_add":true,"actions":{"forbid_ad":"warn"}}}`, `checks.actions.forbid_ad: "forbid_ad" is not a check`},
		{`{"name":"p","checks":{"forbid_add":true,"actions":{"max_age":"warn"}}}`, "checks.actions.max_age: check max_age is not enabled, so its action has no effect"},
		{`{"name":"p","checks":{"forbid_add":true,"actions":{"forbid_add":"fail"}}}`, `checks.actions.forbid_add: "fail" is not an action`},
		{`{"name":"p","checks":{"forbid_add":true,"action":"never"}}`, `checks.action: "never" is not an action`},
		{`{"name":"p","checks":{"forbid_adds":true}}`, "checks.forbid_adds: unknown field"},
	} {
		_, err := Parse([]byte(tc.doc))
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want a problem %q", tc.doc, err, tc.want)
		}
	}
}

func TestChecksCanonical(t *testing.T) {
	a, err := Parse([]byte(`{"name":"p","checks":{"max_age":"2160h","denied_packages":["sudo","netcat*","sudo"],"forbid_setuid":true,"allowed_setuid_paths":["/b","/a"],"actions":{"max_age":"stop","forbid_setuid":"warn"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte(`{"checks":{"action":"stop","actions":{"forbid_setuid":"warn"},"allowed_setuid_paths":["/a","/b"],"forbid_setuid":true,"denied_packages":["netcat*","sudo"],"max_age":"2160h0m0s"},"name":"p"}`))
	if err != nil {
		t.Fatal(err)
	}
	ca, ida, err := a.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	cb, idb, _ := b.Canonical()
	if ida != idb {
		t.Errorf("equivalent policies have different ids:\n%s\n%s", ca, cb)
	}
	want := `"checks":{"action":"stop","actions":{"forbid_setuid":"warn"},"denied_packages":["netcat*","sudo"],"forbid_setuid":true,"allowed_setuid_paths":["/a","/b"],"max_age":"2160h0m0s"}`
	if !strings.Contains(string(ca), want) {
		t.Errorf("canonical document:\n%s\nwant it to contain\n%s", ca, want)
	}
	again, err := Parse(ca)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _, _ := again.Canonical(); string(c2) != string(ca) {
		t.Errorf("canonical form is not stable:\n%s\n%s", ca, c2)
	}
}

// Hygiene reports every check, in order, with its CIS id, without a policy.
func TestHygieneReportsEveryCheck(t *testing.T) {
	f := cleanFacts()
	f.Files.Special = nil
	rs := Hygiene(f)
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
		if !r.Passed || len(r.Subjects) != 0 || r.Subjects == nil {
			t.Errorf("clean image: %+v", r)
		}
		if r.CIS != CheckCIS(r.ID) {
			t.Errorf("%s: CIS %q", r.ID, r.CIS)
		}
	}
	if !slices.Equal(ids, CheckIDs()) {
		t.Errorf("ids %q, want %q", ids, CheckIDs())
	}
	f.Files = nil
	for _, r := range Hygiene(f) {
		if (r.ID == CheckForbidSetuid || r.ID == CheckForbidSecrets || r.ID == CheckAccountAnomalies) && r.Passed {
			t.Errorf("%s passed without file facts", r.ID)
		}
	}
}

// Every rule's violations carry their CIS id; registries has none.
func TestViolationsCarryCIS(t *testing.T) {
	score := 9.0
	f := cleanFacts()
	f.Image.User = ""
	f.Findings = []Finding{{ID: "CVE-1", Severity: "critical", CVSSScore: &score, Package: "a", Version: "1"}}
	p := &Policy{Name: "p",
		Vulnerabilities: &VulnerabilityRule{FailOnSeverity: "high"},
		User:            &UserRule{RequireNonRoot: true},
		BaseImage:       &BaseImageRule{Trusted: []string{"cgr.dev/chainguard/static:latest"}},
		Registries:      &RegistryRule{Trusted: []string{"ghcr.io"}},
	}
	got := map[string]string{}
	for _, v := range Evaluate(p, f).Violations {
		got[v.Rule] = v.CIS
	}
	want := map[string]string{RuleVulnerabilities: "4.4", RuleUser: "4.1", RuleBaseImage: "4.2", RuleRegistries: ""}
	for rule, cis := range want {
		if c, ok := got[rule]; !ok || c != cis {
			t.Errorf("%s: CIS %q (present %v), want %q", rule, c, ok, cis)
		}
	}
	sp := &Policy{Name: "s", Signatures: &SignaturesRule{Requirements: verify.Requirements{Keys: []string{testKeyPEM(t)}}}}
	for _, v := range EvaluateSignatures(sp, nil).Violations {
		if v.CIS != "4.5" {
			t.Errorf("signatures violation CIS %q", v.CIS)
		}
	}
}
