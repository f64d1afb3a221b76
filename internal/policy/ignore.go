package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anchore/grype/grype/match"
	"github.com/bmatcuk/doublestar/v2"
	packageurl "github.com/package-url/packageurl-go"
	"gopkg.in/yaml.v3"
)

// ExpiryWarningWindow is how long before its expiry an exception is
// reported as expiring.
const ExpiryWarningWindow = 14 * 24 * time.Hour

// fixStates are the finding fix states an exception may name.
var fixStates = []string{"fixed", "not-fixed", "wont-fix", "unknown"}

func validateIgnore(ps *problems, at string, ig Ignore) {
	if ig.Source != "" {
		at += " (" + ig.Source + ")"
	}
	if strings.TrimSpace(ig.ID) == "" {
		ps.add(at+".id", "is required (a CVE, GHSA or other vulnerability id)")
	}
	if strings.TrimSpace(ig.Reason) == "" {
		ps.add(at+".reason", "is required: say why the exception is acceptable")
	}
	if ig.Expires != "" {
		if _, err := parseExpiry(ig.Expires); err != nil {
			ps.add(at+".expires", "%v", err)
		}
	}
	if ig.PURL != "" {
		if _, err := packageurl.FromString(ig.PURL); err != nil {
			ps.add(at+".purl", "%q is not a package URL (pkg:type/namespace/name@version): %v", ig.PURL, err)
		}
	}
	if ig.Location != "" {
		if _, err := doublestar.Match(ig.Location, ig.Location); err != nil { // matching itself walks every segment
			ps.add(at+".location", "%q is not a valid glob (use *, ** and ? as in /usr/lib/**/*.jar): %v", ig.Location, err)
		}
	}
	if ig.FixState != "" && !slices.Contains(fixStates, ig.FixState) {
		ps.add(at+".fix_state", "%q is not a fix state; use %s", ig.FixState, strings.Join(fixStates, ", "))
	}
}

// ignoreMatches reports whether an exception names the finding: its id
// (or an alias) and every package field it sets.
func ignoreMatches(ig Ignore, fd Finding) bool {
	if !findingHasID(fd, ig.ID) || ig.PrimaryIDOnly && !strings.EqualFold(fd.ID, strings.TrimSpace(ig.ID)) {
		return false
	}
	switch {
	case ig.Package != "" && ig.Package != fd.Package,
		ig.Version != "" && ig.Version != fd.Version,
		ig.Type != "" && ig.Type != fd.Type,
		ig.FixState != "" && ig.FixState != fd.FixState,
		ig.PURL != "" && !purlNamesPackage(ig.PURL, fd):
		return false
	}
	if ig.Location != "" {
		return slices.ContainsFunc(fd.Locations, func(l string) bool {
			ok, err := doublestar.Match(ig.Location, l)
			return err == nil && ok
		})
	}
	return true
}

// exceptions are the policy's ignore entries followed by the ignore file's,
// each with the name messages give it.
func (r *VulnerabilityRule) exceptions() []namedIgnore {
	var out []namedIgnore
	for i, ig := range r.Ignore {
		out = append(out, namedIgnore{Ignore: ig, name: fmt.Sprintf("vulnerabilities.ignore[%d]", i)})
	}
	for i, ig := range r.IgnoreFileRules {
		name := cmp.Or(ig.Source, fmt.Sprintf("vulnerabilities.ignore_file_rules[%d]", i))
		out = append(out, namedIgnore{Ignore: ig, name: name})
	}
	return out
}

type namedIgnore struct {
	Ignore
	name string // vulnerabilities.ignore[1] or .grype.yaml:12
}

// ExceptionWarning is an exception that needs attention: one that no
// finding of the image uses, one that expires within ExpiryWarningWindow,
// or one that has expired and no longer applies.
type ExceptionWarning struct {
	Exception string // "vulnerabilities.ignore[1]" or "file:line"
	Kind      string // "unused", "expiring" or "expired"
	Message   string
}

// Kinds of ExceptionWarning.
const (
	ExceptionUnused   = "unused"
	ExceptionExpiring = "expiring"
	ExceptionExpired  = "expired"
)

