package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OpenVEX statuses.
const (
	vexNotAffected        = "not_affected"
	vexAffected           = "affected"
	vexFixed              = "fixed"
	vexUnderInvestigation = "under_investigation"
)

const openVEXContext = "https://openvex.dev/ns"

// vexDocument is the part of an OpenVEX document the engine reads. Both the
// v0.2 forms (objects) and the older string forms of vulnerability and
// product are accepted.
type vexDocument struct {
	Context    string         `json:"@context"`
	Timestamp  string         `json:"timestamp"`
	Statements []vexStatement `json:"statements"`
}

type vexStatement struct {
	Vulnerability   vexVulnerability `json:"vulnerability"`
	Products        []vexProduct     `json:"products"`
	Status          string           `json:"status"`
	Justification   string           `json:"justification"`
	ImpactStatement string           `json:"impact_statement"`
	Timestamp       string           `json:"timestamp"`
	// Subcomponents at the statement level are the OpenVEX v0.0.1 form;
	// they narrow every image product of the statement.
	Subcomponents []vexProduct `json:"subcomponents"`
}

type vexVulnerability struct {
	ID      string   `json:"@id"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases"`
}

func (v *vexVulnerability) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		*v = vexVulnerability{}
		return json.Unmarshal(b, &v.Name)
	}
	type plain vexVulnerability
	return json.Unmarshal(b, (*plain)(v))
}

func (v vexVulnerability) label() string {
	if v.Name != "" {
		return v.Name
	}
	return v.ID
}

type vexProduct struct {
	ID            string            `json:"@id"`
	Identifiers   map[string]string `json:"identifiers"`
	Subcomponents []vexProduct      `json:"subcomponents"`
}

func (p *vexProduct) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		*p = vexProduct{}
		return json.Unmarshal(b, &p.ID)
	}
	type plain vexProduct
	return json.Unmarshal(b, (*plain)(p))
}

// ids returns the product's @id and its purl identifier.
func (p vexProduct) ids() []string {
	var out []string
	for _, s := range []string{p.ID, p.Identifiers["purl"]} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseVEX parses and checks one OpenVEX document.
func parseVEX(text string) (*vexDocument, error) {
	var d vexDocument
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		return nil, fmt.Errorf("not valid OpenVEX JSON: %w", err)
	}
	if !strings.HasPrefix(d.Context, openVEXContext) {
		return nil, fmt.Errorf("not an OpenVEX document: @context is %q, not %s/…", d.Context, openVEXContext)
	}
	if d.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339, d.Timestamp); err != nil {
			return nil, fmt.Errorf("timestamp %q is not an RFC 3339 timestamp", d.Timestamp)
		}
	}
	if len(d.Statements) == 0 {
		return nil, errors.New("the OpenVEX document has no statements")
	}
	for i, st := range d.Statements {
		if st.Vulnerability.label() == "" {
			return nil, fmt.Errorf("statements[%d].vulnerability: needs a name or an @id", i)
		}
		switch st.Status {
		case vexNotAffected, vexAffected, vexFixed, vexUnderInvestigation:
		default:
			return nil, fmt.Errorf("statements[%d].status: %q is not an OpenVEX status (%s, %s, %s or %s)",
				i, st.Status, vexNotAffected, vexAffected, vexFixed, vexUnderInvestigation)
		}
		if st.Timestamp != "" {
			if _, err := time.Parse(time.RFC3339, st.Timestamp); err != nil {
				return nil, fmt.Errorf("statements[%d].timestamp: %q is not an RFC 3339 timestamp", i, st.Timestamp)
			}
		}
	}
	return &d, nil
}

// vexEntry is one statement with where it came from and when it was made.
type vexEntry struct {
	doc, index int
	at         time.Time // the statement's timestamp, else its document's
	st         vexStatement
}

