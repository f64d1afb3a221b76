// Package testutil provides real in-process registries and image builders
// for the tests of every layer.
package testutil

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is an in-process OCI registry (go-containerregistry's, with the
// referrers API) served over plain HTTP on loopback, recording every request.
type Registry struct {
	Server *httptest.Server
	// Host is host:port, as used in references.
	Host string

	user, password string
	noReferrers    bool
	scoped         *scopedBlobs
	mu             sync.Mutex
	requests       []string
}

// RegistryOption configures NewRegistry.
type RegistryOption func(*Registry)

// WithBasicAuth makes the registry require HTTP basic authentication.
func WithBasicAuth(user, password string) RegistryOption {
	return func(r *Registry) { r.user, r.password = user, password }
}

// WithoutReferrersAPI makes the registry answer the OCI referrers API with
// 404, as registries that predate OCI 1.1 do, so clients fall back to the
// referrers tag schema (an index tagged sha256-<hex>).
func WithoutReferrersAPI() RegistryOption {
	return func(r *Registry) { r.noReferrers = true }
}

// NewRegistry starts a registry that is closed when the test ends.
func NewRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	r := &Registry{}
	for _, o := range opts {
		o(r)
	}
	regOpts := []registry.Option{registry.WithReferrersSupport(!r.noReferrers), registry.Logger(log.New(io.Discard, "", 0))}
	if r.scoped != nil {
		regOpts = append(regOpts, registry.WithBlobHandler(r.scoped))
	}
	inner := registry.New(regOpts...)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != r.user || p != r.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="imagegate-test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
				return
			}
		}
		entry := req.Method + " " + req.URL.Path
		if req.URL.RawQuery != "" {
			entry += "?" + req.URL.RawQuery
		}
		r.mu.Lock()
		r.requests = append(r.requests, entry)
		r.mu.Unlock()
		if r.scoped != nil && r.scoped.mount(w, req) {
			return
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Server.Close)
	r.Host = strings.TrimPrefix(r.Server.URL, "http://")
	return r
}

// Ref returns a reference to repo:tag (or repo@digest) in this registry.
func (r *Registry) Ref(repoAndTag string) string { return r.Host + "/" + repoAndTag }

func (r *Registry) auth() authn.Authenticator {
	if r.user == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.user, Password: r.password}
}

// Push writes img to repoAndTag and returns the pinned reference.
func (r *Registry) Push(t testing.TB, repoAndTag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(r.Ref(repoAndTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(r.auth())); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Name() + "@" + d.String()
}

// PushIndex writes idx to repoAndTag and returns the pinned reference.
func (r *Registry) PushIndex(t testing.TB, repoAndTag string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.ParseReference(r.Ref(repoAndTag), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(r.auth())); err != nil {
		t.Fatalf("pushing index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Name() + "@" + d.String()
}

// Requests returns the requests served so far, as "METHOD /path", followed
// by "?query" when the request had one.
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// BlobRequests counts the GET requests for blobs (configs and layers).
func (r *Registry) BlobRequests() int {
	n := 0
	for _, q := range r.Requests() {
		if strings.HasPrefix(q, "GET ") && strings.Contains(q, "/blobs/") {
			n++
		}
	}
	return n
}

// ResetRequests forgets the requests recorded so far.
func (r *Registry) ResetRequests() {
	r.mu.Lock()
	r.requests = nil
	r.mu.Unlock()
}
