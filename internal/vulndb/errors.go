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

// Hint says how to fix the database.
func (e *Error) Hint() string {
	const update = "Let the provider download a current database (vulnerability_db.auto_update = true, the default, with update_url reachable), run `grype db update` with the same cache directory, or import an archive with vulnerability_db.archive."
	switch e.Kind {
	case KindMissing:
		return update
	case KindStale:
		return "The gate will not pass on outdated vulnerability data. " + update + " Raise vulnerability_db.max_age only if older data is acceptable."
	case KindCorrupt, KindChecksum, KindSchema:
		return "Delete the database directory so it is not trusted again, then install a fresh one. " + update
	case KindUntrusted:
		return "The vulnerability database directory is a trust boundary: whoever can write it decides what the gate finds. Make vulnerability_db.cache_dir, its 6/ directory and 6/vulnerability.db owned by the user running Terraform and writable by no one else (chmod go-w), or point cache_dir at a private directory of your own."
	case KindFuture:
		return "A build time in the future means this machine's clock is wrong or the database was tampered with. Check the clock (NTP); if it is right, delete the database directory so it is not trusted again, then install a fresh one. " + update
	case KindUpdate:
		return "Check that vulnerability_db.update_url is reachable from where Terraform runs (and ca_cert, if it uses a private CA), or set require_update_check = false to fall back to the installed database when the check fails."
	}
	return "Check the vulnerability_db settings of the provider."
}