// loadVEX flattens the statements of validated documents.
func loadVEX(docs []string) []vexEntry {
	var out []vexEntry
	for di, text := range docs {
		d, err := parseVEX(text)
		if err != nil {
			continue // Validate has refused such a policy already
		}
		docTime, _ := time.Parse(time.RFC3339, d.Timestamp)
		for si, st := range d.Statements {
			at := docTime
			if st.Timestamp != "" {
				at, _ = time.Parse(time.RFC3339, st.Timestamp)
			}
			out = append(out, vexEntry{doc: di, index: si, at: at, st: st})
		}
	}
	return out
}

// vexDecision finds the statement that decides a finding: among the
// statements naming the finding's vulnerability and applying to the finding
// in the image (see appliesTo), the latest one (by timestamp, then document
// and statement order) wins, as OpenVEX specifies. It suppresses the finding
// when its status is not_affected or fixed.
func vexDecision(entries []vexEntry, f Finding, img Image) (vexEntry, bool) {
	var best *vexEntry
	for i := range entries {
		e := &entries[i]
		if !e.namesVulnerability(f) || !e.st.appliesTo(f, img) {
			continue
		}
		if best == nil || !e.at.Before(best.at) {
			best = e
		}
	}
	if best == nil || (best.st.Status != vexNotAffected && best.st.Status != vexFixed) {
		return vexEntry{}, false
	}
	return *best, true
}

func (e vexEntry) namesVulnerability(f Finding) bool {
	v := e.st.Vulnerability
	for _, name := range append([]string{v.Name, v.ID}, v.Aliases...) {
		if name != "" && findingHasID(f, name) {
			return true
		}
	}
	return false
}

func (e vexEntry) reason() string {
	s := fmt.Sprintf("OpenVEX vulnerabilities.vex_documents[%d] statements[%d] (%s): %s",
		e.doc, e.index, e.st.Vulnerability.label(), e.st.Status)
	if e.st.Justification != "" {
		s += ", " + e.st.Justification
	}
	if e.st.ImpactStatement != "" {
		s += ": " + e.st.ImpactStatement
	}
	return s
}

// appliesTo reports whether a statement covers a finding in the image. It
// is strict and fails closed:
//
//   - A statement without products applies to nothing: OpenVEX statements
//     must name their products.
//   - A product applies only when it is the image: its @id or
//     identifiers.purl contains the image digest, plain ("sha256:…") or
//     percent-encoded ("sha256%3A…", as in pkg:oci purls). A product that is
//     only a package purl, or another image, applies to nothing.
//   - The image product's subcomponents (and, for OpenVEX v0.0.1 documents,
//     the statement's own subcomponents) narrow it to packages: a finding is
//     covered when one of them is a purl for the finding's package (see
//     purlNamesPackage). An image product without subcomponents covers every
//     finding of the image.
func (st vexStatement) appliesTo(f Finding, img Image) bool {
	for _, p := range st.Products {
		if !namesImage(p.ids(), img) {
			continue
		}
		subs := append(append([]vexProduct(nil), p.Subcomponents...), st.Subcomponents...)
		if len(subs) == 0 {
			return true
		}
		for _, sc := range subs {
			if slices.ContainsFunc(sc.ids(), func(id string) bool { return purlNamesPackage(id, f) }) {
				return true
			}
		}
	}
	return false
}

// namesImage reports whether one of the ids contains the image's digest,
// plain or with its ":" percent-encoded, not followed by a further letter or
// digit (as a longer digest would be).
func namesImage(ids []string, img Image) bool {
	d := strings.ToLower(strings.TrimSpace(img.Digest))
	algo, hexPart, ok := strings.Cut(d, ":")
	if !ok || algo == "" || hexPart == "" {
		return false
	}
	forms := []string{d, algo + "%3a" + hexPart}
	for _, id := range ids {
		id = strings.ToLower(id)
		for _, form := range forms {
			if containsToken(id, form) {
				return true
			}
		}
	}
	return false
}

