package policy

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	sysuser "github.com/moby/sys/user"

	"github.com/imagegate/terraform-provider-imagegate/internal/secrets"
)

// RuleChecks is the policy field of the CIS image hygiene checks. Their
// violations have the rule "checks.<check id>" ("checks.forbid_setuid").
const RuleChecks = "checks"

// The ids of the hygiene checks: the ChecksRule field that enables each, a
// CheckResult's ID, the key of ChecksRule.Actions, and (after "checks.") a
// violation's rule.
const (
	CheckDeniedPackages     = "denied_packages"
	CheckRequireHealthcheck = "require_healthcheck"
	CheckForbidUpdateAlone  = "forbid_update_alone"
	CheckForbidSetuid       = "forbid_setuid"
	CheckForbidAdd          = "forbid_add"
	CheckForbidSecrets      = "forbid_secrets"
	CheckForbidLatestTag    = "forbid_latest_tag"
	CheckMaxAge             = "max_age"
	CheckRequiredLabels     = "required_labels"
	CheckAccountAnomalies   = "account_anomalies"
)

// The CIS Docker Benchmark (section 4, container images and build file) ids
// of the rules and checks. A rule or check that no CIS item covers has none.
const (
	CISUser            = "4.1"
	CISBaseImage       = "4.2"
	CISDeniedPackages  = "4.3"
	CISVulnerabilities = "4.4"
	CISMaxAge          = "4.4" // rebuild images to include security patches
	CISSignatures      = "4.5"
	CISHealthcheck     = "4.6"
	CISUpdateAlone     = "4.7"
	CISSetuid          = "4.8"
	CISAdd             = "4.9"
	CISSecrets         = "4.10"
)

// ChecksRule holds the CIS image hygiene checks. Each check is off unless
// its field is set; each enabled check fails with Action unless Actions
// names it ({"max_age": "warn"}).
type ChecksRule struct {
	// Action is the action of every check Actions does not name: "stop"
	// (the default when empty) or "warn".
	Action string `json:"action"`
	// Actions overrides Action per check id.
	Actions map[string]string `json:"actions,omitempty"`
	// DeniedPackages are package names or globs ("netcat*") that must not
	// be installed (CIS 4.3), matched case-insensitively against the names
	// in the SBOM.
	DeniedPackages []string `json:"denied_packages,omitempty"`
	// RequireHealthcheck requires a HEALTHCHECK that is not NONE (CIS 4.6).
	RequireHealthcheck bool `json:"require_healthcheck,omitempty"`
	// ForbidUpdateAlone fails a build step that updates a package index
	// without installing in the same step (CIS 4.7).
	ForbidUpdateAlone bool `json:"forbid_update_alone,omitempty"`
	// ForbidSetuid fails files with the setuid or setgid bit in the final
	// filesystem (CIS 4.8), except AllowedSetuidPaths.
	ForbidSetuid bool `json:"forbid_setuid,omitempty"`
	// AllowedSetuidPaths are absolute paths or globs ("/usr/bin/passwd",
	// "/usr/lib/*/ssh-keysign") that may keep the bits.
	AllowedSetuidPaths []string `json:"allowed_setuid_paths,omitempty"`
	// ForbidAdd fails ADD steps in the history (CIS 4.9); see checkAdd.
	ForbidAdd bool `json:"forbid_add,omitempty"`
	// ForbidSecrets fails credentials in the environment, in build steps
	// and in files (CIS 4.10).
	ForbidSecrets bool `json:"forbid_secrets,omitempty"`
	// ForbidLatestTag fails a reference with the tag latest or no tag (and
	// no digest).
	ForbidLatestTag bool `json:"forbid_latest_tag,omitempty"`
	// MaxAge is the oldest an image may be, as a Go duration ("720h"), so
	// images are rebuilt to pick up patches (CIS 4.4).
	MaxAge string `json:"max_age,omitempty"`
	// RequiredLabels are labels the config must set to a non-empty value.
	RequiredLabels []string `json:"required_labels,omitempty"`
	// AccountAnomalies fails a UID-0 account other than root in
	// /etc/passwd and an account with an empty password.
	AccountAnomalies bool `json:"account_anomalies,omitempty"`
}

