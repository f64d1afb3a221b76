package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

func faulty(t *testing.T, reg *testutil.Registry, fault testutil.Fault) string {
	t.Helper()
	return reg.Faulty(t, fault)
}

// blob returns the bytes the registry serves for path.
func blob(t *testing.T, reg *testutil.Registry, path string) []byte {
	t.Helper()
	resp, err := http.Get(reg.Server.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return b
}

func layerPath(t *testing.T, img v1.Image, repo string, i int) string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ls[i].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return "/v2/" + repo + "/blobs/" + d.String()
}

// pullLayers reads every layer of ref through Limited, as a scan does, and
// returns the first error and how many uncompressed bytes were read.
func pullLayers(t *testing.T, c *registry.Client, ref string) (int64, error) {
	t.Helper()
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := c.Resolve(context.Background(), ref, "")
		if err != nil {
			done <- result{0, err}
			return
		}
		ls, err := res.Limited().Layers()
		if err != nil {
			done <- result{0, err}
			return
		}
		var total int64
		for _, l := range ls {
			rc, err := l.Uncompressed()
			if err != nil {
				done <- result{total, err}
				return
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			total += n
			if err != nil {
				done <- result{total, err}
				return
			}
		}
		done <- result{total, nil}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-time.After(60 * time.Second):
		t.Fatal("pulling the layers did not finish")
		return 0, nil
	}
}

func limitErr(t *testing.T, err error, setting, image string) *registry.LimitError {
	t.Helper()
	var le *registry.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a *registry.LimitError", err)
	}
	if le.Setting != setting || le.Image != image || !strings.Contains(err.Error(), setting) || !strings.Contains(err.Error(), image) || !strings.Contains(err.Error(), "provider configuration") {
		t.Fatalf("limit error does not name %s, the image %s and what to do: %v", setting, image, err)
	}
	return le
}

func TestAlwaysTooManyRequestsFailsAfterRetries(t *testing.T) {
	reg := testutil.NewRegistry(t)
	reg.Push(t, "app:v1", testutil.RandomImage(t, 1, v1.Config{}))
	var calls atomic.Int32
	host := faulty(t, reg, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/" {
			return false
		}
		calls.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	})
	c := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: 2})
	_, err := c.Inspect(context.Background(), host+"/app:v1", "")
	if err == nil || kindOf(t, err) != registry.KindUnreachable || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "rate-limiting") {
		t.Fatalf("always 429: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d manifest requests, want 3 (the first and 2 retries)", n)
	}
}

func TestMaxImageLayers(t *testing.T) {
	reg := testutil.NewRegistry(t)
	pinned := reg.Push(t, "app:v1", testutil.RandomImage(t, 3, v1.Config{}))
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxImageLayers: 2})
	reg.ResetRequests()
	_, err := pullLayers(t, c, pinned)
	le := limitErr(t, err, "max_image_layers", pinned)
	if le.Limit != "2" || !strings.Contains(err.Error(), "has 3 layers") {
		t.Errorf("message: %v", err)
	}
	if n := reg.BlobRequests(); n > 1 { // the config only
		t.Errorf("%d blobs fetched before the layer count was refused: %v", n, reg.Requests())
	}
	ok := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxImageLayers: 3})
	if _, err := pullLayers(t, ok, pinned); err != nil {
		t.Errorf("3 layers within a limit of 3: %v", err)
	}
}

func TestMaxImageSizeStopsReadingAtTheLimit(t *testing.T) {
	reg := testutil.NewRegistry(t)
	const limit = 1 << 20
	zeros := testutil.Layer(t, testutil.Files{"zeros": make([]byte, 8<<20)}) // compresses to a few KiB
	pinned := reg.Push(t, "bomb:v1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{zeros}}))
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxImageSize: limit})
	n, err := pullLayers(t, c, pinned)
	le := limitErr(t, err, "max_image_size", pinned)
	if le.Limit != "1.0 MiB" || !strings.Contains(err.Error(), "larger than max_image_size (1.0 MiB) uncompressed") {
		t.Errorf("message: %v", err)
	}
	if n > limit+64<<10 {
		t.Errorf("read %d bytes before failing, want no more than the limit (%d) and one buffer", n, limit)
	}
	ok := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxImageSize: 9 << 20})
	if n, err := pullLayers(t, ok, pinned); err != nil || n < 8<<20 {
		t.Errorf("within the limit: %d bytes, %v", n, err)
	}
}

