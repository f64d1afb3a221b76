package provider

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// checksSecret is the credential the dirty image carries in an environment
// variable, a RUN step and a file: it must appear nowhere.
const checksSecret = "hyg13ne-S3CR3T-value-7f3a"

// checksBaseFiles is a Debian-like root filesystem with a root and an app
// account, plus extra packages.
func checksBaseFiles(pkgs ...fixtures.DebianPackage) fixtures.Files {
	files := fixtures.DebianFiles(append(slices.Clone(fixtures.DefaultDebianPackages), pkgs...))
	files["etc/passwd"] = []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/usr/sbin/nologin\n")
	files["etc/shadow"] = []byte("root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n")
	return files
}

func checksRawLayer(t *testing.T, es ...fixtures.Entry) v1.Layer {
	t.Helper()
	l, err := fixtures.RawLayer(es)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// checksCleanConfig passes every check.
var checksCleanConfig = v1.Config{
	User:        "app",
	Env:         []string{"PATH=/usr/bin:/bin", "POSTGRES_PASSWORD_FILE=/run/secrets/pg"},
	Labels:      map[string]string{"org.opencontainers.image.source": "https://git.example.com/app", "org.opencontainers.image.revision": "abc"},
	Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/app/health"}},
}

// checksImages pushes the images of the hygiene tests and returns their
// references by name.
func checksImages(t *testing.T, reg *testutil.Registry) map[string]string {
	t.Helper()
	dir := func(name string) fixtures.Entry { return fixtures.Entry{Name: name, Typeflag: tar.TypeDir} }
	push := func(tag string, spec testutil.Spec) {
		reg.Push(t, tag, testutil.Image(t, spec))
	}
	// Clean: a deliberate setuid file (allowed by the policy), an update
	// installed in the same step, every label and a HEALTHCHECK.
	push("clean:1.0", testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, checksBaseFiles()),
			checksRawLayer(t, dir("usr/"), dir("usr/bin/"), fixtures.Entry{Name: "usr/bin/passwd", Mode: 0o4755, Body: []byte("x")}),
		},
		Config:  checksCleanConfig,
		History: []v1.History{{CreatedBy: "COPY rootfs / # buildkit"}, {CreatedBy: "RUN /bin/sh -c apt-get update && apt-get install -y tar # buildkit"}},
	})
	// Dirty: breaks every check, with a credential in ENV, in a RUN step
	// and in a file.
	push("dirty:latest", testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, checksBaseFiles(fixtures.DebianPackage{Name: "sudo", Version: "1.9.13p3-1+deb12u1"})),
			checksRawLayer(t,
				dir("usr/"), dir("usr/bin/"), fixtures.Entry{Name: "usr/bin/su", Mode: 0o4755, Body: []byte("x")},
				dir("root/"), dir("root/.aws/"),
				fixtures.Entry{Name: "root/.aws/credentials", Mode: 0o600, Body: []byte("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + checksSecret + "\n")},
				dir("etc/"),
				fixtures.Entry{Name: "etc/passwd", Body: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\ntoor:x:00:0::/root:/bin/sh\n")},
				fixtures.Entry{Name: "etc/shadow", Body: []byte("root:$6$salt$" + checksSecret + ":19000::::::\napp:!:19000::::::\nguest::19000::::::\n")},
			),
		},
		Config: v1.Config{User: "app", Env: []string{"PATH=/bin", "DB_PASSWORD=" + checksSecret}},
		History: []v1.History{
			{CreatedBy: "ADD https://example.com/rootfs.tar.gz / # buildkit"},
			{CreatedBy: "RUN /bin/sh -c apt-get update # buildkit"},
			{CreatedBy: "RUN /bin/sh -c git clone https://ci:" + checksSecret + "@git.example.com/app.git # buildkit", EmptyLayer: true},
			{CreatedBy: "ENV DB_PASSWORD=" + checksSecret, EmptyLayer: true},
		},
	})
	// A setuid file removed by a later layer (a whiteout) and one whose
	// bit a later layer clears are not reported; a setgid file is.
	push("whiteout:1", testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, checksBaseFiles()),
			checksRawLayer(t, dir("usr/"), dir("usr/bin/"),
				fixtures.Entry{Name: "usr/bin/su", Mode: 0o4755, Body: []byte("x")},
				fixtures.Entry{Name: "usr/bin/newgrp", Mode: 0o4755, Body: []byte("x")},
				fixtures.Entry{Name: "usr/bin/wall", Mode: 0o2755, Body: []byte("x")}),
			checksRawLayer(t, fixtures.Entry{Name: "usr/bin/.wh.su", Body: []byte{}},
				fixtures.Entry{Name: "usr/bin/newgrp", Mode: 0o755, Body: []byte("x")}),
		},
		Config: checksCleanConfig,
	})
	// Numeric root variants: USER 00 and 0:0, and /etc/passwd accounts
	// whose UID field reads as 0.
	rootFiles := checksBaseFiles()
	rootFiles["etc/passwd"] = []byte("root:x:0:0:root:/root:/bin/sh\nadmin:x:000:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n")
	rootLayer := testutil.Layer(t, rootFiles)
	for tag, user := range map[string]string{"root:00": "00", "root:0-0": "0:0"} {
		cfg := checksCleanConfig
		cfg.User = user
		push(tag, testutil.Spec{Layers: []v1.Layer{rootLayer}, Config: cfg})
	}
	// Hostile layers: a path traversal entry, a symlink loop and a key file
	// that links into it.
	push("hostile:1", testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, checksBaseFiles()),
			checksRawLayer(t,
				fixtures.Entry{Name: strings.Repeat("../", 16) + strings.TrimPrefix(checksEscape(), "/"), Mode: 0o4755, Body: []byte("x")},
				dir("loop/"),
				fixtures.Entry{Name: "loop/a", Typeflag: tar.TypeSymlink, Linkname: "b"},
				fixtures.Entry{Name: "loop/b", Typeflag: tar.TypeSymlink, Linkname: "a"},
				dir("root/"), dir("root/.ssh/"),
				fixtures.Entry{Name: "root/.ssh/id_rsa", Typeflag: tar.TypeSymlink, Linkname: "/loop/a"},
			),
		},
		Config: checksCleanConfig,
	})
	// A large zero-filled layer, one of its files named like a key.
	push("zeros:1", testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, checksBaseFiles()),
			checksRawLayer(t, dir("data/"), fixtures.Entry{Name: "data/zeros", Size: 96 << 20}, fixtures.Entry{Name: "data/huge.key", Size: 96 << 20}),
		},
		Config: checksCleanConfig,
	})
	refs := map[string]string{}
	for _, tag := range []string{"clean:1.0", "dirty:latest", "whiteout:1", "root:00", "root:0-0", "hostile:1", "zeros:1"} {
		refs[tag] = reg.Ref(tag)
	}
	return refs
}

