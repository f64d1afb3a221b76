package registry

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/imagegate/terraform-provider-imagegate/internal/secrets"
)

// redactHistory is what a history entry may show: build argument, ENV and
// ARG values dropped, and any credential found inline (a password in a URL,
// a token assigned to a sensitive variable, a key in a RUN step) replaced by
// "<redacted>". It returns the kinds of inline credentials it found, so the
// hygiene checks can report the step without ever seeing the value.
func redactHistory(createdBy string) (string, []string) {
	return secrets.Redact(redactEnvArgs(redactBuildArgs(createdBy)))
}

// buildArgs matches the build arguments Docker and BuildKit record in a
// history entry: "RUN |2 A=1 B=2 /bin/sh -c ..." (or "|2 A=1 ...").
var buildArgs = regexp.MustCompile(`^((?:RUN )?\|)(\d+) `)

// redactBuildArgs keeps the names of the build arguments of a history entry
// and drops their values, which may be secrets (tokens passed with
// --build-arg) and would otherwise land in Terraform state.
func redactBuildArgs(createdBy string) string {
	m := buildArgs.FindStringSubmatchIndex(createdBy)
	if m == nil {
		return createdBy
	}
	n, err := strconv.Atoi(createdBy[m[4]:m[5]])
	if err != nil || n <= 0 || n > 1000 {
		return createdBy[:m[1]] + "<build arguments redacted>"
	}
	rest := createdBy[m[1]:]
	names := make([]string, 0, n)
	for range n {
		tok, after, _ := strings.Cut(rest, " ")
		name, _, ok := strings.Cut(tok, "=")
		if !ok {
			return createdBy[:m[1]] + "<build arguments redacted>"
		}
		names = append(names, name+"=<redacted>")
		rest = after
	}
	return createdBy[:m[1]] + strings.Join(names, " ") + " " + rest
}

// envOrArg matches a history entry that records an ENV or ARG instruction,
// as the legacy builder writes it ("/bin/sh -c #(nop)  ENV A=b") or
// BuildKit does ("ENV A=b"); group 1 is everything up to the values.
var envOrArg = regexp.MustCompile(`(?is)^((?:[^\n]*?#\(nop\)\s*)?(ENV|ARG)\s+)(.*)$`)

// envKey is a token that starts a KEY=value pair.
var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*=`)

// envName is a bare variable name (ARG X, or the legacy ENV X value form).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// redactEnvArgs keeps the names of the variables an ENV or ARG history entry
// sets and drops every value: an ENV value is baked into the image config
// and an ARG default may be a token, and either would otherwise land in
// Terraform state. "ENV A=b C=d" becomes "ENV A=<redacted> C=<redacted>",
// the legacy "ENV A b" becomes "ENV A=<redacted>", and "ARG X" (no value)
// is kept as it is. Text that cannot be split into names is redacted whole.
func redactEnvArgs(createdBy string) string {
	m := envOrArg.FindStringSubmatch(createdBy)
	if m == nil {
		return createdBy
	}
	prefix, isEnv := m[1], strings.EqualFold(m[2], "ENV")
	toks, ok := shellWords(m[3])
	if !ok || len(toks) == 0 {
		return prefix + "<redacted>"
	}
	var out []string
	if isEnv && !envKey.MatchString(toks[0]) {
		// The legacy one-pair form: ENV KEY value with spaces.
		if !envName.MatchString(toks[0]) {
			return prefix + "<redacted>"
		}
		if len(toks) == 1 {
			return prefix + toks[0]
		}
		return prefix + toks[0] + "=<redacted>"
	}
	inValue := false
	for _, tok := range toks {
		switch {
		case envKey.MatchString(tok):
			name, _, _ := strings.Cut(tok, "=")
			out = append(out, name+"=<redacted>")
			inValue = true
		case !inValue && !isEnv && envName.MatchString(tok):
			// ARG X: a declaration without a default, nothing to redact.
			out = append(out, tok)
		default:
			// The rest of an unquoted value with spaces ("ENV A=b c"), or
			// something that is not a name: never kept.
			if !inValue {
				return prefix + "<redacted>"
			}
		}
	}
	return prefix + strings.Join(out, " ")
}

// shellWords splits s at unquoted white space the way a Dockerfile does,
// keeping quotes and escapes inside the words (only the part before the
// first "=" of a word is ever kept). It reports false for an unterminated
// quote.
func shellWords(s string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		}
		cur.WriteRune(r)
		inWord = true
	}
	if quote != 0 {
		return nil, false
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}