// checkIDs lists the check ids in the order results are reported.
var checkIDs = []string{
	CheckDeniedPackages, CheckRequireHealthcheck, CheckForbidUpdateAlone, CheckForbidSetuid, CheckForbidAdd,
	CheckForbidSecrets, CheckForbidLatestTag, CheckMaxAge, CheckRequiredLabels, CheckAccountAnomalies,
}

var checkCIS = map[string]string{
	CheckDeniedPackages: CISDeniedPackages, CheckRequireHealthcheck: CISHealthcheck, CheckForbidUpdateAlone: CISUpdateAlone,
	CheckForbidSetuid: CISSetuid, CheckForbidAdd: CISAdd, CheckForbidSecrets: CISSecrets, CheckMaxAge: CISMaxAge,
}

// CheckIDs returns the ids of the hygiene checks, in report order.
func CheckIDs() []string { return slices.Clone(checkIDs) }

// CheckCIS returns the CIS Docker Benchmark id of a check, "" when no CIS
// item covers it.
func CheckCIS(id string) string { return checkCIS[id] }

// enabled lists the ids of the checks the rule enables.
func (r *ChecksRule) enabled() []string {
	on := map[string]bool{
		CheckDeniedPackages:     len(r.DeniedPackages) > 0,
		CheckRequireHealthcheck: r.RequireHealthcheck,
		CheckForbidUpdateAlone:  r.ForbidUpdateAlone,
		CheckForbidSetuid:       r.ForbidSetuid,
		CheckForbidAdd:          r.ForbidAdd,
		CheckForbidSecrets:      r.ForbidSecrets,
		CheckForbidLatestTag:    r.ForbidLatestTag,
		CheckMaxAge:             r.MaxAge != "",
		CheckRequiredLabels:     len(r.RequiredLabels) > 0,
		CheckAccountAnomalies:   r.AccountAnomalies,
	}
	var out []string
	for _, id := range checkIDs {
		if on[id] {
			out = append(out, id)
		}
	}
	return out
}

// actionOf is the action of one check.
func (r *ChecksRule) actionOf(id string) string {
	if a, ok := r.Actions[id]; ok && a != "" {
		return a
	}
	return defaultAction(r.Action)
}

func (r *ChecksRule) validate(ps *problems) {
	checkAction(ps, "checks.action", r.Action)
	enabled := r.enabled()
	if len(enabled) == 0 {
		ps.add("checks", "the rule checks nothing: enable at least one of %s, or remove it", strings.Join(checkIDs, ", "))
	}
	for _, id := range slices.Sorted(maps.Keys(r.Actions)) {
		p := "checks.actions." + id
		switch {
		case !slices.Contains(checkIDs, id):
			ps.add(p, "%q is not a check; use one of %s", id, strings.Join(checkIDs, ", "))
		case !slices.Contains(enabled, id):
			ps.add(p, "check %s is not enabled, so its action has no effect: enable it or remove the entry", id)
		default:
			checkAction(ps, p, r.Actions[id])
		}
	}
	for i, s := range r.DeniedPackages {
		p := fmt.Sprintf("checks.denied_packages[%d]", i)
		if strings.TrimSpace(s) == "" || strings.TrimSpace(s) != s {
			ps.add(p, "%q is not a package name or glob: it is empty or has surrounding white space", s)
		} else if _, err := path.Match(s, ""); err != nil {
			ps.add(p, "%q is not a valid glob: %v", s, err)
		}
	}
	if len(r.AllowedSetuidPaths) > 0 && !r.ForbidSetuid {
		ps.add("checks.allowed_setuid_paths", "has no effect unless forbid_setuid is true: set it or remove the list")
	}
	for i, s := range r.AllowedSetuidPaths {
		p := fmt.Sprintf("checks.allowed_setuid_paths[%d]", i)
		if !strings.HasPrefix(s, "/") {
			ps.add(p, "%q is not an absolute path or glob: start it with /", s)
		} else if _, err := path.Match(s, ""); err != nil {
			ps.add(p, "%q is not a valid glob: %v", s, err)
		}
	}
	if r.MaxAge != "" {
		if d, err := time.ParseDuration(r.MaxAge); err != nil {
			ps.add("checks.max_age", "%q is not a Go duration; write hours, for example \"720h\" for 30 days", r.MaxAge)
		} else if d <= 0 {
			ps.add("checks.max_age", "%q is not positive; write the oldest age allowed, for example \"720h\" for 30 days", r.MaxAge)
		}
	}
	for i, s := range r.RequiredLabels {
		if strings.TrimSpace(s) == "" || strings.TrimSpace(s) != s {
			ps.add(fmt.Sprintf("checks.required_labels[%d]", i), "%q is not a label key: it is empty or has surrounding white space", s)
		}
	}
}

