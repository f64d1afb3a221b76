package testutil_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

const (
	testPredicateType = "https://imagegate.dev/test/v1"
	cosignSignType    = "https://sigstore.dev/cosign/sign/v1"
	bundleMediaType   = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// TestCosignCLIInterop signs and attests an image with the cosign CLI in
// both formats on a registry with and one without the referrers API, checks
// that cosign itself verifies the result (and rejects another key), and
// checks what each format wrote to the registry.
func TestCosignCLIInterop(t *testing.T) {
	key, _ := testutil.CosignKeyPair(t)
	pub := testutil.CosignPublicKeyPath(key)
	otherKey, _ := testutil.CosignKeyPair(t)
	annotations := map[string]string{"env": "test", "team": "imagegate"}
	for _, reg := range []struct {
		name string
		opts []testutil.RegistryOption
	}{
		{"referrers", nil},
		{"no-referrers", []testutil.RegistryOption{testutil.WithoutReferrersAPI()}},
	} {
		for _, classic := range []bool{true, false} {
			format := "bundle"
			if classic {
				format = "classic"
			}
			t.Run(reg.name+"/"+format, func(t *testing.T) {
				r := testutil.NewRegistry(t, reg.opts...)
				ref := r.Push(t, "app:1", testutil.RandomImage(t, 1, v1.Config{}))
				digest, err := name.NewDigest(ref, name.Insecure)
				if err != nil {
					t.Fatal(err)
				}
				testutil.CosignSign(t, key, ref, classic, annotations)
				testutil.CosignAttest(t, key, ref, testPredicateType, []byte(`{"ok":true,"n":1}`), classic)

				verifyFlags := []string{"--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry"}
				if classic {
					verifyFlags = append(verifyFlags, "--new-bundle-format=false")
				}

				// cosign verify: the signature holds for this key, digest and annotations.
				out := testutil.Cosign(t, append(append([]string{"verify", "--key", pub, "-o", "text", "-a", "env=test"}, verifyFlags...), ref)...)
				payloads := jsonLines(t, out)
				if len(payloads) != 1 {
					t.Fatalf("cosign verify printed %d payloads, want 1:\n%s", len(payloads), out)
				}
				checkSignedPayload(t, payloads[0], classic, digest.DigestStr(), annotations)
				if _, err := testutil.CosignErr(t, append(append([]string{"verify", "--key", testutil.CosignPublicKeyPath(otherKey)}, verifyFlags...), ref)...); err == nil {
					t.Error("cosign verify accepted the signature with another key")
				}

				// cosign verify-attestation: the statement has our type, predicate and subject.
				out = testutil.Cosign(t, append(append([]string{"verify-attestation", "--key", pub, "--type", testPredicateType}, verifyFlags...), ref)...)
				envelopes := jsonLines(t, out)
				if len(envelopes) != 1 {
					t.Fatalf("cosign verify-attestation printed %d envelopes, want 1:\n%s", len(envelopes), out)
				}
				checkAttestation(t, envelopes[0], digest.DigestStr())

				checkRegistryLayout(t, r, digest, classic, reg.opts != nil)
			})
		}
	}
}

// jsonLines returns the lines of out that are JSON objects.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("decoding cosign output line %q: %v", line, err)
		}
		objs = append(objs, m)
	}
	return objs
}

// checkSignedPayload checks the payload cosign verify printed: the simple
// signing payload of the image digest and the annotations. For a bundle,
// cosign verify renders its in-toto statement (predicate type cosign sign,
// annotations on the subject) in that form, with the predicate type as
// critical.type.
func checkSignedPayload(t *testing.T, p map[string]any, classic bool, digest string, annotations map[string]string) {
	t.Helper()
	wantType := cosignSignType
	if classic {
		wantType = "cosign container image signature"
	}
	if got := dig(p, "critical", "type"); got != wantType {
		t.Errorf("signed payload type is %v, want %s", got, wantType)
	}
	if got := dig(p, "critical", "image", "docker-manifest-digest"); got != digest {
		t.Errorf("signed digest is %v, want %s (payload %v)", got, digest, p)
	}
	want := map[string]any{}
	for k, v := range annotations {
		want[k] = v
	}
	if fmt.Sprint(p["optional"]) != fmt.Sprint(want) {
		t.Errorf("signed annotations are %v, want %v", p["optional"], want)
	}
}

// checkAttestation decodes the DSSE envelope cosign verify-attestation
// printed and checks its in-toto statement.
func checkAttestation(t *testing.T, env map[string]any, digest string) {
	t.Helper()
	if env["payloadType"] != "application/vnd.in-toto+json" {
		t.Errorf("attestation payload type is %v", env["payloadType"])
	}
	raw, err := base64.StdEncoding.DecodeString(fmt.Sprint(env["payload"]))
	if err != nil {
		t.Fatalf("decoding attestation payload: %v", err)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			OK bool `json:"ok"`
			N  int  `json:"n"`
		} `json:"predicate"`
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("decoding attestation statement %s: %v", raw, err)
	}
	if st.PredicateType != testPredicateType || !st.Predicate.OK || st.Predicate.N != 1 {
		t.Errorf("attestation statement is %s, want predicate type %s and predicate {ok:true,n:1}", raw, testPredicateType)
	}
	if len(st.Subject) != 1 || "sha256:"+st.Subject[0].Digest["sha256"] != digest {
		t.Errorf("attestation subject is %v, want %s", st.Subject, digest)
	}
}

