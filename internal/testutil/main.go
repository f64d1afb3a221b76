package testutil

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

// Main runs a package's tests and removes the test databases afterwards;
// call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	CleanupVulnDBs()
	os.Exit(code)
}

// RemoveIfPresent removes a file a failed run of a test may have left
// behind outside its temporary directory.
func RemoveIfPresent(tb testing.TB, p string) {
	tb.Helper()
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatal(err)
	}
}
