//go:build !unix

package vulndb

import "context"

// lockFile is a no-op where flock is unavailable; updates there rely on
// grype's download-then-rename alone.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
