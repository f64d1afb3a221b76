//go:build unix

package private_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/private"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vulnerability.db")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
		want string // "" for accepted
	}{
		{dir, 0o700, ""},
		{dir, 0o755, ""},
		{dir, 0o775, "can be written by other users (mode -rwxrwxr-x); remove their write access (chmod go-w " + dir + ")"},
		{dir, 0o757, "can be written by other users"},
		{file, 0o644, ""},
		{file, 0o666, "can be written by other users (mode -rw-rw-rw-); remove their write access (chmod go-w " + file + ")"},
	} {
		if err := os.Chmod(tc.path, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := private.Check(tc.path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s mode %s: %v", tc.path, tc.mode, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s mode %s: got %v, want an error containing %q", tc.path, tc.mode, err, tc.want)
		case tc.want != "":
			if pe, ok := errors.AsType[*private.Error](err); !ok || pe.Reason != private.ReasonWritable || pe.Path != tc.path {
				t.Errorf("%s mode %s: got %#v, want a *private.Error for writable by others", tc.path, tc.mode, err)
			}
		}
		_ = os.Chmod(tc.path, 0o700)
	}
	if err := private.Check(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing path: got %v, want a not-exist error", err)
	}
}

// Another owner is refused even when only the owner can write: as root
// the test gives a directory to nobody (65534), otherwise it checks "/",
// which root owns.
func TestCheckOtherOwner(t *testing.T) {
	path, uid := "/", "0"
	if os.Getuid() == 0 {
		path, uid = t.TempDir(), "65534"
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	err := private.Check(path)
	if err == nil || err.Error() != path+" belongs to another user (uid "+uid+")" {
		t.Errorf("got %v", err)
	}
	if pe, ok := errors.AsType[*private.Error](err); !ok || pe.Reason != private.ReasonOwner {
		t.Errorf("got %#v, want a *private.Error for another owner", err)
	}
}
