package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	sysuser "github.com/moby/sys/user"

	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// Facts is what the caller knows about one image. The engine trusts them as
// given and reads nothing else.
type Facts struct {
	// Now is the evaluation time, for exception expiry. A zero Now makes
	// every exception that has an expiry count as lapsed.
	Now      time.Time
	Image    Image
	Findings []Finding
	// Passwd and Group are /etc/passwd and /etc/group from the image's final
	// filesystem, nil when absent, for resolving the user.
	Passwd, Group []byte
	// BaseCandidates are the trusted base references the caller could
	// resolve (for the image's platform), plus the annotated base when it
	// could be resolved.
	BaseCandidates []BaseCandidate
	// Packages are the packages of the scan's SBOM, for denied_packages.
	Packages []Package
	// Files are the hygiene facts of the final filesystem; nil when not
	// gathered, which fails every check that needs them.
	Files *FileFacts
}

// Image identifies the image under evaluation.
type Image struct {
	Reference  string   // as given by the user
	Repository string   // "registry/repository", e.g. "ghcr.io/acme/app", "index.docker.io/library/alpine"
	Digest     string   // of the platform manifest
	User       string   // USER from the config, as written
	DiffIDs    []string // layer diff_ids, bottom first
	BaseName   string   // org.opencontainers.image.base.name annotation, "" when absent
	BaseDigest string   // org.opencontainers.image.base.digest annotation, "" when absent
	// Created is the config's creation time, zero when it records none.
	Created time.Time
	// Labels are the config's labels.
	Labels map[string]string
	// Healthcheck is the config's HEALTHCHECK test, nil when none.
	Healthcheck []string
	// Env is the config's environment, "KEY=value". Values are read only
	// to recognise credentials and never appear in a violation.
	Env []string
	// History are the config's build steps, oldest first.
	History []HistoryStep
}

// Finding is one vulnerability match from the scanner.
type Finding struct {
	ID        string
	Aliases   []string
	Severity  string   // negligible|low|medium|high|critical|unknown, case-insensitive
	CVSSScore *float64 // base score, nil when unknown
	Package   string
	Version   string
	Type      string   // package type, e.g. "npm", "apk"
	PURL      string   // the package's purl as the scanner found it, "" when unknown
	FixState  string   // fixed|not-fixed|wont-fix|unknown
	FixedIn   []string // versions that fix it
	Locations []string // the paths the package was found at, for exceptions by location
	New       bool     // first seen after the image was first scanned
}

// BaseCandidate is a possible base image the caller resolved.
//
// A trusted entry pinned by digest and an annotated base digest are matched
// against both Digest and IndexDigest, since a multi-platform base is usually
// pinned (and annotated) by its index digest.
type BaseCandidate struct {
	Trusted     string   // the policy entry it was resolved from, "" if only from the annotation
	Repository  string   // registry/repository
	Digest      string   // of the platform manifest
	IndexDigest string   // of the index the platform manifest was chosen from, "" when not from an index
	Tags        []string // the tag it was resolved from, if any
	DiffIDs     []string // layer diff_ids, bottom first
}

