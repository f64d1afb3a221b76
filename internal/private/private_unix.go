//go:build unix

package private

import (
	"fmt"
	"os"
	"syscall"
)

// Check refuses path when another user owns it or when its group or others
// can write it; setting names the provider setting that chose path, so the
// message says what to change.
func Check(path, setting string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s can be written by other users (mode %s); remove their write access (chmod go-w %s) or choose another %s", path, perm, path, setting)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to another user (uid %d); choose a %s of your own", path, st.Uid, setting)
	}
	return nil
}
