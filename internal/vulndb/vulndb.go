// Package vulndb manages grype's v6 vulnerability database for the provider:
// it locates it in grype's own layout (so the grype CLI and imagegate share
// one download), imports archives for air-gapped use, updates it under a
// file lock, and refuses a database that is missing, corrupt, of the wrong
// schema, tampered with or older than allowed. It never answers "no
// vulnerabilities" from a database it could not open.
package vulndb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/adrg/xdg"
	"github.com/anchore/clio"
	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/db/v6/distribution"
	"github.com/anchore/grype/grype/db/v6/installation"
	"github.com/anchore/grype/grype/vulnerability"
	"github.com/spf13/afero"

	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
	"github.com/imagegate/terraform-provider-imagegate/internal/private"
)

// SchemaMajor is the database schema this build reads.
const SchemaMajor = 6

// DefaultMaxAge is how old a database may be before scans refuse it.
const DefaultMaxAge = 120 * time.Hour

// ClockSkew is how far in the future a database's build time may be: a
// little for clocks that disagree, no more, since a database from the
// future would pass the age check for longer than max_age.
const ClockSkew = time.Hour

// Config says where the database lives and how it is kept current.
type Config struct {
	// CacheDir is the root of grype's layout: <CacheDir>/6/vulnerability.db.
	CacheDir string
	// UpdateURL is the listing (latest.json) or its base URL.
	UpdateURL string
	// AutoUpdate checks UpdateURL before the first scan of a process.
	AutoUpdate bool
	// RequireUpdateCheck makes a failed update check an error instead of a
	// warning.
	RequireUpdateCheck bool
	// MaxAge is the oldest build accepted.
	MaxAge time.Duration
	// ValidateChecksum verifies the database file against import.json.
	ValidateChecksum bool
	// CACert is a PEM file of roots for UpdateURL.
	CACert string
	// Archive is a database archive to import when it differs from the last
	// one imported (air-gapped use).
	Archive string
	// Version identifies the provider in the update check's User-Agent.
	Version string
	// Now is the clock for the age check; time.Now when nil.
	Now func() time.Time
}

// DefaultCacheDir is grype's own database cache directory.
func DefaultCacheDir() string { return filepath.Join(xdg.CacheHome, "grype", "db") }

// DefaultUpdateURL is grype's public database listing.
func DefaultUpdateURL() string { return distribution.DefaultConfig().LatestURL }

// Status describes an opened database.
type Status struct {
	Built         time.Time
	SchemaVersion string
	Checksum      string // of the database file, "xxh64:…", as import.json records it
	Path          string
	Source        string // where it was downloaded from, credentials redacted
}

// DB is an opened database, safe for concurrent matching.
type DB struct {
	Provider vulnerability.Provider
	Status   Status
	// Warnings are problems that did not stop the database from being used,
	// such as a failed optional update check.
	Warnings []string
}

// Manager opens the database at most once and hands the same DB to every
// caller: Terraform reads many data sources at once from one process.
type Manager struct {
	cfg Config
	// sem serialises opening; a waiter gives up when its own context ends,
	// since an update may take minutes.
	sem chan struct{}
	// scrub takes update_url's credentials out of every message.
	scrub *scrubber
	done  bool
	db    *DB
	err   error
}

// New validates cfg and returns a Manager; nothing is opened yet.
func New(cfg Config) (*Manager, error) {
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir()
	}
	if cfg.UpdateURL == "" {
		cfg.UpdateURL = DefaultUpdateURL()
	}
	if cfg.MaxAge <= 0 {
		return nil, fmt.Errorf("the maximum database age must be positive, got %s", cfg.MaxAge)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Archive != "" {
		if _, err := os.Stat(cfg.Archive); err != nil {
			return nil, fmt.Errorf("reading the database archive %s: %w", cfg.Archive, err)
		}
	}
	if cfg.CACert != "" {
		if _, err := os.Stat(cfg.CACert); err != nil {
			return nil, fmt.Errorf("reading the CA certificate %s: %w", cfg.CACert, err)
		}
	}
	if _, err := url.Parse(cfg.UpdateURL); err != nil {
		// url.Error quotes the URL; only the reason may be shown.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("the update URL is not a valid URL: %w", err)
	}
	return &Manager{cfg: cfg, sem: make(chan struct{}, 1), scrub: newScrubber(cfg.UpdateURL)}, nil
}

