package testutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WithRepositoryScopedBlobs makes each blob visible only in the repositories
// it was pushed or mounted to, and answers cross-repository mounts
// (POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<repo>) with 201 when
// the blob is in the from repository, as distribution-based registries do.
// go-containerregistry's own registry shares every blob between all
// repositories and ignores mounts, so without this option a same-registry
// copy never needs (nor shows) a mount.
func WithRepositoryScopedBlobs() RegistryOption {
	return func(r *Registry) { r.scoped = &scopedBlobs{repos: map[string]map[string][]byte{}} }
}

// Mounts returns the blobs mounted so far, as "from -> repo digest".
func (r *Registry) Mounts() []string {
	if r.scoped == nil {
		return nil
	}
	r.scoped.mu.Lock()
	defer r.scoped.mu.Unlock()
	return append([]string(nil), r.scoped.mounts...)
}

// scopedBlobs is a registry.BlobHandler keyed by repository and digest.
// go-containerregistry's registry names the repository of an upload's final
// PUT with a "/blobs" suffix (it cuts the path one element short), so repo
// drops that suffix.
type scopedBlobs struct {
	mu     sync.Mutex
	repos  map[string]map[string][]byte
	mounts []string
}

func repoOf(repo string) string { return strings.TrimSuffix(repo, "/blobs") }

func (s *scopedBlobs) get(repo string, h v1.Hash) ([]byte, bool) {
	repo = repoOf(repo)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.repos[repo][h.String()]
	return b, ok
}

func (s *scopedBlobs) Stat(_ context.Context, repo string, h v1.Hash) (int64, error) {
	b, ok := s.get(repo, h)
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(b)), nil
}

func (s *scopedBlobs) Get(_ context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	b, ok := s.get(repo, h)
	if !ok {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *scopedBlobs) Put(_ context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	repo = repoOf(repo)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repo] == nil {
		s.repos[repo] = map[string][]byte{}
	}
	s.repos[repo][h.String()] = b
	return nil
}

func (s *scopedBlobs) Delete(_ context.Context, repo string, h v1.Hash) error {
	repo = repoOf(repo)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[repo][h.String()]; !ok {
		return registry.ErrNotFound
	}
	delete(s.repos[repo], h.String())
	return nil
}

// mount answers a cross-repository mount of a blob the from repository
// holds; anything else (including a mount of an unknown blob, which the
// registry turns into an ordinary upload) is left to the registry.
func (s *scopedBlobs) mount(w http.ResponseWriter, req *http.Request) bool {
	q := req.URL.Query()
	if req.Method != http.MethodPost || q.Get("mount") == "" || q.Get("from") == "" ||
		!strings.HasPrefix(req.URL.Path, "/v2/") || !strings.HasSuffix(req.URL.Path, "/blobs/uploads/") {
		return false
	}
	repo := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/v2/"), "/blobs/uploads/")
	h, err := v1.NewHash(q.Get("mount"))
	if err != nil {
		return false
	}
	b, ok := s.get(q.Get("from"), h)
	if !ok {
		return false
	}
	s.mu.Lock()
	if s.repos[repo] == nil {
		s.repos[repo] = map[string][]byte{}
	}
	s.repos[repo][h.String()] = b
	s.mounts = append(s.mounts, fmt.Sprintf("%s -> %s %s", q.Get("from"), repo, h))
	s.mu.Unlock()
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+h.String())
	w.Header().Set("Docker-Content-Digest", h.String())
	w.WriteHeader(http.StatusCreated)
	return true
}
