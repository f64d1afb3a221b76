// Package policy is imagegate's decision engine. It parses and validates the
// versioned JSON policy document and evaluates it against the facts gathered
// about one image: scan findings, the configured user with the image's
// /etc/passwd and /etc/group, the layer diff_ids and candidate base images,
// and for the CIS hygiene checks the config, the build history, the SBOM's
// packages and the facts of the final filesystem.
//
// The package is pure: it performs no I/O and never reads the clock (the
// caller passes the evaluation time in Facts.Now). The same policy and facts
// always give the same Decision, with violations in a fixed order.
package policy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// Version is the only policy document version this package understands.
const Version = 1

// Actions a rule can take when it is violated.
const (
	ActionStop = "stop" // the violation fails the decision (the default)
	ActionWarn = "warn" // the violation is reported but does not fail
)

// Rule names, as used in Violation.Rule.
const (
	RuleBaseImage       = "base_image"
	RulePolicy          = "policy" // the policy itself is invalid; see Evaluate
	RuleRegistries      = "registries"
	RuleSignatures      = "signatures"
	RuleUser            = "user"
	RuleVulnerabilities = "vulnerabilities"
)

// Policy is the canonical policy document (JSON, versioned). A nil rule is
// not checked.
type Policy struct {
	Version         int                `json:"version"` // 1; 0 (absent) means 1
	Name            string             `json:"name"`
	Description     string             `json:"description,omitempty"`
	Vulnerabilities *VulnerabilityRule `json:"vulnerabilities,omitempty"`
	User            *UserRule          `json:"user,omitempty"`
	BaseImage       *BaseImageRule     `json:"base_image,omitempty"`
	Registries      *RegistryRule      `json:"registries,omitempty"`
	Signatures      *SignaturesRule    `json:"signatures,omitempty"`
	Checks          *ChecksRule        `json:"checks,omitempty"`
}

// VulnerabilityRule fails on scan findings at or above a severity or CVSS
// base score, less the findings suppressed by Ignore entries or OpenVEX
// statements.
//
// MaxCVSSScore compares a finding's CVSS base score. A finding the scanner
// gives no score is judged by the lower bound of its severity's CVSS v3
// qualitative band (low 0.1, medium 4.0, high 7.0, critical 9.0): it counts
// when that bound is at or above MaxCVSSScore, so with a maximum of 7 an
// unscored high or critical finding counts and an unscored medium one does
// not. Negligible and unknown (or empty, or unrecognised) severities have no
// band, so a finding with no score and no such severity never counts under
// MaxCVSSScore; FailOnSeverity "negligible" catches the negligible ones, and
// one with an unknown severity and no score fails neither threshold unless
// TreatUnknownAs gives it a severity.
//
// TreatUnknownAs, when set, is the severity a finding of unknown (or empty,
// or unrecognised) severity is judged as, under both thresholds; unset keeps
// grype's behaviour. Either way the decision counts the findings of unknown
// severity no threshold could judge on their own data (Decision.UnknownSeverity).
type VulnerabilityRule struct {
	Action         string   `json:"action"`                     // "stop" (default when empty) or "warn"
	FailOnSeverity string   `json:"fail_on_severity,omitempty"` // negligible|low|medium|high|critical: a finding at or above fails
	MaxCVSSScore   *float64 `json:"max_cvss_score,omitempty"`   // a finding whose CVSS base score is >= this fails (0..10)
	OnlyFixed      bool     `json:"only_fixed,omitempty"`       // findings whose fix_state is not "fixed" do not count
	TreatUnknownAs string   `json:"treat_unknown_as,omitempty"` // negligible|low|medium|high|critical: the severity of a finding whose severity is unknown
	Ignore         []Ignore `json:"ignore,omitempty"`
	VEXDocuments   []string `json:"vex_documents,omitempty"` // OpenVEX or CycloneDX VEX JSON documents (the JSON text itself)
	// IgnoreFile names the .grype.yaml or .trivyignore.yaml the caller read
	// IgnoreFileRules from (ParseIgnoreFile); the engine reads no file, so a
	// document that names a file but carries no rules ignores nothing.
	IgnoreFile      string   `json:"ignore_file,omitempty"`
	IgnoreFileRules []Ignore `json:"ignore_file_rules,omitempty"`
}