// Get opens the database on first use (importing, updating and validating
// it) and returns the same result to every later caller.
func (m *Manager) Get(ctx context.Context) (*DB, error) {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-m.sem }()
	if m.done {
		obs.From(ctx, obs.VulnDB).Debug("vulnerability database already checked in this process", "ok", m.err == nil)
	}
	if !m.done {
		m.db, m.err = m.open(ctx)
		m.err = m.scrub.scrubError(m.err)
		if m.db != nil {
			for i, w := range m.db.Warnings {
				m.db.Warnings[i] = m.scrub.text(w)
			}
			if strings.Contains(m.db.Status.Source, "://") {
				m.db.Status.Source = RedactURL(m.db.Status.Source)
			}
			m.db.Status.Source = m.scrub.text(m.db.Status.Source)
		}
		// A cancelled or timed-out read must not decide for later reads.
		m.done = !errors.Is(m.err, context.Canceled) && !errors.Is(m.err, context.DeadlineExceeded)
	}
	return m.db, m.err
}

// Close releases the database.
func (m *Manager) Close() error {
	m.sem <- struct{}{}
	defer func() { <-m.sem }()
	if m.db != nil && m.db.Provider != nil {
		err := m.db.Provider.Close()
		m.db, m.done = nil, false
		return err
	}
	return nil
}

func (m *Manager) installConfig() installation.Config {
	return installation.Config{
		DBRootDir:        m.cfg.CacheDir,
		ValidateChecksum: m.cfg.ValidateChecksum,
		// The age check is done here, against an injectable clock, with a
		// message that says what to do.
		ValidateAge:             false,
		UpdateCheckMaxFrequency: 0,
	}
}

func (m *Manager) dbPath() string { return m.installConfig().DBFilePath() }

