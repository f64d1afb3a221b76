package policy

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	cyclonedx "github.com/CycloneDX/cyclonedx-go"
	openvex "github.com/openvex/go-vex/pkg/vex"
	packageurl "github.com/package-url/packageurl-go"
)

// OpenVEX statuses; CycloneDX analysis states are mapped onto them.
const (
	vexNotAffected        = "not_affected"
	vexAffected           = "affected"
	vexFixed              = "fixed"
	vexUnderInvestigation = "under_investigation"
)

const openVEXContext = "https://openvex.dev/ns"

// Documents are decoded by the maintained implementations: OpenVEX by
// github.com/openvex/go-vex, CycloneDX VEX by github.com/CycloneDX/cyclonedx-go.
// grype's own VEX processor (grype/vex) was not used: it filters grype
// match.Matches through a pkg.Context, accepts products named by mutable
// tags, and reads OpenVEX and CSAF but not CycloneDX. What is ours is the
// decision (which statement applies to which finding, strictly by image
// digest and package purl) and the messages that name the field at fault.

// vexTarget is a product a statement names, with the identifiers of the
// subcomponents that narrow it (each subcomponent has one or more: @id,
// identifiers.purl).
type vexTarget struct {
	ids  []string
	subs [][]string
}

// vexEntry is one statement with where it came from and when it was made.
type vexEntry struct {
	format        string // "OpenVEX" or "CycloneDX"
	doc, index    int
	at            time.Time // the statement's time, else its document's
	names         []string  // the vulnerability's name, @id and aliases
	label         string
	products      []vexTarget
	status        string // an OpenVEX status
	justification string
	impact        string
}

// parseVEX parses and checks one OpenVEX or CycloneDX VEX (JSON) document.
func parseVEX(text string) ([]vexEntry, error) {
	var probe struct {
		BOMFormat string `json:"bomFormat"`
	}
	if err := json.Unmarshal([]byte(text), &probe); err == nil && probe.BOMFormat != "" {
		return parseCycloneDXVEX(text)
	}
	return parseOpenVEX(text)
}

// openVEXRaw is what is checked before go-vex decodes the document, so each
// problem is reported with its field; go-vex itself reports only the JSON
// decoder's error.
type openVEXRaw struct {
	Context    string            `json:"@context"`
	Timestamp  string            `json:"timestamp"`
	Statements []json.RawMessage `json:"statements"`
}

type openVEXRawStatement struct {
	Vulnerability json.RawMessage   `json:"vulnerability"`
	Products      []json.RawMessage `json:"products"`
	Subcomponents []json.RawMessage `json:"subcomponents"`
	Status        string            `json:"status"`
	Timestamp     string            `json:"timestamp"`
}

