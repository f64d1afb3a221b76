package registry

import (
	"regexp"
	"strconv"
	"strings"
)

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