// checkRegistryLayout lists, with go-containerregistry, what cosign wrote.
// Classic: the sha256-<hex>.sig and .att tags and no referrers. Bundle: two
// referrers (the signature, a DSSE statement of the cosign sign predicate
// type, and the attestation), found through the referrers API or, on a
// registry without it, through the sha256-<hex> fallback tag.
func checkRegistryLayout(t *testing.T, r *testutil.Registry, digest name.Digest, classic, noReferrersAPI bool) {
	t.Helper()
	repo := digest.Context()
	tagBase := strings.Replace(digest.DigestStr(), ":", "-", 1)
	tags, err := remote.List(repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	idx, err := remote.Referrers(digest)
	if err != nil {
		t.Fatalf("listing referrers of %s: %v", digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}

	if classic {
		if want := []string{"1", tagBase + ".att", tagBase + ".sig"}; fmt.Sprint(tags) != fmt.Sprint(want) {
			t.Errorf("tags are %v, want %v", tags, want)
		}
		if len(im.Manifests) != 0 {
			t.Errorf("the classic format wrote %d referrers, want none", len(im.Manifests))
		}
		sig := manifestOf(t, repo.Tag(tagBase+".sig"))
		if len(sig.Layers) != 1 || sig.Layers[0].MediaType != "application/vnd.dev.cosign.simplesigning.v1+json" || sig.Layers[0].Annotations["dev.cosignproject.cosign/signature"] == "" {
			t.Errorf(".sig manifest does not hold one signed simple signing layer: %+v", sig.Layers)
		}
		att := manifestOf(t, repo.Tag(tagBase+".att"))
		if len(att.Layers) != 1 || att.Layers[0].MediaType != "application/vnd.dsse.envelope.v1+json" || att.Layers[0].Annotations["predicateType"] != testPredicateType {
			t.Errorf(".att manifest does not hold one DSSE layer of predicate type %s: %+v", testPredicateType, att.Layers)
		}
		return
	}

	want := []string{"1"}
	if noReferrersAPI {
		want = append(want, tagBase)
	}
	if fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("tags are %v, want %v", tags, want)
	}
	if noReferrersAPI {
		fallback := manifestOf(t, repo.Tag(tagBase))
		if len(fallback.Manifests) != 2 {
			t.Errorf("the fallback tag %s lists %d manifests, want 2", tagBase, len(fallback.Manifests))
		}
	}
	var predicateTypes []string
	for _, desc := range im.Manifests {
		m := manifestOf(t, repo.Digest(desc.Digest.String()))
		if m.ArtifactType != bundleMediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != bundleMediaType {
			t.Errorf("referrer %s is not a Sigstore bundle: artifactType %q, layers %+v", desc.Digest, m.ArtifactType, m.Layers)
		}
		if m.Subject == nil || m.Subject.Digest.String() != digest.DigestStr() {
			t.Errorf("referrer %s has subject %v, want %s", desc.Digest, m.Subject, digest.DigestStr())
		}
		predicateTypes = append(predicateTypes, m.Annotations["dev.sigstore.bundle.predicateType"])
	}
	slices.Sort(predicateTypes)
	if want := []string{testPredicateType, cosignSignType}; fmt.Sprint(predicateTypes) != fmt.Sprint(want) {
		t.Errorf("referrers have predicate types %v, want %v", predicateTypes, want)
	}
}

// artifactManifest is an OCI manifest or index with the fields v1.Manifest
// lacks.
type artifactManifest struct {
	ArtifactType string            `json:"artifactType"`
	Layers       []v1.Descriptor   `json:"layers"`
	Manifests    []v1.Descriptor   `json:"manifests"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

func manifestOf(t *testing.T, ref name.Reference) artifactManifest {
	t.Helper()
	d, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	var m artifactManifest
	if err := json.Unmarshal(d.Manifest, &m); err != nil {
		t.Fatalf("decoding %s: %v", ref, err)
	}
	return m
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// fatalRecorder is a testing.TB whose Fatal records the message and stops
// the goroutine, so a test can check how a helper fails.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// failure runs fn with a fatalRecorder and returns its fatal message.
func failure(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalRecorder{TB: t}
	var wg sync.WaitGroup
	wg.Go(func() {
		fn(f)
	})
	wg.Wait()
	return f.msg
}

// TestCosignCLIMissing checks that a missing cosign CLI fails the test with
// the command that builds it.
func TestCosignCLIMissing(t *testing.T) {
	t.Setenv("IMAGEGATE_COSIGN", filepath.Join(t.TempDir(), "cosign"))
	msg := failure(t, func(tb testing.TB) { testutil.CosignCLI(tb) })
	if !strings.Contains(msg, "make clis") {
		t.Errorf("a missing cosign CLI failed with %q, want it to say to run make clis", msg)
	}
}

// TestCosignCLIOffline checks the harness's network trap: cosign
// initialize fetches the public Sigstore TUF root, and the harness must
// refuse that and fail the test naming the host, not reach it.
func TestCosignCLIOffline(t *testing.T) {
	testutil.CosignCLI(t)
	msg := failure(t, func(tb testing.TB) { testutil.Cosign(tb, "initialize") })
	if !strings.Contains(msg, "tried to reach") || !strings.Contains(msg, "sigstore") {
		t.Errorf("cosign initialize failed with %q, want the harness to report the refused network access", msg)
	}
}
