package scan

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// cacheFormat versions the layout of Entry; bump it when Entry changes.
const cacheFormat = 1

// SyftVersion is the version of syft compiled in; cache entries made by
// another version are rebuilt, since catalogers change between releases.
var SyftVersion = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/anchore/syft" {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}()

// Entry is the cached result of cataloging one image digest with one scope:
// everything a later plan needs without pulling a layer.
type Entry struct {
	FormatVersion int       `json:"format_version"`
	SyftVersion   string    `json:"syft_version"`
	Digest        string    `json:"digest"`
	Scope         Scope     `json:"scope"`
	Created       time.Time `json:"created"`
	// Layers maps each layer's diff_id to its blob digest.
	Layers map[string]string `json:"layers"`
	// Files holds small files of the final filesystem (account files).
	Files map[string][]byte `json:"files"`
	// SyftJSON is the SBOM in syft's own lossless format.
	SyftJSON json.RawMessage `json:"sbom"`
	// Formats holds the SBOM encoded in other formats, made once so the
	// output stays byte-identical between plans.
	Formats map[string]string `json:"formats,omitempty"`
	// Initial is the set of findings (id|package|version) of the first
	// match, so findings that appear later can be called out as new.
	Initial []string `json:"initial_findings,omitempty"`
}

// Cache stores entries on disk, one file per digest and scope. Images are
// immutable by digest, so an entry never goes stale; it is only rebuilt when
// it is unreadable or was written by another format or syft version.
type Cache struct{ dir string }

// NewCache returns a cache rooted at dir (created on first write).
func NewCache(dir string) *Cache { return &Cache{dir: dir} }

func (c *Cache) path(digest string, scope Scope) string {
	return filepath.Join(c.dir, string(scope), strings.ReplaceAll(digest, ":", "-")+".json")
}

// Load returns the entry for digest and scope, or nil when there is none
// that can be trusted.
func (c *Cache) Load(digest string, scope Scope) *Entry {
	b, err := os.ReadFile(c.path(digest, scope))
	if err != nil {
		return nil
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil
	}
	if e.FormatVersion != cacheFormat || e.SyftVersion != SyftVersion || e.Digest != digest || e.Scope != scope || len(e.SyftJSON) == 0 || e.Layers == nil {
		return nil
	}
	return &e
}

// Store writes e atomically (temporary file, then rename), so concurrent
// plans never read half an entry.
func (c *Cache) Store(e *Entry) error {
	p := c.path(e.Digest, e.Scope)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating the SBOM cache directory: %w", err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".entry-*")
	if err != nil {
		return fmt.Errorf("writing the SBOM cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the SBOM cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the SBOM cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("writing the SBOM cache: %w", err)
	}
	return nil
}

// DefaultCacheDir is imagegate's SBOM cache under the user's cache directory.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "imagegate", "sbom")
}