// digests returns the candidate's platform manifest digest and, if any, its
// index digest.
func (bc BaseCandidate) digests() []string {
	var out []string
	for _, d := range []string{bc.Digest, bc.IndexDigest} {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Passed     bool          // false iff a violation has action "stop"
	Violations []Violation   // sorted by rule, subject, message; warn-level ones included
	Suppressed []Suppression // sorted by subject; findings suppressed by an ignore entry or OpenVEX
	// UnknownSeverity counts the findings of unknown severity that no
	// threshold could judge on their own data: fail_on_severity cannot rank
	// them and no CVSS score was compared (they have none, or the rule sets
	// no max_cvss_score). Findings that only_fixed excludes are not counted.
	// Without treat_unknown_as they were left unevaluated; with it they were
	// judged as UnknownTreatedAs.
	UnknownSeverity int
	// UnknownTreatedAs is the rule's treat_unknown_as, "" when unset.
	UnknownTreatedAs string
	// ExceptionWarnings are the exceptions (ignore entries and ignore file
	// rules) that no finding uses, that expire within ExpiryWarningWindow of
	// Facts.Now, or that have expired, in the policy's order.
	ExceptionWarnings []ExceptionWarning
}

// Violation is one way the image breaks the policy.
type Violation struct {
	Rule   string // "vulnerabilities", "user", "base_image", "registries", "signatures", "checks.<id>" or "policy"
	Action string // "stop" or "warn"
	// CIS is the CIS Docker Benchmark id of the rule or check ("4.1"), ""
	// when no CIS item covers it.
	CIS     string
	Subject string // the vulnerability id and package@version, the user, the base or the repository
	Message string // a readable explanation
	// Platform is the image platform the violation was found in, set by
	// callers that gate several images of an index ("" otherwise).
	Platform string
	// Finding is the vulnerability of a vulnerabilities violation (its id,
	// severity, CVSS score and whether it is new), so callers can order
	// and filter violations by importance; zero for other rules.
	Finding FindingRank
}

// FindingRank is what orders and flags a vulnerability violation.
type FindingRank struct {
	ID       string
	Severity string  // lower case, as in Finding; "unknown" when absent
	CVSS     float64 // base score; 0 when the finding has none
	New      bool    // first seen after the image was first scanned
}

// Suppression records a finding that would have violated the vulnerabilities
// rule but was suppressed.
type Suppression struct {
	Subject string // as in Violation.Subject
	Source  string // "ignore" or "vex"
	Reason  string // which entry or statement, and why
	// Platform is as in Violation.
	Platform string
}

// Evaluate applies the policy to the facts. It is fail-closed: an invalid or
// nil policy gives a failed decision with one "policy" violation.
//
// Vulnerabilities: a finding counts when its severity is at or above
// fail_on_severity ("unknown" ranks below negligible) or its CVSS score is at
// or above max_cvss_score; a finding without a CVSS score is judged against
// max_cvss_score by the lower bound of its severity's CVSS v3 band (low 0.1,
// medium 4.0, high 7.0, critical 9.0), and one with neither a score nor such
// a severity never counts under max_cvss_score, unless treat_unknown_as gives
// an unknown severity one to judge by (Decision.UnknownSeverity counts such
// findings either way); with only_fixed, findings
// whose fix state is not "fixed" never count. A counted finding is
// suppressed by the first active ignore entry naming it, else by OpenVEX
// (see vexDecision and appliesTo: a statement applies only through a product
// naming the image's digest, narrowed by its subcomponents' purls); otherwise
// it is one violation. Only counted findings appear in Decision.Suppressed.
//
// User: only the UID decides root-ness (see ResolveUser); a user whose UID
// cannot be established is a violation, and so is a named group in USER
// ("app:staff") that the image's /etc/group does not list (or an image
// without /etc/group), since the container could not start.
//
// Base image: a candidate proves a base when its diff_ids are a non-empty
// prefix of the image's and a trusted entry covers its repository, digest
// (platform manifest or index) or tag (trust is decided here, not taken from
// BaseCandidate.Trusted). An annotated base digest names a candidate when it
// is either of the candidate's digests. An annotated base proved by layers
// must be trusted; a claimed trusted base that no candidate proves is a
// violation unless another trusted base is proved; an annotated untrusted
// base fails unless a trusted base is proved.
// Without annotations, require (true unless set to false) decides whether an
// unproved base fails: a tag entry is compared with the manifest its tag
// names now and a repository entry with its latest tag, and the message says
// how to nominate an earlier manifest (annotations) or trust it (a digest).
// A repository entry (no tag, no digest) or glob trusts any manifest of its
// repositories that the layers prove, so an image built on an earlier
// manifest of a moved tag passes it when its annotations nominate that
// manifest.
//
// Registries: the repository must be under a trusted host or match a trusted
// repository glob.
//
// Checks: each enabled hygiene check (see ChecksRule and Hygiene) gives one
// violation per subject it fails (package, path, variable, history step,
// label, account), with the rule "checks.<id>", the check's action and its
// CIS id. The file checks fail closed when Facts.Files is nil. No message
// quotes a secret value: variables, steps and files are named, and a quoted
// step is redacted first.
func Evaluate(p *Policy, f Facts) Decision {
	if err := p.Validate(); err != nil {
		return finish(Decision{Violations: []Violation{{
			Rule: RulePolicy, Action: ActionStop, Subject: "policy",
			Message: "the policy is invalid, so no image can pass it: " + err.Error(),
		}}})
	}
	n := p.normalized()
	f.Image.Repository = normalizeRepository(f.Image.Repository)
	var d Decision
	if r := n.Vulnerabilities; r != nil {
		vs, ss, unknown := evaluateVulnerabilities(r, f)
		d.UnknownSeverity, d.UnknownTreatedAs = unknown, r.TreatUnknownAs
		d.Violations = append(d.Violations, vs...)
		d.Suppressed = append(d.Suppressed, ss...)
		d.ExceptionWarnings = exceptionWarnings(r, f)
	}
	if r := n.User; r != nil && r.RequireNonRoot {
		d.Violations = append(d.Violations, evaluateUser(r, f)...)
	}
	if r := n.BaseImage; r != nil {
		d.Violations = append(d.Violations, evaluateBaseImage(r, f)...)
	}
	if r := n.Registries; r != nil {
		d.Violations = append(d.Violations, evaluateRegistries(r, f)...)
	}
	if r := n.Checks; r != nil {
		d.Violations = append(d.Violations, evaluateChecks(r, f)...)
	}
	return finish(d)
}

// finish sorts and de-duplicates the decision and sets Passed.
func finish(d Decision) Decision {
	slices.SortFunc(d.Violations, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject),
			cmp.Compare(a.Message, b.Message), cmp.Compare(a.Action, b.Action))
	})
	d.Violations = slices.Compact(d.Violations)
	slices.SortFunc(d.Suppressed, func(a, b Suppression) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Reason, b.Reason))
	})
	d.Suppressed = slices.Compact(d.Suppressed)
	d.Passed = !slices.ContainsFunc(d.Violations, func(v Violation) bool { return v.Action == ActionStop })
	return d
}

