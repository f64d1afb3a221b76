package vulndb_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

var first, second *fixtures.BuiltDB

// TestMain builds two real databases with grype's pipeline: the second,
// built later, adds an advisory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vulndb-test")
	if err != nil {
		panic(err)
	}
	data := fixtures.VulnData{GitHub: []fixtures.GHSAAdvisory{fixtures.LodashCommandInjection}, OS: []fixtures.OSVuln{fixtures.OpenSSLPKCS12}}
	if first, err = fixtures.BuildVulnDB(data, filepath.Join(dir, "first")); err != nil {
		panic(err)
	}
	time.Sleep(1100 * time.Millisecond) // grype compares build times at one-second resolution
	data.GitHub = append(data.GitHub, fixtures.LodashReDoS)
	if second, err = fixtures.BuildVulnDB(data, filepath.Join(dir, "second")); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func kind(t *testing.T, err error) vulndb.Kind {
	t.Helper()
	var e *vulndb.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not a *vulndb.Error", err)
	}
	return e.Kind
}

func newManager(t *testing.T, cfg vulndb.Config) *vulndb.Manager {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = t.TempDir()
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = vulndb.DefaultMaxAge
	}
	if cfg.UpdateURL == "" {
		cfg.UpdateURL = "http://127.0.0.1:1/latest.json"
	}
	m, err := vulndb.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestImportArchive(t *testing.T) {
	m := newManager(t, vulndb.Config{Archive: first.Archive, ValidateChecksum: true})
	db, err := m.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if db.Status.Built.IsZero() || !strings.HasPrefix(db.Status.SchemaVersion, "v6.") || !strings.HasPrefix(db.Status.Checksum, "xxh64:") {
		t.Errorf("status %+v", db.Status)
	}
	again, _ := m.Get(context.Background())
	if again != db {
		t.Error("the database was opened twice in one process")
	}
}

func TestMissingDatabaseFailsClosed(t *testing.T) {
	_, err := newManager(t, vulndb.Config{}).Get(context.Background())
	if kind(t, err) != vulndb.KindMissing || !strings.Contains(err.Error(), "vulnerability.db") {
		t.Fatalf("missing: %v", err)
	}
}

func TestStaleDatabaseFailsClosed(t *testing.T) {
	later := func() time.Time { return time.Now().Add(121 * time.Hour) }
	_, err := newManager(t, vulndb.Config{Archive: first.Archive, Now: later}).Get(context.Background())
	if kind(t, err) != vulndb.KindStale || !strings.Contains(err.Error(), "max_age 120h") {
		t.Fatalf("stale: %v", err)
	}
	var e *vulndb.Error
	errors.As(err, &e)
	if e.Built.IsZero() {
		t.Error("the error does not say when the database was built")
	}
}

func installed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	m := newManager(t, vulndb.Config{CacheDir: dir, Archive: first.Archive})
	if _, err := m.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Close()
	return dir
}

