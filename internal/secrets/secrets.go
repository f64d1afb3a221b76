// Package secrets recognises credentials in the text an image carries (its
// environment, its build history) and in the names of variables and files,
// so that the hygiene checks can name them and everything shown to a user can
// drop them. It is pure: no I/O. What it returns names a kind of credential
// and where it is, never the credential itself.
package secrets

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces a credential in redacted text.
const Redacted = "<redacted>"

// Match is one credential found in a text: its kind ("AWS access key id",
// "password in a URL", "variable API_TOKEN") and the byte range of the value
// itself, which Redact replaces.
type Match struct {
	Kind       string
	Start, End int
}

// pattern is a credential shape. Group "v" (or the whole match when there is
// none) is the secret value.
type pattern struct {
	kind string
	re   *regexp.Regexp
	// loginOnly: the shape is a credential only in a login command.
	loginOnly bool
	// numericIsNot: an all-digit value is not a credential (a UID:GID pair).
	numericIsNot bool
}

// valueChars is what an unquoted shell word of a credential may hold.
const valueChars = `[^\s;&|"'<>]+`

// patterns are the credential shapes recognised inline, most specific first.
// They follow the public token formats of the issuers (prefixes and lengths)
// and the usual ways a credential is passed on a command line.
var patterns = []pattern{
	{kind: "private key", re: regexp.MustCompile(`(?s)(?P<v>-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|$))`)},
	{kind: "AWS access key id", re: regexp.MustCompile(`\b(?P<v>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16})\b`)},
	{kind: "GitHub token", re: regexp.MustCompile(`\b(?P<v>(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}))\b`)},
	{kind: "GitLab token", re: regexp.MustCompile(`\b(?P<v>glpat-[A-Za-z0-9_-]{20,})`)},
	{kind: "Slack token", re: regexp.MustCompile(`\b(?P<v>xox[abposr]-[A-Za-z0-9-]{10,})`)},
	{kind: "Google API key", re: regexp.MustCompile(`\b(?P<v>AIza[0-9A-Za-z_-]{35})`)},
	{kind: "Stripe key", re: regexp.MustCompile(`\b(?P<v>[sr]k_live_[0-9A-Za-z]{16,})`)},
	{kind: "npm token", re: regexp.MustCompile(`\b(?P<v>npm_[A-Za-z0-9]{36})\b`)},
	{kind: "JSON web token", re: regexp.MustCompile(`\b(?P<v>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})`)},
	{kind: "password in a URL", re: regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"']+:(?P<v>[^/\s@"']+)@`)},
	{kind: "Authorization header", re: regexp.MustCompile(`(?i)\bAuthorization:\s*(?:Bearer|Basic|token|Token)\s+(?P<v>` + valueChars + `)`)},
	{kind: "credentials option", re: regexp.MustCompile(`(?i)(?:^|\s)(?:-u|--user|--proxy-user)[ =]+["']?[^\s:"']+:(?P<v>` + valueChars + `)`), numericIsNot: true},
	{kind: "password option", re: regexp.MustCompile(`(?i)(?:^|\s)--(?:password|passwd|pass|token|api-key|apikey|secret|access-token|auth-token|client-secret)[ =]+["']?(?P<v>` + valueChars + `)`)},
	{kind: "password option", re: regexp.MustCompile(`(?:^|\s)-p ?["']?(?P<v>[^\s;&|"'<>-]` + `[^\s;&|"'<>]*)`), loginOnly: true},
}

// loginCommand is what makes "-p value" a password: docker, podman, helm
// or buildah login, or a mysql client.
var loginCommand = regexp.MustCompile(`(?i)\b(?:(?:docker|podman|buildah|helm|skopeo|nerdctl)\s+(?:registry\s+)?login|mysql(?:dump|admin)?)\b`)

// assignment is NAME=value in a shell command or an environment.
var assignment = regexp.MustCompile(`(?:^|[\s;&|(])(?:export\s+)?(?P<n>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<v>"[^"]*"|'[^']*'|` + valueChars + `)`)

// Find returns the credentials in s, in order, without overlaps. A variable
// assignment counts when the variable's name is sensitive (SensitiveName)
// and the value is not empty and not a reference to another variable.
func Find(s string) []Match {
	var out []Match
	add := func(kind string, start, end int) {
		if start < 0 || end <= start {
			return
		}
		for _, m := range out {
			if start < m.End && m.Start < end {
				return
			}
		}
		out = append(out, Match{Kind: kind, Start: start, End: end})
	}
	login := loginCommand.MatchString(s)
	for _, p := range patterns {
		if p.loginOnly && !login {
			continue
		}
		v := p.re.SubexpIndex("v")
		for _, m := range p.re.FindAllStringSubmatchIndex(s, -1) {
			if p.numericIsNot && allDigits(s[m[2*v]:m[2*v+1]]) {
				continue
			}
			add(p.kind, m[2*v], m[2*v+1])
		}
	}
	n, v := assignment.SubexpIndex("n"), assignment.SubexpIndex("v")
	for _, m := range assignment.FindAllStringSubmatchIndex(s, -1) {
		name, value := s[m[2*n]:m[2*n+1]], s[m[2*v]:m[2*v+1]]
		if !SensitiveName(name) || !credentialValue(value) {
			continue
		}
		add("variable "+name, m[2*v], m[2*v+1])
	}
	slices.SortFunc(out, func(a, b Match) int { return a.Start - b.Start })
	return out
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// credentialValue reports whether the value assigned to a sensitive name
// could hold a credential: not empty, not a reference to another variable
// or a command substitution, not a file path.
func credentialValue(v string) bool {
	v = strings.Trim(v, `"'`)
	switch {
	case v == "", strings.HasPrefix(v, "$"), strings.HasPrefix(v, "/"), strings.HasPrefix(v, "<"):
		return false
	}
	return true
}

// Redact returns s with every credential Find reports replaced by
// Redacted, and the kinds found (sorted, without duplicates).
func Redact(s string) (string, []string) {
	ms := Find(s)
	if len(ms) == 0 {
		return s, nil
	}
	var b strings.Builder
	var kinds []string
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m.Start])
		b.WriteString(Redacted)
		last = m.End
		kinds = append(kinds, m.Kind)
	}
	b.WriteString(s[last:])
	slices.Sort(kinds)
	return b.String(), slices.Compact(kinds)
}