// checksEscape is where the traversal entry would land if unpacking
// escaped its temporary root.
func checksEscape() string { return filepath.Join(os.TempDir(), "imagegate-provider-escape") }

// allChecksPolicy enables every check, allowing /usr/bin/passwd, with the
// given max_age.
func allChecksPolicy(name, maxAge string) string {
	return fmt.Sprintf(`
resource "imagegate_policy" %[1]q {
  name = %[1]q
  checks = {
    denied_packages      = ["netcat*", "sudo"]
    require_healthcheck  = true
    forbid_update_alone  = true
    forbid_setuid        = true
    allowed_setuid_paths = ["/usr/bin/passwd"]
    forbid_add           = true
    forbid_secrets       = true
    forbid_latest_tag    = true
    max_age              = %[2]q
    required_labels      = ["org.opencontainers.image.revision", "org.opencontainers.image.source"]
    account_anomalies    = true
  }
}
`, name, maxAge)
}

func reportGate(name, ref, policy string) string {
	return fmt.Sprintf(`
data "imagegate_gate" %q {
  reference = %q
  policy    = imagegate_policy.%s.document
  enforce   = false
}
`, name, ref, policy)
}

// violation is what a test expects of one gate violation.
type violation struct{ rule, cis, subject string }

// violations checks a gate's violations: exactly these, by rule, CIS id and
// subject, in the gate's order (rule, then subject).
func violations(gate string, want ...violation) statecheck.StateCheck {
	slices.SortFunc(want, func(a, b violation) int {
		if c := strings.Compare(a.rule, b.rule); c != 0 {
			return c
		}
		return strings.Compare(a.subject, b.subject)
	})
	checks := make([]knownvalue.Check, len(want))
	for i, v := range want {
		var cis knownvalue.Check = knownvalue.Null()
		if v.cis != "" {
			cis = knownvalue.StringExact(v.cis)
		}
		checks[i] = knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"rule": knownvalue.StringExact(v.rule), "cis": cis, "subject": knownvalue.StringExact(v.subject),
		})
	}
	return statecheck.ExpectKnownValue("data.imagegate_gate."+gate, tfjsonpath.New("violations"), knownvalue.ListExact(checks))
}