func (m *Manager) open(ctx context.Context) (*DB, error) {
	if err := os.MkdirAll(m.cfg.CacheDir, 0o700); err != nil {
		return nil, &Error{Kind: KindConfig, Path: m.cfg.CacheDir, Err: fmt.Errorf("creating the database cache directory: %w", err)}
	}
	// Whoever can write the directory decides what the gate finds, like the
	// SBOM cache: checked before the lock file is even created in it.
	if err := private.Check(m.cfg.CacheDir); err != nil {
		return nil, &Error{Kind: KindUntrusted, Path: m.cfg.CacheDir, Err: err}
	}
	unlock, err := lockFile(ctx, filepath.Join(m.cfg.CacheDir, ".imagegate.lock"))
	if err != nil {
		return nil, &Error{Kind: KindConfig, Path: m.cfg.CacheDir, Err: fmt.Errorf("locking the database cache directory: %w", err)}
	}
	defer unlock()

	client, err := distribution.NewClient(distribution.Config{
		ID:                 clio.Identification{Name: "terraform-provider-imagegate", Version: m.cfg.Version},
		LatestURL:          m.cfg.UpdateURL,
		CACert:             m.cfg.CACert,
		RequireUpdateCheck: m.cfg.RequireUpdateCheck,
		CheckTimeout:       30 * time.Second,
		UpdateTimeout:      10 * time.Minute,
	})
	if err != nil {
		return nil, &Error{Kind: KindConfig, Path: m.cfg.CacheDir, Err: fmt.Errorf("creating the database update client: %w", err)}
	}
	cur, err := installation.NewCurator(m.installConfig(), client)
	if err != nil {
		return nil, &Error{Kind: KindConfig, Path: m.cfg.CacheDir, Err: err}
	}
	log := obs.From(ctx, obs.VulnDB)
	log.Info("checking the vulnerability database", "cache_dir", m.cfg.CacheDir, "update_url", m.scrub.safe, "auto_update", m.cfg.AutoUpdate, "max_age", m.cfg.MaxAge)
	out := &DB{}
	installed := false
	if m.cfg.Archive != "" {
		start := time.Now()
		if installed, err = m.importArchive(cur); err != nil {
			return nil, err
		}
		if installed {
			log.Info("imported the database archive", "archive", m.cfg.Archive, "duration", time.Since(start))
		} else {
			log.Info("database archive unchanged since its last import", "archive", m.cfg.Archive)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.cfg.AutoUpdate {
		start := time.Now()
		updated, err := cur.Update()
		installed = installed || updated
		switch {
		case err != nil:
			log.Warn("database update check failed", "source", m.scrub.safe, "duration", time.Since(start), "error", m.scrub.err(err).Error())
		case updated:
			var size int64
			if fi, serr := os.Stat(m.dbPath()); serr == nil {
				size = fi.Size()
			}
			log.Info("downloaded and installed a newer vulnerability database", "source", m.scrub.safe, "bytes", size, "duration", time.Since(start))
		default:
			log.Info("the installed vulnerability database is the latest", "source", m.scrub.safe, "duration", time.Since(start))
		}
		if err != nil {
			if m.cfg.RequireUpdateCheck {
				return nil, &Error{Kind: KindUpdate, Path: m.dbPath(), Err: fmt.Errorf("updating from %s: %w", m.scrub.safe, m.scrub.err(err))}
			}
			out.Warnings = append(out.Warnings, fmt.Sprintf("The vulnerability database update check against %s failed (%v); the installed database is used if it is valid and fresh enough.", m.scrub.safe, m.scrub.err(err)))
		}
	}

	if err := m.checkInstalled(installed); err != nil {
		return nil, err
	}

	st := cur.Status()
	if st.Error != nil {
		return nil, m.statusError(st.Error)
	}
	if !strings.HasPrefix(st.SchemaVersion, fmt.Sprintf("v%d.", SchemaMajor)) {
		return nil, &Error{Kind: KindSchema, Path: st.Path, Built: st.Built, Err: fmt.Errorf("the database has schema %s, this provider reads schema %d", st.SchemaVersion, SchemaMajor)}
	}
	if ahead := st.Built.Sub(m.cfg.Now()); ahead > ClockSkew {
		return nil, &Error{Kind: KindFuture, Path: st.Path, Built: st.Built, Err: fmt.Errorf("the database says it was built %s, %s after this machine's clock; more than the %s of clock skew allowed", st.Built.UTC().Format(time.RFC3339), ahead.Truncate(time.Minute), ClockSkew)}
	}
	if age := m.cfg.Now().Sub(st.Built); age > m.cfg.MaxAge {
		return nil, &Error{Kind: KindStale, Path: st.Path, Built: st.Built, Err: fmt.Errorf("the database was built %s (%s ago), more than max_age %s", st.Built.UTC().Format(time.RFC3339), age.Truncate(time.Minute), m.cfg.MaxAge)}
	}
	rdr, err := cur.Reader()
	if err != nil {
		return nil, &Error{Kind: KindCorrupt, Path: st.Path, Err: err}
	}
	log.Info("vulnerability database ready", "built", st.Built, "age", m.cfg.Now().Sub(st.Built).Truncate(time.Minute), "max_age", m.cfg.MaxAge, "schema", st.SchemaVersion, "path", st.Path)
	out.Provider = v6.NewVulnerabilityProvider(rdr)
	out.Status = Status{Built: st.Built.UTC(), SchemaVersion: st.SchemaVersion, Path: st.Path, Source: st.From}
	if im, err := v6.ReadImportMetadata(afero.NewOsFs(), filepath.Dir(st.Path)); err == nil && im != nil {
		out.Status.Checksum = im.Digest
	}
	return out, nil
}

func (m *Manager) statusError(err error) error {
	path := m.dbPath()
	msg := err.Error()
	switch {
	case errors.Is(err, v6.ErrDBDoesNotExist) || strings.Contains(msg, "database not found") || strings.Contains(msg, "does not exist"):
		return &Error{Kind: KindMissing, Path: path, Err: errors.New("no vulnerability database is installed there")}
	case strings.Contains(msg, "checksum"):
		return &Error{Kind: KindChecksum, Path: path, Err: err}
	case strings.Contains(msg, "not a v") || strings.Contains(msg, "schema"):
		return &Error{Kind: KindSchema, Path: path, Err: fmt.Errorf("the database is not of schema %d, which this provider reads: %w", SchemaMajor, err)}
	}
	return &Error{Kind: KindCorrupt, Path: path, Err: err}
}

// checkInstalled refuses a database directory or file that other users can
// write. A database this open installed itself (under the lock) is first
// made writable by its owner only, so a umask of 002 cannot make the
// provider refuse its own download; one it found is only checked.
func (m *Manager) checkInstalled(installed bool) error {
	for _, p := range []string{filepath.Dir(m.dbPath()), m.dbPath()} {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue // a missing database is reported by its status
		}
		if err != nil {
			return &Error{Kind: KindConfig, Path: p, Err: err}
		}
		if perm := fi.Mode().Perm(); installed && perm&0o022 != 0 {
			if err := os.Chmod(p, perm&^0o022); err != nil {
				return &Error{Kind: KindConfig, Path: p, Err: fmt.Errorf("removing other users' write access: %w", err)}
			}
		}
		if err := private.Check(p); err != nil {
			return &Error{Kind: KindUntrusted, Path: p, Err: err}
		}
	}
	return nil
}

// importArchive imports the configured archive when its content differs
// from the one imported last (or no database is installed), and says
// whether it did.
func (m *Manager) importArchive(cur interface{ Import(string) error }) (bool, error) {
	sum, err := fileSHA256(m.cfg.Archive)
	if err != nil {
		return false, &Error{Kind: KindConfig, Path: m.cfg.Archive, Err: fmt.Errorf("reading the archive: %w", err)}
	}
	marker := filepath.Join(m.cfg.CacheDir, ".imagegate-archive.sha256")
	if prev, err := os.ReadFile(marker); err == nil && string(prev) == sum {
		if _, err := os.Stat(m.dbPath()); err == nil {
			return false, nil
		}
	}
	if err := cur.Import(m.cfg.Archive); err != nil {
		return false, &Error{Kind: KindCorrupt, Path: m.cfg.Archive, Err: fmt.Errorf("importing the archive: %w", err)}
	}
	return true, os.WriteFile(marker, []byte(sum), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