// evaluateVulnerabilities gives one violation per counted finding that no
// active ignore entry or OpenVEX statement suppresses, and the number of
// findings whose unknown severity kept both thresholds from judging them.
func evaluateVulnerabilities(r *VulnerabilityRule, f Facts) ([]Violation, []Suppression, int) {
	vex := loadVEX(r.VEXDocuments)
	exceptions := r.exceptions()
	var vs []Violation
	var ss []Suppression
	unknown := 0
	for _, fd := range f.Findings {
		// Findings of unknown severity are counted once exceptions and
		// VEX statements had their say: a waived finding is not unjudged.
		unjudged := unjudgedSeverity(r, fd)
		why := countReasons(r, fd)
		if len(why) == 0 && !unjudged {
			continue
		}
		subject := findingSubject(fd)
		var active *namedIgnore
		var lapsed []Ignore
		for _, ex := range exceptions {
			if !ignoreMatches(ex.Ignore, fd) {
				continue
			}
			if ignoreActive(ex.Ignore, f.Now) {
				active = &ex
				break
			}
			lapsed = append(lapsed, ex.Ignore)
		}
		if active != nil {
			if len(why) > 0 {
				reason := fmt.Sprintf("%s (%s): %s", active.name, active.ID, active.Reason)
				if active.Expires != "" {
					reason += " (until " + active.Expires + ")"
				}
				ss = append(ss, Suppression{Subject: subject, Source: "ignore", Reason: reason})
			}
			continue
		}
		if e, ok := vexDecision(vex, fd, f.Image); ok {
			if len(why) > 0 {
				ss = append(ss, Suppression{Subject: subject, Source: "vex", Reason: e.reason()})
			}
			continue
		}
		if unjudged {
			unknown++
		}
		if len(why) == 0 {
			continue
		}
		var msg strings.Builder
		msg.WriteString(findingDescription(fd) + "; " + strings.Join(why, " and "))
		if fd.New {
			msg.WriteString(" (new since first scan)")
		}
		for _, ig := range lapsed {
			fmt.Fprintf(&msg, "; exception for %s lapsed on %s (reason: %s)", ig.ID, ig.Expires, ig.Reason)
		}
		rank := FindingRank{ID: fd.ID, Severity: strings.ToLower(strings.TrimSpace(fd.Severity)), New: fd.New}
		if rank.Severity == "" {
			rank.Severity = "unknown"
		}
		if fd.CVSSScore != nil {
			rank.CVSS = *fd.CVSSScore
		}
		vs = append(vs, Violation{Rule: RuleVulnerabilities, Action: r.Action, CIS: CISVulnerabilities, Subject: subject, Message: msg.String(), Finding: rank})
	}
	return vs, ss, unknown
}