// Every hygiene check, against an image built in the test that breaks it
// and one that does not; a setuid file a later layer removed; numeric root
// variants; hostile layers.
func TestAccGateChecks(t *testing.T) {
	e := newScanEnv(t)
	refs := checksImages(t, e.reg)
	testutil.RemoveIfPresent(t, checksEscape())

	config := e.provider("") + allChecksPolicy("all", "876000h") + allChecksPolicy("young", "720h") + `
resource "imagegate_policy" "root" {
  name   = "root"
  user   = { require_non_root = true }
  checks = { account_anomalies = true }
}
` + reportGate("clean", refs["clean:1.0"], "all") +
		reportGate("dirty", refs["dirty:latest"], "all") +
		reportGate("old", refs["clean:1.0"], "young") +
		reportGate("whiteout", refs["whiteout:1"], "all") +
		reportGate("root00", refs["root:00"], "root") +
		reportGate("root0_0", refs["root:0-0"], "root") +
		reportGate("nonroot", refs["clean:1.0"], "root") +
		reportGate("hostile", refs["hostile:1"], "all") +
		reportGate("zeros", refs["zeros:1"], "all")

	dirty := refs["dirty:latest"]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				passed("clean", true),
				violations("clean"),
				passed("dirty", false),
				violations("dirty",
					violation{"checks.account_anomalies", "", "account guest"},
					violation{"checks.account_anomalies", "", "account toor"},
					violation{"checks.denied_packages", "4.3", "sudo@1.9.13p3-1+deb12u1"},
					violation{"checks.forbid_add", "4.9", "history[0]"},
					violation{"checks.forbid_latest_tag", "", dirty},
					violation{"checks.forbid_secrets", "4.10", "/root/.aws/credentials"},
					violation{"checks.forbid_secrets", "4.10", "env DB_PASSWORD"},
					violation{"checks.forbid_secrets", "4.10", "history[2]"},
					violation{"checks.forbid_setuid", "4.8", "/usr/bin/su"},
					violation{"checks.forbid_update_alone", "4.7", "history[1]"},
					violation{"checks.require_healthcheck", "4.6", "HEALTHCHECK"},
					violation{"checks.required_labels", "", "org.opencontainers.image.revision"},
					violation{"checks.required_labels", "", "org.opencontainers.image.source"},
				),
				passed("old", false),
				violations("old", violation{"checks.max_age", "4.4", "created"}),
				passed("whiteout", false),
				violations("whiteout", violation{"checks.forbid_setuid", "4.8", "/usr/bin/wall"}),
				passed("root00", false),
				violations("root00", violation{"checks.account_anomalies", "", "account admin"}, violation{"user", "4.1", "00"}),
				passed("root0_0", false),
				violations("root0_0", violation{"checks.account_anomalies", "", "account admin"}, violation{"user", "4.1", "0:0"}),
				passed("nonroot", true),
				// The traversal entry stayed inside the temporary root (as the
				// path it names there); the loop and the key linking into it
				// are not followed.
				passed("hostile", false),
				violations("hostile", violation{"checks.forbid_setuid", "4.8", checksEscape()}),
				passed("zeros", true),
				violations("zeros"),
			},
		}},
	})
	if _, err := os.Lstat(checksEscape()); err == nil {
		testutil.RemoveIfPresent(t, checksEscape())
		t.Fatalf("a traversal entry was written outside the temporary root: %s", checksEscape())
	}
}

