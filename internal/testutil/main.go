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

// As is v as a T, or fails the test: a checked type assertion for decoded
// JSON and schema values.
func As[T any](tb testing.TB, v any) T {
	tb.Helper()
	x, ok := v.(T)
	if !ok {
		tb.Fatalf("%T is not a %T", v, x)
	}
	return x
}