func parseOpenVEX(text string) ([]vexEntry, error) {
	var raw openVEXRaw
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("not valid OpenVEX JSON: %w", err)
	}
	if !strings.HasPrefix(raw.Context, openVEXContext) {
		return nil, fmt.Errorf("not an OpenVEX document: @context is %q, not %s/…", raw.Context, openVEXContext)
	}
	if raw.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339, raw.Timestamp); err != nil {
			return nil, fmt.Errorf("timestamp %q is not an RFC 3339 timestamp", raw.Timestamp)
		}
	}
	if len(raw.Statements) == 0 {
		return nil, errors.New("the OpenVEX document has no statements")
	}
	// OpenVEX v0.0.1 spelt the vulnerability and the products as strings and
	// put subcomponents on the statement. go-vex reads that form only from a
	// file (its compatibility parser is not exported), so such statements
	// are rewritten into the current form, as go-vex's own parser does:
	// statement subcomponents go to every product.
	stmts := make([]json.RawMessage, len(raw.Statements))
	for i, rs := range raw.Statements {
		var st openVEXRawStatement
		if err := json.Unmarshal(rs, &st); err != nil {
			return nil, fmt.Errorf("statements[%d]: not a valid OpenVEX statement: %w", i, err)
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
		up, err := upgradeStatement(rs, st)
		if err != nil {
			return nil, fmt.Errorf("statements[%d]: %w", i, err)
		}
		stmts[i] = up
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		return nil, fmt.Errorf("not valid OpenVEX JSON: %w", err)
	}
	enc, err := json.Marshal(stmts)
	if err != nil {
		return nil, fmt.Errorf("re-encoding OpenVEX statements: %w", err)
	}
	top["statements"] = enc
	delete(top, "version") // v0.0.1 has a string version, v0.2 a number; the engine reads neither
	b, err := json.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("re-encoding OpenVEX document: %w", err)
	}
	doc, err := openvex.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("not valid OpenVEX JSON: %w", err)
	}
	var docTime time.Time
	if doc.Timestamp != nil {
		docTime = *doc.Timestamp
	}
	out := make([]vexEntry, 0, len(doc.Statements))
	for i, st := range doc.Statements {
		v := st.Vulnerability
		names := []string{string(v.Name), v.ID}
		for _, a := range v.Aliases {
			names = append(names, string(a))
		}
		label := cmp.Or(string(v.Name), v.ID)
		if label == "" {
			return nil, fmt.Errorf("statements[%d].vulnerability: needs a name or an @id", i)
		}
		e := vexEntry{format: "OpenVEX", index: i, at: docTime, names: names, label: label,
			status: string(st.Status), justification: string(st.Justification), impact: st.ImpactStatement}
		if st.Timestamp != nil && !st.Timestamp.IsZero() {
			e.at = *st.Timestamp
		}
		for _, p := range st.Products {
			t := vexTarget{ids: componentIDs(p.Component)}
			for _, sc := range p.Subcomponents {
				t.subs = append(t.subs, componentIDs(sc.Component))
			}
			e.products = append(e.products, t)
		}
		out = append(out, e)
	}
	return out, nil
}

// upgradeStatement rewrites the v0.0.1 string forms of one statement into
// the v0.2 objects go-vex decodes.
func upgradeStatement(rs json.RawMessage, st openVEXRawStatement) (json.RawMessage, error) {
	isString := func(m json.RawMessage) bool { return len(m) > 0 && m[0] == '"' }
	legacy := isString(st.Vulnerability) || len(st.Subcomponents) > 0 || slices.ContainsFunc(st.Products, isString)
	if !legacy {
		return rs, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rs, &m); err != nil {
		return nil, err
	}
	toObject := func(r json.RawMessage) (map[string]any, error) {
		if isString(r) {
			var id string
			if err := json.Unmarshal(r, &id); err != nil {
				return nil, err
			}
			return map[string]any{"@id": id}, nil
		}
		var o map[string]any
		if err := json.Unmarshal(r, &o); err != nil {
			return nil, fmt.Errorf("a product or subcomponent must be a string or an object: %w", err)
		}
		return o, nil
	}
	if isString(st.Vulnerability) {
		var name string
		if err := json.Unmarshal(st.Vulnerability, &name); err != nil {
			return nil, err
		}
		m["vulnerability"], _ = json.Marshal(map[string]string{"name": name})
	}
	var subs []any
	for _, sc := range st.Subcomponents {
		o, err := toObject(sc)
		if err != nil {
			return nil, fmt.Errorf("subcomponents: %w", err)
		}
		subs = append(subs, o)
	}
	var products []any
	for _, p := range st.Products {
		o, err := toObject(p)
		if err != nil {
			return nil, fmt.Errorf("products: %w", err)
		}
		if len(subs) > 0 {
			own, _ := o["subcomponents"].([]any)
			o["subcomponents"] = append(own, subs...)
		}
		products = append(products, o)
	}
	delete(m, "subcomponents")
	if st.Products != nil {
		b, err := json.Marshal(products)
		if err != nil {
			return nil, err
		}
		m["products"] = b
	}
	return json.Marshal(m)
}

