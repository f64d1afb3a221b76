package gate_test

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// hygieneNow is the gate's clock in these tests: 30 days after the
// fixtures' build time.
var hygieneNow = fixtures.Created.Add(30 * 24 * time.Hour)

func newGateAt(t *testing.T, now time.Time, reg *testutil.Registry) *gate.Gate {
	t.Helper()
	c, err := registry.New(registry.Options{InsecureRegistries: []string{reg.Host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	db := testutil.OpenVulnDB(t, testutil.VulnDBs(t).Old, vulndb.Config{})
	return gate.New(c, scan.New(c, db, t.TempDir()), func() time.Time { return now })
}

func rawLayer(t *testing.T, es ...fixtures.Entry) v1.Layer {
	t.Helper()
	l, err := fixtures.RawLayer(es)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// baseFiles is a Debian-like root filesystem with a single root account.
func baseFiles(pkgs ...fixtures.DebianPackage) fixtures.Files {
	files := fixtures.DebianFiles(append(slices.Clone(fixtures.DefaultDebianPackages), pkgs...))
	files["etc/passwd"] = []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/usr/sbin/nologin\n")
	files["etc/shadow"] = []byte("root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n")
	return files
}

var cleanConfig = v1.Config{
	User:        "app",
	Env:         []string{"PATH=/usr/bin:/bin", "POSTGRES_PASSWORD_FILE=/run/secrets/pg"},
	Labels:      map[string]string{"org.opencontainers.image.source": "https://git.example.com/app", "org.opencontainers.image.revision": "abc"},
	Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/app/health"}},
}

var allChecks = &policy.ChecksRule{
	DeniedPackages: []string{"sudo", "netcat*"}, RequireHealthcheck: true, ForbidUpdateAlone: true,
	ForbidSetuid: true, AllowedSetuidPaths: []string{"/usr/bin/passwd"}, ForbidAdd: true, ForbidSecrets: true,
	ForbidLatestTag: true, MaxAge: "2160h", RequiredLabels: []string{"org.opencontainers.image.source"}, AccountAnomalies: true,
}

func evaluateChecks(t *testing.T, g *gate.Gate, ref string) *gate.Result {
	t.Helper()
	res, err := g.Evaluate(context.Background(), gate.Request{Reference: ref, Policy: &policy.Policy{Name: "hygiene", Checks: allChecks}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func failed(res *gate.Result) map[string][]string {
	out := map[string][]string{}
	for _, v := range res.Decision.Violations {
		out[v.Rule] = append(out[v.Rule], v.Subject)
	}
	return out
}

// An image that breaks every check, built in the test, fails each with the
// subject named; a clean one passes; no secret value reaches a violation,
// the history or the check results.
func TestHygieneChecksOnBuiltImages(t *testing.T) {
	reg := testutil.NewRegistry(t)
	secret := "hunter2S3CR3T"
	cleanHistory := []v1.History{{CreatedBy: "COPY rootfs / # buildkit"}, {CreatedBy: "RUN /bin/sh -c apt-get update && apt-get install -y tar # buildkit"}}
	clean := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, baseFiles()),
			rawLayer(t, fixtures.Entry{Name: "usr/", Typeflag: tar.TypeDir}, fixtures.Entry{Name: "usr/bin/", Typeflag: tar.TypeDir},
				fixtures.Entry{Name: "usr/bin/passwd", Mode: 0o4755, Body: []byte("x")}),
		},
		Config: cleanConfig, History: cleanHistory,
	})
	reg.Push(t, "clean:1.0", clean)

	dirtyConfig := v1.Config{User: "app", Env: []string{"PATH=/bin", "DB_PASSWORD=" + secret, "DEPLOY_KEY=AKIAIOSFODNN7EXAMPLE"}}
	dirty := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, baseFiles(fixtures.DebianPackage{Name: "sudo", Version: "1.9.13p3-1+deb12u1"})),
			rawLayer(t,
				fixtures.Entry{Name: "usr/", Typeflag: tar.TypeDir}, fixtures.Entry{Name: "usr/bin/", Typeflag: tar.TypeDir},
				fixtures.Entry{Name: "usr/bin/su", Mode: 0o4755, Body: []byte("x")},
				fixtures.Entry{Name: "root/", Typeflag: tar.TypeDir}, fixtures.Entry{Name: "root/.ssh/", Typeflag: tar.TypeDir},
				fixtures.Entry{Name: "root/.ssh/id_rsa", Mode: 0o600, Body: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "\n")},
				fixtures.Entry{Name: "etc/", Typeflag: tar.TypeDir},
				fixtures.Entry{Name: "etc/passwd", Body: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\ntoor:x:00:0::/root:/bin/sh\n")},
				fixtures.Entry{Name: "etc/shadow", Body: []byte("root:$6$salt$" + secret + ":19000::::::\napp:!:19000::::::\nguest::19000::::::\n")},
			),
		},
		Config: dirtyConfig,
		History: []v1.History{
			{CreatedBy: "ADD https://example.com/rootfs.tar.gz / # buildkit"},
			{CreatedBy: "RUN /bin/sh -c apt-get update && git clone https://ci:" + secret + "@git.example.com/app.git # buildkit"},
		},
	})
	reg.Push(t, "dirty:latest", dirty)
	g := newGateAt(t, hygieneNow.Add(100*24*time.Hour), reg)

	if res := evaluateChecks(t, g, reg.Ref("clean:1.0")); !res.Decision.Passed || len(res.Decision.Violations) > 0 {
		// The clock is 130 days past the build: only max_age fails.
		if got := failed(res); len(got) != 1 || got["checks.max_age"] == nil {
			t.Errorf("clean image: %+v", res.Decision.Violations)
		}
	}
	g = newGateAt(t, hygieneNow, reg)
	if res := evaluateChecks(t, g, reg.Ref("clean:1.0")); !res.Decision.Passed {
		t.Errorf("clean image fails: %+v", res.Decision.Violations)
	}

	res := evaluateChecks(t, g, reg.Ref("dirty:latest"))
	got := failed(res)
	want := map[string][]string{
		"checks.denied_packages":     {"sudo@1.9.13p3-1+deb12u1"},
		"checks.require_healthcheck": {"HEALTHCHECK"},
		"checks.forbid_update_alone": nil, // apt-get update with a clone is still alone
		"checks.forbid_setuid":       {"/usr/bin/su"},
		"checks.forbid_add":          {"history[0]"},
		"checks.forbid_secrets":      {"/root/.ssh/id_rsa", "env DB_PASSWORD", "env DEPLOY_KEY", "history[1]"},
		"checks.forbid_latest_tag":   {reg.Ref("dirty:latest")},
		"checks.required_labels":     {"org.opencontainers.image.source"},
		"checks.account_anomalies":   {"account guest", "account toor"},
	}
	want["checks.forbid_update_alone"] = []string{"history[1]"}
	for rule, subjects := range want {
		if !slices.Equal(got[rule], subjects) {
			t.Errorf("%s: subjects %q, want %q", rule, got[rule], subjects)
		}
	}
	if _, ok := got["checks.max_age"]; ok || res.Decision.Passed {
		t.Errorf("decision: passed %v, %v", res.Decision.Passed, got)
	}
	for _, v := range res.Decision.Violations {
		if strings.Contains(v.Message+v.Subject, secret) || strings.Contains(v.Message+v.Subject, "AKIAIOSFODNN7EXAMPLE") {
			t.Errorf("a violation shows a secret: %+v", v)
		}
		if v.CIS != policy.CheckCIS(strings.TrimPrefix(v.Rule, "checks.")) {
			t.Errorf("%s has CIS %q", v.Rule, v.CIS)
		}
	}
	img := res.Platforms[0].Image
	for _, h := range img.History {
		if strings.Contains(h.CreatedBy, secret) {
			t.Errorf("the history keeps the secret: %q", h.CreatedBy)
		}
	}
	if sc := res.Platforms[0].Scan; strings.Contains(string(sc.Hygiene.Shadow), secret) {
		t.Errorf("the scan keeps the shadow hash: %q", sc.Hygiene.Shadow)
	}

	// Without a policy: every check, with its defaults (max_age 90 days:
	// the image is 30 days old).
	hr, err := g.Hygiene(context.Background(), gate.HygieneRequest{Reference: reg.Ref("dirty:latest")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range hr.Checks {
		if c.Passed != (c.ID == policy.CheckMaxAge) {
			t.Errorf("Hygiene: %+v on the dirty image", c)
		}
		for _, s := range c.Subjects {
			if strings.Contains(s, secret) {
				t.Errorf("Hygiene: %s shows the secret: %q", c.ID, s)
			}
		}
	}
}

func TestHygieneSetuidRemovedByALaterLayerIsNotReported(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, baseFiles()),
			rawLayer(t, fixtures.Entry{Name: "usr/", Typeflag: tar.TypeDir}, fixtures.Entry{Name: "usr/bin/", Typeflag: tar.TypeDir},
				fixtures.Entry{Name: "usr/bin/su", Mode: 0o4755, Body: []byte("x")},
				fixtures.Entry{Name: "usr/bin/newgrp", Mode: 0o4755, Body: []byte("x")},
				fixtures.Entry{Name: "usr/bin/wall", Mode: 0o2755, Body: []byte("x")}),
			rawLayer(t, fixtures.Entry{Name: "usr/bin/.wh.su", Body: []byte{}},
				fixtures.Entry{Name: "usr/bin/newgrp", Mode: 0o755, Body: []byte("x")}),
		},
		Config: cleanConfig,
	})
	reg.Push(t, "app:1", img)
	res := evaluateChecks(t, newGateAt(t, hygieneNow, reg), reg.Ref("app:1"))
	if got := failed(res)["checks.forbid_setuid"]; !slices.Equal(got, []string{"/usr/bin/wall"}) {
		t.Errorf("setuid subjects %q, want only /usr/bin/wall", got)
	}
}