// unjudgedSeverity reports whether a finding's unknown severity keeps the
// rule from judging it on its own data: only_fixed does not exclude it,
// fail_on_severity cannot rank it and max_cvss_score has no score to compare.
func unjudgedSeverity(r *VulnerabilityRule, fd Finding) bool {
	if r.OnlyFixed && !strings.EqualFold(strings.TrimSpace(fd.FixState), "fixed") {
		return false
	}
	return severityRank(fd.Severity) < 0 && (r.MaxCVSSScore == nil || fd.CVSSScore == nil)
}

// countReasons says why a finding counts against the rule, or nothing.
func countReasons(r *VulnerabilityRule, fd Finding) []string {
	if r.OnlyFixed && !strings.EqualFold(strings.TrimSpace(fd.FixState), "fixed") {
		return nil
	}
	// An unknown severity is judged as treat_unknown_as, when set.
	sev, treated := fd.Severity, ""
	if severityRank(sev) < 0 && r.TreatUnknownAs != "" {
		sev = r.TreatUnknownAs
		treated = "severity unknown, counted as " + r.TreatUnknownAs + " by treat_unknown_as, "
	}
	var why []string
	if r.FailOnSeverity != "" && severityRank(sev) >= severityRank(r.FailOnSeverity) {
		why = append(why, treated+"severity at or above fail_on_severity "+r.FailOnSeverity)
	}
	if m := r.MaxCVSSScore; m != nil {
		if fd.CVSSScore != nil {
			if *fd.CVSSScore >= *m {
				why = append(why, "CVSS at or above max_cvss_score "+formatScore(*m))
			}
		} else if sev, floor, ok := severityCVSSFloor(sev); ok && floor >= *m {
			why = append(why, fmt.Sprintf("no CVSS score; %sseverity %s is CVSS %s or more, at or above max_cvss_score %s",
				treated, sev, strconv.FormatFloat(floor, 'f', 1, 64), formatScore(*m)))
		}
	}
	return why
}

// cvssFloors are the lower bounds of the CVSS v3 qualitative severity bands.
// Negligible and unknown severities have no band.
var cvssFloors = map[string]float64{"low": 0.1, "medium": 4.0, "high": 7.0, "critical": 9.0}

// severityCVSSFloor returns a severity, normalised, and the lowest CVSS v3
// base score of its qualitative band, for judging a finding that has no
// score against max_cvss_score.
func severityCVSSFloor(severity string) (string, float64, bool) {
	sev := strings.ToLower(strings.TrimSpace(severity))
	floor, ok := cvssFloors[sev]
	return sev, floor, ok
}

// ignoreActive reports whether an exception still holds at now: one without
// expiry always does; one with an expiry until that instant (exclusive).
func ignoreActive(ig Ignore, now time.Time) bool {
	if ig.Expires == "" {
		return true
	}
	exp, err := parseExpiry(ig.Expires)
	return err == nil && !now.IsZero() && now.Before(exp)
}

// findingHasID reports whether id is the finding's id or one of its aliases,
// case-insensitively.
func findingHasID(fd Finding, id string) bool {
	id = strings.TrimSpace(id)
	if strings.EqualFold(fd.ID, id) {
		return true
	}
	return slices.ContainsFunc(fd.Aliases, func(a string) bool { return strings.EqualFold(a, id) })
}

// findingSubject is "ID package@version" (or less, when parts are unknown).
func findingSubject(fd Finding) string {
	s := fd.ID
	if fd.Package != "" {
		s += " " + fd.Package
		if fd.Version != "" {
			s += "@" + fd.Version
		}
	}
	return s
}

// findingDescription is "ID in package version (type): severity, CVSS, fix".
func findingDescription(fd Finding) string {
	s := fd.ID
	if fd.Package != "" {
		s += " in " + fd.Package
		if fd.Version != "" {
			s += " " + fd.Version
		}
		if fd.Type != "" {
			s += " (" + fd.Type + ")"
		}
	}
	sev := strings.ToLower(strings.TrimSpace(fd.Severity))
	if sev == "" {
		sev = "unknown"
	}
	parts := []string{sev + " severity"}
	if fd.CVSSScore != nil {
		parts = append(parts, "CVSS "+formatScore(*fd.CVSSScore))
	}
	state := strings.ToLower(strings.TrimSpace(fd.FixState))
	switch {
	case len(fd.FixedIn) > 0:
		parts = append(parts, "fixed in "+strings.Join(fd.FixedIn, ", "))
	case state == "fixed":
		parts = append(parts, "fixed (version not known)")
	case state == "wont-fix":
		parts = append(parts, "no fix (won't fix)")
	default:
		parts = append(parts, "no fix")
	}
	return s + ": " + strings.Join(parts, ", ")
}

