package registry

import (
	"strings"
	"testing"
)

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

func TestRedactEnvArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// The legacy builder.
		{"/bin/sh -c #(nop)  ENV A=b C=d", "/bin/sh -c #(nop)  ENV A=<redacted> C=<redacted>"},
		{"/bin/sh -c #(nop)  ENV API_TOKEN s3cr3t value", "/bin/sh -c #(nop)  ENV API_TOKEN=<redacted>"},
		{"/bin/sh -c #(nop)  ARG VERSION=1.2", "/bin/sh -c #(nop)  ARG VERSION=<redacted>"},
		{"/bin/sh -c #(nop)  ARG VERSION", "/bin/sh -c #(nop)  ARG VERSION"},
		{"cmd /S /C #(nop) ENV PASSWORD=hunter2", "cmd /S /C #(nop) ENV PASSWORD=<redacted>"},
		// BuildKit.
		{"ENV A=b", "ENV A=<redacted>"},
		{"ENV DB_PASSWORD=s3cr3t PATH=/usr/local/bin:/usr/bin", "ENV DB_PASSWORD=<redacted> PATH=<redacted>"},
		{`ENV GREETING="hello s3cr3t world" NEXT=x`, "ENV GREETING=<redacted> NEXT=<redacted>"},
		{`ENV ONE='single s3cr3t' TWO=a\ s3cr3t`, "ENV ONE=<redacted> TWO=<redacted>"},
		{"ENV JAVA_OPTS=-Xmx1g -Dtoken=s3cr3t", "ENV JAVA_OPTS=<redacted>"},
		{"ENV A=s3cr3t with spaces B=2", "ENV A=<redacted> B=<redacted>"},
		{"ENV A=", "ENV A=<redacted>"},
		{"ARG X=y", "ARG X=<redacted>"},
		{"ARG X", "ARG X"},
		{"ARG X Y=s3cr3t", "ARG X Y=<redacted>"},
		{"ARG X=s3cr3t Y", "ARG X=<redacted>"},
		{"env lower=s3cr3t", "env lower=<redacted>"},
		// Nothing to keep: redacted whole.
		{`ENV A="unterminated s3cr3t`, "ENV <redacted>"},
		{"ENV -weird s3cr3t", "ENV <redacted>"},
		// Not ENV or ARG.
		{"RUN /bin/sh -c echo ENV A=b", "RUN /bin/sh -c echo ENV A=b"},
		{"/bin/sh -c #(nop)  CMD [\"sh\"]", "/bin/sh -c #(nop)  CMD [\"sh\"]"},
		{"ENVIRONMENT=x", "ENVIRONMENT=x"},
		{"", ""},
	} {
		if got := redactEnvArgs(tc.in); got != tc.want {
			t.Errorf("redactEnvArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := redactEnvArgs(tc.in); strings.Contains(got, "s3cr3t") || strings.Contains(got, "hunter2") {
			t.Errorf("redactEnvArgs(%q) keeps a secret: %q", tc.in, got)
		}
	}
}
