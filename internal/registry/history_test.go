package registry

import "testing"

func TestRedactBuildArgs(t *testing.T) {
	for in, want := range map[string]string{
		"RUN |2 TOKEN=s3cr3t VERSION=1.2 /bin/sh -c make": "RUN |2 TOKEN=<redacted> VERSION=<redacted> /bin/sh -c make",
		"|1 NPM_TOKEN=abc /bin/sh -c npm ci":              "|1 NPM_TOKEN=<redacted> /bin/sh -c npm ci",
		"RUN /bin/sh -c apt-get update":                   "RUN /bin/sh -c apt-get update",
		"COPY . /app # buildkit":                          "COPY . /app # buildkit",
		"RUN |3 A=1 /bin/sh":                              "RUN |3 <build arguments redacted>",
		"":                                                "",
	} {
		if got := redactBuildArgs(in); got != want {
			t.Errorf("redactBuildArgs(%q) = %q, want %q", in, got, want)
		}
	}
}
