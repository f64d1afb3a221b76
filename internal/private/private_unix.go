//go:build unix

package private

import (
	"os"
	"syscall"
)

// Check refuses path with an *Error when another user owns it or when its
// group or others can write it.
func Check(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &Error{Path: path, Reason: ReasonWritable, Mode: perm}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return &Error{Path: path, Reason: ReasonOwner, UID: int(st.Uid)}
	}
	return nil
}