// componentIDs returns a component's @id and its purl identifier.
func componentIDs(c openvex.Component) []string {
	var out []string
	for _, s := range []string{c.ID, c.Identifiers[openvex.PURL]} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// cdxStates maps CycloneDX analysis states onto OpenVEX statuses.
var cdxStates = map[cyclonedx.ImpactAnalysisState]string{
	cyclonedx.IASNotAffected:          vexNotAffected,
	cyclonedx.IASFalsePositive:        vexNotAffected,
	cyclonedx.IASResolved:             vexFixed,
	cyclonedx.IASResolvedWithPedigree: vexFixed,
	cyclonedx.IASExploitable:          vexAffected,
	cyclonedx.IASInTriage:             vexUnderInvestigation,
}

// parseCycloneDXVEX reads the vulnerabilities of a CycloneDX (JSON) BOM as
// VEX statements. The BOM's metadata.component is the product: the
// statement applies to the image only when that component (or the affects
// ref itself) names the image by digest, as an OpenVEX product must; an
// affects ref that is a package purl (directly, through a component's
// bom-ref, or as the fragment of a BOM-Link) narrows it to that package, as
// an OpenVEX subcomponent does.
func parseCycloneDXVEX(text string) ([]vexEntry, error) {
	var bom cyclonedx.BOM
	if err := cyclonedx.NewBOMDecoder(strings.NewReader(text), cyclonedx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("not valid CycloneDX JSON: %w", err)
	}
	if bom.BOMFormat != "CycloneDX" {
		return nil, fmt.Errorf("not a CycloneDX document: bomFormat is %q, not CycloneDX", bom.BOMFormat)
	}
	if bom.Vulnerabilities == nil || len(*bom.Vulnerabilities) == 0 {
		return nil, errors.New("the CycloneDX document has no vulnerabilities: a VEX document lists them with their analysis")
	}
	var docTime time.Time
	var product []string // the identifiers of metadata.component
	refs := map[string][]string{}
	var walk func(cs *[]cyclonedx.Component)
	addComponent := func(c cyclonedx.Component) []string {
		ids := nonEmpty(c.BOMRef, c.PackageURL)
		if c.BOMRef != "" {
			refs[c.BOMRef] = ids
		}
		return ids
	}
	walk = func(cs *[]cyclonedx.Component) {
		if cs == nil {
			return
		}
		for _, c := range *cs {
			addComponent(c)
			walk(c.Components)
		}
	}
	if m := bom.Metadata; m != nil {
		if m.Timestamp != "" {
			t, err := time.Parse(time.RFC3339, m.Timestamp)
			if err != nil {
				return nil, fmt.Errorf("metadata.timestamp %q is not an RFC 3339 timestamp", m.Timestamp)
			}
			docTime = t
		}
		if m.Component != nil {
			product = addComponent(*m.Component)
			walk(m.Component.Components)
		}
	}
	walk(bom.Components)

	var out []vexEntry
	for i, v := range *bom.Vulnerabilities {
		path := fmt.Sprintf("vulnerabilities[%d]", i)
		if strings.TrimSpace(v.ID) == "" {
			return nil, fmt.Errorf("%s.id: needs the vulnerability id", path)
		}
		e := vexEntry{format: "CycloneDX", index: i, at: docTime, names: []string{v.ID}, label: v.ID, status: vexUnderInvestigation}
		if v.References != nil {
			for _, r := range *v.References {
				e.names = append(e.names, r.ID)
			}
		}
		for _, ts := range []struct{ field, value string }{{"updated", v.Updated}, {"analysis.lastUpdated", ""}} {
			if ts.field == "analysis.lastUpdated" && v.Analysis != nil {
				ts.value = v.Analysis.LastUpdated
			}
			if ts.value == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, ts.value)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %q is not an RFC 3339 timestamp", path, ts.field, ts.value)
			}
			e.at = t
		}
		if a := v.Analysis; a != nil && a.State != "" {
			st, ok := cdxStates[a.State]
			if !ok {
				return nil, fmt.Errorf("%s.analysis.state: %q is not a CycloneDX analysis state (not_affected, false_positive, resolved, resolved_with_pedigree, exploitable or in_triage)", path, a.State)
			}
			e.status, e.justification, e.impact = st, string(a.Justification), a.Detail
		}
		// Without an analysis the statement only lists the vulnerability: it
		// stays under investigation and suppresses nothing.
		if v.Affects == nil || len(*v.Affects) == 0 {
			out = append(out, e) // applies to nothing, as an OpenVEX statement without products
			continue
		}
		var subs [][]string
		for j, a := range *v.Affects {
			ref := strings.TrimSpace(a.Ref)
			if ref == "" {
				return nil, fmt.Errorf("%s.affects[%d].ref: is empty; name the affected component by bom-ref or purl", path, j)
			}
			if cyclonedx.IsBOMLink(ref) {
				link, err := cyclonedx.ParseBOMLink(ref)
				if err != nil {
					return nil, fmt.Errorf("%s.affects[%d].ref: %w", path, j, err)
				}
				ref = link.Reference()
			}
			ids, ok := refs[ref]
			if !ok {
				ids = []string{ref}
			}
			if slices.Equal(ids, product) && product != nil {
				// The BOM's own component: the whole product.
				e.products = append(e.products, vexTarget{ids: product})
				continue
			}
			// A ref that is itself the image is a product; any other ref is a
			// package of the BOM's product.
			e.products = append(e.products, vexTarget{ids: ids})
			subs = append(subs, ids)
		}
		if len(subs) > 0 && product != nil {
			e.products = append(e.products, vexTarget{ids: product, subs: subs})
		}
		out = append(out, e)
	}
	return out, nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// loadVEX flattens the statements of validated documents.