// sensitiveWord matches the words of a variable name that say it holds a
// credential.
var sensitiveWord = regexp.MustCompile(`(?i)(?:^|_|-|\.)(?:PASSWORD|PASSWD|PASS|PWD|SECRET|SECRETS|TOKEN|APIKEY|API_KEY|ACCESS_KEY|ACCESSKEY|SECRET_KEY|PRIVATE_KEY|PRIVATEKEY|CREDENTIAL|CREDENTIALS|AUTH_TOKEN|CLIENT_SECRET|SIGNING_KEY|ENCRYPTION_KEY|MASTER_KEY)(?:$|_|-|\.)`)

// notSecretSuffix marks names that point at a credential rather than hold
// one (POSTGRES_PASSWORD_FILE), or describe it.
var notSecretSuffix = regexp.MustCompile(`(?i)(?:_FILE|_PATH|_DIR|_URL_FILE|_LENGTH|_TTL|_EXPIRY|_HEADER|_POLICY)$`)

// SensitiveName reports whether a variable name says the variable holds a
// credential (DB_PASSWORD, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, API_KEY), as
// opposed to pointing at one (POSTGRES_PASSWORD_FILE). PWD, the shell's
// working directory, is not sensitive.
func SensitiveName(name string) bool {
	if strings.EqualFold(name, "PWD") || strings.EqualFold(name, "OLDPWD") {
		return false
	}
	return sensitiveWord.MatchString(name) && !notSecretSuffix.MatchString(name)
}

// secretFileNames are file names that hold a credential wherever they are.
var secretFileNames = map[string]string{
	"id_rsa": "SSH private key", "id_dsa": "SSH private key", "id_ecdsa": "SSH private key",
	"id_ed25519": "SSH private key", "id_ecdsa_sk": "SSH private key", "id_ed25519_sk": "SSH private key",
	".git-credentials": "Git credentials", ".netrc": "netrc credentials", "_netrc": "netrc credentials",
	".pgpass": "PostgreSQL password file",
}

// secretFileSuffixes are path endings that hold a credential.
var secretFileSuffixes = map[string]string{
	"/.aws/credentials":                                    "AWS credentials",
	"/.config/gcloud/credentials.db":                       "Google Cloud credentials",
	"/.config/gcloud/application_default_credentials.json": "Google Cloud credentials",
	"/.azure/accessTokens.json":                            "Azure credentials",
	"/.kube/config":                                        "Kubernetes credentials",
}

// ContentCheck says what must be in a candidate file for it to hold a
// credential, for files whose name alone does not decide.
type ContentCheck int

// Content checks for candidate files.
const (
	NoContentCheck   ContentCheck = iota // the name decides
	PrivateKeyPEM                        // a PEM private key block
	DockerConfigAuth                     // a Docker config.json with an auth or identity token
	NPMRCToken                           // an .npmrc with an auth token or password
)

// FileCandidate reports whether a file's path makes it a candidate secret
// file, the kind of credential it would hold, and what its content must show
// (NoContentCheck when the path alone decides).
func FileCandidate(p string) (kind string, check ContentCheck, ok bool) {
	p = path.Clean("/" + p)
	base := path.Base(p)
	for suffix, kind := range secretFileSuffixes {
		if strings.HasSuffix(p, suffix) {
			return kind, NoContentCheck, true
		}
	}
	if kind, ok := secretFileNames[base]; ok {
		return kind, NoContentCheck, true
	}
	switch {
	case base == "config.json" && path.Base(path.Dir(p)) == ".docker":
		return "Docker registry credentials", DockerConfigAuth, true
	case base == ".npmrc":
		return "npm token", NPMRCToken, true
	case strings.HasSuffix(base, ".pem"), strings.HasSuffix(base, ".key"), strings.HasSuffix(base, ".p8"):
		return "private key", PrivateKeyPEM, true
	}
	return "", 0, false
}

var (
	pemPrivateKey = regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----`)
	dockerAuth    = regexp.MustCompile(`"(?:auth|identitytoken|registrytoken|password)"\s*:\s*"[^"]+"`)
	npmToken      = regexp.MustCompile(`(?m)(?:_authToken|_auth|_password)\s*=\s*[^\s$]\S*`)
)

// ContentHolds reports whether a candidate file's content (a bounded prefix
// of it is enough) shows the credential its name suggested.
func ContentHolds(check ContentCheck, content []byte) bool {
	switch check {
	case NoContentCheck:
		return true
	case PrivateKeyPEM:
		return pemPrivateKey.Match(content)
	case DockerConfigAuth:
		return dockerAuth.Match(content)
	case NPMRCToken:
		return npmToken.Match(content)
	}
	return false
}