// Numeric root variants: USER "00" and "0:0" are root for the user rule,
// and an /etc/passwd entry whose UID field reads as 0 is a second root
// account.
func TestHygieneNumericRootVariants(t *testing.T) {
	reg := testutil.NewRegistry(t)
	files := baseFiles()
	files["etc/passwd"] = []byte("root:x:0:0:root:/root:/bin/sh\nadmin:x:000:0::/:/bin/sh\nplus:x:+0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n")
	layer := testutil.Layer(t, files)
	pol := &policy.Policy{Name: "root", User: &policy.UserRule{RequireNonRoot: true}, Checks: &policy.ChecksRule{AccountAnomalies: true}}
	for _, user := range []string{"00", "0:0", "+0", "admin"} {
		cfg := cleanConfig
		cfg.User = user
		ref := reg.Ref("app:" + strings.NewReplacer(":", "-", "+", "p").Replace(user))
		reg.Push(t, strings.TrimPrefix(ref, reg.Host+"/"), testutil.Image(t, testutil.Spec{Layers: []v1.Layer{layer}, Config: cfg}))
		res, err := newGateAt(t, hygieneNow, reg).Evaluate(context.Background(), gate.Request{Reference: ref, Policy: pol})
		if err != nil {
			t.Fatal(err)
		}
		got := failed(res)
		if len(got[policy.RuleUser]) == 0 {
			t.Errorf("USER %q passed the user rule", user)
		}
		if !slices.Equal(got["checks.account_anomalies"], []string{"account admin", "account plus"}) {
			t.Errorf("USER %q: account anomalies %q", user, got["checks.account_anomalies"])
		}
	}
}

