package promote_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/imagegate/terraform-provider-imagegate/internal/promote"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// newPromoter returns a Promoter whose client may speak plain HTTP to hosts,
// retries twice, quickly, and gives up on a silent registry after timeout.
func newPromoter(t *testing.T, timeout time.Duration, hosts ...string) (*promote.Promoter, *registry.Client) {
	t.Helper()
	c, err := registry.New(registry.Options{
		InsecureRegistries: hosts,
		Keychain:           authn.NewMultiKeychain(),
		MaxRetries:         2,
		RetryBackoff:       5 * time.Millisecond,
		RequestTimeout:     timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return promote.New(c), c
}

func digestRef(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func tagRef(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// onHost is ref (host/repo…) with its registry replaced by host.
func onHost(ref, host string) string {
	_, rest, _ := strings.Cut(ref, "/")
	return host + "/" + rest
}

func current(t *testing.T, p *promote.Promoter, tag name.Tag) string {
	t.Helper()
	d, err := p.Current(context.Background(), tag)
	if err != nil {
		t.Fatalf("Current(%s): %v", tag, err)
	}
	return d
}

func uploads(reqs []string) []string {
	var out []string
	for _, q := range reqs {
		if strings.Contains(q, "/blobs/uploads") || (strings.HasPrefix(q, "PUT ") && strings.Contains(q, "/manifests/")) {
			out = append(out, q)
		}
	}
	return out
}

func TestCopyImage(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 3, v1.Config{User: "1000"})
	src := staging.Push(t, "app:1", img)
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	dst := tagRef(t, prod.Ref("app:prod"))

	res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: dst})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if res.Digest != d.String() || res.DestinationReference != prod.Ref("app@"+d.String()) || res.Manifests != 1 || !res.Tagged {
		t.Errorf("result = %+v", res)
	}
	if got := current(t, p, dst); got != d.String() {
		t.Errorf("destination tag names %q, want %s", got, d)
	}
	copied, err := remote.Image(dst)
	if err != nil {
		t.Fatal(err)
	}
	// Every blob is there and matches its digest.
	if err := validate.Image(copied); err != nil {
		t.Errorf("the copy is not a valid image: %v", err)
	}
}

func TestCopyIndexKeepsDigest(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	idx := testutil.Index(t, testutil.RandomImage(t, 2, v1.Config{}), testutil.RandomImage(t, 2, v1.Config{}))
	src := staging.PushIndex(t, "app:1", idx)
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	dst := tagRef(t, prod.Ref("app:prod"))

	res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: dst})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	if res.Digest != d.String() || res.Manifests != 3 {
		t.Errorf("result = %+v, want the index digest and 3 manifests", res)
	}
	if got := current(t, p, dst); got != d.String() {
		t.Errorf("destination tag names %q, want the index digest %s", got, d)
	}
	copied, err := remote.Index(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(copied); err != nil {
		t.Errorf("the copy is not a valid index: %v", err)
	}
	// Each child is addressable by its own digest at the destination.
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		if _, err := remote.Head(digestRef(t, prod.Ref("app@"+m.Digest.String()))); err != nil {
			t.Errorf("child %s is missing at the destination: %v", m.Digest, err)
		}
	}
}

func TestCopyIsIdempotent(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	idx := testutil.Index(t, testutil.RandomImage(t, 2, v1.Config{}), testutil.RandomImage(t, 2, v1.Config{}))
	src := staging.PushIndex(t, "app:1", idx)
	key, _ := testutil.GenerateKey(t, "")
	staging.SignWithKey(t, src, key, testutil.SignOptions{})
	staging.SignWithKey(t, src, key, testutil.SignOptions{Format: testutil.FormatBundle})
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	req := promote.Request{Source: digestRef(t, src), Destination: tagRef(t, prod.Ref("app:prod")), CopySignatures: true}

	first, err := p.Copy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Manifests != 3 || first.Attachments != 2 || !first.Tagged {
		t.Errorf("first copy = %+v, want 3 manifests, 2 attachments, tagged", first)
	}
	prod.ResetRequests()
	second, err := p.Copy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Manifests != 0 || second.Attachments != 0 || second.Tagged || second.Digest != first.Digest {
		t.Errorf("second copy = %+v, want nothing written", second)
	}
	if w := uploads(prod.Requests()); len(w) != 0 {
		t.Errorf("the second copy wrote to the destination: %v", w)
	}
}