// normalized fills in the default action, drops per-check actions equal to
// it, sorts the lists without duplicates and writes max_age as Go prints it.
func (r *ChecksRule) normalized() *ChecksRule {
	c := *r
	c.Action = defaultAction(r.Action)
	c.Actions = nil
	for id, a := range r.Actions {
		if a != "" && a != c.Action {
			if c.Actions == nil {
				c.Actions = map[string]string{}
			}
			c.Actions[id] = a
		}
	}
	c.DeniedPackages = sortedList(r.DeniedPackages)
	c.AllowedSetuidPaths = sortedList(r.AllowedSetuidPaths)
	c.RequiredLabels = sortedList(r.RequiredLabels)
	if d, err := time.ParseDuration(r.MaxAge); err == nil && r.MaxAge != "" {
		c.MaxAge = d.String()
	}
	return &c
}

// sortedList is a sorted copy without duplicates; nil stays nil, so an
// unset list stays out of the canonical document.
func sortedList(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return sortedSet(s)
}

// FileFacts is what the hygiene checks know of the image's final
// filesystem (see imagefs.Facts). Nil in Facts means it was not gathered,
// and the file checks fail closed.
type FileFacts struct {
	Special        []SpecialFile // setuid or setgid files, sorted by path
	SpecialOmitted int           // special files not listed (past the bound)
	Secrets        []SecretFile  // files holding a credential, sorted by path
	SecretsOmitted int           // secret files not listed
	// Shadow is /etc/shadow with every non-empty password field replaced,
	// nil when absent.
	Shadow []byte
}

// SpecialFile is a file with the setuid or setgid bit.
type SpecialFile struct {
	Path           string
	Setuid, Setgid bool
}

// SecretFile is a file that holds a credential of a kind.
type SecretFile struct{ Path, Kind string }

// HistoryStep is one build step of the image config, as registry.Image
// keeps it: ENV, ARG and build-argument values and inline credentials
// already redacted, with the kinds of the inline credentials.
type HistoryStep struct {
	CreatedBy   string
	EmptyLayer  bool
	Credentials []string
}

// Package is one package of the SBOM.
type Package struct{ Name, Version, Type string }

// CheckResult is one hygiene check applied to an image: whether it passed
// and what failed it (package, path, variable, history step, label,
// account), never a secret value.
type CheckResult struct {
	ID       string // a Check… id
	CIS      string // CIS Docker Benchmark id, "" when none
	Passed   bool
	Subjects []string // sorted; empty when passed
}

// Defaults of Hygiene for the checks that take a parameter.
var (
	// DefaultDeniedPackages are remote-access and network tools that have
	// no place in a runtime image.
	DefaultDeniedPackages = []string{"openssh-server", "dropbear*", "telnetd", "netcat*", "ncat", "nmap", "sudo"}
	// DefaultMaxAge is 90 days.
	DefaultMaxAge = "2160h"
	// DefaultRequiredLabels trace an image to its source.
	DefaultRequiredLabels = []string{"org.opencontainers.image.revision", "org.opencontainers.image.source"}
)

// HygieneRule enables every check with its default parameters.
func HygieneRule() *ChecksRule {
	return &ChecksRule{
		Action: ActionStop, DeniedPackages: slices.Clone(DefaultDeniedPackages), RequireHealthcheck: true,
		ForbidUpdateAlone: true, ForbidSetuid: true, ForbidAdd: true, ForbidSecrets: true, ForbidLatestTag: true,
		MaxAge: DefaultMaxAge, RequiredLabels: slices.Clone(DefaultRequiredLabels), AccountAnomalies: true,
	}
}

