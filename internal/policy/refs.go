package policy

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// dockerHub is the registry host that docker.io and host-less names mean.
const dockerHub = "index.docker.io"

// ref is a parsed trusted entry or annotation: a normalised repository (which
// may be a glob, see matchRepository) with an optional tag and digest.
type ref struct {
	repo   string
	tag    string
	digest string
}

// parseRef parses "host/repo", "host/repo:tag", "host/repo@sha256:…" or a
// repository glob such as "cgr.dev/chainguard/*". Names without a registry
// host are Docker Hub names, as with docker pull.
func parseRef(s string) (ref, error) {
	if s == "" {
		return ref{}, errors.New("must not be empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return ref{}, fmt.Errorf("%q contains whitespace", s)
	}
	var r ref
	name := s
	if before, after, ok := strings.Cut(s, "@"); ok {
		if err := checkDigest(after); err != nil {
			return ref{}, fmt.Errorf("%q: %w", s, err)
		}
		name, r.digest = before, after
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		tag := name[i+1:]
		if !validTag(tag) {
			return ref{}, fmt.Errorf("%q: %q is not a valid tag", s, tag)
		}
		name, r.tag = name[:i], tag
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" {
			return ref{}, fmt.Errorf("%q is not a repository: it has an empty path component", s)
		}
	}
	r.repo = normalizeRepository(name)
	if _, err := globRegexp(r.repo); err != nil {
		return ref{}, fmt.Errorf("%q is not a valid glob: %w", s, err)
	}
	return r, nil
}

func checkDigest(d string) error {
	algo, hexPart, ok := strings.Cut(d, ":")
	want := map[string]int{"sha256": 64, "sha512": 128}[algo]
	if !ok || want == 0 || len(hexPart) != want || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return fmt.Errorf("%q is not a digest (sha256:<64 lower-case hex digits>)", d)
	}
	return nil
}

func validTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for _, c := range t {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// normalizeRepository turns a repository name into "registry/repository" the
// way go-containerregistry does: no host means Docker Hub, "docker.io" is
// "index.docker.io", and single-component Docker Hub names are in "library/".
// An empty name stays empty.
func normalizeRepository(name string) string {
	if name == "" {
		return ""
	}
	host, rest, found := strings.Cut(name, "/")
	if !found || (!strings.ContainsAny(host, ".:") && host != "localhost") {
		host, rest = dockerHub, name
	}
	host = normalizeHost(host)
	if host == dockerHub && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return host + "/" + rest
}

func normalizeHost(host string) string {
	host = strings.ToLower(host)
	if host == "docker.io" || host == "registry-1.docker.io" {
		return dockerHub
	}
	return host
}

// matchRepository reports whether a repository matches a pattern. Globs
// follow sigstore policy-controller's image globs: "*" matches any run of
// characters within one path segment (it never crosses "/"), "**" matches any
// run of characters across segments, "?" one character other than "/", and
// "[…]" a character class as in path.Match; "\" quotes the next character.
// So "ghcr.io/acme/*" matches "ghcr.io/acme/app" but not
// "ghcr.io/acme/team/app", which "ghcr.io/acme/**" matches. A pattern without
// metacharacters matches only itself.
func matchRepository(pattern, repo string) bool {
	if !IsGlob(pattern) {
		return pattern == repo
	}
	re, err := globRegexp(pattern)
	return err == nil && re.MatchString(repo)
}

// IsGlob reports whether a trusted entry is a repository glob (it has glob
// metacharacters) rather than a reference.
func IsGlob(pattern string) bool { return strings.ContainsAny(pattern, `*?[\`) }

// globRegexp compiles a glob (see matchRepository) to an anchored regular
// expression. A malformed pattern (an unclosed class, a trailing "\") is an
// error, as in path.Match.
func globRegexp(pattern string) (*regexp.Regexp, error) {
	// path.Match validates everything but "**", which to it is two stars.
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); {
		switch c := pattern[i]; c {
		case '*':
			if strings.HasPrefix(pattern[i:], "**") {
				b.WriteString(".*")
				i += 2
				for i < len(pattern) && pattern[i] == '*' {
					i++
				}
				continue
			}
			b.WriteString("[^/]*")
			i++
		case '?':
			b.WriteString("[^/]")
			i++
		case '\\':
			r, n := utf8.DecodeRuneInString(pattern[i+1:])
			b.WriteString(regexp.QuoteMeta(string(r)))
			i += 1 + n
		case '[':
			n, class := globClass(pattern[i:])
			b.WriteString(class)
			i += n
		default:
			r, n := utf8.DecodeRuneInString(pattern[i:])
			b.WriteString(regexp.QuoteMeta(string(r)))
			i += n
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// globClass translates the character class at the start of s, which
// path.Match has validated, and returns its length in s. A negated class
// never matches "/", so that a class stays within one segment.
func globClass(s string) (int, string) {
	var b strings.Builder
	b.WriteString("[")
	i := 1
	if i < len(s) && s[i] == '^' {
		b.WriteString("^/")
		i++
	}
	for first := true; i < len(s); first = false {
		if s[i] == ']' && !first {
			i++
			break
		}
		if s[i] == '-' {
			b.WriteString("-")
			i++
			continue
		}
		if s[i] == '\\' {
			i++
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(classRune(r))
		i += n
	}
	b.WriteString("]")
	return i, b.String()
}

// classRune quotes a rune for use inside a regular-expression class.
func classRune(r rune) string {
	if r == '-' {
		return `\-`
	}
	return regexp.QuoteMeta(string(r))
}

// matches reports whether a trusted entry covers an image identity: the
// repository must match, then the digest if the entry pins one (any of the
// image's digests: its platform manifest's or its index's), else the tag if
// the entry names one.
func (r ref) matches(repo string, digests, tags []string) bool {
	if !matchRepository(r.repo, repo) {
		return false
	}
	switch {
	case r.digest != "":
		return slices.Contains(digests, r.digest)
	case r.tag != "":
		return slices.Contains(tags, r.tag)
	}
	return true
}

// registryEntry is a parsed registries.trusted entry: a host (glob) or a
// repository glob.
type registryEntry struct {
	host string
	repo string
}

func parseRegistryEntry(s string) (registryEntry, error) {
	if s == "" {
		return registryEntry{}, errors.New("must not be empty")
	}
	if strings.Contains(s, "@") {
		return registryEntry{}, fmt.Errorf("%q pins a digest; list a registry host or a repository glob", s)
	}
	if !strings.Contains(s, "/") {
		if strings.ContainsAny(s, " \t\r\n") {
			return registryEntry{}, fmt.Errorf("%q contains whitespace", s)
		}
		host := normalizeHost(s)
		if _, err := globRegexp(host); err != nil {
			return registryEntry{}, fmt.Errorf("%q is not a valid glob: %w", s, err)
		}
		return registryEntry{host: host}, nil
	}
	r, err := parseRef(s)
	if err != nil {
		return registryEntry{}, err
	}
	if r.tag != "" {
		return registryEntry{}, fmt.Errorf("%q names a tag; list a registry host or a repository glob", s)
	}
	return registryEntry{repo: r.repo}, nil
}

// matches reports whether the normalised repository comes from the entry.
func (e registryEntry) matches(repo string) bool {
	if e.repo != "" {
		return matchRepository(e.repo, repo)
	}
	host, _, _ := strings.Cut(repo, "/")
	return strings.Contains(repo, "/") && matchRepository(e.host, host)
}
