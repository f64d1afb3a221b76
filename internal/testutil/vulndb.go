package testutil

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// Databases are real grype v6 databases built once per test binary: Old
// (the standard data) and New (built a second later, adding an advisory
// for lodash that Old does not have, as if published after a first scan).
type Databases struct {
	Old, New *fixtures.BuiltDB
}

var (
	dbOnce sync.Once
	dbs    *Databases
	dbErr  error
	dbDir  string
)

// VulnDBs builds (once) and returns the test databases. Call
// CleanupVulnDBs from TestMain.
func VulnDBs(tb testing.TB) *Databases {
	tb.Helper()
	dbOnce.Do(func() {
		if dbDir, dbErr = os.MkdirTemp("", "imagegate-testdb"); dbErr != nil { //nolint:usetesting // shared by every test of the process, removed by CleanupVulnDBs
			return
		}
		data := fixtures.StandardVulnData()
		d := &Databases{}
		if d.Old, dbErr = fixtures.BuildVulnDB(data, filepath.Join(dbDir, "old")); dbErr != nil {
			return
		}
		// grype compares build times at one-second resolution.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1500 * time.Millisecond)))
		data.GitHub = append(data.GitHub, fixtures.LodashReDoS)
		if d.New, dbErr = fixtures.BuildVulnDB(data, filepath.Join(dbDir, "new")); dbErr != nil {
			return
		}
		dbs = d
	})
	if dbErr != nil {
		tb.Fatalf("building the test vulnerability databases: %v", dbErr)
	}
	return dbs
}

// CleanupVulnDBs removes the test databases.
func CleanupVulnDBs() {
	if dbDir != "" {
		_ = os.RemoveAll(dbDir) // best effort: the process is ending
	}
}

// OpenVulnDB returns a database manager over built, closed when the test
// ends. cfg's Archive is built's; an empty CacheDir is a fresh temporary
// directory and a zero MaxAge is an hour, so a test sets only what it is
// about.
func OpenVulnDB(tb testing.TB, built *fixtures.BuiltDB, cfg vulndb.Config) *vulndb.Manager {
	tb.Helper()
	cfg.Archive = built.Archive
	if cfg.CacheDir == "" {
		cfg.CacheDir = tb.TempDir()
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = time.Hour
	}
	m, err := vulndb.New(cfg)
	if err != nil {
		tb.Fatalf("opening the test vulnerability database %s: %v", built.Archive, err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}