// Hygiene applies every hygiene check, with the defaults of HygieneRule,
// without a policy: what the image data source shows. Results are in
// CheckIDs order.
func Hygiene(f Facts) []CheckResult {
	r := HygieneRule()
	var out []CheckResult
	for _, id := range checkIDs {
		res := CheckResult{ID: id, CIS: checkCIS[id], Subjects: []string{}}
		for _, fd := range runCheck(id, r, f) {
			res.Subjects = append(res.Subjects, fd.subject)
		}
		slices.Sort(res.Subjects)
		res.Subjects = slices.Compact(res.Subjects)
		res.Passed = len(res.Subjects) == 0
		out = append(out, res)
	}
	return out
}

// evaluateChecks gives one violation per subject of each enabled check.
func evaluateChecks(r *ChecksRule, f Facts) []Violation {
	var vs []Violation
	for _, id := range r.enabled() {
		for _, fd := range runCheck(id, r, f) {
			vs = append(vs, Violation{Rule: RuleChecks + "." + id, Action: r.actionOf(id), CIS: checkCIS[id], Subject: fd.subject, Message: fd.message})
		}
	}
	return vs
}

// finding is one subject a check failed, with why and what to do.
type finding struct{ subject, message string }

func runCheck(id string, r *ChecksRule, f Facts) []finding {
	switch id {
	case CheckDeniedPackages:
		return checkDeniedPackages(r.DeniedPackages, f.Packages)
	case CheckRequireHealthcheck:
		return checkHealthcheck(f.Image.Healthcheck)
	case CheckForbidUpdateAlone:
		return checkUpdateAlone(f.Image.History)
	case CheckForbidSetuid:
		return checkSetuid(r.AllowedSetuidPaths, f.Files)
	case CheckForbidAdd:
		return checkAdd(f.Image.History)
	case CheckForbidSecrets:
		return checkSecrets(f)
	case CheckForbidLatestTag:
		return checkLatestTag(f.Image.Reference)
	case CheckMaxAge:
		return checkMaxAge(r.MaxAge, f.Image.Created, f.Now)
	case CheckRequiredLabels:
		return checkLabels(r.RequiredLabels, f.Image.Labels)
	case CheckAccountAnomalies:
		return checkAccounts(f)
	}
	return []finding{{subject: id, message: "unknown check " + id}} // fail closed; cannot happen after Validate
}

func checkDeniedPackages(denied []string, pkgs []Package) []finding {
	var out []finding
	for _, p := range pkgs {
		name := strings.ToLower(p.Name)
		for _, d := range denied {
			if ok, _ := path.Match(strings.ToLower(d), name); !ok {
				continue
			}
			subject := p.Name
			if p.Version != "" {
				subject += "@" + p.Version
			}
			desc := p.Name
			if p.Version != "" {
				desc += " " + p.Version
			}
			if p.Type != "" {
				desc += " (" + p.Type + ")"
			}
			out = append(out, finding{subject, fmt.Sprintf("package %s is installed, and denied_packages denies %s: remove it from the image (uninstall it in the same step that installed it, or use a base without it)", desc, d)})
			break
		}
	}
	return out
}

func checkHealthcheck(test []string) []finding {
	switch {
	case len(test) == 0:
		return []finding{{"HEALTHCHECK", "the image defines no HEALTHCHECK: add one to the Dockerfile so the runtime can tell a live container from a hung one"}}
	case strings.EqualFold(test[0], "NONE"):
		return []finding{{"HEALTHCHECK", "the image's HEALTHCHECK is NONE, which disables the check inherited from its base: define a real HEALTHCHECK"}}
	}
	return nil
}

// shellCommand splits a build step into its shell commands.
var shellSeparators = regexp.MustCompile(`&&|\|\||[;|\n]`)

