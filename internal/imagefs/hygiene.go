package imagefs

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/anchore/stereoscope/pkg/file"

	"github.com/imagegate/terraform-provider-imagegate/internal/secrets"
)

// Bounds of the hygiene facts, so a hostile image cannot make the cache
// entry, or the memory that builds it, grow without limit.
const (
	// MaxListed caps each list of paths; the rest are counted (Omitted),
	// never silently dropped.
	MaxListed = 1000
	// SecretReadLimit is how much of a candidate secret file is read to
	// decide whether it holds a credential (a PEM header, an "auth" key).
	SecretReadLimit = 64 << 10
)

// ShadowFile is the file whose password fields the account check reads.
const ShadowFile = "/etc/shadow"

// Facts is what the CIS hygiene checks need from an image's final
// filesystem. It holds paths and kinds, never a file's content: the shadow
// file is kept with its password hashes replaced (see RedactShadow).
type Facts struct {
	// Special lists the files with the setuid or setgid bit, sorted by path.
	Special []SpecialFile `json:"special"`
	// SpecialOmitted counts the special files past MaxListed.
	SpecialOmitted int `json:"special_omitted,omitempty"`
	// Secrets lists the files that hold a credential, sorted by path.
	Secrets []SecretFile `json:"secrets"`
	// SecretsOmitted counts the secret files past MaxListed.
	SecretsOmitted int `json:"secrets_omitted,omitempty"`
	// Shadow is /etc/shadow with every password field other than an empty
	// one replaced (RedactShadow); nil when the image has none.
	Shadow []byte `json:"shadow,omitempty"`
}

// SpecialFile is a file with the setuid or setgid bit.
type SpecialFile struct {
	Path   string `json:"path"`
	Setuid bool   `json:"setuid,omitempty"`
	Setgid bool   `json:"setgid,omitempty"`
}

// SecretFile is a file that holds a credential: its path and the kind of
// credential ("SSH private key", "AWS credentials").
type SecretFile struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// Hygiene gathers the hygiene facts from the squashed filesystem, the one a
// container sees: a file a later layer removed (a whiteout) is not there,
// except a credential file, which stays extractable from its layer and is
// reported with the layer it is in (see removedSecrets).
// It walks the file tree stereoscope already built while unpacking (file
// metadata, no content) and reads at most SecretReadLimit bytes of the few
// files whose names suggest a credential; links are never followed, so a
// symlink loop costs nothing, and entries were placed under the temporary
// root when unpacked (stereoscope cleans "../" out of every tar path).
func (f *FS) Hygiene() (*Facts, error) {
	out := &Facts{Special: []SpecialFile{}, Secrets: []SecretFile{}}
	tree := f.Image.SquashedTree()
	refs := tree.AllFiles(file.TypeRegular, file.TypeHardLink)
	slices.SortFunc(refs, func(a, b file.Reference) int { return strings.Compare(string(a.RealPath), string(b.RealPath)) })
	for _, ref := range refs {
		p := string(ref.RealPath)
		entry, err := f.Image.FileCatalog.Get(ref)
		if err != nil {
			return nil, fmt.Errorf("reading the metadata of %s: %w", p, err)
		}
		if entry.FileInfo != nil {
			mode := entry.Mode()
			if mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
				if len(out.Special) < MaxListed {
					out.Special = append(out.Special, SpecialFile{Path: p, Setuid: mode&fs.ModeSetuid != 0, Setgid: mode&fs.ModeSetgid != 0})
				} else {
					out.SpecialOmitted++
				}
			}
		}
		if entry.Type != file.TypeRegular {
			continue
		}
		kind, check, ok := secrets.FileCandidate(p)
		if !ok {
			continue
		}
		if check != secrets.NoContentCheck {
			head, err := f.readHead(ref)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", p, err)
			}
			if !secrets.ContentHolds(check, head) {
				continue
			}
		}
		if len(out.Secrets) < MaxListed {
			out.Secrets = append(out.Secrets, SecretFile{Path: p, Kind: kind})
		} else {
			out.SecretsOmitted++
		}
	}
	final := make(map[file.ID]bool, len(refs))
	for _, ref := range refs {
		final[ref.ID()] = true
	}
	if err := f.removedSecrets(out, final); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Secrets, func(a, b SecretFile) int { return strings.Compare(a.Path, b.Path) })
	files, err := f.ReadFiles(ShadowFile)
	if err != nil {
		return nil, err
	}
	if b, ok := files[ShadowFile]; ok {
		out.Shadow = RedactShadow(b)
	}
	return out, nil
}

// removedSecrets adds the credential files that a layer wrote and a later
// layer removed or replaced: a container does not see them, but anyone who
// pulls the image can extract them from that layer, so they are secrets in
// the image all the same (CIS 4.10).
func (f *FS) removedSecrets(out *Facts, final map[file.ID]bool) error {
	for i, l := range f.Image.Layers {
		if l.Tree == nil {
			continue
		}
		refs := l.Tree.AllFiles(file.TypeRegular)
		slices.SortFunc(refs, func(a, b file.Reference) int { return strings.Compare(string(a.RealPath), string(b.RealPath)) })
		for _, ref := range refs {
			p := string(ref.RealPath)
			kind, check, ok := secrets.FileCandidate(p)
			if !ok {
				continue
			}
			if final[ref.ID()] {
				continue // this very file is in the final filesystem: judged above
			}
			if check != secrets.NoContentCheck {
				head, err := f.readHead(ref)
				if err != nil {
					return fmt.Errorf("reading %s of layer %d: %w", p, i+1, err)
				}
				if !secrets.ContentHolds(check, head) {
					continue
				}
			}
			if len(out.Secrets) < MaxListed {
				out.Secrets = append(out.Secrets, SecretFile{Path: p, Kind: fmt.Sprintf("%s, in layer %d and removed or replaced by a later layer, but still extractable from the image", kind, i+1)})
			} else {
				out.SecretsOmitted++
			}
		}
	}
	return nil
}

// readHead reads at most SecretReadLimit bytes of a file.
func (f *FS) readHead(ref file.Reference) ([]byte, error) {
	rc, err := f.Image.FileCatalog.Open(ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, SecretReadLimit))
}

// RedactShadow keeps what the account check needs of /etc/shadow: each
// entry's name and whether its password field is empty (no password at
// all). Every other password field, a hash or a lock marker, becomes
// "<redacted>", and the other fields are dropped, so no hash reaches the
// cache, the facts or a message.
func RedactShadow(b []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		line = bytes.TrimRight(line, "\r\n")
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(bytes.TrimSpace(name)) == 0 {
			continue
		}
		pw, _, _ := bytes.Cut(rest, []byte(":"))
		out.Write(name)
		out.WriteByte(':')
		if len(pw) > 0 {
			out.WriteString(secrets.Redacted)
		}
		out.WriteByte('\n')
	}
	return out.Bytes()
}
