package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// cacheFormat versions the layout of Entry; bump it when Entry changes.
const cacheFormat = 2

// The versions of syft and grype compiled in. Entries made by another syft
// are rebuilt (catalogers change between releases); matches made by another
// grype are redone.
var (
	SyftVersion  = moduleVersion("github.com/anchore/syft")
	GrypeVersion = moduleVersion("github.com/anchore/grype")
)

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

// Entry is the cached result of cataloging one image digest with one scope:
// everything a later plan needs without pulling a layer. The SBOM documents
// are separate files, read only when the image must be matched again.
type Entry struct {
	FormatVersion int       `json:"format_version"`
	SyftVersion   string    `json:"syft_version"`
	Digest        string    `json:"digest"`
	Scope         Scope     `json:"scope"`
	Created       time.Time `json:"created"`
	// Layers maps each layer's diff_id to its blob digest; LayerOrder lists
	// the diff_ids bottom first.
	Layers     map[string]string `json:"layers"`
	LayerOrder []string          `json:"layer_order"`
	// Files holds small files of the final filesystem (account files).
	Files    map[string][]byte `json:"files"`
	Distro   *Distro           `json:"distro,omitempty"`
	Packages []Package         `json:"packages"`
	// SBOMs maps a format to the SHA-256 of its document file. syft-json,
	// lossless, is always there; other formats are encoded once, on demand,
	// so they stay byte-identical between plans.
	SBOMs map[string]string `json:"sboms"`
	// Initial is the set of findings (id|package|version) of the first
	// match, so findings that appear later can be called out as new.
	Initial []string `json:"initial_findings,omitempty"`
	// Match is the last match, valid for one database and grype version.
	Match *Match `json:"match,omitempty"`
}

// Match is a match result and the database it was made with.
type Match struct {
	Key             string          `json:"key"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
}

// Cache stores entries on disk, one set of files per digest and scope.
// Images are immutable by digest, so an entry never goes stale; it is
// rebuilt when it is unreadable, was written by another format or syft
// version, or its SBOM does not match its recorded checksum.
type Cache struct{ dir string }

// NewCache returns a cache rooted at dir (created on first write).
func NewCache(dir string) *Cache { return &Cache{dir: dir} }

func (c *Cache) base(digest string, scope Scope) string {
	return filepath.Join(c.dir, string(scope), strings.ReplaceAll(digest, ":", "-"))
}

// Load returns the entry for digest and scope, or nil when there is none
// that can be trusted.
func (c *Cache) Load(digest string, scope Scope) *Entry {
	b, err := os.ReadFile(c.base(digest, scope) + ".json")
	if err != nil {
		return nil
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil
	}
	if e.FormatVersion != cacheFormat || e.SyftVersion != SyftVersion || e.Digest != digest || e.Scope != scope ||
		e.Layers == nil || e.SBOMs[FormatSyftJSON] == "" {
		return nil
	}
	return &e
}

// Store writes e atomically, so concurrent plans never read half an entry.
func (c *Cache) Store(e *Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return writeAtomic(c.base(e.Digest, e.Scope)+".json", b)
}

// Remove deletes the entry of digest and scope (its documents are
// overwritten when the image is cataloged again).
func (c *Cache) Remove(digest string, scope Scope) {
	_ = os.Remove(c.base(digest, scope) + ".json")
}

// StoreSBOM writes an SBOM document of e and records its checksum in e
// (the caller stores e).
func (c *Cache) StoreSBOM(e *Entry, format string, doc []byte) error {
	if err := writeAtomic(c.base(e.Digest, e.Scope)+"."+format+".json", doc); err != nil {
		return err
	}
	if e.SBOMs == nil {
		e.SBOMs = map[string]string{}
	}
	e.SBOMs[format] = sha256Hex(doc)
	return nil
}

// LoadSBOM reads an SBOM document of e, refusing one that does not match
// its recorded checksum.
func (c *Cache) LoadSBOM(e *Entry, format string) ([]byte, error) {
	want, ok := e.SBOMs[format]
	if !ok {
		return nil, os.ErrNotExist
	}
	doc, err := os.ReadFile(c.base(e.Digest, e.Scope) + "." + format + ".json")
	if err != nil {
		return nil, err
	}
	if sha256Hex(doc) != want {
		return nil, fmt.Errorf("the cached %s SBOM of %s does not match its checksum", format, e.Digest)
	}
	return doc, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func writeAtomic(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating the SBOM cache directory: %w", err)
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