func formatScore(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// evaluateUser checks require_non_root. The USER is resolved exactly as
// container runtimes resolve it (see ResolveUser), and only the UID decides
// root-ness: the group part of USER does not make a user root or non-root.
// The user and the group part are judged separately, so both are reported;
// anything else the runtime would refuse (a named group missing from
// /etc/group, an unreadable account file) fails too, since the container
// could not start. A UID outside 0..2147483647 read from /etc/passwd fails
// closed: runtimes convert it to 32 bits, which can give 0.
func evaluateUser(r *UserRule, f Facts) []Violation {
	spec := f.Image.User
	userArg, groupArg := splitUserSpec(spec)
	subject := strings.TrimSpace(spec)
	if subject == "" {
		subject = "root"
	}
	var vs []Violation
	violation := func(msg string) {
		vs = append(vs, Violation{Rule: RuleUser, Action: r.Action, CIS: CISUser, Subject: subject, Message: msg})
	}
	// The user part alone: without /etc/group nothing about groups can fail.
	uid, _, err := ResolveUser(userArg, f.Passwd, nil)
	switch {
	case err != nil:
		violation(err.Error())
	case uid < 0 || uid > maxID:
		violation(uidOutOfRangeMessage(spec, userArg, uid, f.Passwd))
	case uid != 0:
	case spec == "":
		violation("the image sets no USER, so it runs as root")
	default:
		violation(rootMessage(spec, userArg, f.Passwd))
	}
	if msg := checkGroup(groupArg, spec, f.Group); msg != "" {
		violation(msg)
	}
	if len(vs) == 0 {
		if _, _, err := ResolveUser(spec, f.Passwd, f.Group); err != nil {
			violation(err.Error())
		}
	}
	return vs
}

// rootMessage says why USER resolves to UID 0, naming the /etc/passwd field
// when the reason is not plain.
func rootMessage(spec, userArg string, passwd []byte) string {
	if userArg == "" || userArg == "0" {
		return fmt.Sprintf("USER %q runs as root (UID 0)", spec)
	}
	if _, err := strconv.Atoi(userArg); err == nil {
		return fmt.Sprintf("USER %q runs as root: %q is read as the numeric UID 0", spec, userArg)
	}
	entry, field, hasField, ok := uidOrigin(userArg, passwd)
	switch {
	case !ok: // cannot happen: a named user resolved without an entry
		return fmt.Sprintf("USER %q runs as root (UID 0)", spec)
	case !hasField:
		return fmt.Sprintf("USER %q resolves to UID 0: %s has no UID field, which container runtimes read as 0", spec, entry)
	case field == "0" && userArg == "root":
		return fmt.Sprintf("USER %q runs as root (UID 0)", spec)
	case field == "0":
		return fmt.Sprintf("USER %q runs as root: %q has UID 0 in the image's /etc/passwd", spec, userArg)
	}
	if _, err := strconv.Atoi(field); err != nil {
		return fmt.Sprintf("USER %q resolves to UID 0: %s has a UID field %q that does not parse as a number, which container runtimes read as 0", spec, entry, field)
	}
	return fmt.Sprintf("USER %q resolves to UID 0: %s has the UID field %q, which container runtimes read as 0", spec, entry, field)
}

// uidOutOfRangeMessage explains a UID from /etc/passwd that runtimes do not
// keep as is: they convert it to a 32-bit UID, which may be 0.
func uidOutOfRangeMessage(spec, userArg string, uid int, passwd []byte) string {
	origin := ""
	if entry, field, _, ok := uidOrigin(userArg, passwd); ok {
		origin = fmt.Sprintf(" (%s has the UID field %q)", entry, field)
	}
	effective := uint32(uid)
	if effective == 0 {
		return fmt.Sprintf("USER %q resolves to UID %d%s, outside 0 to %d; container runtimes convert it to the 32-bit UID 0, so it runs as root", spec, uid, origin, maxID)
	}
	return fmt.Sprintf("USER %q resolves to UID %d%s, outside 0 to %d; container runtimes convert it to the 32-bit UID %d, so the UID it runs with cannot be established", spec, uid, origin, maxID, effective)
}

// checkGroup returns why the container cannot start with the group part of
// USER, or "". It resolves the group part as the runtime does with any user:
// a numeric group must be in range, a named one, "root" included, must be in
// /etc/group.
func checkGroup(groupArg, spec string, group []byte) string {
	if groupArg == "" {
		return ""
	}
	_, _, err := ResolveUser("0:"+groupArg, nil, group)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, sysuser.ErrNoGroupEntries) && group == nil:
		return fmt.Sprintf("group %q cannot be looked up because the image has no /etc/group, so the container cannot start with USER %q", groupArg, spec)
	case errors.Is(err, sysuser.ErrNoGroupEntries):
		return fmt.Sprintf("group %q is not in the image's /etc/group, so the container cannot start with USER %q", groupArg, spec)
	case errors.Is(err, sysuser.ErrRange):
		return fmt.Sprintf("GID %q in USER %q is outside the range 0 to %d that container runtimes accept, so the container cannot start", groupArg, spec, maxID)
	}
	return err.Error()
}

