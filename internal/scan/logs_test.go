package scan_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// sink collects the lines of a records handler.
type sink struct {
	mu    sync.Mutex
	lines []string
}

// records is an slog.Handler writing "subsystem|LEVEL|message| key=value ..."
// lines to its sink.
type records struct {
	sink  *sink
	attrs []slog.Attr
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	sub := ""
	for _, a := range r.attrs {
		if a.Key == obs.SubsystemKey {
			sub = a.Value.String()
		}
	}
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	r.sink.lines = append(r.sink.lines, sub+"|"+rec.Level.String()+"|"+rec.Message+"|"+b.String())
	return nil
}

func (r *records) WithAttrs(as []slog.Attr) slog.Handler {
	return &records{sink: r.sink, attrs: append(append([]slog.Attr{}, r.attrs...), as...)}
}

func (r *records) WithGroup(string) slog.Handler { return r }

// take returns the lines logged since the last take.
func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.lines
	s.lines = nil
	return out
}

func hasLine(lines []string, prefix, contains string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, contains) {
			return true
		}
	}
	return false
}

// The scan logs its cache decisions and why: a miss and a catalog (with
// the packages by type) on the first scan, a hit in a later process, and a
// rebuild naming the reason when the entry cannot be used.
func TestScanLogsCacheDecisions(t *testing.T) {
	e := newEnv(t)
	e.pushVulnerable(t, "app:1", fixtures.Vulnerable{})
	rec := &sink{}
	ctx := obs.With(context.Background(), slog.New(&records{sink: rec}))
	req := scan.Request{Reference: e.reg.Ref("app:1")}
	old := testutil.VulnDBs(t).Old

	if _, err := e.scanner(t, old).Scan(ctx, req); err != nil {
		t.Fatal(err)
	}
	lines := rec.take()
	for _, want := range [][2]string{
		{"vulndb|INFO|vulnerability database ready|", "schema="},
		{"registry|INFO|resolved image reference|", "digest=sha256:"},
		{"scan|INFO|SBOM cache miss: pulling and cataloging the image|", "scope=squashed"},
		{"registry|DEBUG|pulled layer|", "cached=false"},
		{"scan|INFO|cataloged the image|", "by_type=deb=4 go-module=2 npm=2"},
		{"scan|INFO|matched the SBOM against the vulnerability database|", "findings="},
	} {
		if !hasLine(lines, want[0], want[1]) {
			t.Errorf("first scan: no line %q with %q in:\n%s", want[0], want[1], strings.Join(lines, "\n"))
		}
	}

	if _, err := e.scanner(t, old).Scan(ctx, req); err != nil {
		t.Fatal(err)
	}
	lines = rec.take()
	if !hasLine(lines, "scan|INFO|SBOM cache hit: no layer pulled|", "packages=") || !hasLine(lines, "scan|INFO|match reused", "findings=") {
		t.Errorf("second scan: no cache hit or match reuse in:\n%s", strings.Join(lines, "\n"))
	}

	entries, _ := filepath.Glob(filepath.Join(e.cacheDir, "squashed", "sha256-*[0-9a-f].json"))
	if len(entries) != 1 {
		t.Fatalf("cache entries %v", entries)
	}
	b, err := os.ReadFile(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entries[0], []byte(strings.Replace(string(b), `"syft_version":"`, `"syft_version":"0.0.1-`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.scanner(t, old).Scan(ctx, req); err != nil {
		t.Fatal(err)
	}
	lines = rec.take()
	if !hasLine(lines, "scan|INFO|SBOM cache rebuild: pulling and cataloging the image again|", "reason=the entry was cataloged by syft 0.0.1-") {
		t.Errorf("third scan: no rebuild with its reason in:\n%s", strings.Join(lines, "\n"))
	}
}
