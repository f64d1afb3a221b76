package testutil

import (
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
