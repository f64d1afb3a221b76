package registry_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

func newClient(t *testing.T, opts registry.Options) *registry.Client {
	t.Helper()
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain() // never the developer's Docker config
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	c, err := registry.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func kindOf(t *testing.T, err error) registry.Kind {
	t.Helper()
	var re *registry.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *registry.Error", err)
	}
	return re.Kind
}

func TestInspectTagAndDigest(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"etc/hello": []byte("hi")})},
		Config: v1.Config{
			User:         "app",
			Env:          []string{"SECRET_TOKEN=hunter2", "PATH=/bin"},
			Labels:       map[string]string{"team": "core"},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}, "443/tcp": {}},
			Entrypoint:   []string{"/app"},
			Cmd:          []string{"serve"},
			Healthcheck:  &v1.HealthConfig{Test: []string{"CMD", "/app", "health"}},
		},
		Annotations: map[string]string{registry.AnnotationBaseName: "example.com/base:1", registry.AnnotationBaseDigest: "sha256:" + strings.Repeat("a", 64)},
	})
	pinned := reg.Push(t, "app:v1", img)
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}})

	for _, ref := range []string{reg.Ref("app:v1"), pinned} {
		got, err := c.Inspect(context.Background(), ref, "")
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		d, _ := img.Digest()
		if got.Digest != d.String() || got.PinnedReference != pinned || got.IndexDigest != "" {
			t.Errorf("%s: digest %s pinned %s index %q", ref, got.Digest, got.PinnedReference, got.IndexDigest)
		}
		if got.User != "app" || got.OS != "linux" || got.Architecture != "amd64" || got.Labels["team"] != "core" {
			t.Errorf("config fields wrong: %+v", got)
		}
		if strings.Join(got.EnvNames, ",") != "PATH,SECRET_TOKEN" || strings.Join(got.ExposedPorts, ",") != "443/tcp,8080/tcp" {
			t.Errorf("env names %v ports %v", got.EnvNames, got.ExposedPorts)
		}
		if len(got.Healthcheck) != 3 || got.BaseImage == nil || got.BaseImage.Name != "example.com/base:1" {
			t.Errorf("healthcheck %v base %+v", got.Healthcheck, got.BaseImage)
		}
		if len(got.Layers) != 1 || got.Size != got.Layers[0].Size || !strings.HasPrefix(got.Layers[0].DiffID, "sha256:") || !got.Created.Equal(testutil.Created) {
			t.Errorf("layers %+v size %d created %v", got.Layers, got.Size, got.Created)
		}
	}
	if n := reg.BlobRequests(); n != 2 { // one config read per inspect, no layer
		t.Errorf("inspect fetched %d blobs, want only the 2 configs: %v", n, reg.Requests())
	}
}

func TestInspectIndexSelectsPlatform(t *testing.T) {
	reg := testutil.NewRegistry(t)
	amd := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"a": []byte("amd")})}})
	arm := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"a": []byte("arm")})}, Platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}})
	idx := testutil.Index(t, amd, arm)
	reg.PushIndex(t, "multi:1", idx)
	idxDigest, _ := idx.Digest()
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}})

	for platform, want := range map[string]v1.Image{"": amd, "linux/arm64": arm, "linux/arm64/v8": arm, "linux/amd64": amd} {
		got, err := c.Inspect(context.Background(), reg.Ref("multi:1"), platform)
		if err != nil {
			t.Fatalf("platform %q: %v", platform, err)
		}
		d, _ := want.Digest()
		if got.Digest != d.String() || got.IndexDigest != idxDigest.String() {
			t.Errorf("platform %q: digest %s index %s", platform, got.Digest, got.IndexDigest)
		}
	}
	_, err := c.Inspect(context.Background(), reg.Ref("multi:1"), "linux/s390x")
	if kindOf(t, err) != registry.KindPlatform || !strings.Contains(err.Error(), "linux/amd64, linux/arm64/v8") {
		t.Errorf("unknown platform: %v", err)
	}
	_, err = c.Inspect(context.Background(), reg.Ref("multi:1"), "linux")
	if kindOf(t, err) != registry.KindInvalidPlatform {
		t.Errorf("malformed platform: %v", err)
	}
}

func TestInspectErrors(t *testing.T) {
	reg := testutil.NewRegistry(t)
	reg.Push(t, "app:v1", testutil.RandomImage(t, 1, v1.Config{}))
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxRetries: -1})
	ctx := context.Background()

	cases := map[string]struct {
		ref  string
		kind registry.Kind
		msg  string
	}{
		"missing tag":        {reg.Ref("app:nope"), registry.KindNotFound, "does not exist"},
		"missing repository": {reg.Ref("other:v1"), registry.KindNotFound, "does not exist"},
		"missing digest":     {reg.Ref("app@sha256:" + strings.Repeat("0", 64)), registry.KindNotFound, "does not exist"},
		"malformed":          {"Not A Reference!", registry.KindInvalidReference, "not a valid image reference"},
		"bad digest":         {reg.Ref("app@sha256:abc"), registry.KindInvalidReference, "not a valid image reference"},
		"unreachable":        {"127.0.0.1:1/app:v1", registry.KindInsecure, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.Inspect(ctx, tc.ref, "")
			if err == nil {
				t.Fatal("no error")
			}
			if k := kindOf(t, err); k != tc.kind && (name != "unreachable" || k != registry.KindUnreachable) {
				t.Errorf("kind %d, want %d: %v", k, tc.kind, err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.ref) {
				t.Errorf("message %q does not name the reference and %q", err, tc.msg)
			}
		})
	}
}