// candidate is a BaseCandidate with what the engine concluded about it.
type candidate struct {
	BaseCandidate
	proved  bool // its layers are a non-empty prefix of the image's
	trusted bool // a trusted entry covers it
}

// trustedEntry is a parsed base_image.trusted entry with its text.
type trustedEntry struct {
	ref
	text string
}

// repositoryText is the entry as written, less its tag: the repository entry
// that trusts every manifest of the repository.
func (e trustedEntry) repositoryText() string {
	return strings.TrimSuffix(e.text, ":"+e.tag)
}

// evaluateBaseImage checks that a trusted base is proved by the image's
// layers; an annotation alone proves nothing.
func evaluateBaseImage(r *BaseImageRule, f Facts) []Violation {
	var entries []trustedEntry
	for _, s := range r.Trusted {
		if e, err := parseRef(s); err == nil {
			entries = append(entries, trustedEntry{ref: e, text: s})
		}
	}
	trusted := func(repo string, digests, tags []string) bool {
		return slices.ContainsFunc(entries, func(e trustedEntry) bool { return e.matches(repo, digests, tags) })
	}
	var cands []candidate
	provedTrusted := false
	for _, bc := range f.BaseCandidates {
		c := candidate{BaseCandidate: bc}
		c.Repository = normalizeRepository(bc.Repository)
		c.proved = isLayerPrefix(bc.DiffIDs, f.Image.DiffIDs)
		c.trusted = trusted(c.Repository, c.digests(), c.Tags)
		provedTrusted = provedTrusted || (c.proved && c.trusted)
		cands = append(cands, c)
	}
	violation := func(subject, format string, args ...any) []Violation {
		return []Violation{{Rule: RuleBaseImage, Action: r.Action, CIS: CISBaseImage, Subject: subject, Message: fmt.Sprintf(format, args...)}}
	}
	trustedList := strings.Join(r.Trusted, ", ")

	if cl, ok := parseClaim(f.Image); ok {
		var fromClaim, provedClaim []candidate
		for _, c := range cands {
			if cl.covers(c) {
				fromClaim = append(fromClaim, c)
				if c.proved {
					provedClaim = append(provedClaim, c)
				}
			}
		}
		claimTrusted := trusted(cl.repo, cl.digests(), cl.tags())
		if cl.repo == "" { // only a digest: trusted when an entry pins it
			claimTrusted = slices.ContainsFunc(entries, func(e trustedEntry) bool { return e.digest != "" && e.digest == cl.digest })
		}
		// A resolved candidate that is the claimed base and is trusted (say,
		// an entry pins its platform digest while the annotation names its
		// index) makes the claim one of a trusted base.
		claimTrusted = claimTrusted || slices.ContainsFunc(fromClaim, func(c candidate) bool { return c.trusted })
		if i := slices.IndexFunc(provedClaim, func(c candidate) bool { return !c.trusted }); i >= 0 {
			return violation(cl.label, "base %s is not in the trusted list (its layers are the bottom of the image's; trusted: %s)%s",
				cl.label, trustedList, movedTagHint(entries, cands, provedClaim[i], cl.tag))
		}
		switch {
		case len(provedClaim) > 0 || provedTrusted:
			return nil
		case claimTrusted && len(fromClaim) == 0:
			return violation(cl.label, "the image's annotations claim base %s, but that base could not be resolved to compare its layers with the image's, so the claim is not proved", cl.label)
		case claimTrusted:
			return violation(cl.label, "the image's annotations claim base %s, but its layers do not match the image's (forged or stale annotation)", cl.label)
		default:
			return violation(cl.label, "the image's annotations name base %s, which is not in the trusted list (%s), and no trusted base is proved by the image's layers", cl.label, trustedList)
		}
	}
	if provedTrusted || !r.Required() {
		return nil
	}
	hint := unannotatedHint(entries)
	if len(cands) == 0 {
		return violation("base image", "a trusted base is required, but none of the trusted bases (%s) could be resolved to compare layers with%s", trustedList, hint)
	}
	var tried []string
	for _, c := range cands {
		tried = append(tried, c.Repository+"@"+c.Digest)
	}
	slices.Sort(tried)
	return violation("base image", "a trusted base is required, but the layers of no trusted base (%s) are the bottom of the image's; checked: %s%s", trustedList, strings.Join(tried, ", "), hint)
}

