package testutil

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

// DBServer serves a database listing (latest.json) and its archive, as
// grype's update URL does. Set switches the database it offers.
type DBServer struct {
	Server *httptest.Server
	mu     sync.Mutex
	db     *fixtures.BuiltDB
}

// NewDBServer serves db until the test ends.
func NewDBServer(t testing.TB, db *fixtures.BuiltDB) *DBServer {
	t.Helper()
	s := &DBServer{db: db}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		cur := s.db
		s.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/latest.json"):
			http.ServeFile(w, r, cur.Listing)
		case r.URL.Path == "/"+filepath.Base(cur.Archive):
			http.ServeFile(w, r, cur.Archive)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Server.Close)
	return s
}

// URL is the listing's URL, for update_url.
func (s *DBServer) URL() string { return s.Server.URL + "/latest.json" }

// Set makes the server offer db from now on.
func (s *DBServer) Set(db *fixtures.BuiltDB) {
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
}

// CorruptInstalledDB overwrites the database file under cacheDir.
func CorruptInstalledDB(t testing.TB, cacheDir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(cacheDir, "6", "vulnerability.db"), []byte("this is not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ListingWithChecksum copies db with its listing's checksum replaced, to
// serve a download that fails verification.
func ListingWithChecksum(t testing.TB, db *fixtures.BuiltDB, checksum string) *fixtures.BuiltDB {
	t.Helper()
	b, err := os.ReadFile(db.Listing)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["checksum"] = checksum
	b, _ = json.Marshal(doc)
	p := filepath.Join(t.TempDir(), "latest.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return &fixtures.BuiltDB{Dir: db.Dir, Archive: db.Archive, Listing: p}
}