// Ignore is an exception for one vulnerability, optionally limited to one
// package and to a period of time.
//
// ID matches a finding's id or any of its aliases, case-insensitively.
// Expires is an RFC 3339 date ("2027-01-31") or timestamp
// ("2027-01-31T12:00:00Z"). A date means "valid through that date": the
// exception lapses at 00:00 UTC of the next day. A timestamp lapses at that
// instant. A lapsed exception suppresses nothing, and the violation it no
// longer suppresses says so.
//
// The optional package fields narrow it as grype's and Trivy's ignore rules
// do; each one set must match: Package the package name, Version its
// version, Type its type as the scanner names it ("deb", "npm",
// "go-module"), PURL its package URL (see purlNamesPackage: a PURL without
// version covers every version), Location a glob (doublestar, as grype's
// package.location) over the paths the package was found at, and FixState
// the finding's fix state (fixed, not-fixed, wont-fix, unknown; set by
// grype ignore files only). Source, set on rules read from an ignore file,
// is "file:line", shown in messages.
type Ignore struct {
	ID       string `json:"id"`
	Package  string `json:"package,omitempty"`
	Version  string `json:"version,omitempty"`
	Type     string `json:"type,omitempty"`
	PURL     string `json:"purl,omitempty"`
	Location string `json:"location,omitempty"`
	FixState string `json:"fix_state,omitempty"`
	Reason   string `json:"reason"`
	Expires  string `json:"expires,omitempty"`
	Source   string `json:"source,omitempty"`
	// PrimaryIDOnly matches ID against the finding's own id, not its
	// aliases: a grype rule without include-aliases.
	PrimaryIDOnly bool `json:"primary_id_only,omitempty"`
}

// UserRule requires the image not to run as root. Only the UID that USER
// resolves to decides root-ness. When USER names a group ("app:staff"), the
// group must also be in the image's /etc/group, or the container could not
// start; a numeric group ("app:1000") needs no lookup.
type UserRule struct {
	Action         string `json:"action"`
	RequireNonRoot bool   `json:"require_non_root"`
}

// BaseImageRule requires the image to be built on a trusted base, proved by
// its layers. Trusted entries are references by tag or digest
// ("cgr.dev/chainguard/static:latest", "alpine@sha256:…"), repositories
// without a tag or digest ("registry.example.com/base/debian": any manifest
// of it that the layers prove) or repository globs ("cgr.dev/chainguard/*",
// "registry.example.com/base/**"; see matchRepository).
//
// Require, nil when absent, defaults to true: an image that no trusted base
// is proved for fails even when its annotations name no base. The canonical
// document always spells it out.
type BaseImageRule struct {
	Action  string   `json:"action"`
	Trusted []string `json:"trusted"`
	Require *bool    `json:"require"`
}

// Required reports whether an image must prove a trusted base: Require, or
// true when it is absent.
func (r *BaseImageRule) Required() bool {
	return r.Require == nil || *r.Require
}

// RegistryRule requires the image's repository to come from a trusted
// registry host ("ghcr.io") or to match a repository glob ("ghcr.io/acme/*").
type RegistryRule struct {
	Action  string   `json:"action"`
	Trusted []string `json:"trusted"`
}

// SignaturesRule requires cosign signatures (and attestations) by the
// listed signers on the digest the reference resolves to (the index digest
// for a multi-platform image) and, with PerPlatform, on each platform's
// manifest digest gated. Evaluate does not check it: verification needs the
// registry, so callers verify and judge the results with
// EvaluateSignatures.
type SignaturesRule struct {
	Action string `json:"action"`
	verify.Requirements
	PerPlatform bool `json:"per_platform,omitempty"`
}

// Problem is one thing wrong with a policy document: the path of the field
// at fault (like "vulnerabilities.ignore[2].expires", or "" for the whole
// document) and what is wrong with it.
type Problem struct {
	Path    string
	Message string
}

