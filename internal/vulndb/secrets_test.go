package vulndb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/databases":                            "https://example.com/databases",
		"https://user:pa55word@example.com/v6/latest.json":         "https://<redacted>@example.com/v6/latest.json",
		"https://ghp_t0ken@example.com/latest.json":                "https://<redacted>@example.com/latest.json",
		"https://example.com/latest.json?token=abc123&x-sig=q%2Fr": "https://example.com/latest.json?token=<redacted>&x-sig=<redacted>",
		"https://example.com/latest.json?abc123":                   "https://example.com/latest.json?<redacted>",
		"https://example.com/latest.json#frag-token":               "https://example.com/latest.json#<redacted>",
		"http://127.0.0.1:8080/db?":                                "http://127.0.0.1:8080/db?",
		"https://exa mple.com/%zz":                                 "(update_url, not shown: it is not a valid URL)",
	} {
		if got := vulndb.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// secretURL puts a password, a token used as a user name and a query token
// into an update URL on base (scheme://host[:port]).
func secretURL(base, user string) string {
	scheme, host, _ := strings.Cut(base, "://")
	return scheme + "://" + user + ":pw-s3cr3t-1@" + host + "/latest.json?token=qt-s3cr3t-2&sig=a%2Fs3cr3t-3"
}

func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{"pw-s3cr3t-1", "qt-s3cr3t-2", "s3cr3t-3", "ghp-s3cr3t-0"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the secret %q: %s", what, secret, s)
		}
	}
}

// update_url's credentials appear in no error, warning or status, whether
// the listing is unreachable, the download fails after grype rewrote the
// URL, or the update succeeds.
func TestUpdateURLCredentialsNotShown(t *testing.T) {
	unreachable := secretURL("http://127.0.0.1:1", "ghp-s3cr3t-0")
	cfg := vulndb.Config{AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: unreachable}
	_, err := newManager(t, cfg).Get(context.Background())
	if kind(t, err) != vulndb.KindUpdate || !strings.Contains(err.Error(), "http://<redacted>@127.0.0.1:1/latest.json?token=<redacted>&sig=<redacted>") {
		t.Fatalf("unreachable, required: %v", err)
	}
	assertNoSecrets(t, "the update error", err.Error())

	cfg.RequireUpdateCheck, cfg.CacheDir = false, installed(t)
	db, err := newManager(t, cfg).Get(context.Background())
	if err != nil || len(db.Warnings) != 1 || !strings.Contains(db.Warnings[0], "127.0.0.1:1") {
		t.Fatalf("unreachable, not required: %v %v", err, db)
	}
	assertNoSecrets(t, "the update warning", db.Warnings[0])

	// The listing is served, the archive fails its checksum: grype's error
	// quotes the archive URL it built from update_url.
	bad := testutil.NewDBServer(t, testutil.ListingWithChecksum(t, first, "sha256:"+strings.Repeat("0", 64)))
	_, err = newManager(t, vulndb.Config{AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: secretURL(bad.Server.URL, "ghp-s3cr3t-0")}).Get(context.Background())
	if kind(t, err) != vulndb.KindUpdate {
		t.Fatalf("bad archive: %v", err)
	}
	assertNoSecrets(t, "the download error", err.Error())

	good := testutil.NewDBServer(t, first)
	db, err = newManager(t, vulndb.Config{AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: secretURL(good.Server.URL, "ghp-s3cr3t-0")}).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(db.Status.Source, "<redacted>") {
		t.Errorf("source %q: the credentials are not redacted", db.Status.Source)
	}
	assertNoSecrets(t, "the database source", db.Status.Source)
}

func TestInvalidUpdateURLNotShown(t *testing.T) {
	_, err := vulndb.New(vulndb.Config{MaxAge: time.Hour, UpdateURL: "https://u:pw-s3cr3t-1@exa mple.com/"})
	if err == nil || !strings.Contains(err.Error(), "the update URL is not a valid URL") {
		t.Fatalf("got %v", err)
	}
	assertNoSecrets(t, "the validation error", err.Error())
}

// The database directory is a trust boundary: a cache directory, schema
// directory or database file that other users can write is refused with
// the fix, before anything in it is used.
func TestUntrustedDatabaseRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(dir string) string
		mode os.FileMode
	}{
		{"cache_dir", func(dir string) string { return dir }, 0o777},
		{"schema dir", func(dir string) string { return filepath.Join(dir, "6") }, 0o770},
		{"database file", func(dir string) string { return filepath.Join(dir, "6", "vulnerability.db") }, 0o666},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := installed(t)
			p := tc.path(dir)
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := newManager(t, vulndb.Config{CacheDir: dir, ValidateChecksum: true}).Get(context.Background())
			if kind(t, err) != vulndb.KindUntrusted || !strings.Contains(err.Error(), p+" can be written by other users") || !strings.Contains(err.Error(), "chmod go-w "+p) {
				t.Fatalf("got %v", err)
			}
			// The fix the message gives works.
			if err := os.Chmod(p, tc.mode&^0o022); err != nil {
				t.Fatal(err)
			}
			if _, err := newManager(t, vulndb.Config{CacheDir: dir, ValidateChecksum: true}).Get(context.Background()); err != nil {
				t.Fatalf("after chmod go-w: %v", err)
			}
		})
	}
}

// A database the provider installs itself under a permissive umask is
// made private rather than refused.
func TestOwnInstallIsPrivateUnderPermissiveUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	srv := testutil.NewDBServer(t, first)
	if _, err := newManager(t, vulndb.Config{CacheDir: dir, AutoUpdate: true, RequireUpdateCheck: true, UpdateURL: srv.URL()}).Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "6"), filepath.Join(dir, "6", "vulnerability.db")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s is left writable by others: %s", p, fi.Mode().Perm())
		}
	}
}

// A database built in the future, beyond a small clock skew, is refused:
// it would otherwise pass the age check for longer than max_age.
func TestFutureDatabaseRefused(t *testing.T) {
	dir := installed(t)
	earlier := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	_, err := newManager(t, vulndb.Config{CacheDir: dir, Now: earlier}).Get(context.Background())
	if kind(t, err) != vulndb.KindFuture || !strings.Contains(err.Error(), "after this machine's clock; more than the 1h0m0s of clock skew allowed") {
		t.Fatalf("got %v", err)
	}
	// Within the skew the database is used.
	skewed := func() time.Time { return time.Now().Add(-30 * time.Minute) }
	if _, err := newManager(t, vulndb.Config{CacheDir: dir, Now: skewed}).Get(context.Background()); err != nil {
		t.Fatalf("30 minutes of skew: %v", err)
	}
}
