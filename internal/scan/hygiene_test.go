package scan_test

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/imagefs"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// The hygiene facts are read in the catalog's pass over the layers and
// cached with the entry: a later plan gets them without pulling a layer,
// the cache holds no shadow hash or key content, and an entry without them
// (an earlier format) is rebuilt, never read as "no setuid files".
func TestHygieneFactsAreCachedWithTheEntry(t *testing.T) {
	e := newEnv(t)
	base := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	extra, err := fixtures.RawLayer([]fixtures.Entry{
		{Name: "usr/", Typeflag: tar.TypeDir}, {Name: "usr/bin/", Typeflag: tar.TypeDir},
		{Name: "usr/bin/su", Mode: 0o4755, Body: []byte("x")},
		{Name: "root/", Typeflag: tar.TypeDir}, {Name: "root/.ssh/", Typeflag: tar.TypeDir},
		{Name: "root/.ssh/id_ed25519", Mode: 0o600, Body: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nkeyS3CR3T\n")},
		{Name: "etc/", Typeflag: tar.TypeDir},
		{Name: "etc/shadow", Body: []byte("root:$6$salt$hashS3CR3T:19000::::::\nguest::19000::::::\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "app:1", testutil.Image(t, testutil.Spec{Layers: []v1.Layer{base, extra}}))
	ctx := context.Background()
	req := scan.Request{Reference: e.reg.Ref("app:1")}
	first, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := &imagefs.Facts{
		Special: []imagefs.SpecialFile{{Path: "/usr/bin/su", Setuid: true}},
		Secrets: []imagefs.SecretFile{{Path: "/root/.ssh/id_ed25519", Kind: "SSH private key"}},
		Shadow:  []byte("root:<redacted>\nguest:\n"),
	}
	if !reflect.DeepEqual(first.Hygiene, want) {
		t.Fatalf("hygiene facts %+v, want %+v", first.Hygiene, want)
	}
	e.reg.ResetRequests()
	second, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cached || e.reg.BlobRequests() != 0 || !reflect.DeepEqual(second.Hygiene, want) {
		t.Fatalf("cached scan: cached %v, blob requests %d, facts %+v", second.Cached, e.reg.BlobRequests(), second.Hygiene)
	}
	entries, _ := filepath.Glob(filepath.Join(e.cacheDir, "squashed", "sha256-*[0-9a-f].json"))
	if len(entries) != 1 {
		t.Fatalf("cache entries %v", entries)
	}
	entry := readFile(t, entries[0])
	if strings.Contains(entry, "S3CR3T") {
		t.Error("the cache entry holds a secret")
	}
	// An entry of the previous layout (no hygiene facts) is not trusted.
	old := regexp.MustCompile(`,?"hygiene":\{.*?"shadow":"[^"]*"\}`).ReplaceAllString(entry, "")
	if old == entry {
		t.Fatalf("could not remove the hygiene facts from %s", entry)
	}
	if err := os.WriteFile(entries[0], []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	e.reg.ResetRequests()
	third, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if third.Cached || e.reg.BlobRequests() == 0 || !reflect.DeepEqual(third.Hygiene, want) {
		t.Errorf("an entry without hygiene facts was trusted: cached %v, facts %+v", third.Cached, third.Hygiene)
	}
}