func TestCorruptDatabaseFailsClosed(t *testing.T) {
	dir := installed(t)
	if err := os.WriteFile(filepath.Join(dir, "6", "vulnerability.db"), []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := newManager(t, vulndb.Config{CacheDir: dir, ValidateChecksum: true}).Get(context.Background())
	if k := kind(t, err); k != vulndb.KindCorrupt && k != vulndb.KindChecksum {
		t.Fatalf("corrupt: %v", err)
	}
}

func TestChecksumMismatchFailsClosed(t *testing.T) {
	dir := installed(t)
	meta := filepath.Join(dir, "6", "import.json")
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	var im map[string]any
	if err := json.Unmarshal(b, &im); err != nil {
		t.Fatal(err)
	}
	im["digest"] = "xxh64:0000000000000000"
	b, _ = json.Marshal(im)
	if err := os.WriteFile(meta, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = newManager(t, vulndb.Config{CacheDir: dir, ValidateChecksum: true}).Get(context.Background())
	if kind(t, err) != vulndb.KindChecksum {
		t.Fatalf("checksum: %v", err)
	}
	if _, err := newManager(t, vulndb.Config{CacheDir: dir, ValidateChecksum: false}).Get(context.Background()); err != nil {
		t.Fatalf("with validate_checksum off the database opens: %v", err)
	}
}

func TestUpdateFromListing(t *testing.T) {
	srv := testutil.NewDBServer(t, first)
	dir := t.TempDir()
	m := newManager(t, vulndb.Config{CacheDir: dir, AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: srv.URL()})
	db, err := m.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	firstBuilt := db.Status.Built
	m.Close()

	// A newer database on the server replaces the installed one on the next open.
	srv.Set(second)
	db2, err := newManager(t, vulndb.Config{CacheDir: dir, AutoUpdate: true, UpdateURL: srv.URL()}).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !db2.Status.Built.After(firstBuilt) {
		t.Errorf("not updated: built %s, first %s, warnings %v", db2.Status.Built, firstBuilt, db2.Warnings)
	}
}

func TestUpdateChecksumMismatch(t *testing.T) {
	srv := testutil.NewDBServer(t, testutil.ListingWithChecksum(t, first, "sha256:"+strings.Repeat("0", 64)))
	cfg := vulndb.Config{AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: srv.URL()}
	_, err := newManager(t, cfg).Get(context.Background())
	if kind(t, err) != vulndb.KindUpdate || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
		t.Fatalf("checksum mismatch: %v", err)
	}
	// Without require_update_check it still fails closed: nothing is installed.
	cfg.RequireUpdateCheck = false
	_, err = newManager(t, cfg).Get(context.Background())
	if kind(t, err) != vulndb.KindMissing {
		t.Fatalf("checksum mismatch without require: %v", err)
	}
}

func TestUpdateUnreachable(t *testing.T) {
	cfg := vulndb.Config{AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: "http://127.0.0.1:1/latest.json"}
	if _, err := newManager(t, cfg).Get(context.Background()); kind(t, err) != vulndb.KindUpdate {
		t.Fatalf("unreachable, required: %v", err)
	}
	// Not required, with a valid database installed: a warning, and the installed database.
	cfg.RequireUpdateCheck, cfg.CacheDir = false, installed(t)
	db, err := newManager(t, cfg).Get(context.Background())
	if err != nil || len(db.Warnings) != 1 || !strings.Contains(db.Warnings[0], "127.0.0.1:1") {
		t.Fatalf("unreachable, not required: %v %v", err, db)
	}
}

func TestUpdateInterruptedDownload(t *testing.T) {
	listing, _ := os.ReadFile(first.Listing)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/latest.json") {
			_, _ = w.Write(listing) // the client notices a short listing
			return
		}
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write([]byte("partial"))
		// The handler returns early: the client sees a truncated body.
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	_, err := newManager(t, vulndb.Config{CacheDir: dir, AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: srv.URL + "/latest.json"}).Get(context.Background())
	if kind(t, err) != vulndb.KindUpdate {
		t.Fatalf("interrupted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "6", "vulnerability.db")); !os.IsNotExist(err) {
		t.Errorf("a partial download was installed: %v", err)
	}
}

func TestConcurrentGetOpensOnce(t *testing.T) {
	m := newManager(t, vulndb.Config{Archive: first.Archive})
	var wg sync.WaitGroup
	dbs := make([]*vulndb.DB, 10)
	for i := range dbs {
		wg.Go(func() { ; dbs[i], _ = m.Get(context.Background()) })
	}
	wg.Wait()
	for _, db := range dbs {
		if db == nil || db != dbs[0] {
			t.Fatal("concurrent callers got different databases")
		}
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := vulndb.New(vulndb.Config{MaxAge: 0}); err == nil {
		t.Error("zero max_age accepted")
	}
	if _, err := vulndb.New(vulndb.Config{MaxAge: time.Hour, Archive: "/does/not/exist.tar.gz"}); err == nil {
		t.Error("missing archive accepted")
	}
}

func TestWrongSchemaFailsClosed(t *testing.T) {
	dir := installed(t)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "6", "vulnerability.db")), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE db_metadata SET model = 7").Error; err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
	_, err = newManager(t, vulndb.Config{CacheDir: dir}).Get(context.Background())
	if err == nil {
		t.Fatal("a database of schema 7 was accepted")
	}
	if kind(t, err) != vulndb.KindSchema || !strings.Contains(err.Error(), "schema 6") {
		t.Fatalf("wrong schema: %v", err)
	}
}
