package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/imagefs"
	"github.com/imagegate/terraform-provider-imagegate/internal/private"
)

// cacheFormat versions the entry layout and the way it is made: bump it
// when Entry, the syft configuration of catalog, matchers() or convert()
// change, so no plan trusts a result the current code would not produce.
const cacheFormat = 10 // 8: entries record their licenses; 9: findings carry the package locations; 10: attested entries record their signer

// The versions of syft and grype compiled in, and of the provider itself.
// Entries made by another syft are rebuilt (catalogers change between
// releases); matches made by another grype or another provider build are
// redone.
var (
	SyftVersion  = moduleVersion("github.com/anchore/syft")
	GrypeVersion = moduleVersion("github.com/anchore/grype")
	BuildID      = buildID()
)

// buildID names the provider build: its module version and, for builds
// from a checkout, the VCS revision.
func buildID() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var id strings.Builder
	id.WriteString(bi.Main.Version)
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			id.WriteString(" " + s.Value)
		}
	}
	return id.String()
}

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
	Files map[string][]byte `json:"files"`
	// Hygiene holds the CIS hygiene facts of the final filesystem (setuid
	// files, secret files, the redacted /etc/shadow), read in the same
	// pass as Files.
	Hygiene  *imagefs.Facts `json:"hygiene"`
	Distro   *Distro        `json:"distro,omitempty"`
	Packages []Package      `json:"packages"`
	// SBOMs maps a format to the SHA-256 of its document file. syft-json,
	// lossless, is always there; other formats are encoded once, on demand,
	// so they stay byte-identical between plans.
	SBOMs map[string]string `json:"sboms"`
	// Initial is the set of findings (id|package|version) of the first
	// match, so findings that appear later can be called out as new.
	Initial []string `json:"initial_findings,omitempty"`
	// Match is the last match, valid for one database and grype version.
	Match *Match `json:"match,omitempty"`

	// Licenses is true when the SBOM was cataloged with syft's license
	// scanner and so carries the packages' licenses. Without them the SBOM
	// is only matched: a request for an SBOM output catalogs the image
	// again, with licenses, and a request without one uses either.
	Licenses bool `json:"licenses"`
	// Source is where the SBOM came from: SourceCatalog (empty) for a
	// catalog of the layers, SourceAttestation for a verified SBOM
	// attestation, whose entry has no Files and no Hygiene. Attestation
	// then names the attestation and its signer.
	Source      string `json:"source,omitempty"`
	Attestation string `json:"attestation,omitempty"`
	// SignerKeyID is the key that signed that attestation (verify's
	// Signer.KeyID): the entry is reused only while that key is trusted.
	SignerKeyID string `json:"signer_key_id,omitempty"`
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
//
// The cache is a trust boundary: whoever can write it can decide what a
// later plan finds. Its directories are created private (0700), and a
// cache directory that another user owns, or that others can write, is
// not used at all (see untrusted).
type Cache struct {
	dir string
	// checked remembers the ownership check of dir.
	checkOnce sync.Once
	checkErr  error
}

// NewCache returns a cache rooted at dir (created on first write).
func NewCache(dir string) *Cache { return &Cache{dir: dir} }

// untrusted creates the cache directory privately, or says why an existing
// one cannot be trusted.
func (c *Cache) untrusted() error {
	c.checkOnce.Do(func() {
		if c.dir == "" {
			c.checkErr = errors.New("no SBOM cache directory is configured")
			return
		}
		if err := os.MkdirAll(c.dir, 0o700); err != nil {
			c.checkErr = fmt.Errorf("creating the SBOM cache directory %s: %w", c.dir, err)
			return
		}
		c.checkErr = private.Check(c.dir)
	})
	return c.checkErr
}

// CacheUnused starts the scan warning of an SBOM cache that is not used,
// so the provider can say which setting chooses the directory.
const CacheUnused = "The SBOM cache is not used"

// Warning says why the cache is not used, or "".
func (c *Cache) Warning() string {
	if err := c.untrusted(); err != nil {
		return fmt.Sprintf("%s, so every plan pulls and catalogs the image again: %v.", CacheUnused, err)
	}
	return ""
}

func (c *Cache) base(digest string, scope Scope) string {
	return filepath.Join(c.dir, string(scope), strings.ReplaceAll(digest, ":", "-"))
}

// Load returns the entry for digest and scope, or nil when there is none
// that can be trusted.
func (c *Cache) Load(digest string, scope Scope) *Entry {
	e, _ := c.load(digest, scope)
	return e
}

// load is Load, saying why there is no usable entry: "" on a hit, "miss"
// when there is none, or why the one there cannot be used (and is
// rebuilt).
func (c *Cache) load(digest string, scope Scope) (*Entry, string) {
	if err := c.untrusted(); err != nil {
		return nil, "the cache is not used: " + err.Error()
	}
	b, err := os.ReadFile(c.base(digest, scope) + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return nil, "miss"
	}
	if err != nil {
		return nil, "the entry cannot be read"
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, "the entry is not valid JSON"
	}
	switch {
	case e.FormatVersion != cacheFormat:
		return nil, fmt.Sprintf("the entry has format %d, this provider writes %d", e.FormatVersion, cacheFormat)
	case e.SyftVersion != SyftVersion:
		return nil, fmt.Sprintf("the entry was cataloged by syft %s, this provider has %s", e.SyftVersion, SyftVersion)
	case e.Digest != digest || e.Scope != scope:
		return nil, "the entry is for another digest or scope"
	case e.Layers == nil || e.SBOMs[FormatSyftJSON] == "" || (e.Hygiene == nil && e.Source != SourceAttestation):
		return nil, "the entry is incomplete"
	}
	return &e, ""
}

// Store writes e atomically, so concurrent plans never read half an entry.
func (c *Cache) Store(e *Entry) error {
	if err := c.untrusted(); err != nil {
		return err
	}
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

// StoreSBOM records the checksum of an SBOM document of e and writes it
// (the caller stores e). A write error only costs a later re-catalog.
func (c *Cache) StoreSBOM(e *Entry, format string, doc []byte) error {
	if e.SBOMs == nil {
		e.SBOMs = map[string]string{}
	}
	e.SBOMs[format] = sha256Hex(doc)
	if err := c.untrusted(); err != nil {
		return err
	}
	return writeAtomic(c.base(e.Digest, e.Scope)+"."+format+".json", doc)
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
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("creating the SBOM cache directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".entry-*")
	if err != nil {
		return fmt.Errorf("writing the SBOM cache: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone already once renamed
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

// DefaultCacheDir is imagegate's SBOM cache under the user's cache
// directory, or "" when the user has none (never a shared temporary
// directory, which other users could write).
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "imagegate", "sbom")
}