// exceptionWarnings judges every exception against the image's findings at
// f.Now. An exception is used when it is in force and names at least one
// finding of the image, whatever its severity; entries read from one line
// of an ignore file (a Trivy entry with several paths or purls) are used
// together. Without f.Now no expiry is judged.
func exceptionWarnings(r *VulnerabilityRule, f Facts) []ExceptionWarning {
	exs := r.exceptions()
	used := map[string]bool{}
	for _, ex := range exs {
		if !ignoreActive(ex.Ignore, f.Now) {
			continue
		}
		if slices.ContainsFunc(f.Findings, func(fd Finding) bool { return ignoreMatches(ex.Ignore, fd) }) {
			used[ex.name] = true
		}
	}
	var out []ExceptionWarning
	seen := map[string]bool{}
	for _, ex := range exs {
		if seen[ex.name] {
			continue
		}
		seen[ex.name] = true
		what := fmt.Sprintf("%s (%s)", ex.name, ex.ID)
		if ex.Expires != "" && !f.Now.IsZero() {
			exp, err := parseExpiry(ex.Expires)
			if err == nil && !f.Now.Before(exp) {
				out = append(out, ExceptionWarning{Exception: ex.name, Kind: ExceptionExpired,
					Message: fmt.Sprintf("exception %s expired on %s and no longer applies: fix the finding, or renew the exception with a new expires and a reason that still holds", what, ex.Expires)})
				continue
			}
			if err == nil && exp.Sub(f.Now) <= ExpiryWarningWindow {
				out = append(out, ExceptionWarning{Exception: ex.name, Kind: ExceptionExpiring,
					Message: fmt.Sprintf("exception %s expires on %s, within %d days: plan the fix, or renew the exception before then", what, ex.Expires, int(ExpiryWarningWindow/(24*time.Hour)))})
			}
		}
		if !used[ex.name] {
			out = append(out, ExceptionWarning{Exception: ex.name, Kind: ExceptionUnused,
				Message: fmt.Sprintf("exception %s matches no finding of this image: remove it if the vulnerability is gone, or correct its id and package fields", what)})
		}
	}
	return out
}

// ParseIgnoreFile reads the exceptions of a grype configuration
// (.grype.yaml, its `ignore:` list) or a Trivy ignore file
// (.trivyignore.yaml, its `vulnerabilities:` list). name is the file's name
// as the user gave it, used in messages and in each rule's Source
// ("name:line"). A rule the policy cannot express exactly is refused with
// an error naming its line, never dropped:
//
//   - grype: vulnerability (the finding's own id only, unless
//     include-aliases is true, as grype matches), fix-state, package name (exact: a regular expression is
//     refused), version, type and location (a glob), reason; namespace,
//     package language and upstream-name, vex-status, vex-justification and
//     match-type are refused. Other top-level grype settings are not rules
//     and are skipped.
//   - Trivy: vulnerabilities with id, paths (globs; a relative path is taken
//     from the image root), purls, statement (the reason) and expired_at;
//     one rule per path and purl. misconfigurations, secrets and licenses
//     are refused: the gate judges vulnerabilities only.
//
// Every rule needs a reason (grype's reason, Trivy's statement), as the
// policy's own exceptions do.
func ParseIgnoreFile(name string, content []byte) ([]Ignore, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, fmt.Errorf("reading %s: not valid YAML: %w", name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("reading %s: the file is empty; write a grype `ignore:` list or a Trivy `vulnerabilities:` list", name)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("reading %s: line %d: expected a mapping with an `ignore:` list (.grype.yaml) or a `vulnerabilities:` list (.trivyignore.yaml); a plain .trivyignore with one id a line is not supported, write .trivyignore.yaml", name, root.Line)
	}
	keys := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		keys[root.Content[i].Value] = root.Content[i+1]
		order = append(order, root.Content[i].Value)
	}
	_, grype := keys["ignore"]
	trivy := slices.ContainsFunc([]string{"vulnerabilities", "misconfigurations", "secrets", "licenses"}, func(k string) bool { _, ok := keys[k]; return ok })
	switch {
	case grype && trivy:
		return nil, fmt.Errorf("reading %s: it has both grype's `ignore:` and Trivy's `vulnerabilities:` lists; keep one format per file", name)
	case grype:
		return parseGrypeIgnore(name, keys["ignore"])
	case trivy:
		for _, k := range order {
			switch k {
			case "vulnerabilities":
			case "misconfigurations", "secrets", "licenses":
				return nil, fmt.Errorf("reading %s: line %d: `%s` is not supported: the gate judges vulnerabilities only; move those entries to a separate Trivy ignore file", name, keys[k].Line, k)
			default:
				return nil, fmt.Errorf("reading %s: line %d: unknown Trivy ignore section %q", name, keys[k].Line, k)
			}
		}
		return parseTrivyIgnore(name, keys["vulnerabilities"])
	}
	return nil, fmt.Errorf("reading %s: neither a grype configuration with an `ignore:` list nor a Trivy ignore file with a `vulnerabilities:` list (top-level keys: %s)", name, strings.Join(order, ", "))
}

// sequence returns the items of a list, an empty or null list as none.
func sequence(name, what string, n *yaml.Node) ([]*yaml.Node, error) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil, nil
	case n.Kind != yaml.SequenceNode:
		return nil, fmt.Errorf("reading %s: line %d: `%s` must be a list", name, n.Line, what)
	}
	return n.Content, nil
}