var (
	indexUpdate = regexp.MustCompile(`(?i)^(?:sudo\s+)?(?:(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*update|apk\s+(?:-\S+\s+)*update|(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*makecache|zypper\s+(?:-\S+\s+)*(?:refresh|ref))\b`)
	install     = regexp.MustCompile(`(?i)^(?:sudo\s+)?(?:(?:apt-get|apt|aptitude)\s+.*\b(?:install|upgrade|dist-upgrade|full-upgrade|build-dep)\b|apk\s+.*\b(?:add|upgrade)\b|(?:yum|dnf|microdnf)\s+.*\b(?:install|update|upgrade|groupinstall)\b|zypper\s+.*\b(?:install|in|update|up|patch)\b)`)
)

// stepText is a history step as a violation may quote it: credentials
// redacted (again, in case the caller passed an unredacted step) and
// shortened.
func stepText(s string) string {
	s, _ = secrets.Redact(s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return strconv.Quote(s)
}

func stepSubject(i int) string { return fmt.Sprintf("history[%d]", i) }

// checkUpdateAlone fails a step that updates a package index and installs
// nothing: the next step would install from a cached, stale index.
func checkUpdateAlone(history []HistoryStep) []finding {
	var out []finding
	for i, h := range history {
		updates, installs := false, false
		for cmd := range strings.SplitSeq(shellSeparators.ReplaceAllString(h.CreatedBy, "\x00"), "\x00") {
			cmd = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cmd), "/bin/sh -c"))
			cmd = strings.TrimSpace(strings.TrimPrefix(cmd, "RUN"))
			if j := strings.Index(cmd, "/bin/sh -c "); j >= 0 {
				cmd = strings.TrimSpace(cmd[j+len("/bin/sh -c "):])
			}
			updates = updates || indexUpdate.MatchString(cmd)
			installs = installs || install.MatchString(cmd)
		}
		if updates && !installs {
			out = append(out, finding{stepSubject(i), fmt.Sprintf("build step %d (%s) updates the package index without installing in the same step, so a later step installs from a stale, cached index: update and install in one RUN", i, stepText(h.CreatedBy))})
		}
	}
	return out
}

var (
	addStep = regexp.MustCompile(`(?is)^\s*(?:(?:/bin/sh -c\s+)?#\(nop\)\s*)?ADD\s+(.*)$`)
	addURL  = regexp.MustCompile(`(?i)\b(?:https?|ftp)://|\bgit@|\.git(?:#|\s|$)`)
)

// checkAdd fails ADD steps: ADD fetches URLs and unpacks archives
// implicitly, COPY does neither. An ADD from a URL (or a Git repository) is
// always reported; the one exception is the first layer of the history
// when it adds a local archive to / ("ADD file:<sha256> in /", "ADD
// alpine-minirootfs.tar.gz /"): the root filesystem every distribution base
// image is made of, which COPY cannot unpack.
func checkAdd(history []HistoryStep) []finding {
	var out []finding
	firstLayer := slices.IndexFunc(history, func(h HistoryStep) bool { return !h.EmptyLayer })
	for i, h := range history {
		m := addStep.FindStringSubmatch(h.CreatedBy)
		if m == nil {
			continue
		}
		args := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m[1]), "# buildkit"))
		switch {
		case addURL.MatchString(args):
			out = append(out, finding{stepSubject(i), fmt.Sprintf("build step %d (%s) uses ADD to fetch remote content, which is neither pinned nor verified: download with a checked digest in a RUN step (or ADD --checksum), or COPY a verified file", i, stepText(h.CreatedBy))})
		case i == firstLayer && (strings.HasSuffix(args, " in /") || strings.HasSuffix(args, " /")):
		default:
			out = append(out, finding{stepSubject(i), fmt.Sprintf("build step %d (%s) uses ADD, which also unpacks archives and fetches URLs: use COPY", i, stepText(h.CreatedBy))})
		}
	}
	return out
}

var (
	argOrBuildArgStep = regexp.MustCompile(`(?is)^\s*(?:(?:/bin/sh -c\s+)?#\(nop\)\s*ARG\s|ARG\s|(?:RUN\s+)?\|\d+\s)`)
	envStep           = regexp.MustCompile(`(?is)^\s*(?:(?:/bin/sh -c\s+)?#\(nop\)\s*)?ENV\s`)
	assignedName      = regexp.MustCompile(`(?:^|\s|\|\d+\s)([A-Za-z_][A-Za-z0-9_.-]*)=(\S*)`)
)