func TestSameRegistryCopyMountsBlobs(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithRepositoryScopedBlobs())
	img := testutil.RandomImage(t, 3, v1.Config{})
	src := reg.Push(t, "staging/app:1", img)
	p, _ := newPromoter(t, 5*time.Second, reg.Host)
	dst := tagRef(t, reg.Ref("prod/app:1"))
	reg.ResetRequests()

	if _, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: dst}); err != nil {
		t.Fatal(err)
	}
	var mounts, patches int
	for _, q := range reg.Requests() {
		if strings.HasPrefix(q, "POST /v2/prod/app/blobs/uploads/?") && strings.Contains(q, "mount=") && strings.Contains(q, "from=staging%2Fapp") {
			mounts++
		}
		if strings.HasPrefix(q, "PATCH ") {
			patches++
		}
	}
	if mounts != 4 || patches != 0 || len(reg.Mounts()) != 4 { // 3 layers and the config
		t.Errorf("%d mount requests, %d uploads, mounts %v; want the 4 blobs mounted and none uploaded:\n%s", mounts, patches, reg.Mounts(), strings.Join(reg.Requests(), "\n"))
	}
	copied, err := remote.Image(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(copied); err != nil {
		t.Errorf("the copy is not a valid image: %v", err)
	}
}

func TestRefusedMountFallsBackToUpload(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithRepositoryScopedBlobs())
	img := testutil.RandomImage(t, 2, v1.Config{})
	src := reg.Push(t, "staging/app:1", img)
	host := reg.Faulty(t, testutil.RefuseMounts())
	p, _ := newPromoter(t, 5*time.Second, host)
	dst := tagRef(t, host+"/prod/app:1")

	if _, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, onHost(src, host)), Destination: dst}); err != nil {
		t.Fatal(err)
	}
	if m := reg.Mounts(); len(m) != 0 {
		t.Errorf("blobs were mounted despite the refusal: %v", m)
	}
	copied, err := remote.Image(tagRef(t, reg.Ref("prod/app:1")))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(copied); err != nil {
		t.Errorf("the copy is not a valid image: %v", err)
	}
}

// TestFailureMidCopyLeavesTagUntouched fails the third blob upload request
// and every one after it, beyond the client's retries: the copy fails, the
// tag does not exist, and once the registry recovers a retry completes.
func TestFailureMidCopyLeavesTagUntouched(t *testing.T) {
	for _, index := range []bool{false, true} {
		t.Run(map[bool]string{false: "image", true: "index"}[index], func(t *testing.T) {
			staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
			var src string
			if index {
				src = staging.PushIndex(t, "app:1", testutil.Index(t, testutil.RandomImage(t, 3, v1.Config{}), testutil.RandomImage(t, 3, v1.Config{})))
			} else {
				src = staging.Push(t, "app:1", testutil.RandomImage(t, 4, v1.Config{}))
			}
			var broken atomic.Bool
			broken.Store(true)
			failing := testutil.FailBlobUploads(3, 1<<30, http.StatusInternalServerError)
			host := prod.Faulty(t, func(w http.ResponseWriter, r *http.Request) bool {
				return broken.Load() && failing(w, r)
			})
			p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host, host)
			dst := tagRef(t, host+"/app:prod")
			req := promote.Request{Source: digestRef(t, src), Destination: dst}

			_, err := p.Copy(context.Background(), req)
			if err == nil {
				t.Fatal("the copy succeeded although blob uploads failed")
			}
			if !strings.Contains(err.Error(), src) || !strings.Contains(err.Error(), dst.String()) {
				t.Errorf("the error names neither source nor destination: %v", err)
			}
			if got := current(t, p, tagRef(t, prod.Ref("app:prod"))); got != "" {
				t.Fatalf("after a failed copy the tag names %s", got)
			}
			if _, err := remote.Head(digestRef(t, onHost(src, prod.Host))); err == nil {
				t.Errorf("after a failed copy the destination holds the top manifest")
			}

			broken.Store(false)
			res, err := p.Copy(context.Background(), req)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got := current(t, p, dst); got != res.Digest || !strings.HasSuffix(src, res.Digest) {
				t.Errorf("after the retry the tag names %q, want %s", got, res.Digest)
			}
		})
	}
}

func TestRegistryErrors(t *testing.T) {
	tagPath := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/manifests/prod") }
	cases := []struct {
		name  string
		fault testutil.Fault
		want  string
	}{
		{"429 storm", testutil.Status(http.StatusTooManyRequests, func(*http.Request) bool { return true }), "429"},
		{"5xx on blobs", testutil.Status(http.StatusServiceUnavailable, testutil.IsBlobUpload), "503"},
		{"5xx on the tag", testutil.Status(http.StatusBadGateway, func(r *http.Request) bool { return r.Method == http.MethodPut && tagPath(r) }), "writing the destination tag"},
		{"timeout", testutil.Hang(10*time.Second, testutil.IsBlobUpload), "the registry could not be reached"},
		{"tag not confirmed", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodHead || !tagPath(r) {
				return false
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Content-Length", "2")
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
			w.WriteHeader(http.StatusOK)
			return true
		}, "not the promoted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
			src := staging.Push(t, "app:1", testutil.RandomImage(t, 2, v1.Config{}))
			var answered atomic.Int32
			host := prod.Faulty(t, func(w http.ResponseWriter, r *http.Request) bool {
				if tc.fault(w, r) {
					answered.Add(1)
					return true
				}
				return false
			})
			p, _ := newPromoter(t, 300*time.Millisecond, staging.Host, prod.Host, host)
			dst := tagRef(t, host+"/app:prod")
			start := time.Now()
			res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: dst})
			if err == nil {
				t.Fatalf("the copy succeeded: %+v", res)
			}
			if time.Since(start) > 8*time.Second {
				t.Errorf("the copy took %s to fail", time.Since(start))
			}
			msg := err.Error()
			if !strings.Contains(msg, "promoting "+src+" to "+dst.String()) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not name source and destination and say %q", msg, tc.want)
			}
			// The client retries twice: each failing request is sent three
			// times before the copy gives up.
			if n := answered.Load(); tc.name != "tag not confirmed" && (n < 3 || n > 60) {
				t.Errorf("the fault answered %d times; want the 3 attempts of the bounded retries", n)
			}
			if tc.name != "tag not confirmed" {
				if got := current(t, p, tagRef(t, prod.Ref("app:prod"))); got != "" {
					t.Errorf("after a failed copy the tag names %s", got)
				}
			}
		})
	}
}