// checkKeys refuses keys outside allowed, and keys the policy cannot
// express (refused) with their reason.
func checkKeys(name string, n *yaml.Node, allowed []string, refused map[string]string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("reading %s: line %d: expected a mapping", name, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if why, ok := refused[k.Value]; ok {
			if v.Kind == yaml.ScalarNode && (v.Value == "" || v.Tag == "!!null") {
				continue // empty: the rule does not use it, as grype reads it
			}
			return fmt.Errorf("reading %s: line %d: `%s` is not supported: %s", name, k.Line, k.Value, why)
		}
		if !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("reading %s: line %d: unknown key `%s` (expected one of %s)", name, k.Line, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func parseGrypeIgnore(name string, list *yaml.Node) ([]Ignore, error) {
	items, err := sequence(name, "ignore", list)
	if err != nil {
		return nil, err
	}
	refused := map[string]string{
		"namespace":         "imagegate does not match on the vulnerability's namespace; narrow the rule by package instead",
		"vex-status":        "VEX-driven rules belong in vulnerabilities.vex_documents",
		"vex-justification": "VEX-driven rules belong in vulnerabilities.vex_documents",
		"match-type":        "imagegate does not match on grype's match type",
	}
	pkgRefused := map[string]string{
		"language":      "imagegate does not match on the package language; use package type (such as npm or python)",
		"upstream-name": "imagegate does not match on the upstream (source) package; name the binary package instead",
	}
	var out []Ignore
	for _, it := range items {
		src := fmt.Sprintf("%s:%d", name, it.Line)
		if err := checkKeys(name, it, []string{"vulnerability", "include-aliases", "reason", "fix-state", "package"}, refused); err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(it.Content); i += 2 {
			if it.Content[i].Value == "package" && it.Content[i+1].Kind == yaml.MappingNode {
				if err := checkKeys(name, it.Content[i+1], []string{"name", "version", "type", "location"}, pkgRefused); err != nil {
					return nil, err
				}
			}
		}
		var r match.IgnoreRule
		if err := it.Decode(&r); err != nil {
			return nil, fmt.Errorf("reading %s: line %d: %w", name, it.Line, err)
		}
		if strings.TrimSpace(r.Vulnerability) == "" {
			return nil, fmt.Errorf("reading %s: line %d: the rule names no vulnerability; imagegate exceptions name one vulnerability each (add `vulnerability:`)", name, it.Line)
		}
		if looksLikeRegex(r.Package.Name) {
			return nil, fmt.Errorf("reading %s: line %d: package name %q looks like a regular expression; imagegate matches package names exactly, so write one rule per package", name, it.Line, r.Package.Name)
		}
		out = append(out, Ignore{
			ID: strings.TrimSpace(r.Vulnerability), Package: r.Package.Name, Version: r.Package.Version, Type: r.Package.Type,
			Location: r.Package.Location, FixState: r.FixState, Reason: r.Reason, Source: src,
			PrimaryIDOnly: !r.IncludeAliases,
		})
	}
	return out, nil
}

// looksLikeRegex is grype's test for a package name it compiles as a
// regular expression (a "." alone does not count).
func looksLikeRegex(s string) bool {
	return strings.ContainsAny(s, `^$*+?[](){}|\`)
}

// trivyVulnerability is one entry of .trivyignore.yaml's vulnerabilities.
type trivyVulnerability struct {
	ID        string   `yaml:"id"`
	Paths     []string `yaml:"paths"`
	PURLs     []string `yaml:"purls"`
	Statement string   `yaml:"statement"`
	ExpiredAt string   `yaml:"expired_at"`
}

func parseTrivyIgnore(name string, list *yaml.Node) ([]Ignore, error) {
	items, err := sequence(name, "vulnerabilities", list)
	if err != nil {
		return nil, err
	}
	var out []Ignore
	for _, it := range items {
		if err := checkKeys(name, it, []string{"id", "paths", "purls", "statement", "expired_at"}, nil); err != nil {
			return nil, err
		}
		var v trivyVulnerability
		if err := it.Decode(&v); err != nil {
			return nil, fmt.Errorf("reading %s: line %d: %w", name, it.Line, err)
		}
		if strings.TrimSpace(v.ID) == "" {
			return nil, fmt.Errorf("reading %s: line %d: the entry has no id; name the vulnerability (id: CVE-…)", name, it.Line)
		}
		base := Ignore{ID: strings.TrimSpace(v.ID), Reason: v.Statement, Expires: v.ExpiredAt, Source: fmt.Sprintf("%s:%d", name, it.Line)}
		paths := v.Paths
		if len(paths) == 0 {
			paths = []string{""}
		}
		purls := v.PURLs
		if len(purls) == 0 {
			purls = []string{""}
		}
		for _, p := range paths {
			for _, u := range purls {
				ig := base
				if p != "" {
					// Trivy's paths are relative to the image root; the
					// scanner's locations are absolute.
					ig.Location = "/" + strings.TrimPrefix(p, "/")
				}
				ig.PURL = u
				out = append(out, ig)
			}
		}
	}
	return out, nil
}
