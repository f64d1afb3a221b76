// Package private checks the trust boundaries on disk: a directory or file
// whose contents decide what a gate finds (the SBOM cache, the
// vulnerability database) must be writable only by the user running
// Terraform, or whoever else can write it decides the result.
package private

import (
	"fmt"
	"io/fs"
)

// Reason says why a path cannot be trusted.
type Reason int

// The reasons of Error.
const (
	// ReasonWritable is a path that other users can write.
	ReasonWritable Reason = iota + 1
	// ReasonOwner is a path that another user owns.
	ReasonOwner
)

// Error is a path that cannot be trusted, stated as facts: the caller
// knows which setting chose the path and says what to change.
type Error struct {
	Path   string
	Reason Reason
	Mode   fs.FileMode // for ReasonWritable
	UID    int         // for ReasonOwner
}

func (e *Error) Error() string {
	if e.Reason == ReasonOwner {
		return fmt.Sprintf("%s belongs to another user (uid %d)", e.Path, e.UID)
	}
	return fmt.Sprintf("%s can be written by other users (mode %s); remove their write access (chmod go-w %s)", e.Path, e.Mode, e.Path)
}
