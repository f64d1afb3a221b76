package attest_test

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyManifest copies the manifest at src to the tag dst (same registry,
// blobs already there), as an attacker with push rights could.
func copyManifest(t *testing.T, src name.Reference, dst string) {
	t.Helper()
	desc, err := remote.Get(src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(dst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}