func TestUnauthorizedDestination(t *testing.T) {
	staging := testutil.NewRegistry(t)
	prod := testutil.NewRegistry(t, testutil.WithBasicAuth("ci", "s3cret"))
	src := staging.Push(t, "app:1", testutil.RandomImage(t, 1, v1.Config{}))
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	_, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: tagRef(t, prod.Ref("app:prod"))})
	var re *registry.Error
	if !errors.As(err, &re) || re.Kind != registry.KindUnauthorized {
		t.Fatalf("error = %v, want an unauthorized registry.Error", err)
	}
	if !strings.Contains(err.Error(), src) || !strings.Contains(err.Error(), prod.Ref("app:prod")) {
		t.Errorf("the error names neither source nor destination: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	p, c := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	missing := staging.Ref("app@sha256:" + strings.Repeat("a", 64))

	_, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, missing), Destination: tagRef(t, prod.Ref("app:prod"))})
	var re *registry.Error
	if !errors.As(err, &re) || re.Kind != registry.KindNotFound || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing source: error = %v", err)
	}
	if w := uploads(prod.Requests()); len(w) != 0 {
		t.Errorf("a missing source wrote to the destination: %v", w)
	}

	src := staging.Push(t, "app:1", testutil.RandomImage(t, 1, v1.Config{}))
	if _, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src)}); err == nil || !strings.Contains(err.Error(), "registry/repository:tag") {
		t.Errorf("no destination: error = %v", err)
	}
	if _, err := p.Copy(context.Background(), promote.Request{Destination: tagRef(t, prod.Ref("app:prod"))}); err == nil || !strings.Contains(err.Error(), "repository@sha256") {
		t.Errorf("no source: error = %v", err)
	}

	for in, want := range map[string]string{
		prod.Ref("app@sha256:" + strings.Repeat("b", 64)): "names a digest",
		prod.Ref("app"):    "names no tag",
		prod.Ref("App:1"):  "not a valid image reference",
		" " + prod.Ref(""): "surrounding spaces",
	} {
		if _, err := promote.ParseDestination(c, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDestination(%q) = %v, want an error saying %q", in, err, want)
		}
	}
	tag, err := promote.ParseDestination(c, prod.Ref("team/app:1.2"))
	if err != nil || tag.String() != prod.Ref("team/app:1.2") {
		t.Errorf("ParseDestination = %v, %v", tag, err)
	}
}

func TestDelete(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	src := staging.Push(t, "app:1", testutil.RandomImage(t, 1, v1.Config{}))
	refused := prod.Faulty(t, testutil.RefuseDelete())
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host, refused)
	dst := tagRef(t, prod.Ref("app:prod"))
	res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: dst})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	err = p.Delete(ctx, tagRef(t, refused+"/app:prod"), res.Digest)
	var dre *promote.DeletionRefusedError
	if !errors.As(err, &dre) || !strings.Contains(err.Error(), "refused the deletion") {
		t.Errorf("refused deletion: error = %v", err)
	}
	if current(t, p, dst) != res.Digest {
		t.Fatal("the tag is gone after a refused deletion")
	}

	other := testutil.RandomImage(t, 1, v1.Config{})
	od, _ := other.Digest()
	if err := p.Delete(ctx, dst, od.String()); !errors.Is(err, promote.ErrTagMoved) {
		t.Errorf("deleting another digest: error = %v, want ErrTagMoved", err)
	}
	if current(t, p, dst) != res.Digest {
		t.Fatal("the tag was deleted although it names another digest")
	}

	if err := p.Delete(ctx, dst, res.Digest); err != nil {
		t.Fatal(err)
	}
	if got := current(t, p, dst); got != "" {
		t.Errorf("after Delete the tag names %s", got)
	}
	if err := p.Delete(ctx, dst, res.Digest); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	if err := p.Delete(ctx, dst, "sha256:nope"); err == nil {
		t.Error("a malformed digest was accepted")
	}
}