// checkSecrets fails credentials the image carries: environment variables
// with a sensitive name or a credential-shaped value, build steps that
// record a credential (inline, or as a build argument or ARG default of a
// sensitive name, which the history keeps), and files holding one. It names
// the variable, step or path and the kind of credential, never the value.
func checkSecrets(f Facts) []finding {
	var out []finding
	for _, kv := range f.Image.Env {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" {
			continue
		}
		var kinds []string
		if secrets.SensitiveName(name) && !strings.HasPrefix(value, "/") {
			kinds = append(kinds, "a sensitive name")
		}
		for _, m := range secrets.Find(value) {
			kinds = append(kinds, "a value shaped like "+withArticle(m.Kind))
		}
		if len(kinds) > 0 {
			out = append(out, finding{"env " + name, fmt.Sprintf("environment variable %s has %s, so the image config hands a credential to anyone who can pull it: pass it at run time (a secret mount or the orchestrator's secrets) instead", name, strings.Join(slices.Compact(kinds), " and "))})
		}
	}
	for i, h := range f.Image.History {
		kinds := slices.Clone(h.Credentials)
		for _, m := range secrets.Find(h.CreatedBy) {
			kinds = append(kinds, m.Kind)
		}
		if argOrBuildArgStep.MatchString(h.CreatedBy) && !envStep.MatchString(h.CreatedBy) {
			for _, m := range assignedName.FindAllStringSubmatch(h.CreatedBy, -1) {
				if secrets.SensitiveName(m[1]) && m[2] != "" {
					kinds = append(kinds, "build argument "+m[1])
				}
			}
		}
		if len(kinds) == 0 {
			continue
		}
		slices.Sort(kinds)
		out = append(out, finding{stepSubject(i), fmt.Sprintf("build step %d (%s) records a credential in the image history (%s): pass it with a secret mount (RUN --mount=type=secret) instead", i, stepText(h.CreatedBy), strings.Join(slices.Compact(kinds), ", "))})
	}
	if f.Files == nil {
		return append(out, finding{"files", "the image's files were not examined, so forbid_secrets cannot pass"})
	}
	for _, s := range f.Files.Secrets {
		out = append(out, finding{s.Path, fmt.Sprintf("%s holds %s: remove it from the image (deleting it in a later layer is not enough, the earlier layer still carries it) and provide it at run time", s.Path, withArticle(s.Kind))})
	}
	if n := f.Files.SecretsOmitted; n > 0 {
		out = append(out, finding{"files", fmt.Sprintf("%d more files holding credentials were found than are listed", n)})
	}
	return out
}

func withArticle(s string) string {
	if s != "" && strings.ContainsRune("AEIOU", rune(strings.ToUpper(s)[0])) {
		return "an " + s
	}
	return "a " + s
}

func checkSetuid(allowed []string, files *FileFacts) []finding {
	if files == nil {
		return []finding{{"files", "the image's files were not examined, so forbid_setuid cannot pass"}}
	}
	var out []finding
	for _, s := range files.Special {
		if slices.ContainsFunc(allowed, func(a string) bool { ok, _ := path.Match(a, s.Path); return ok }) {
			continue
		}
		var bits []string
		if s.Setuid {
			bits = append(bits, "setuid")
		}
		if s.Setgid {
			bits = append(bits, "setgid")
		}
		out = append(out, finding{s.Path, fmt.Sprintf("%s has the %s bit, which lets any user of the container run it with its owner's or group's rights: clear it (chmod u-s,g-s) in the build, or list the path in allowed_setuid_paths if it is deliberate", s.Path, strings.Join(bits, " and "))})
	}
	if n := files.SpecialOmitted; n > 0 {
		out = append(out, finding{"files", fmt.Sprintf("%d more setuid or setgid files were found than are listed, so they could not be compared with allowed_setuid_paths", n)})
	}
	return out
}

