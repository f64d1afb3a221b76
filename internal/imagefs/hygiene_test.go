package imagefs_test

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/imagefs"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

func open(t *testing.T, layers ...[]fixtures.Entry) *imagefs.FS {
	t.Helper()
	var ls []v1.Layer
	for _, es := range layers {
		l, err := fixtures.RawLayer(es)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := fixtures.Image(fixtures.Spec{Layers: ls})
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := imagefs.Open(context.Background(), img, "example.com/test:1", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func paths[T any](xs []T, path func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, path(x))
	}
	return out
}

// Only the final filesystem counts: a setuid file removed by a later layer
// (a whiteout, or an opaque whiteout of its directory) is not reported, nor
// one whose bit a later layer cleared.
func TestHygieneSetuidHonoursWhiteouts(t *testing.T) {
	fsys := open(t,
		[]fixtures.Entry{
			{Name: "usr/", Typeflag: tar.TypeDir}, {Name: "usr/bin/", Typeflag: tar.TypeDir},
			{Name: "usr/bin/passwd", Mode: 0o4755, Body: []byte("x")},
			{Name: "usr/bin/su", Mode: 0o4755, Body: []byte("x")},
			{Name: "usr/bin/wall", Mode: 0o2755, Body: []byte("x")},
			{Name: "usr/bin/chfn", Mode: 0o4755, Body: []byte("x")},
			{Name: "usr/bin/plain", Mode: 0o755, Body: []byte("x")},
			{Name: "opt/", Typeflag: tar.TypeDir}, {Name: "opt/tool/", Typeflag: tar.TypeDir},
			{Name: "opt/tool/helper", Mode: 0o4755, Body: []byte("x")},
		},
		[]fixtures.Entry{
			{Name: "usr/bin/.wh.su", Body: []byte{}},
			{Name: "usr/bin/chfn", Mode: 0o755, Body: []byte("y")},
			{Name: "opt/tool/", Typeflag: tar.TypeDir},
			{Name: "opt/tool/.wh..wh..opq", Body: []byte{}},
			{Name: "opt/tool/readme", Body: []byte("z")},
		},
	)
	f, err := fsys.Hygiene()
	if err != nil {
		t.Fatal(err)
	}
	want := []imagefs.SpecialFile{{Path: "/usr/bin/passwd", Setuid: true}, {Path: "/usr/bin/wall", Setgid: true}}
	if !slices.Equal(f.Special, want) || f.SpecialOmitted != 0 {
		t.Errorf("special files = %+v (omitted %d), want %+v", f.Special, f.SpecialOmitted, want)
	}
}

// Secret files are named by path and kind; content-dependent candidates are
// reported only when their content shows a credential, and no content is
// kept. /etc/shadow is kept with its hashes redacted.
func TestHygieneSecretFilesAndShadow(t *testing.T) {
	fsys := open(t, []fixtures.Entry{
		{Name: "root/.ssh/id_rsa", Body: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nS3CR3T\n")},
		{Name: "root/.ssh/id_rsa.pub", Body: []byte("ssh-rsa AAAA")},
		{Name: "root/.docker/config.json", Body: []byte(`{"auths":{"r.example.com":{"auth":"S3CR3T"}}}`)},
		{Name: "home/app/.docker/config.json", Body: []byte(`{"credsStore":"pass"}`)},
		{Name: "app/tls.key", Body: []byte("-----BEGIN EC PRIVATE KEY-----\nS3CR3T")},
		{Name: "app/ca.pem", Body: []byte("-----BEGIN CERTIFICATE-----\n")},
		{Name: "home/app/.aws/credentials", Body: []byte("[default]\naws_secret_access_key=S3CR3T\n")},
		{Name: "etc/shadow", Body: []byte("root:$6$salt$S3CR3Thash:19000:0:99999:7:::\nnobody:!:19000::::::\nguest::19000::::::\n")},
	})
	f, err := fsys.Hygiene()
	if err != nil {
		t.Fatal(err)
	}
	got := paths(f.Secrets, func(s imagefs.SecretFile) string { return s.Path + " (" + s.Kind + ")" })
	want := []string{
		"/app/tls.key (private key)",
		"/home/app/.aws/credentials (AWS credentials)",
		"/root/.docker/config.json (Docker registry credentials)",
		"/root/.ssh/id_rsa (SSH private key)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("secret files = %q, want %q", got, want)
	}
	if got, want := string(f.Shadow), "root:<redacted>\nnobody:<redacted>\nguest:\n"; got != want {
		t.Errorf("shadow = %q, want %q", got, want)
	}
}

// Hostile entries: a path traversal name lands inside the image's own tree
// (and nothing is written outside the temporary root), a symlink loop and a
// symlink named like a secret are not followed.
func TestHygieneHostileEntries(t *testing.T) {
	escape := filepath.Join(os.TempDir(), "imagegate-escape-"+strings.ReplaceAll(t.Name(), "/", "_"))
	testutil.RemoveIfPresent(t, escape)
	rel := strings.Repeat("../", 12) + strings.TrimPrefix(escape, "/")
	fsys := open(t, []fixtures.Entry{
		{Name: rel, Mode: 0o4755, Body: []byte("x")},
		{Name: "loop/", Typeflag: tar.TypeDir},
		{Name: "loop/a", Typeflag: tar.TypeSymlink, Linkname: "b"},
		{Name: "loop/b", Typeflag: tar.TypeSymlink, Linkname: "a"},
		{Name: "loop/id_rsa", Typeflag: tar.TypeSymlink, Linkname: "id_rsa"},
		{Name: "etc/shadow", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"},
	})
	f, err := fsys.Hygiene()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(escape); err == nil {
		testutil.RemoveIfPresent(t, escape)
		t.Fatalf("a traversal entry was written outside the temporary root: %s", escape)
	}
	if got, want := paths(f.Special, func(s imagefs.SpecialFile) string { return s.Path }), []string{escape}; !slices.Equal(got, want) {
		t.Errorf("special files = %q, want the traversal entry inside the image tree %q", got, want)
	}
	if len(f.Secrets) != 0 || f.Shadow != nil {
		t.Errorf("links were followed: secrets %+v, shadow %q", f.Secrets, f.Shadow)
	}
}

// A large zero-filled layer whose file is named like a key: the check reads
// a bounded prefix and finishes with a clear result.
func TestHygieneLargeZeroFilledLayerIsBounded(t *testing.T) {
	const size = 256 << 20
	fsys := open(t, []fixtures.Entry{{Name: "app/huge.key", Size: size}, {Name: "app/zeros", Size: size, Mode: 0o4755}})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := fsys.Hygiene()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Secrets) != 0 || !slices.Equal(f.Special, []imagefs.SpecialFile{{Path: "/app/zeros", Setuid: true}}) {
		t.Errorf("facts = %+v", f)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("gathering the facts allocated %d bytes; reads must be bounded", alloc)
	}
}

// More special files than MaxListed are counted, not silently dropped.
func TestHygieneCountsOmitted(t *testing.T) {
	var es []fixtures.Entry
	for i := range imagefs.MaxListed + 5 {
		es = append(es, fixtures.Entry{Name: "bin/f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i), Mode: 0o4755, Body: []byte{}})
	}
	f, err := open(t, es).Hygiene()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Special) != imagefs.MaxListed || f.SpecialOmitted != 5 {
		t.Errorf("listed %d, omitted %d; want %d and 5", len(f.Special), f.SpecialOmitted, imagefs.MaxListed)
	}
}

// A credential file a later layer removed or replaced is invisible to a
// container but extractable from its layer: it is reported with that layer.
// One the final filesystem holds is reported once, as it is.
func TestHygieneSecretsInEarlierLayers(t *testing.T) {
	key := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nS3CR3T\n")
	fsys := open(t,
		[]fixtures.Entry{
			{Name: "root/.ssh/id_rsa", Body: key},
			{Name: "app/tls.key", Body: []byte("-----BEGIN EC PRIVATE KEY-----\nS3CR3T")},
			{Name: "home/app/.aws/credentials", Body: []byte("[default]\naws_secret_access_key=S3CR3T\n")},
			{Name: "srv/id_ed25519", Body: key},
		},
		[]fixtures.Entry{
			{Name: "root/.ssh/.wh.id_rsa", Body: []byte{}},
			{Name: "app/tls.key", Body: []byte("placeholder")},
		},
	)
	f, err := fsys.Hygiene()
	if err != nil {
		t.Fatal(err)
	}
	got := paths(f.Secrets, func(s imagefs.SecretFile) string { return s.Path + " (" + s.Kind + ")" })
	want := []string{
		"/app/tls.key (private key, in layer 1 and removed or replaced by a later layer, but still extractable from the image)",
		"/home/app/.aws/credentials (AWS credentials)",
		"/root/.ssh/id_rsa (SSH private key, in layer 1 and removed or replaced by a later layer, but still extractable from the image)",
		"/srv/id_ed25519 (SSH private key)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("secret files =\n%q\nwant\n%q", got, want)
	}
}