// An enforced gate fails the plan with each check named with its CIS id.
func TestAccGateChecksEnforced(t *testing.T) {
	e := newScanEnv(t)
	refs := checksImages(t, e.reg)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: e.provider("") + gateConfig(refs["whiteout:1"], `  checks = { forbid_setuid = true, require_healthcheck = true }`, ""),
			ExpectError: words("Image Failed Policy Gate", "with 1 violation",
				"- checks.forbid_setuid (CIS 4.8): /usr/bin/wall has the setgid bit",
				"To pass: fix what each hygiene check above names"),
		}, {
			// A check whose action is warn lets the gate pass, with a warning.
			Config: e.provider("") + gateConfig(refs["whiteout:1"], `  checks = {
    forbid_setuid = true
    actions       = { forbid_setuid = "warn" }
  }`, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				passed("app", true),
				statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("violations"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"rule": knownvalue.StringExact("checks.forbid_setuid"), "action": knownvalue.StringExact("warn"), "cis": knownvalue.StringExact("4.8")}),
				})),
			},
		}},
	})
}

// The checks rule round-trips through its document and import, and bad
// values are refused at validate time on the attribute at fault.
func TestAccPolicyChecks(t *testing.T) {
	// Written in the normalised form the document holds (sorted lists,
	// max_age as Go prints it), so import gives back the same values.
	config := providerConfig("") + `
resource "imagegate_policy" "p" {
  name = "hygiene"
  checks = {
    action               = "warn"
    actions              = { forbid_secrets = "stop", forbid_setuid = "stop" }
    denied_packages      = ["netcat*", "openssh-server", "sudo"]
    require_healthcheck  = true
    forbid_update_alone  = true
    forbid_setuid        = true
    allowed_setuid_paths = ["/usr/bin/passwd", "/usr/lib/*/ssh-keysign"]
    forbid_add           = true
    forbid_secrets       = true
    forbid_latest_tag    = true
    max_age              = "720h0m0s"
    required_labels      = ["org.opencontainers.image.source"]
    account_anomalies    = true
  }
}`
	wantDoc := `"checks":{"action":"warn","actions":{"forbid_secrets":"stop","forbid_setuid":"stop"},"denied_packages":["netcat*","openssh-server","sudo"],"require_healthcheck":true,"forbid_update_alone":true,"forbid_setuid":true,"allowed_setuid_paths":["/usr/bin/passwd","/usr/lib/*/ssh-keysign"],"forbid_add":true,"forbid_secrets":true,"forbid_latest_tag":true,"max_age":"720h0m0s","required_labels":["org.opencontainers.image.source"],"account_anomalies":true}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(regexp.QuoteMeta(wantDoc)))),
				}},
			},
			{
				ResourceName:      "imagegate_policy.p",
				ImportState:       true,
				ImportStateVerify: true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources["imagegate_policy.p"].Primary.Attributes["document"], nil
				},
				ImportStateVerifyIdentifierAttribute: "id",
			},
			{
				// A check left unset is off, and reads back as false.
				Config: providerConfig("") + `
resource "imagegate_policy" "p" {
  name   = "hygiene"
  checks = { max_age = "2160h" }
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("checks").AtMapKey("forbid_setuid"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("imagegate_policy.p", tfjsonpath.New("document"), knownvalue.StringRegexp(regexp.MustCompile(regexp.QuoteMeta(`"checks":{"action":"stop","max_age":"2160h0m0s"}`)))),
				},
			},
		},
	})
}

