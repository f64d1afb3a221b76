package policy

import (
	"strings"
	"testing"
)

func TestRepositoryGlobs(t *testing.T) {
	tests := []struct {
		pattern, repo string
		want          bool
	}{
		// "*" stays within one path segment.
		{"ghcr.io/acme/*", "ghcr.io/acme/app", true},
		{"ghcr.io/acme/*", "ghcr.io/acme/team/app", false},
		{"ghcr.io/acme/*", "ghcr.io/acme", false},
		{"ghcr.io/*/app", "ghcr.io/acme/app", true},
		{"ghcr.io/*/app", "ghcr.io/acme/team/app", false},
		{"ghcr.io/acme/app-*", "ghcr.io/acme/app-api", true},
		{"ghcr.io/acme/app-*", "ghcr.io/acme/app-api/v2", false},
		// "**" crosses segments.
		{"ghcr.io/acme/**", "ghcr.io/acme/app", true},
		{"ghcr.io/acme/**", "ghcr.io/acme/team/app", true},
		{"ghcr.io/acme/**", "ghcr.io/acme", false},
		{"ghcr.io/acme/**", "ghcr.io/acmeevil/app", false},
		{"ghcr.io/**/app", "ghcr.io/acme/team/app", true},
		{"ghcr.io/**/app", "ghcr.io/acme/team/app2", false},
		{"ghcr.io/acme/**-base", "ghcr.io/acme/team/debian-base", true},
		{"**", "ghcr.io/acme/app", true},
		// Dots are literal; the match is anchored at both ends.
		{"ghcr.io/**", "ghcrxio/acme/app", false},
		{"ghcr.io/acme/app", "ghcr.io/acme/app", true},
		{"ghcr.io/acme/app", "ghcr.io/acme/app2", false},
		{"ghcr.io/acme/app", "x.ghcr.io/acme/app", false},
		// "?" and classes, as path.Match, never across "/".
		{"ghcr.io/acme/app?", "ghcr.io/acme/app1", true},
		{"ghcr.io/acme?app", "ghcr.io/acme/app", false},
		{"ghcr.io/acme/app[0-9]", "ghcr.io/acme/app7", true},
		{"ghcr.io/acme/app[0-9]", "ghcr.io/acme/appx", false},
		{"ghcr.io/acme[^x]app", "ghcr.io/acme/app", false},
		{"ghcr.io/acme/[^x]pp", "ghcr.io/acme/app", true},
		{`ghcr.io/acme/a\*`, "ghcr.io/acme/a*", true},
		{`ghcr.io/acme/a\*`, "ghcr.io/acme/ab", false},
		{"localhost:5000/**", "localhost:5000/base/debian", true},
	}
	for _, tt := range tests {
		if got := matchRepository(tt.pattern, tt.repo); got != tt.want {
			t.Errorf("matchRepository(%q, %q) = %v, want %v", tt.pattern, tt.repo, got, tt.want)
		}
	}
	for _, bad := range []string{"ghcr.io/[acme", `ghcr.io/acme\`, "ghcr.io/[]"} {
		if _, err := globRegexp(bad); err == nil {
			t.Errorf("globRegexp(%q) succeeded", bad)
		}
	}
}

// Globs in trusted lists: "**" trusts nested repositories, "*" only one level.
func TestTrustedGlobsInRules(t *testing.T) {
	layers := []string{"sha256:l1", "sha256:l2"}
	nested := BaseCandidate{Repository: "registry.example.com/base/team/debian", Digest: digestOf('1'), DiffIDs: layers[:1]}
	for _, tt := range []struct {
		trusted string
		pass    bool
	}{
		{"registry.example.com/base/**", true},
		{"registry.example.com/**/debian", true},
		{"registry.example.com/base/*", false},
		{"registry.example.com/base/*/debian", true},
	} {
		p := &Policy{BaseImage: &BaseImageRule{Trusted: []string{tt.trusted}}}
		d := Evaluate(p, Facts{Image: Image{Repository: "ghcr.io/acme/app", DiffIDs: layers}, BaseCandidates: []BaseCandidate{nested}})
		if d.Passed != tt.pass {
			t.Errorf("base_image.trusted %s: passed %v, want %v: %+v", tt.trusted, d.Passed, tt.pass, d.Violations)
		}
		r := &Policy{Registries: &RegistryRule{Trusted: []string{tt.trusted}}}
		d = Evaluate(r, Facts{Image: Image{Repository: "registry.example.com/base/team/debian"}})
		if d.Passed != tt.pass {
			t.Errorf("registries.trusted %s: passed %v, want %v: %+v", tt.trusted, d.Passed, tt.pass, d.Violations)
		}
	}
}

// With trusted bases set, require defaults to true: an image without base
// annotations must prove a trusted base by its layers.
func TestRequireDefaultsToTrue(t *testing.T) {
	layers := []string{"sha256:l1", "sha256:l2"}
	base := BaseCandidate{Repository: "registry.example.com/base/debian", Digest: digestOf('1'), Tags: []string{"12"}, DiffIDs: layers[:1]}
	other := BaseCandidate{Repository: "registry.example.com/base/debian", Digest: digestOf('2'), Tags: []string{"12"}, DiffIDs: []string{"sha256:x"}}
	img := Image{Repository: "ghcr.io/acme/app", DiffIDs: layers}
	for _, tt := range []struct {
		name    string
		require *bool
		cands   []BaseCandidate
		pass    bool
	}{
		{"default, built on the trusted base", nil, []BaseCandidate{base}, true},
		{"default, not built on the trusted base", nil, []BaseCandidate{other}, false},
		{"default, no base resolved", nil, nil, false},
		{"explicit true, not built on it", new(true), []BaseCandidate{other}, false},
		{"explicit false, not built on it", new(false), []BaseCandidate{other}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &Policy{BaseImage: &BaseImageRule{Trusted: []string{"registry.example.com/base/debian:12"}, Require: tt.require}}
			d := Evaluate(p, Facts{Image: img, BaseCandidates: tt.cands})
			if d.Passed != tt.pass {
				t.Errorf("passed %v, want %v: %+v", d.Passed, tt.pass, d.Violations)
			}
		})
	}

	// The canonical document spells the default out: absent and true share
	// one id, false has another.
	doc := func(require string) (string, string) {
		p, err := Parse([]byte(`{"name":"p","base_image":{"trusted":["registry.example.com/base/debian:12"]` + require + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		c, id, err := p.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return string(c), id
	}
	absent, idAbsent := doc("")
	withTrue, idTrue := doc(`,"require":true`)
	null, idNull := doc(`,"require":null`)
	withFalse, idFalse := doc(`,"require":false`)
	if want := `{"version":1,"name":"p","base_image":{"action":"stop","trusted":["registry.example.com/base/debian:12"],"require":true}}`; absent != want {
		t.Errorf("canonical:\n got %s\nwant %s", absent, want)
	}
	if withTrue != absent || idTrue != idAbsent || null != absent || idNull != idAbsent {
		t.Errorf("absent, null and true differ: %s %s %s", absent, withTrue, null)
	}
	if !strings.Contains(withFalse, `"require":false`) || idFalse == idAbsent {
		t.Errorf("false: %s %s", withFalse, idFalse)
	}
	// The canonical form parses back to itself.
	p, err := Parse([]byte(withFalse))
	if err != nil || p.BaseImage.Required() {
		t.Fatalf("round trip of require false: %+v %v", p, err)
	}
}

// A base tag moved after the image was built: the image's layers prove the
// earlier manifest of the tag. A tag entry trusts only the manifest the tag
// names now, and says which repository entry would trust the earlier one; a
// repository entry trusts it when the annotations nominate it. Without
// annotations nothing can nominate it, and the gate fails closed saying how
// to annotate the image or pin the digest.
func TestMovedTag(t *testing.T) {
	const repo = "registry.example.com/base/debian"
	layers := []string{"sha256:v1", "sha256:app"}
	v1 := digestOf('1')
	v2 := digestOf('2')
	// What the gate resolves: the tag entry gives the manifest the tag names
	// now (v2); a repository entry gives its latest tag (absent here); the
	// annotation, when present, gives v1 by digest.
	stableNow := BaseCandidate{Trusted: repo + ":stable", Repository: repo, Digest: v2, Tags: []string{"stable"}, DiffIDs: []string{"sha256:v2"}}
	annotatedV1 := BaseCandidate{Repository: repo, Digest: v1, DiffIDs: layers[:1]}
	annotated := Image{Repository: "ghcr.io/acme/app", DiffIDs: layers, BaseName: repo + ":stable", BaseDigest: v1}
	bare := Image{Repository: "ghcr.io/acme/app", DiffIDs: layers}

	eval := func(trusted string, img Image, cands ...BaseCandidate) Decision {
		return Evaluate(&Policy{BaseImage: &BaseImageRule{Trusted: []string{trusted}}}, Facts{Image: img, BaseCandidates: cands})
	}
	one := func(t *testing.T, d Decision) Violation {
		t.Helper()
		if d.Passed || len(d.Violations) != 1 {
			t.Fatalf("want one failing violation, got %+v", d)
		}
		return d.Violations[0]
	}

	t.Run("tag entry, annotated", func(t *testing.T) {
		v := one(t, eval(repo+":stable", annotated, stableNow, annotatedV1))
		want := "base " + repo + ":stable@" + v1 + " is not in the trusted list (its layers are the bottom of the image's; trusted: " + repo + ":stable). " +
			"Trusted entry " + repo + ":stable now names " + v2 + ": the tag has moved since the image was built. " +
			"To trust any manifest of the repository that the image's layers prove, list the repository entry " + repo + " (no tag); or pin this base by digest: " + repo + "@" + v1
		if v.Message != want {
			t.Errorf("message\n got %s\nwant %s", v.Message, want)
		}
	})
	t.Run("repository entry, annotated", func(t *testing.T) {
		if d := eval(repo, annotated, annotatedV1); !d.Passed || len(d.Violations) != 0 {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("repository glob, annotated", func(t *testing.T) {
		if d := eval("registry.example.com/base/*", annotated, annotatedV1); !d.Passed || len(d.Violations) != 0 {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("digest entry, annotated", func(t *testing.T) {
		if d := eval(repo+"@"+v1, annotated, annotatedV1); !d.Passed || len(d.Violations) != 0 {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("tag entry, not annotated", func(t *testing.T) {
		v := one(t, eval(repo+":stable", bare, stableNow))
		for _, part := range []string{
			"checked: " + repo + "@" + v2,
			"if the image was built on an earlier manifest of " + repo + ":stable (the tag has moved since), trust the repository entry without the tag and annotate the image with org.opencontainers.image.base.name and org.opencontainers.image.base.digest",
		} {
			if !strings.Contains(v.Message, part) {
				t.Errorf("message %q lacks %q", v.Message, part)
			}
		}
	})
	t.Run("repository entry, not annotated, fails closed", func(t *testing.T) {
		v := one(t, eval(repo, bare))
		want := "a trusted base is required, but none of the trusted bases (" + repo + ") could be resolved to compare layers with. The image has no base annotations; " +
			"a repository entry or glob (" + repo + ") is compared only with the manifest the image's annotations name (and a repository entry with its latest tag), " +
			"since a registry cannot list every manifest a repository ever had: annotate the image with org.opencontainers.image.base.name and org.opencontainers.image.base.digest, or list the base by digest"
		if v.Subject != "base image" || v.Message != want {
			t.Errorf("got %+v\nwant message %s", v, want)
		}
	})
	t.Run("tag entry, annotation names another tag", func(t *testing.T) {
		img := annotated
		img.BaseName = repo + ":nightly"
		v := one(t, eval(repo+":stable", img, stableNow, annotatedV1))
		if !strings.Contains(v.Message, "Trusted entry "+repo+":stable trusts only the manifest its tag names now. To trust any manifest of the repository that the image's layers prove, list the repository entry "+repo+" (no tag)") {
			t.Errorf("message %s", v.Message)
		}
	})
}