func TestTruncatedBlobFails(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, v1.Config{})
	pinned := reg.Push(t, "app:v1", img)
	path := layerPath(t, img, "app", 0)
	body := blob(t, reg, path)
	host := faulty(t, reg, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Path != path {
			return false
		}
		// Promise the whole blob, send half, and hang up.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body[:len(body)/2])
		return true
	})
	c := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: -1})
	if _, err := pullLayers(t, c, strings.Replace(pinned, reg.Host, host, 1)); err == nil {
		t.Fatal("a truncated blob was accepted")
	}
}

func TestBlobNotMatchingDigestFails(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, v1.Config{})
	pinned := reg.Push(t, "app:v1", img)
	path := layerPath(t, img, "app", 0)
	// Other bytes of the same length, so only the digest can tell.
	lie := bytes.Clone(blob(t, reg, path))
	lie[4] ^= 0xff // the gzip header's mtime: still valid gzip, another digest
	host := faulty(t, reg, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(lie)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(lie)
		}
		return true
	})
	c := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: -1})
	_, err := pullLayers(t, c, strings.Replace(pinned, reg.Host, host, 1))
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("a blob not matching its digest: %v", err)
	}
}

func TestManifestNotMatchingDigestFails(t *testing.T) {
	reg := testutil.NewRegistry(t)
	pinned := reg.Push(t, "app:v1", testutil.RandomImage(t, 1, v1.Config{}))
	other := reg.Push(t, "app:v2", testutil.RandomImage(t, 1, v1.Config{}))
	_, wanted, _ := strings.Cut(pinned, "@")
	_, served, _ := strings.Cut(other, "@")
	host := faulty(t, reg, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/app/manifests/"+wanted {
			return false
		}
		// Answer with another image's manifest, headers and all.
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/v2/app/manifests/" + served
		reg.Server.Config.Handler.ServeHTTP(w, r2)
		return true
	})
	c := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: -1})
	_, err := c.Inspect(context.Background(), host+"/app@"+wanted, "")
	if err == nil || !strings.Contains(err.Error(), wanted) || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("a manifest not matching the requested digest: %v", err)
	}
}

func TestTricklingBlobFailsTheMinimumRate(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, v1.Config{})
	pinned := reg.Push(t, "app:v1", img)
	path := layerPath(t, img, "app", 0)
	body := blob(t, reg, path)
	stop := make(chan struct{})
	host := faulty(t, reg, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Path != path {
			return false
		}
		// One byte every 20ms: never silent long enough for the stall guard.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for _, b := range body {
			if _, err := w.Write([]byte{b}); err != nil {
				return true
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			select {
			case <-time.After(20 * time.Millisecond):
			case <-r.Context().Done():
				return true
			case <-stop:
				return true
			}
		}
		return true
	})
	t.Cleanup(func() { close(stop) })
	c := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: -1,
		RequestTimeout: 10 * time.Second, MinTransferRate: 1 << 10, TransferRateWindow: 300 * time.Millisecond})
	ref := strings.Replace(pinned, reg.Host, host, 1)
	start := time.Now()
	_, err := pullLayers(t, c, ref)
	le := limitErr(t, err, "min_transfer_rate", ref)
	if le.Limit != "1.0 KiB/s" || strings.Contains(err.Error(), "?") {
		t.Errorf("message: %v", err)
	}
	// len(body) bytes at 50 bytes a second would take far longer.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the trickle held the pull for %s", d)
	}
}

// An index of more runnable images than max_index_images is refused before
// any of them is read; attestation entries do not count.
func TestMaxIndexImages(t *testing.T) {
	reg := testutil.NewRegistry(t)
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		imgs = append(imgs, testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"a": []byte(arch)})}, Platform: v1.Platform{OS: "linux", Architecture: arch}}))
	}
	idx := testutil.Index(t, imgs...)
	reg.PushIndex(t, "multi:v1", idx)
	digest, _ := idx.Digest()
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxIndexImages: 2})
	_, err := c.ResolveAll(context.Background(), reg.Ref("multi:v1"), nil)
	le := limitErr(t, err, "max_index_images", reg.Ref("multi")+"@"+digest.String())
	if le.Limit != "2" || !strings.Contains(err.Error(), "index of 3 runnable images") {
		t.Errorf("message: %v", err)
	}
	ok := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxIndexImages: 3})
	set, err := ok.ResolveAll(context.Background(), reg.Ref("multi:v1"), nil)
	if err != nil || len(set.Images) != 3 {
		t.Errorf("3 images within a limit of 3: %v", err)
	}
}
