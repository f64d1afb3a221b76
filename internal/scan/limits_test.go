package scan_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// limitedScanner is a scanner over the env's database and cache whose
// registry client has opts (and may reach host over plain HTTP).
func limitedScanner(t *testing.T, e *env, host string, opts registry.Options, scanOpts ...scan.Option) *scan.Scanner {
	t.Helper()
	opts.InsecureRegistries = []string{e.reg.Host, host}
	opts.Keychain = authn.NewMultiKeychain()
	c, err := registry.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	m := testutil.OpenVulnDB(t, testutil.VulnDBs(t).Old, vulndb.Config{CacheDir: e.dbDir, ValidateChecksum: true})
	return scan.New(c, m, e.cacheDir, scanOpts...)
}

// scanWithin scans ref, failing the test if the scan has not finished well
// within the test timeout: a hostile image must not hang a plan.
func scanWithin(t *testing.T, s *scan.Scanner, ref string) (*scan.Result, error) {
	t.Helper()
	type result struct {
		res *scan.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := s.Scan(context.Background(), scan.Request{Reference: ref})
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(3 * time.Minute):
		t.Fatal("the scan did not finish")
		return nil, nil
	}
}

// tarLayer builds a layer from raw tar headers, which may be hostile.
func tarLayer(t *testing.T, entries []tar.Header, bodies map[string][]byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h.ModTime = testutil.Created
		body := bodies[h.Name]
		h.Size = int64(len(body))
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func limitError(t *testing.T, err error, setting, image string) {
	t.Helper()
	var le *registry.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a *registry.LimitError", err)
	}
	if le.Setting != setting || le.Image != image || !strings.Contains(err.Error(), setting) || !strings.Contains(err.Error(), image) || !strings.Contains(err.Error(), "raise "+setting+" in the provider configuration") {
		t.Fatalf("the error does not name the image %s, the setting %s and what to do: %v", image, setting, err)
	}
}

// isolateTemp points the unpacking at a fresh directory deep inside a
// test root, and returns both.
func isolateTemp(t *testing.T) (root, tmp string) {
	testutil.VulnDBs(t) // built once per package, so not under this test's TMPDIR
	root = t.TempDir()
	tmp = filepath.Join(root, "a", "b", "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	return root, tmp
}

func TestScanHostileLayers(t *testing.T) {
	e := newEnv(t)
	root, tmp := isolateTemp(t)
	layer := tarLayer(t, []tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		// Path traversal: must never be written outside the unpacking root.
		{Name: "../../etc/x", Typeflag: tar.TypeReg},
		{Name: "../../../../escaped", Typeflag: tar.TypeReg},
		// Symlink loops, one of them through the account files the user
		// rule reads, one through a directory.
		{Name: "etc/passwd", Typeflag: tar.TypeSymlink, Linkname: "group"},
		{Name: "etc/group", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "loop/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "loop/self", Typeflag: tar.TypeSymlink, Linkname: "."},
		{Name: "loop/a", Typeflag: tar.TypeSymlink, Linkname: "b"},
		{Name: "loop/b", Typeflag: tar.TypeSymlink, Linkname: "a"},
	}, map[string][]byte{"../../etc/x": []byte("escaped"), "../../../../escaped": []byte("escaped")})
	pinned := e.reg.Push(t, "hostile:1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{layer}}))
	s := limitedScanner(t, e, e.reg.Host, registry.Options{})
	res, err := scanWithin(t, s, e.reg.Ref("hostile:1"))
	if err != nil {
		t.Fatalf("a layer with traversal entries and symlink loops should scan (and find nothing): %v", err)
	}
	if res.PinnedReference != pinned || res.PackageCount != 0 || len(res.Files) != 0 {
		t.Errorf("scan of the hostile image: %s, %d packages, files %v", res.PinnedReference, res.PackageCount, res.Files)
	}
	// Nothing was written outside the unpacking root, and nothing is left in it.
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasPrefix(p, tmp+string(filepath.Separator)) {
			t.Errorf("%s was written outside the unpacking root %s", p, tmp)
		}
		if !d.IsDir() && (d.Name() == "x" || d.Name() == "escaped") {
			t.Errorf("a traversal entry was written to %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestScanLimitsFailClosed(t *testing.T) {
	e := newEnv(t)
	_, tmp := isolateTemp(t)
	// 8 MiB of zeros compresses to a few KiB: a small pull that unpacks big.
	zeros := testutil.Layer(t, testutil.Files{"zeros": make([]byte, 8<<20)})
	bombImg := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{zeros}})
	bomb := e.reg.Push(t, "bomb:1", bombImg)
	config, err := bombImg.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	many := e.reg.Push(t, "many:1", testutil.RandomImage(t, 3, v1.Config{}))

	t.Run("max_image_size", func(t *testing.T) {
		s := limitedScanner(t, e, e.reg.Host, registry.Options{MaxImageSize: 1 << 20})
		_, err := scanWithin(t, s, e.reg.Ref("bomb:1"))
		limitError(t, err, "max_image_size", bomb)
		if !strings.Contains(err.Error(), "larger than max_image_size (1.0 MiB) uncompressed") {
			t.Errorf("message: %v", err)
		}
		// The partial layer was removed with the rest of the unpacking.
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("left behind in the temporary directory: %v", left)
		}
	})
	t.Run("max_image_layers", func(t *testing.T) {
		s := limitedScanner(t, e, e.reg.Host, registry.Options{MaxImageLayers: 2})
		e.reg.ResetRequests()
		_, err := scanWithin(t, s, e.reg.Ref("many:1"))
		limitError(t, err, "max_image_layers", many)
		if n := e.reg.BlobRequests(); n > 1 { // the config only
			t.Errorf("%d blobs fetched before the layer count was refused: %v", n, e.reg.Requests())
		}
	})
	t.Run("scan_timeout", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		// The registry answers everything but layer blobs, which never come.
		host := e.reg.Faulty(t, func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") || strings.HasSuffix(r.URL.Path, config.String()) {
				return false
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return true
		})
		s := limitedScanner(t, e, host, registry.Options{RequestTimeout: 10 * time.Minute}, scan.WithTimeout(time.Second))
		ref := host + "/bomb:1"
		_, err := scanWithin(t, s, ref)
		limitError(t, err, "scan_timeout", strings.Replace(bomb, e.reg.Host, host, 1))
		if !strings.Contains(err.Error(), "was not scanned within scan_timeout (1s)") {
			t.Errorf("message: %v", err)
		}
	})
}