func loadVEX(docs []string) []vexEntry {
	var out []vexEntry
	for di, text := range docs {
		entries, err := parseVEX(text)
		if err != nil {
			continue // Validate has refused such a policy already
		}
		for _, e := range entries {
			e.doc = di
			out = append(out, e)
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
		if !e.namesVulnerability(f) || !e.appliesTo(f, img) {
			continue
		}
		if best == nil || !e.at.Before(best.at) {
			best = e
		}
	}
	if best == nil || (best.status != vexNotAffected && best.status != vexFixed) {
		return vexEntry{}, false
	}
	return *best, true
}

func (e vexEntry) namesVulnerability(f Finding) bool {
	return slices.ContainsFunc(e.names, func(name string) bool { return name != "" && findingHasID(f, name) })
}

func (e vexEntry) reason() string {
	unit := "statements"
	if e.format == "CycloneDX" {
		unit = "vulnerabilities"
	}
	s := fmt.Sprintf("%s vulnerabilities.vex_documents[%d] %s[%d] (%s): %s",
		e.format, e.doc, unit, e.index, e.label, e.status)
	if e.justification != "" {
		s += ", " + e.justification
	}
	if e.impact != "" {
		s += ": " + e.impact
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
//   - The image product's subcomponents narrow it to packages: a finding is
//     covered when one of them is a purl for the finding's package (see
//     purlNamesPackage). An image product without subcomponents covers every
//     finding of the image.
func (e vexEntry) appliesTo(f Finding, img Image) bool {
	for _, p := range e.products {
		if !namesImage(p.ids, img) {
			continue
		}
		if len(p.subs) == 0 {
			return true
		}
		for _, sc := range p.subs {
			if slices.ContainsFunc(sc, func(id string) bool { return purlNamesPackage(id, f) }) {
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
	if f.PURL != "" {
		return purlMatchesFinding(id, f.PURL)
	}
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

// purlMatchesFinding reports whether the statement's purl names the
// finding's own purl (the scanner's), with go-vex's PurlMatches: type,
// namespace and name equal (so pkg:maven/group/artifact names only that
// group's artifact, and a deb's vendor counts), the version and each
// qualifier of the statement, when given, equal the finding's. npm names are
// compared case-insensitively and pypi names as PEP 503 normalises them,
// since their registries do.
func purlMatchesFinding(stmt, finding string) bool {
	a, err := packageurl.FromString(strings.TrimSpace(stmt))
	if err != nil {
		return false
	}
	b, err := packageurl.FromString(strings.TrimSpace(finding))
	if err != nil {
		return false
	}
	for _, p := range []*packageurl.PackageURL{&a, &b} {
		p.Type = strings.ToLower(p.Type)
		switch p.Type {
		case "npm":
			p.Namespace, p.Name = strings.ToLower(p.Namespace), strings.ToLower(p.Name)
		case "pypi":
			p.Name = pep503(p.Name)
		}
	}
	return openvex.PurlMatches(a.ToString(), b.ToString())
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