func TestAccPolicyChecksValidation(t *testing.T) {
	policy := func(checks string) string {
		return providerConfig("") + `
resource "imagegate_policy" "p" {
  name   = "bad"
  checks = ` + checks + `
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: policy(`{ max_age = "30d" }`), ExpectError: words(`checks.max_age: "30d" is not a Go duration; write hours, for example "720h" for 30 days`)},
			{Config: policy(`{ max_age = "-1h" }`), ExpectError: words(`checks.max_age: "-1h" is not positive`)},
			{Config: policy(`{ forbid_add = true, actions = { forbid_everything = "warn" } }`), ExpectError: words(`checks.actions.forbid_everything: "forbid_everything" is not a check; use one of denied_packages,`)},
			{Config: policy(`{ forbid_add = true, actions = { forbid_add = "block" } }`), ExpectError: words(`checks.actions.forbid_add`, `"block"`)},
			{Config: policy(`{ forbid_add = true, actions = { max_age = "warn" } }`), ExpectError: words(`checks.actions.max_age: check max_age is not enabled`)},
			{Config: policy(`{ allowed_setuid_paths = ["/usr/bin/passwd"], forbid_add = true }`), ExpectError: words(`checks.allowed_setuid_paths: has no effect unless forbid_setuid is true`)},
			{Config: policy(`{ forbid_setuid = true, allowed_setuid_paths = ["usr/bin/passwd"] }`), ExpectError: words(`checks.allowed_setuid_paths[0]: "usr/bin/passwd" is not an absolute path`)},
			{Config: policy(`{ denied_packages = ["[sudo"] }`), ExpectError: words(`checks.denied_packages[0]: "[sudo" is not a valid glob`)},
			{Config: policy(`{ denied_packages = [] }`), ExpectError: regexp.MustCompile(`(?s)denied_packages.*at least 1`)},
			{Config: policy(`{}`), ExpectError: words(`checks: the rule checks nothing: enable at least one of`)},
			{
				// max_age is checked at validate time even when the rest of the
				// policy is known only at apply.
				Config: providerConfig("") + `
resource "terraform_data" "name" {
  input = "late"
}

resource "imagegate_policy" "p" {
  name   = terraform_data.name.output
  checks = { max_age = "30 days" }
}`,
				PlanOnly:    true,
				ExpectError: words(`checks.max_age: "30 days" is not a Go duration`),
			},
		},
	})
}

// The image data source applies every check without a policy when asked,
// and pulls nothing otherwise.
func TestAccImageChecks(t *testing.T) {
	e := newScanEnv(t)
	refs := checksImages(t, e.reg)
	check := func(id, cis string, subjects ...string) knownvalue.Check {
		var c knownvalue.Check = knownvalue.Null()
		if cis != "" {
			c = knownvalue.StringExact(cis)
		}
		ss := make([]knownvalue.Check, len(subjects))
		for i, s := range subjects {
			ss[i] = knownvalue.StringExact(s)
		}
		return knownvalue.ObjectExact(map[string]knownvalue.Check{
			"id": knownvalue.StringExact(id), "cis": c, "passed": knownvalue.Bool(len(subjects) == 0), "subjects": knownvalue.ListExact(ss),
		})
	}
	dirty := refs["dirty:latest"]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: e.provider("") + fmt.Sprintf(`
data "imagegate_image" "dirty" {
  reference      = %q
  include_checks = true
}

data "imagegate_image" "clean" {
  reference      = %q
  include_checks = true
}

data "imagegate_image" "plain" {
  reference = %q
}
`, dirty, refs["clean:1.0"], refs["clean:1.0"]),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.imagegate_image.dirty", tfjsonpath.New("checks"), knownvalue.ListExact([]knownvalue.Check{
					check("account_anomalies", "", "account guest", "account toor"),
					check("denied_packages", "4.3", "sudo@1.9.13p3-1+deb12u1"),
					check("forbid_add", "4.9", "history[0]"),
					check("forbid_latest_tag", "", dirty),
					check("forbid_secrets", "4.10", "/root/.aws/credentials", "env DB_PASSWORD", "history[2]"),
					check("forbid_setuid", "4.8", "/usr/bin/su"),
					check("forbid_update_alone", "4.7", "history[1]"),
					check("max_age", "4.4", "created"), // built 2026-01-02, more than 90 days ago
					check("require_healthcheck", "4.6", "HEALTHCHECK"),
					check("required_labels", "", "org.opencontainers.image.revision", "org.opencontainers.image.source"),
				})),
				// The history shown is redacted too.
				statecheck.ExpectKnownValue("data.imagegate_image.dirty", tfjsonpath.New("history").AtSliceIndex(2).AtMapKey("created_by"), knownvalue.StringRegexp(regexp.MustCompile(`^RUN /bin/sh -c git clone https://.*<redacted>.*@git\.example\.com/app\.git`))),
				statecheck.ExpectKnownValue("data.imagegate_image.clean", tfjsonpath.New("checks"), knownvalue.ListExact([]knownvalue.Check{
					check("account_anomalies", ""),
					check("denied_packages", "4.3"),
					check("forbid_add", "4.9"),
					check("forbid_latest_tag", ""),
					check("forbid_secrets", "4.10"),
					check("forbid_setuid", "4.8", "/usr/bin/passwd"), // no path is allowed without a policy
					check("forbid_update_alone", "4.7"),
					check("max_age", "4.4", "created"),
					check("require_healthcheck", "4.6"),
					check("required_labels", ""),
				})),
				statecheck.ExpectKnownValue("data.imagegate_image.plain", tfjsonpath.New("checks"), knownvalue.Null()),
			},
		}},
	})
}

