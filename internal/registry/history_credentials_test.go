package registry

import (
	"slices"
	"strings"
	"testing"
)

// A credential inline in a RUN step is redacted from the history, as build
// arguments and ENV values are, and its kind is recorded for the checks.
func TestRedactHistoryCredentials(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		kinds    []string
	}{
		{"RUN /bin/sh -c git clone https://ci:S3CR3T@git.example.com/x.git", "RUN /bin/sh -c git clone https://ci:<redacted>@git.example.com/x.git", []string{"password in a URL"}},
		{"/bin/sh -c export NPM_TOKEN=S3CR3T && npm ci", "/bin/sh -c export NPM_TOKEN=<redacted> && npm ci", []string{"variable NPM_TOKEN"}},
		{"RUN |1 TOKEN=S3CR3T /bin/sh -c curl -H 'Authorization: Bearer S3CR3T' https://x", "RUN |1 TOKEN=<redacted> /bin/sh -c curl -H 'Authorization: Bearer <redacted>' https://x", []string{"Authorization header"}},
		{"ENV AWS_SECRET_ACCESS_KEY=S3CR3T", "ENV AWS_SECRET_ACCESS_KEY=<redacted>", nil},
		{"RUN /bin/sh -c apt-get update", "RUN /bin/sh -c apt-get update", nil},
	} {
		got, kinds := redactHistory(tc.in)
		if got != tc.want || !slices.Equal(kinds, tc.kinds) {
			t.Errorf("redactHistory(%q) = %q, %q; want %q, %q", tc.in, got, kinds, tc.want, tc.kinds)
		}
		if strings.Contains(got, "S3CR3T") {
			t.Errorf("redactHistory(%q) keeps the secret: %q", tc.in, got)
		}
	}
}