// containsToken reports whether tok occurs in s not directly followed by a
// letter or digit.
func containsToken(s, tok string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], tok)
		if j < 0 {
			return false
		}
		if end := i + j + len(tok); end == len(s) || !isAlnum(s[end]) {
			return true
		}
		i += j + 1
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// purlTypes maps the scanner's package types to purl types.
var purlTypes = map[string]string{
	"deb":            "deb",
	"npm":            "npm",
	"go-module":      "golang",
	"python":         "pypi",
	"java-archive":   "maven",
	"jenkins-plugin": "maven",
	"apk":            "apk",
	"rpm":            "rpm",
	"gem":            "gem",
	"rust-crate":     "cargo",
	"dotnet":         "nuget",
	"php-composer":   "composer",
	"alpm":           "alpm",
}

// distroPurlTypes are purl types of operating-system packages, whose
// namespace is the distribution vendor ("debian", "alpine", "redhat"), not
// part of the package name. An image has one package database of each, so
// the name alone identifies the package there.
var distroPurlTypes = map[string]bool{"deb": true, "apk": true, "rpm": true, "alpm": true}

// purl is the part of a package URL the engine compares.
type purl struct {
	typ, namespace, name, version string
	hasVersion                    bool
}

// parsePURL parses "pkg:type/namespace/name@version?qualifiers#subpath"
// (qualifiers and subpath are ignored). Segments are percent-decoded; the
// version is what follows the first "@" of the last segment, so an
// unencoded npm scope ("pkg:npm/@babel/core") is read as the namespace.
func parsePURL(s string) (purl, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 4 || !strings.EqualFold(s[:4], "pkg:") {
		return purl{}, false
	}
	rest := s[4:]
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "?")
	rest = strings.Trim(rest, "/")
	var p purl
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		if name, version, ok := strings.Cut(rest[i+1:], "@"); ok {
			rest = rest[:i+1] + name
			p.version, p.hasVersion = unescape(version), true
		}
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || slices.Contains(parts, "") {
		return purl{}, false
	}
	for i := range parts {
		parts[i] = unescape(parts[i])
	}
	p.typ = strings.ToLower(parts[0])
	p.name = parts[len(parts)-1]
	p.namespace = strings.Join(parts[1:len(parts)-1], "/")
	if p.typ == "" || p.name == "" {
		return purl{}, false
	}
	return p, true
}

// packageName is the package name as the purl's ecosystem spells it:
// "@scope/name" for npm, the full module path for golang, "group:artifact"
// for maven, namespace/name for others; a distribution package's name
// alone, its namespace being the vendor.
func (p purl) packageName() string {
	switch {
	case p.namespace == "" || distroPurlTypes[p.typ]:
		return p.name
	case p.typ == "maven":
		return p.namespace + ":" + p.name
	}
	return p.namespace + "/" + p.name
}

// purlNamesPackage reports whether id is a purl for the finding's package:
//
//   - its type is the purl type of the finding's package type (deb, npm,
//     go-module→golang, python→pypi, java-archive→maven, apk, rpm, gem, …);
//     when the finding's type is empty or has no purl type, the type is not
//     compared;
//   - its namespace and name, spelt as the ecosystem does (see
//     packageName), equal the finding's package name: exactly, except for
//     npm and pypi, whose names compare case-insensitively (pypi also treats
//     runs of "-", "_" and "." alike, as PEP 503 does);
//   - its version, if it has one, equals the finding's version.
//
// So "pkg:npm/%40evil/lodash" does not name lodash, and
// "pkg:golang/golang.org/x/text" names the module golang.org/x/text.
func purlNamesPackage(id string, f Finding) bool {
	if f.Package == "" {
		return false
	}
	p, ok := parsePURL(id)
	if !ok {
		return false
	}
	if want, ok := purlTypes[strings.ToLower(strings.TrimSpace(f.Type))]; ok && want != p.typ {
		return false
	}
	name := p.packageName()
	switch p.typ {
	case "npm":
		ok = strings.EqualFold(name, f.Package)
	case "pypi":
		ok = pep503(name) == pep503(f.Package)
	default:
		ok = name == f.Package
	}
	return ok && (!p.hasVersion || p.version == f.Version)
}

// pep503 normalises a Python package name: lower case, with each run of
// "-", "_" and "." replaced by "-".
func pep503(s string) string {
	var b strings.Builder
	sep := false
	for _, c := range strings.ToLower(s) {
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteRune(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