// Hostile layers finish with a clear result: a path traversal entry lands
// inside the image's tree (nothing is written outside the temporary root),
// a symlink loop is not followed.
func TestHygieneHostileLayers(t *testing.T) {
	reg := testutil.NewRegistry(t)
	escape := filepath.Join(os.TempDir(), "imagegate-gate-escape")
	testutil.RemoveIfPresent(t, escape)
	img := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, baseFiles()),
			rawLayer(t,
				fixtures.Entry{Name: strings.Repeat("../", 16) + strings.TrimPrefix(escape, "/"), Mode: 0o4755, Body: []byte("x")},
				fixtures.Entry{Name: "loop/", Typeflag: tar.TypeDir},
				fixtures.Entry{Name: "loop/a", Typeflag: tar.TypeSymlink, Linkname: "b"},
				fixtures.Entry{Name: "loop/b", Typeflag: tar.TypeSymlink, Linkname: "a"},
				fixtures.Entry{Name: "root/.ssh/id_rsa", Typeflag: tar.TypeSymlink, Linkname: "/loop/a"},
			),
		},
		Config: cleanConfig,
	})
	reg.Push(t, "hostile:1", img)
	res := evaluateChecks(t, newGateAt(t, hygieneNow, reg), reg.Ref("hostile:1"))
	if _, err := os.Lstat(escape); err == nil {
		testutil.RemoveIfPresent(t, escape)
		t.Fatalf("a traversal entry was written outside the temporary root: %s", escape)
	}
	got := failed(res)
	if !slices.Equal(got["checks.forbid_setuid"], []string{escape}) || len(got) != 1 {
		t.Errorf("violations %q, want only the traversal entry as %s", got, escape)
	}
}

// A large zero-filled layer (a file named like a key among them) finishes
// with a clear result, and the heap stays far below the layer's size.
func TestHygieneLargeZeroFilledLayer(t *testing.T) {
	if testing.Short() {
		t.Skip("pulls a 512 MiB layer")
	}
	reg := testutil.NewRegistry(t)
	const size = 256 << 20
	small := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, baseFiles())}, Config: cleanConfig})
	reg.Push(t, "small:1", small)
	big := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, baseFiles()),
			rawLayer(t, fixtures.Entry{Name: "data/", Typeflag: tar.TypeDir},
				fixtures.Entry{Name: "data/zeros", Size: size}, fixtures.Entry{Name: "data/huge.key", Size: size}),
		},
		Config: cleanConfig,
	})
	reg.Push(t, "big:1", big)
	g := newGateAt(t, hygieneNow, reg)
	evaluateChecks(t, g, reg.Ref("small:1")) // builds syft's license scanner, once per process
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	res := evaluateChecks(t, g, reg.Ref("big:1"))
	close(done)
	if !res.Decision.Passed {
		t.Errorf("a zero-filled layer fails: %+v", res.Decision.Violations)
	}
	growth := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("heap growth while gating a %d MiB layer: %d MiB", 2*size>>20, growth>>20)
	if growth > size/2 {
		t.Errorf("the heap grew by %d MiB while gating a layer of two %d MiB files: reads are not bounded", growth>>20, size>>20)
	}
}