// checkLatestTag fails a reference with the tag latest or no tag, unless it
// is pinned by digest.
func checkLatestTag(reference string) []finding {
	if strings.Contains(reference, "@") {
		return nil
	}
	tag := ""
	if i := strings.LastIndex(reference, ":"); i > strings.LastIndex(reference, "/") {
		tag = reference[i+1:]
	}
	switch tag {
	case "":
		return []finding{{reference, fmt.Sprintf("reference %s has no tag, which means latest: name a version tag or a digest, so every plan gates the same image", reference)}}
	case "latest":
		return []finding{{reference, fmt.Sprintf("reference %s uses the tag latest, which moves with every push: name a version tag or a digest", reference)}}
	}
	return nil
}

func checkMaxAge(maxAge string, created, now time.Time) []finding {
	limit, err := time.ParseDuration(maxAge)
	switch {
	case err != nil:
		return []finding{{"created", fmt.Sprintf("max_age %q is not a duration", maxAge)}}
	case created.IsZero():
		return []finding{{"created", "the image config records no creation time, so its age cannot be established: rebuild it with a builder that records one"}}
	case now.IsZero():
		return []finding{{"created", "no evaluation time was given, so the image's age cannot be established"}}
	}
	age := now.Sub(created)
	if age <= limit {
		return nil
	}
	msg := fmt.Sprintf("the image was created %s (%s ago), more than max_age %s: rebuild it to pick up security patches", created.UTC().Format(time.RFC3339), days(age), limit)
	if created.Year() <= 1970 {
		msg += " (a 1970 date usually means a reproducible build with SOURCE_DATE_EPOCH=0: set it to the source's commit time)"
	}
	return []finding{{"created", msg}}
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func checkLabels(required []string, labels map[string]string) []finding {
	var out []finding
	for _, l := range required {
		v, ok := labels[l]
		switch {
		case !ok:
			out = append(out, finding{l, fmt.Sprintf("the image has no label %s: set it with LABEL in the Dockerfile (or the builder's annotations)", l)})
		case strings.TrimSpace(v) == "":
			out = append(out, finding{l, fmt.Sprintf("the image's label %s is empty: give it a value", l)})
		}
	}
	return out
}

// checkAccounts fails a UID-0 account other than root (read as container
// runtimes read /etc/passwd: a UID field that does not parse is 0, and
// runtimes keep only its low 32 bits) and an account with an empty
// password field in /etc/passwd or /etc/shadow.
func checkAccounts(f Facts) []finding {
	var out []finding
	for line := range bytes.Lines(f.Passwd) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		users, err := sysuser.ParsePasswd(bytes.NewReader(line))
		if err != nil || len(users) != 1 {
			continue
		}
		u := users[0]
		fields := strings.Split(string(line), ":")
		uidField := ""
		if len(fields) > 2 {
			uidField = fields[2]
		}
		if uint32(u.Uid) == 0 && u.Name != "root" {
			how := fmt.Sprintf("the UID field %q, which container runtimes read as 0", uidField)
			if uidField == "0" {
				how = "UID 0"
			}
			out = append(out, finding{"account " + u.Name, fmt.Sprintf("/etc/passwd account %q has %s: a second root account; remove it or give it its own UID", u.Name, how)})
		}
		if len(fields) > 1 && fields[1] == "" {
			out = append(out, finding{"account " + u.Name, fmt.Sprintf("/etc/passwd account %q has an empty password field, so it needs no password: set it to x (or lock it with !)", u.Name)})
		}
	}
	if f.Files == nil {
		return append(out, finding{"/etc/shadow", "the image's files were not examined, so /etc/shadow could not be checked"})
	}
	for line := range bytes.Lines(f.Files.Shadow) {
		name, rest, ok := strings.Cut(strings.TrimSpace(string(line)), ":")
		if !ok || name == "" {
			continue
		}
		if pw, _, _ := strings.Cut(rest, ":"); pw == "" {
			out = append(out, finding{"account " + name, fmt.Sprintf("/etc/shadow account %q has an empty password, so it can log in without one: lock it (passwd -l) or set a password hash", name)})
		}
	}
	return out
}