func TestPlainHTTPRefusedUnlessListed(t *testing.T) {
	reg := testutil.NewRegistry(t)
	reg.Push(t, "app:v1", testutil.RandomImage(t, 1, v1.Config{}))
	c := newClient(t, registry.Options{MaxRetries: -1})
	_, err := c.Inspect(context.Background(), reg.Ref("app:v1"), "")
	if kindOf(t, err) != registry.KindInsecure || !strings.Contains(err.Error(), "answered over plain HTTP, which is refused") || !strings.Contains(err.Error(), reg.Host) {
		t.Fatalf("plain HTTP not refused clearly: %v", err)
	}
	// The provider names the setting (insecure_registries); it needs the host.
	if ie, ok := errors.AsType[*registry.InsecureError](err); !ok || ie.Registry != reg.Host {
		t.Fatalf("no *InsecureError naming %s: %#v", reg.Host, err)
	}
}

func TestHTTPSRegistryOnLoopback(t *testing.T) {
	srv := httptest.NewTLSServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	// Push over HTTPS with the test server's client.
	img := testutil.RandomImage(t, 1, v1.Config{})
	pusher := newClient(t, registry.Options{Transport: srv.Client().Transport})
	if err := pusher.Write(context.Background(), host+"/app:v1", img); err != nil {
		t.Fatal(err)
	}
	got, err := pusher.Inspect(context.Background(), host+"/app:v1", "")
	if err != nil {
		t.Fatalf("HTTPS loopback registry: %v", err)
	}
	if d, _ := img.Digest(); got.Digest != d.String() {
		t.Errorf("digest %s", got.Digest)
	}
}

func TestBasicAuth(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithBasicAuth("ci", "s3cret"))
	reg.Push(t, "private:v1", testutil.RandomImage(t, 1, v1.Config{}))
	ctx := context.Background()

	anon := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxRetries: -1})
	if _, err := anon.Inspect(ctx, reg.Ref("private:v1"), ""); kindOf(t, err) != registry.KindUnauthorized {
		t.Errorf("without credentials: %v", err)
	}
	wrong := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}, MaxRetries: -1,
		Credentials: []registry.Credential{{Address: reg.Host, Username: "ci", Password: "wrong"}}})
	_, err := wrong.Inspect(ctx, reg.Ref("private:v1"), "")
	if kindOf(t, err) != registry.KindUnauthorized || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong credentials: %v", err)
	}
	ok := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host},
		Credentials: []registry.Credential{{Address: "http://" + reg.Host + "/", Username: "ci", Password: "s3cret"}}})
	if _, err := ok.Inspect(ctx, reg.Ref("private:v1"), ""); err != nil {
		t.Errorf("with credentials: %v", err)
	}
}

func TestCredentialValidation(t *testing.T) {
	for name, c := range map[string]registry.Credential{
		"no secret":      {Address: "ghcr.io", Username: "u"},
		"both kinds":     {Address: "ghcr.io", Username: "u", Password: "p", IdentityToken: "t"},
		"bad address":    {Address: "not a host", Username: "u", Password: "p"},
		"password alone": {Address: "ghcr.io", Password: "p"},
	} {
		if _, err := registry.New(registry.Options{Credentials: []registry.Credential{c}}); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), `"p"`) {
			t.Errorf("%s: error leaks the password: %v", name, err)
		}
	}
	if _, err := registry.New(registry.Options{Credentials: []registry.Credential{{Address: "docker.io", Username: "u", Password: "p"}, {Address: "index.docker.io", Username: "u", Password: "p"}}}); err == nil {
		t.Error("duplicate registry accepted")
	}
}

// flaky answers 503 (then 429) before letting requests through.
func TestRetriesTransientFailures(t *testing.T) {
	reg := testutil.NewRegistry(t)
	reg.Push(t, "app:v1", testutil.RandomImage(t, 1, v1.Config{}))
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case 3:
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		reg.Server.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	c := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: 3})
	if _, err := c.Inspect(context.Background(), host+"/app:v1", ""); err != nil {
		t.Fatalf("transient failures not retried: %v", err)
	}
	none := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: -1})
	calls.Store(1)
	if _, err := none.Inspect(context.Background(), host+"/app:v1", ""); err == nil {
		t.Fatal("with retries off a 503 should fail")
	}
}

func TestRequestTimeoutOnHang(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	host := strings.TrimPrefix(srv.URL, "http://")
	c := newClient(t, registry.Options{InsecureRegistries: []string{host}, MaxRetries: -1, RequestTimeout: 200 * time.Millisecond})
	done := make(chan error, 1)
	go func() { _, err := c.Inspect(context.Background(), host+"/app:v1", ""); done <- err }()
	select {
	case err := <-done:
		if err == nil || kindOf(t, err) != registry.KindUnreachable {
			t.Fatalf("hang: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a hanging registry hung the read")
	}
}

func TestSchema1Refused(t *testing.T) {
	reg := testutil.NewRegistry(t)
	manifest := `{"schemaVersion":1,"name":"old","tag":"v1","architecture":"amd64","fsLayers":[],"history":[]}`
	req, _ := http.NewRequest(http.MethodPut, reg.Server.URL+"/v2/old/manifests/v1", strings.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.docker.distribution.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}})
	_, err = c.Inspect(context.Background(), reg.Ref("old:v1"), "")
	if kindOf(t, err) != registry.KindUnsupported || !strings.Contains(err.Error(), "schema 1") {
		t.Fatalf("schema 1: %v", err)
	}
}
