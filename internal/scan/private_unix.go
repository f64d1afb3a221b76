//go:build unix

package scan

import (
	"fmt"
	"os"
	"syscall"
)

// checkPrivate refuses a directory another user owns or others can write.
func checkPrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s can be written by other users (mode %s); make it private (chmod 700) or choose another sbom_cache_dir", dir, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to another user (uid %d); choose an sbom_cache_dir of your own", dir, st.Uid)
	}
	return nil
}
