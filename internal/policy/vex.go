package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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
// statements naming the finding's vulnerability and applying to the image or
// the finding's package, the latest one (by timestamp, then document and
// statement order) wins, as OpenVEX specifies. It suppresses the finding when
// its status is not_affected or fixed.
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

// appliesTo reports whether a statement covers a finding in the image. A
// statement without products covers every image. A product covers the
// finding when its @id or purl names the image (contains the image digest,
// plain or percent-encoded as in pkg:oci purls) and either has no
// subcomponents or has a subcomponent purl naming the finding's package; or
// when the product itself is a purl naming the finding's package.
func (st vexStatement) appliesTo(f Finding, img Image) bool {
	if len(st.Products) == 0 {
		return true
	}
	for _, p := range st.Products {
		if namesImage(p.ids(), img) {
			if len(p.Subcomponents) == 0 {
				return true
			}
			for _, sc := range p.Subcomponents {
				if namesPackage(sc.ids(), f) {
					return true
				}
			}
			continue
		}
		if namesPackage(p.ids(), f) {
			return true
		}
	}
	return false
}

func namesImage(ids []string, img Image) bool {
	if img.Digest == "" {
		return false
	}
	d := strings.ToLower(img.Digest)
	encoded := strings.Replace(d, ":", "%3a", 1)
	for _, id := range ids {
		id = strings.ToLower(id)
		if strings.Contains(id, d) || strings.Contains(id, encoded) {
			return true
		}
	}
	return false
}

// namesPackage reports whether one of the ids is a purl for the finding's
// package: its name, or namespace/name (Go modules, scoped npm packages),
// equals the package name (case-insensitively), and its version, if it has
// one, equals the installed version. The purl type is not compared.
func namesPackage(ids []string, f Finding) bool {
	if f.Package == "" {
		return false
	}
	for _, id := range ids {
		rest, ok := strings.CutPrefix(id, "pkg:")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "#")
		rest, _, _ = strings.Cut(rest, "?")
		rest, version, hasVersion := strings.Cut(rest, "@")
		parts := strings.Split(rest, "/")
		if len(parts) < 2 {
			continue
		}
		for i := range parts {
			parts[i] = unescape(parts[i])
		}
		name := parts[len(parts)-1]
		full := strings.Join(parts[1:], "/")
		if !strings.EqualFold(name, f.Package) && !strings.EqualFold(full, f.Package) {
			continue
		}
		if hasVersion && unescape(version) != f.Version {
			continue
		}
		return true
	}
	return false
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