// annotationNames names the annotations that nominate a base manifest.
const annotationNames = "org.opencontainers.image.base.name and org.opencontainers.image.base.digest"

// movedTagHint explains why a base proved by layers is not trusted when a
// trusted entry names its repository by tag: the image was built on another
// manifest of that repository, typically an earlier one of a tag that has
// moved since. It suggests the repository entry, which trusts any manifest of
// the repository the layers prove, and the digest pin. "" when no entry names
// the repository by tag.
func movedTagHint(entries []trustedEntry, cands []candidate, base candidate, claimedTag string) string {
	for _, e := range entries {
		if e.tag == "" || e.digest != "" || !matchRepository(e.repo, base.Repository) {
			continue
		}
		now := ""
		for _, c := range cands {
			if c.Repository == base.Repository && slices.Contains(c.Tags, e.tag) && c.Digest != base.Digest {
				now = c.Digest
			}
		}
		repoEntry := e.repositoryText()
		pin := base.Repository + "@" + base.Digest
		if now != "" && claimedTag == e.tag {
			return fmt.Sprintf(". Trusted entry %s now names %s: the tag has moved since the image was built. To trust any manifest of the repository that the image's layers prove, list the repository entry %s (no tag); or pin this base by digest: %s",
				e.text, now, repoEntry, pin)
		}
		return fmt.Sprintf(". Trusted entry %s trusts only the manifest its tag names now. To trust any manifest of the repository that the image's layers prove, list the repository entry %s (no tag); or pin this base by digest: %s",
			e.text, repoEntry, pin)
	}
	return ""
}

// unannotatedHint says what to do when an image without base annotations
// proves no trusted base. A tag entry is compared with the manifest the tag
// names now, and a repository entry or glob with no manifest the registry can
// list: an image built on another manifest can only nominate it by
// annotation (then a repository entry trusts it, when the layers prove it) or
// be trusted by digest.
func unannotatedHint(entries []trustedEntry) string {
	var tagged, wide []string
	for _, e := range entries {
		switch {
		case e.digest != "":
		case e.tag != "":
			tagged = append(tagged, e.text)
		default:
			wide = append(wide, e.text)
		}
	}
	var hints []string
	if len(tagged) > 0 {
		slices.Sort(tagged)
		hints = append(hints, fmt.Sprintf("if the image was built on an earlier manifest of %s (the tag has moved since), trust the repository entry without the tag and annotate the image with %s naming that manifest, or list that manifest by digest",
			strings.Join(tagged, ", "), annotationNames))
	}
	if len(wide) > 0 {
		slices.Sort(wide)
		hints = append(hints, fmt.Sprintf("a repository entry or glob (%s) is compared only with the manifest the image's annotations name (and a repository entry with its latest tag), since a registry cannot list every manifest a repository ever had: annotate the image with %s, or list the base by digest",
			strings.Join(wide, ", "), annotationNames))
	}
	if len(hints) == 0 {
		return ""
	}
	return ". The image has no base annotations; " + strings.Join(hints, "; ")
}

// isLayerPrefix reports whether base is a non-empty prefix of layers.
func isLayerPrefix(base, layers []string) bool {
	return len(base) > 0 && len(base) <= len(layers) && slices.Equal(base, layers[:len(base)])
}