// The credential of the dirty image (in ENV, in a RUN step, in a file and
// in /etc/shadow) appears in no state, plan output or TRACE log, while the
// violations and checks name the variable, the step and the path.
func TestAccChecksSecretsNeverShown(t *testing.T) {
	e := newScanEnv(t)
	refs := checksImages(t, e.reg)
	dirty := refs["dirty:latest"]
	// A literal policy document: a data source that depends on a resource
	// still to be created is read only at apply, and the plan must run the
	// gate.
	config := `
terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}
` + e.provider("") + fmt.Sprintf(`
data "imagegate_gate" "dirty" {
  reference = %[1]q
  policy = jsonencode({
    name    = "secrets"
    version = 1
    checks  = { forbid_secrets = true, account_anomalies = true }
  })
  enforce = false
}

data "imagegate_image" "dirty" {
  reference      = %[1]q
  include_checks = true
}

output "violations" {
  value = data.imagegate_gate.dirty.violations
}

output "checks" {
  value = data.imagegate_image.dirty.checks
}

output "history" {
  value = data.imagegate_image.dirty.history
}
`, dirty)
	if strings.Contains(config, checksSecret) {
		t.Fatal("the configuration itself holds the secret")
	}
	logFile := filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG", "TRACE")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				violations("dirty",
					violation{"checks.account_anomalies", "", "account guest"},
					violation{"checks.account_anomalies", "", "account toor"},
					violation{"checks.forbid_secrets", "4.10", "/root/.aws/credentials"},
					violation{"checks.forbid_secrets", "4.10", "env DB_PASSWORD"},
					violation{"checks.forbid_secrets", "4.10", "history[2]"},
				),
			},
			Check: func(s *terraform.State) error {
				var buf bytes.Buffer
				enc := json.NewEncoder(&buf)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(s); err != nil {
					return err
				}
				state := buf.String()
				// Not vacuous: the state names the variable, the step and the
				// path, and holds the redacted history.
				for _, want := range []string{"env DB_PASSWORD", "history[2]", "/root/.aws/credentials", "AWS credentials", "environment variable DB_PASSWORD", "ENV DB_PASSWORD=<redacted>", "git.example.com/app.git"} {
					if !strings.Contains(state, want) {
						return fmt.Errorf("the state does not contain %q: %s", want, state)
					}
				}
				if strings.Contains(state, checksSecret) {
					return fmt.Errorf("the state contains the secret: %s", strings.ReplaceAll(state, checksSecret, "[LEAKED]"))
				}
				return nil
			},
		}},
	})

	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("reading the trace log: %v", err)
	}
	trace := string(b)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\[TRACE\]`),
		regexp.MustCompile(`tf_rpc=ReadDataSource`),
		regexp.MustCompile(`tf_data_source_type=imagegate_gate`),
	} {
		if !want.MatchString(trace) {
			t.Errorf("the trace log (%d bytes) has no line matching %s", len(trace), want)
		}
	}
	if strings.Contains(trace, checksSecret) {
		t.Errorf("the trace log contains the secret, in:\n%s", leakedLines(trace))
	}

	out := planOutput(t, config)
	for _, want := range []string{"env DB_PASSWORD", "history[2]", "/root/.aws/credentials", "ENV DB_PASSWORD=<redacted>", "checks.forbid_secrets", `"4.10"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan output does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, checksSecret) {
		t.Errorf("the plan output contains the secret:\n%s", leakedLines(out))
	}
}

// leakedLines are the lines of s that hold checksSecret, masked.
func leakedLines(s string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, checksSecret) {
			line = strings.ReplaceAll(line, checksSecret, "[LEAKED]")
			if len(line) > 400 {
				line = line[:400] + "…"
			}
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
