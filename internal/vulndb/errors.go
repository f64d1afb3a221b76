package vulndb

import (
	"fmt"
	"time"
)

// Kind sorts database failures by what the user has to do about them.
type Kind int

// The kinds of Error.
const (
	KindConfig Kind = iota
	KindMissing
	KindStale
	KindCorrupt
	KindChecksum
	KindSchema
	KindUpdate
	// KindUntrusted is a database directory or file that other users can
	// write, so they could decide what the gate finds.
	KindUntrusted
	// KindFuture is a database built later than this machine's clock
	// allows: a wrong clock or a tampered database.
	KindFuture
)

// Error is a database that cannot be used, naming what was found.
type Error struct {
	Kind  Kind
	Path  string
	Built time.Time
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("vulnerability database %s: %v", e.Path, e.Err) }
func (e *Error) Unwrap() error { return e.Err }
