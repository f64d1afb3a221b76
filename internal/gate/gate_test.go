package gate_test

import (
	"context"
	"strings"
	"testing"

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

func TestMain(m *testing.M) { testutil.Main(m) }

// newGate is a gate over the given test registries (retries off) and the
// old test database.
func newGate(t *testing.T, regs ...*testutil.Registry) *gate.Gate {
	t.Helper()
	var hosts []string
	for _, r := range regs {
		hosts = append(hosts, r.Host)
	}
	c, err := registry.New(registry.Options{InsecureRegistries: hosts, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	db := testutil.OpenVulnDB(t, testutil.VulnDBs(t).Old, vulndb.Config{})
	return gate.New(c, scan.New(c, db, t.TempDir()), nil)
}

// TestBaseImageEvidence covers the facts the gate gathers for the base
// image rule: the trusted base's layers, resolved for the image's platform.
func TestBaseImageEvidence(t *testing.T) {
	reg := testutil.NewRegistry(t)
	debian := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	baseImg := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}})
	reg.Push(t, "base/debian:12", baseImg)
	baseDigest, _ := baseImg.Digest()
	claim := map[string]string{registry.AnnotationBaseName: reg.Ref("base/debian:12"), registry.AnnotationBaseDigest: baseDigest.String()}
	other := testutil.Layer(t, fixtures.DebianFiles([]fixtures.DebianPackage{{Name: "tar", Version: "1.34+dfsg-1.2+deb12u1"}}))
	build := func(base v1.Layer, ann map[string]string) v1.Image {
		img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{base}, Annotations: ann})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	reg.Push(t, "honest:1", build(debian, claim))
	reg.Push(t, "forged:1", build(other, claim))
	reg.Push(t, "unlabelled:1", build(debian, nil))
	reg.Push(t, "unproved:1", build(other, nil))
	g := newGate(t, reg)
	pol := &policy.Policy{Version: 1, Name: "base", BaseImage: &policy.BaseImageRule{Trusted: []string{reg.Ref("base/debian:12")}}}
	for ref, want := range map[string]string{"honest:1": "", "unlabelled:1": "", "forged:1": "layers", "unproved:1": "base"} {
		res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref(ref), Policy: pol})
		if err != nil {
			t.Fatal(err)
		}
		if (want == "") != res.Decision.Passed {
			t.Errorf("%s: passed %v: %+v", ref, res.Decision.Passed, res.Decision.Violations)
			continue
		}
		if want != "" && (len(res.Decision.Violations) == 0 || !strings.Contains(res.Decision.Violations[0].Message, want)) {
			t.Errorf("%s: violations %+v", ref, res.Decision.Violations)
		}
		if want == "" && res.ApprovedReference == "" {
			t.Errorf("%s passed without an approved reference", ref)
		}
	}
}

// A trusted base that cannot be read (here: the registry refuses access)
// leaves the gate unable to decide: an error, not a pass or a guess.
func TestUnreadableTrustedBaseIsAnError(t *testing.T) {
	reg := testutil.NewRegistry(t)
	private := testutil.NewRegistry(t, testutil.WithBasicAuth("u", "p"))
	debian := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	private.Push(t, "base/debian:12", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}}))
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{debian}})
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "app:1", img)
	g := newGate(t, reg, private)
	pol := &policy.Policy{Version: 1, Name: "base", BaseImage: &policy.BaseImageRule{Trusted: []string{private.Ref("base/debian:12")}}}
	_, err = g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: pol})
	if err == nil || !strings.Contains(err.Error(), "reading trusted base image") {
		t.Fatalf("an unreadable trusted base: %v", err)
	}
}

// An annotation cannot make the gate contact a registry that neither the
// policy nor the image uses.
func TestAnnotatedBaseOnForeignRegistryIsNotContacted(t *testing.T) {
	reg := testutil.NewRegistry(t)
	foreign := testutil.NewRegistry(t)
	debian := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	foreign.Push(t, "base:1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{debian}}))
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app", Base: []v1.Layer{debian},
		Annotations: map[string]string{registry.AnnotationBaseName: foreign.Ref("base:1")}})
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "app:1", img)
	foreign.ResetRequests()
	g := newGate(t, reg)
	pol := &policy.Policy{Version: 1, Name: "base", BaseImage: &policy.BaseImageRule{Trusted: []string{reg.Ref("base/*")}}}
	res, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(foreign.Requests()); n != 0 {
		t.Errorf("the gate contacted the registry an annotation named: %v", foreign.Requests())
	}
	if res.Decision.Passed {
		t.Errorf("an image claiming an untrusted base passed: %+v", res.Decision)
	}
}

// Within one plan (one Gate and Scanner), gates and scans of the same
// digest share one pull and one catalog.
func TestGatesShareTheScanOfADigest(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "app:1", img)
	layers, _ := img.Layers()
	layerGets := func() int {
		n := 0
		for _, q := range reg.Requests() {
			for _, l := range layers {
				if d, _ := l.Digest(); strings.HasPrefix(q, "GET ") && strings.HasSuffix(q, d.String()) {
					n++
				}
			}
		}
		return n
	}
	g := newGate(t, reg)
	pol := &policy.Policy{Version: 1, Name: "p", User: &policy.UserRule{RequireNonRoot: true}}
	reg.ResetRequests()
	for range 3 {
		if _, err := g.Evaluate(context.Background(), gate.Request{Reference: reg.Ref("app:1"), Policy: pol}); err != nil {
			t.Fatal(err)
		}
	}
	if n := layerGets(); n != len(layers) {
		t.Errorf("three gates on one digest pulled %d layer blobs, want each of the %d layers once", n, len(layers))
	}
}
