package policy

import (
	"strings"
	"testing"
)

// issuePasswd is the /etc/passwd of the "Gate soundness" issue: the first
// entry for app has the UID field "1000 ", which runtimes read as 0, and a
// well-formed duplicate follows it.
const issuePasswd = "app:x:1000 :1000::/home/app:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"

// TestEvaluateUserAsRuntime checks that require_non_root judges the UID the
// runtime reads, and says why when it is 0 for a reason that is not plain.
func TestEvaluateUserAsRuntime(t *testing.T) {
	longGroup := "big:x:1:" + strings.Repeat("u,", 600*1024) + "u\napp:x:1000:app\n"
	tests := []struct {
		name          string
		user          string
		passwd, group string
		noGroup       bool
		want          []string // nil means no violation
	}{
		{name: "issue: first entry's uid does not parse", user: "app", passwd: issuePasswd, group: "app:x:1000:\n",
			want: []string{`USER "app" resolves to UID 0: the first /etc/passwd entry for "app" has a UID field "1000 " that does not parse as a number, which container runtimes read as 0`}},
		{name: "issue with a group part", user: "app:app", passwd: issuePasswd, group: "app:x:1000:\n",
			want: []string{`USER "app:app" resolves to UID 0: the first /etc/passwd entry for "app" has a UID field "1000 " that does not parse as a number, which container runtimes read as 0`}},
		{name: "well-formed first entry wins", user: "app", passwd: "app:x:1000:1000::/:/bin/sh\napp:x:1000 :1000::/:/bin/sh\n", group: "app:x:1000:\n"},
		{name: "entry without uid field", user: "app", passwd: "app:x\n", group: "",
			want: []string{`USER "app" resolves to UID 0: the first /etc/passwd entry for "app" has no UID field, which container runtimes read as 0`}},
		{name: "entry with empty uid field", user: "app", passwd: "app:x::1000\n", group: "",
			want: []string{`USER "app" resolves to UID 0: the first /etc/passwd entry for "app" has a UID field "" that does not parse as a number, which container runtimes read as 0`}},
		{name: "zero padded uid", user: "app", passwd: "app:x:000:0\n", group: "",
			want: []string{`USER "app" resolves to UID 0: the first /etc/passwd entry for "app" has the UID field "000", which container runtimes read as 0`}},
		{name: "signed zero user", user: "+0", group: "",
			want: []string{`USER "+0" runs as root: "+0" is read as the numeric UID 0`}},
		{name: "comment line names a user", user: "#app", passwd: "#app:x:1000 :1000\n", group: "",
			want: []string{`USER "#app" resolves to UID 0: the first /etc/passwd entry for "#app" has a UID field "1000 " that does not parse as a number, which container runtimes read as 0`}},
		{name: "uid that converts to 0", user: "wrap", passwd: "wrap:x:4294967296:1\n", group: "",
			want: []string{`USER "wrap" resolves to UID 4294967296 (the first /etc/passwd entry for "wrap" has the UID field "4294967296"), outside 0 to 2147483647; container runtimes convert it to the 32-bit UID 0, so it runs as root`}},
		{name: "negative uid", user: "neg", passwd: "neg:x:-5:1\n", group: "",
			want: []string{`USER "neg" resolves to UID -5 (the first /etc/passwd entry for "neg" has the UID field "-5"), outside 0 to 2147483647; container runtimes convert it to the 32-bit UID 4294967291, so the UID it runs with cannot be established`}},
		{name: "gid out of range", user: "0:-1", noGroup: true,
			want: []string{`GID "-1" in USER "0:-1" is outside the range 0 to 2147483647 that container runtimes accept, so the container cannot start`, `USER "0:-1" runs as root (UID 0)`}},
		{name: "unreadable group file for supplementary groups", user: "app", passwd: "app:x:1000:1000\n", group: longGroup,
			want: []string{`the image's /etc/group cannot be read the way container runtimes read it (bufio.Scanner: token too long), so the container cannot start with USER "app"`}},
		{name: "blank USER is a name", user: " ", passwd: "root:x:0:0\n", group: "",
			want: []string{`user " " is not in the image's /etc/passwd, so its UID cannot be established`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Facts{Image: Image{User: tt.user}}
			if tt.passwd != "" {
				f.Passwd = []byte(tt.passwd)
			}
			if !tt.noGroup {
				f.Group = []byte(tt.group)
			}
			d := Evaluate(&Policy{User: &UserRule{RequireNonRoot: true}}, f)
			if tt.want == nil {
				if !d.Passed || len(d.Violations) != 0 {
					t.Fatalf("violations %+v", d.Violations)
				}
				return
			}
			var got []string
			for _, v := range d.Violations {
				got = append(got, v.Message)
			}
			if d.Passed || strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q (passed %v), want %q", got, d.Passed, tt.want)
			}
		})
	}
}