// claim is the base an image's annotations name.
type claim struct {
	label  string // as annotated, for messages
	repo   string // normalised, "" when only a digest (or an unparsable name) is given
	tag    string
	digest string
}

func parseClaim(img Image) (claim, bool) {
	if img.BaseName == "" && img.BaseDigest == "" {
		return claim{}, false
	}
	c := claim{label: img.BaseName, digest: img.BaseDigest}
	if r, err := parseRef(img.BaseName); err == nil && !strings.ContainsAny(r.repo, "*?[") {
		c.repo, c.tag = r.repo, r.tag
		if c.digest == "" {
			c.digest = r.digest
		}
	}
	switch {
	case c.label == "":
		c.label = img.BaseDigest
	case img.BaseDigest != "" && !strings.Contains(c.label, img.BaseDigest):
		c.label += "@" + img.BaseDigest
	}
	return c, true
}

func (c claim) tags() []string {
	if c.tag == "" {
		return nil
	}
	return []string{c.tag}
}

func (c claim) digests() []string {
	if c.digest == "" {
		return nil
	}
	return []string{c.digest}
}

// covers reports whether a candidate is the claimed base: the claimed digest
// is its platform manifest digest or its index digest, or, when no digest is
// claimed, same repository with the claimed tag (or any tag when none is
// claimed).
func (c claim) covers(bc candidate) bool {
	if c.digest != "" {
		return slices.Contains(bc.digests(), c.digest)
	}
	return c.repo != "" && bc.Repository == c.repo && (c.tag == "" || slices.Contains(bc.Tags, c.tag))
}

// evaluateRegistries checks that the image's repository matches a trusted
// host or repository glob.
func evaluateRegistries(r *RegistryRule, f Facts) []Violation {
	repo := f.Image.Repository
	for _, s := range r.Trusted {
		if e, err := parseRegistryEntry(s); err == nil && e.matches(repo) {
			return nil
		}
	}
	return []Violation{{Rule: RuleRegistries, Action: r.Action, Subject: repo,
		Message: fmt.Sprintf("repository %s is not from a trusted registry (trusted: %s)", repo, strings.Join(r.Trusted, ", "))}}
}

// SignatureCheck is the verification of one digest of the image under
// evaluation.
type SignatureCheck struct {
	// Platform is the platform whose manifest was verified, "" for the
	// digest the reference resolved to (the index, or the single image).
	Platform string
	Result   *verify.Result
}

// EvaluateSignatures judges the signatures rule over the verification of
// each digest the rule applies to: the digest the reference resolved to
// and, with per_platform, each platform's manifest. A digest that did not
// verify gives one violation per unmet expectation, naming the signer,
// attestation or minimum expected. It is fail-closed: a policy with the
// rule and no check fails. A policy without the rule passes.
func EvaluateSignatures(p *Policy, checks []SignatureCheck) Decision {
	if p == nil || p.Signatures == nil {
		return finish(Decision{})
	}
	if err := p.Validate(); err != nil {
		return finish(Decision{Violations: []Violation{{
			Rule: RulePolicy, Action: ActionStop, Subject: "policy",
			Message: "the policy is invalid, so no image can pass it: " + err.Error(),
		}}})
	}
	r := p.normalized().Signatures
	var d Decision
	if len(checks) == 0 {
		d.Violations = append(d.Violations, Violation{Rule: RuleSignatures, Action: r.Action, CIS: CISSignatures, Subject: "signatures",
			Message: "no signature was verified, so the signatures rule cannot pass"})
	}
	for _, c := range checks {
		switch {
		case c.Result == nil:
			d.Violations = append(d.Violations, Violation{Rule: RuleSignatures, Action: r.Action, CIS: CISSignatures, Subject: "signatures", Platform: c.Platform,
				Message: "the signatures were not verified, so the signatures rule cannot pass"})
		case c.Result.Verified:
		case len(c.Result.Failures) == 0:
			d.Violations = append(d.Violations, Violation{Rule: RuleSignatures, Action: r.Action, CIS: CISSignatures, Subject: c.Result.Digest, Platform: c.Platform,
				Message: c.Result.Reference + " is not verified"})
		default:
			for _, f := range c.Result.Failures {
				d.Violations = append(d.Violations, Violation{Rule: RuleSignatures, Action: r.Action, CIS: CISSignatures, Subject: f.Expected, Platform: c.Platform, Message: f.Message})
			}
		}
	}
	return finish(d)
}