// String returns "path: message", or the message alone when there is no path.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found in a policy document.
type ValidationError struct {
	Problems []Problem
}

// Error joins the problems with "; ".
func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

func invalid(path, format string, args ...any) error {
	var ps problems
	ps.add(path, format, args...)
	return ps.err()
}

// Parse reads a policy document strictly (unknown or duplicate fields and
// values of the wrong type are errors) and validates it. Every error is a
// *ValidationError whose problems name the field path.
func Parse(doc []byte) (*Policy, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, invalid("", "the policy document is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := checkShape(dec, reflect.TypeFor[Policy](), ""); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("", "unexpected data after the policy object")
	}
	var p Policy
	dec = json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil { // checkShape should have caught it
		return nil, invalid("", "not a policy document: %v", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// checkShape reads one JSON value from dec and checks it against the Go type
// t, so that errors can name the full path (with list indexes). JSON null is
// accepted as "absent" everywhere except for the document itself.
func checkShape(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxProblem(err)
	}
	if tok == nil {
		if path == "" {
			return invalid("", "the policy document must be a JSON object, not null")
		}
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return invalid(path, "must be an object, not %s", describeToken(tok))
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return syntaxProblem(err)
			}
			key, _ := kt.(string)
			fpath := joinPath(path, key)
			f, ok := fieldByJSONName(t, key)
			if !ok {
				return invalid(fpath, "unknown field")
			}
			if seen[key] {
				return invalid(fpath, "duplicate field")
			}
			seen[key] = true
			if err := checkShape(dec, f.Type, fpath); err != nil {
				return err
			}
		}
	case reflect.Map:
		if tok != json.Delim('{') {
			return invalid(path, "must be an object, not %s", describeToken(tok))
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return syntaxProblem(err)
			}
			key, _ := kt.(string)
			if seen[key] {
				return invalid(joinPath(path, key), "duplicate field")
			}
			seen[key] = true
			if err := checkShape(dec, t.Elem(), joinPath(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if tok != json.Delim('[') {
			return invalid(path, "must be a list, not %s", describeToken(tok))
		}
		for i := 0; dec.More(); i++ {
			if err := checkShape(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return invalid(path, "must be a string, not %s", describeToken(tok))
		}
		return nil
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return invalid(path, "must be true or false, not %s", describeToken(tok))
		}
		return nil
	case reflect.Int:
		n, ok := tok.(json.Number)
		if _, err := strconv.Atoi(string(n)); !ok || err != nil {
			return invalid(path, "must be an integer, not %s", describeToken(tok))
		}
		return nil
	case reflect.Float64:
		n, ok := tok.(json.Number)
		if _, err := n.Float64(); !ok || err != nil {
			return invalid(path, "must be a number, not %s", describeToken(tok))
		}
		return nil
	default:
		panic("policy: checkShape: unhandled kind " + t.Kind().String())
	}
	if _, err := dec.Token(); err != nil { // the closing } or ]
		return syntaxProblem(err)
	}
	return nil
}

func syntaxProblem(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return invalid("", "not valid JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "not valid JSON: unexpected end of the document")
	}
	return invalid("", "not valid JSON: %v", err)
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return strconv.Quote(v)
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(tok)
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if ef, ok := fieldByJSONName(f.Type, name); ok {
				return ef, true
			}
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// severityRanks orders the severities a threshold can name. A finding's
// severity outside this map ("unknown", "") ranks below all of them.
var severityRanks = map[string]int{"negligible": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

func severityRank(s string) int {
	if r, ok := severityRanks[strings.ToLower(strings.TrimSpace(s))]; ok {
		return r
	}
	return -1
}

// Validate checks the policy and returns a *ValidationError listing every
// problem found, or nil.
func (p *Policy) Validate() error {
	if p == nil {
		return invalid("", "there is no policy")
	}
	var ps problems
	if p.Version != 0 && p.Version != Version {
		ps.add("version", "unsupported version %d; this provider understands version %d", p.Version, Version)
	}
	if p.Vulnerabilities == nil && p.User == nil && p.BaseImage == nil && p.Registries == nil && p.Signatures == nil && p.Checks == nil {
		ps.add("", "the policy has no rule, so it checks nothing: set at least one of vulnerabilities, user, base_image, registries or signatures, or the hygiene checks in checks")
	}
	if r := p.Vulnerabilities; r != nil {
		r.validate(&ps)
	}
	if r := p.User; r != nil {
		checkAction(&ps, "user.action", r.Action)
		if !r.RequireNonRoot {
			ps.add("user", "the rule checks nothing: set require_non_root = true or remove it")
		}
	}
	if r := p.BaseImage; r != nil {
		checkAction(&ps, "base_image.action", r.Action)
		for i, s := range r.Trusted {
			if _, err := parseRef(s); err != nil {
				ps.add(fmt.Sprintf("base_image.trusted[%d]", i), "%v", err)
			}
		}
		switch {
		case len(r.Trusted) > 0:
		case r.Required():
			ps.add("base_image.trusted", "no base is trusted, so every image would fail (require is true, the default); list at least one")
		default:
			ps.add("base_image", "the rule checks nothing: list the trusted bases in trusted or remove it")
		}
	}
	if r := p.Registries; r != nil {
		checkAction(&ps, "registries.action", r.Action)
		for i, s := range r.Trusted {
			if _, err := parseRegistryEntry(s); err != nil {
				ps.add(fmt.Sprintf("registries.trusted[%d]", i), "%v", err)
			}
		}
		if len(r.Trusted) == 0 {
			ps.add("registries.trusted", "no registry is trusted, so every image would fail; list at least one")
		}
	}
	if r := p.Signatures; r != nil {
		checkAction(&ps, "signatures.action", r.Action)
		for _, pr := range r.Check() {
			path := "signatures"
			if pr.Path != "" {
				path += "." + pr.Path
			}
			ps.add(path, "%s", pr.Message)
		}
	}
	if r := p.Checks; r != nil {
		r.validate(&ps)
	}
	return ps.err()
}

func (r *VulnerabilityRule) validate(ps *problems) {
	checkAction(ps, "vulnerabilities.action", r.Action)
	if r.FailOnSeverity != "" && severityRank(r.FailOnSeverity) < 0 {
		ps.add("vulnerabilities.fail_on_severity", "%q is not a severity; use negligible, low, medium, high or critical", r.FailOnSeverity)
	}
	if r.TreatUnknownAs != "" && severityRank(r.TreatUnknownAs) < 0 {
		ps.add("vulnerabilities.treat_unknown_as", "%q is not a severity; use negligible, low, medium, high or critical", r.TreatUnknownAs)
	}
	if v := r.MaxCVSSScore; v != nil && (math.IsNaN(*v) || *v < 0 || *v > 10) {
		ps.add("vulnerabilities.max_cvss_score", "%v is outside 0..10", *v)
	}
	if r.FailOnSeverity == "" && r.MaxCVSSScore == nil {
		ps.add("vulnerabilities", "set fail_on_severity, max_cvss_score or both; without a threshold no finding can fail")
	}
	for i, ig := range r.Ignore {
		validateIgnore(ps, fmt.Sprintf("vulnerabilities.ignore[%d]", i), ig)
	}
	for i, ig := range r.IgnoreFileRules {
		validateIgnore(ps, fmt.Sprintf("vulnerabilities.ignore_file_rules[%d]", i), ig)
	}
	for i, doc := range r.VEXDocuments {
		if _, err := parseVEX(doc); err != nil {
			ps.add(fmt.Sprintf("vulnerabilities.vex_documents[%d]", i), "%v", err)
		}
	}
}

func checkAction(ps *problems, path, action string) {
	if action != "" && action != ActionStop && action != ActionWarn {
		ps.add(path, "%q is not an action; use %q or %q", action, ActionStop, ActionWarn)
	}
}

// parseExpiry returns the instant an exception lapses: the start of the next
// UTC day for a date, the instant itself for a timestamp.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date or timestamp", s)
}

func defaultAction(a string) string {
	if a == "" {
		return ActionStop
	}
	return a
}

// normalized returns a deep copy with defaults filled in: version 1, action
// "stop", lower-case severity, base_image.require (true), trusted lists
// sorted without duplicates.
func (p *Policy) normalized() *Policy {
	c := *p
	c.Version = Version
	if r := p.Vulnerabilities; r != nil {
		v := *r
		v.Action = defaultAction(r.Action)
		v.FailOnSeverity = strings.ToLower(strings.TrimSpace(r.FailOnSeverity))
		v.TreatUnknownAs = strings.ToLower(strings.TrimSpace(r.TreatUnknownAs))
		if r.MaxCVSSScore != nil {
			m := *r.MaxCVSSScore
			v.MaxCVSSScore = &m
		}
		v.Ignore = slices.Clone(r.Ignore)
		v.IgnoreFileRules = slices.Clone(r.IgnoreFileRules)
		v.VEXDocuments = slices.Clone(r.VEXDocuments)
		c.Vulnerabilities = &v
	}
	if r := p.User; r != nil {
		c.User = &UserRule{Action: defaultAction(r.Action), RequireNonRoot: r.RequireNonRoot}
	}
	if r := p.BaseImage; r != nil {
		require := r.Required()
		c.BaseImage = &BaseImageRule{Action: defaultAction(r.Action), Trusted: sortedSet(r.Trusted), Require: &require}
	}
	if r := p.Registries; r != nil {
		c.Registries = &RegistryRule{Action: defaultAction(r.Action), Trusted: sortedSet(r.Trusted)}
	}
	if r := p.Signatures; r != nil {
		v := *r
		v.Action = defaultAction(r.Action)
		v.Keys = sortedSet(r.Keys)
		v.Identities = slices.Clone(r.Identities)
		slices.SortFunc(v.Identities, func(a, b verify.Identity) int {
			return cmp.Or(cmp.Compare(a.Issuer, b.Issuer), cmp.Compare(a.IssuerRegex, b.IssuerRegex), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.SubjectRegex, b.SubjectRegex))
		})
		v.Identities = slices.Compact(v.Identities)
		v.Attestations = slices.Clone(r.Attestations)
		slices.SortFunc(v.Attestations, func(a, b verify.Attestation) int { return cmp.Compare(a.PredicateType, b.PredicateType) })
		v.Annotations = maps.Clone(r.Annotations)
		v.Minimum = max(r.Minimum, 1)
		c.Signatures = &v
	}
	if r := p.Checks; r != nil {
		c.Checks = r.normalized()
	}
	return &c
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// Canonical validates the policy and returns its canonical JSON and the id of
// those bytes, "sha256:<hex>". The canonical form has a fixed field order,
// defaults filled in (version 1, action "stop", lower-case severity,
// base_image.require, which is always written: true unless false), trusted
// lists sorted without duplicates, ignore entries in the given order, and each
// VEX document re-encoded compactly with sorted keys. Policies that differ
// only in key order, whitespace, defaults or trusted-list order share an id.
func (p *Policy) Canonical() ([]byte, string, error) {
	if err := p.Validate(); err != nil {
		return nil, "", fmt.Errorf("canonicalize policy: %w", err)
	}
	c := p.normalized()
	if r := c.Signatures; r != nil && r.TrustedRoot != "" {
		s, err := canonicalJSONText(r.TrustedRoot)
		if err != nil {
			return nil, "", fmt.Errorf("canonicalize policy: signatures.trusted_root: %w", err)
		}
		r.TrustedRoot = s
	}
	if v := c.Vulnerabilities; v != nil {
		for i, doc := range v.VEXDocuments {
			s, err := canonicalJSONText(doc)
			if err != nil {
				return nil, "", fmt.Errorf("canonicalize policy: vulnerabilities.vex_documents[%d]: %w", i, err)
			}
			v.VEXDocuments[i] = s
		}
	}
	b, err := marshal(c)
	if err != nil {
		return nil, "", fmt.Errorf("canonicalize policy: %w", err)
	}
	sum := sha256.Sum256(b)
	return b, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// canonicalJSONText re-encodes a JSON text compactly with object keys sorted
// and numbers kept as written.
func canonicalJSONText(s string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	b, err := marshal(v)
	return string(b), err
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
