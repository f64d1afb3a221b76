package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const testPasswd = `# /etc/passwd of a test image

root:x:0:0:root:/root:/bin/sh
  # an indented comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
broken line without colons
short:x:5
badid:x:abc:1::/:/bin/false
badgid:x:7:xyz::/:/bin/false
+nisuser::::::
:x:8:8:no name:/:/bin/false
toor:x:0:0:second root:/root:/bin/sh
app:x:1000:1000:app user:/home/app:/bin/sh
app:x:2000:2000:shadowed duplicate:/:/bin/sh
web:x:33:33:www:/var/www:/usr/sbin/nologin
crlf:x:1001:1001::/home/crlf:/bin/sh` + "\r\n" + `nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin`

const testGroup = `# /etc/group
root:x:0:
staff:x:50:app
app:x:1000:
broken
badgid:x:notanumber:
nogroup:x:65534:
`

func TestResolveUser(t *testing.T) {
	tests := []struct {
		name          string
		user          string
		passwd, group []byte
		uid, gid      int
		err           error // sentinel the error must wrap
		msg           string
	}{
		{name: "empty is root", user: "", passwd: []byte(testPasswd), uid: 0, gid: 0},
		{name: "empty without passwd", user: "", uid: 0, gid: 0},
		// Runtimes do not trim USER: a blank one is a name.
		{name: "blank is a name", user: "  ", err: ErrUnknownUser,
			msg: `user "  " cannot be looked up because the image has no /etc/passwd, so its UID cannot be established`},
		{name: "root by name", user: "root", passwd: []byte(testPasswd), uid: 0, gid: 0},
		// Docker: "unable to find user root: no matching entries in passwd file".
		{name: "root without passwd", user: "root", err: ErrUnknownUser,
			msg: `user "root" cannot be looked up because the image has no /etc/passwd, so its UID cannot be established`},
		{name: "root with empty passwd", user: "root", passwd: []byte{}, err: ErrUnknownUser,
			msg: `user "root" is not in the image's /etc/passwd, so its UID cannot be established`},
		{name: "uid 0", user: "0", uid: 0, gid: 0},
		{name: "0:0", user: "0:0", uid: 0, gid: 0},
		{name: "root:staff", user: "root:staff", passwd: []byte(testPasswd), group: []byte(testGroup), uid: 0, gid: 50},
		{name: "0:1000", user: "0:1000", uid: 0, gid: 1000},
		{name: "named user with uid 0", user: "toor", passwd: []byte(testPasswd), uid: 0, gid: 0},
		{name: "numeric user without passwd", user: "1000", uid: 1000, gid: 0},
		{name: "numeric user takes primary gid from passwd", user: "33", passwd: []byte(testPasswd), uid: 33, gid: 33},
		{name: "numeric user not in passwd", user: "4242", passwd: []byte(testPasswd), uid: 4242, gid: 0},
		{name: "1000:1000 without files", user: "1000:1000", uid: 1000, gid: 1000},
		{name: "named user", user: "app", passwd: []byte(testPasswd), uid: 1000, gid: 1000},
		{name: "first passwd entry wins", user: "app", passwd: []byte(testPasswd + "\napp:x:3000:3000::/:/bin/sh"), uid: 1000, gid: 1000},
		{name: "app:app via group", user: "app:app", passwd: []byte(testPasswd), group: []byte(testGroup), uid: 1000, gid: 1000},
		{name: "app:staff via group", user: "app:staff", passwd: []byte(testPasswd), group: []byte(testGroup), uid: 1000, gid: 50},
		{name: "app:numeric group", user: "app:4000", passwd: []byte(testPasswd), uid: 1000, gid: 4000},
		{name: "app:root without group file", user: "app:root", passwd: []byte(testPasswd), err: ErrUnknownGroup,
			msg: `group "root" cannot be looked up because the image has no /etc/group, so its GID cannot be established`},
		{name: "empty group keeps primary", user: "web:", passwd: []byte(testPasswd), uid: 33, gid: 33},
		{name: "empty user part is root", user: ":50", uid: 0, gid: 50},
		{name: "CRLF line", user: "crlf", passwd: []byte(testPasswd), uid: 1001, gid: 1001},
		{name: "line after CRLF", user: "nobody", passwd: []byte(testPasswd), uid: 65534, gid: 65534},
		{name: "surrounding spaces are part of the name", user: " app ", passwd: []byte(testPasswd), err: ErrUnknownUser,
			msg: `user " app " is not in the image's /etc/passwd, so its UID cannot be established`},
		{name: "largest uid", user: "2147483647", uid: 2147483647, gid: 0},
		{name: "uid beyond int32", user: "2147483648", err: ErrUnknownUser,
			msg: `UID "2147483648" in USER "2147483648" is outside the range 0 to 2147483647 that container runtimes accept, so the container cannot start`},
		{name: "signed uid is numeric", user: "+1000", passwd: []byte(testPasswd), uid: 1000, gid: 1000},
		{name: "third part ignored", user: "app:staff:junk", passwd: []byte(testPasswd), group: []byte(testGroup), uid: 1000, gid: 50},
		{name: "gid out of range", user: "app:-1", passwd: []byte(testPasswd), err: ErrUnknownGroup,
			msg: `GID "-1" in USER "app:-1" is outside the range 0 to 2147483647 that container runtimes accept, so the container cannot start`},
		// The image: the first entry wins and its UID field "1000 " reads as 0.
		{name: "first entry with unparsable uid", user: "app", passwd: []byte("app:x:1000 :1000::/home/app:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), uid: 0, gid: 1000},
		{name: "indented entry is trimmed", user: "app", passwd: []byte("   app:x:1000:1000::/:/bin/sh  \n"), uid: 1000, gid: 1000},
		{name: "huge uid field saturates", user: "big", passwd: []byte("big:x:99999999999999999999:1\n"), uid: 1<<63 - 1, gid: 1},
		{name: "uid field beyond 32 bits", user: "wrap", passwd: []byte("wrap:x:4294967296:1\n"), uid: 1 << 32, gid: 1},
		{name: "negative uid field", user: "neg", passwd: []byte("neg:x:-5:-5\n"), uid: -5, gid: -5},
		{name: "line too long", user: "app", passwd: []byte("x:" + strings.Repeat("y", 70000) + "\n" + testPasswd), err: ErrUnknownUser,
			msg: `the image's /etc/passwd cannot be read the way container runtimes read it (bufio.Scanner: token too long), so the container cannot start with USER "app"`},
		{name: "named user missing", user: "ghost", passwd: []byte(testPasswd), err: ErrUnknownUser,
			msg: `user "ghost" is not in the image's /etc/passwd, so its UID cannot be established`},
		{name: "named user without passwd", user: "app", err: ErrUnknownUser,
			msg: `user "app" cannot be looked up because the image has no /etc/passwd, so its UID cannot be established`},
		// Runtimes skip no line but blank ones: missing and unparsable fields are 0.
		{name: "short line: missing gid is 0", user: "short", passwd: []byte(testPasswd), uid: 5, gid: 0},
		{name: "unparsable uid is 0", user: "badid", passwd: []byte(testPasswd), uid: 0, gid: 1},
		{name: "unparsable gid is 0", user: "badgid", passwd: []byte(testPasswd), uid: 7, gid: 0},
		{name: "a comment is an entry", user: "# /etc/passwd of a test image", passwd: []byte(testPasswd), uid: 0, gid: 0},
		{name: "a NIS line is an entry", user: "+nisuser", passwd: []byte(testPasswd), uid: 0, gid: 0},
		{name: "negative uid is out of range", user: "-1", passwd: []byte(testPasswd), err: ErrUnknownUser,
			msg: `UID "-1" in USER "-1" is outside the range 0 to 2147483647 that container runtimes accept, so the container cannot start`},
		{name: "uid too large is out of range", user: "4294967296", passwd: []byte(testPasswd), err: ErrUnknownUser,
			msg: `UID "4294967296" in USER "4294967296" is outside the range 0 to 2147483647 that container runtimes accept, so the container cannot start`},
		{name: "group missing", user: "app:wheel", passwd: []byte(testPasswd), group: []byte(testGroup), err: ErrUnknownGroup,
			msg: `group "wheel" is not in the image's /etc/group, so its GID cannot be established`},
		{name: "group file absent", user: "1000:staff", err: ErrUnknownGroup,
			msg: `group "staff" cannot be looked up because the image has no /etc/group, so its GID cannot be established`},
		{name: "unparsable group gid is 0", user: "1000:badgid", group: []byte(testGroup), uid: 1000, gid: 0},
		{name: "group comment is skipped", user: "1000:# /etc/group", group: []byte(testGroup), err: ErrUnknownGroup,
			msg: `group "# /etc/group" is not in the image's /etc/group, so its GID cannot be established`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid, gid, err := ResolveUser(tt.user, tt.passwd, tt.group)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || err.Error() != tt.msg {
					t.Fatalf("err = %v, want %q wrapping %v", err, tt.msg, tt.err)
				}
				if uid != 0 || gid != 0 {
					t.Errorf("uid, gid = %d, %d on error", uid, gid)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if uid != tt.uid || gid != tt.gid {
				t.Errorf("uid, gid = %d, %d; want %d, %d", uid, gid, tt.uid, tt.gid)
			}
		})
	}
}

func TestEvaluateUser(t *testing.T) {
	passwd := []byte(testPasswd)
	group := []byte(testGroup)
	noGroup := []byte(nil)
	tests := []struct {
		user          string
		passwd, group []byte
		wantMsgs      []string // nil means no violation
		wantSubj      string
	}{
		{"", passwd, group, []string{"the image sets no USER, so it runs as root"}, "root"},
		{"", nil, group, []string{"the image sets no USER, so it runs as root"}, "root"},
		{"root", passwd, group, []string{`USER "root" runs as root (UID 0)`}, "root"},
		{"root", nil, group, []string{`user "root" cannot be looked up because the image has no /etc/passwd, so its UID cannot be established`}, "root"},
		{"0", nil, group, []string{`USER "0" runs as root (UID 0)`}, "0"},
		{"0:0", nil, group, []string{`USER "0:0" runs as root (UID 0)`}, "0:0"},
		{"root:staff", passwd, group, []string{`USER "root:staff" runs as root (UID 0)`}, "root:staff"},
		{"0:1000", nil, group, []string{`USER "0:1000" runs as root (UID 0)`}, "0:1000"},
		{":1000", nil, group, []string{`USER ":1000" runs as root (UID 0)`}, ":1000"},
		{"toor", passwd, group, []string{`USER "toor" runs as root: "toor" has UID 0 in the image's /etc/passwd`}, "toor"},
		{"toor:staff", passwd, group, []string{`USER "toor:staff" runs as root: "toor" has UID 0 in the image's /etc/passwd`}, "toor:staff"},
		{"app", nil, group, []string{`user "app" cannot be looked up because the image has no /etc/passwd, so its UID cannot be established`}, "app"},
		{"ghost", passwd, group, []string{`user "ghost" is not in the image's /etc/passwd, so its UID cannot be established`}, "ghost"},
		{"1000", nil, group, nil, ""},
		{"1000:1000", nil, group, nil, ""},
		{"1000:0", nil, group, nil, ""},
		{"app", passwd, group, nil, ""},
		{"app:app", passwd, group, nil, ""},
		{"nobody", passwd, group, nil, ""},
		{"web:", passwd, noGroup, nil, ""}, // an empty group part keeps the primary GID: no lookup

		// A named group must be in /etc/group; a numeric one needs no lookup.
		{"app:staff", passwd, group, nil, ""},
		{"1000:staff", nil, group, nil, ""},
		{"1000:web", nil, noGroup, []string{`group "web" cannot be looked up because the image has no /etc/group, so the container cannot start with USER "1000:web"`}, "1000:web"},
		{"app:staff", passwd, noGroup, []string{`group "staff" cannot be looked up because the image has no /etc/group, so the container cannot start with USER "app:staff"`}, "app:staff"},
		{"app:staff", passwd, []byte("root:x:0:\nwheel:x:10:\n"), []string{`group "staff" is not in the image's /etc/group, so the container cannot start with USER "app:staff"`}, "app:staff"},
		{"app:staff", passwd, []byte{}, []string{`group "staff" is not in the image's /etc/group, so the container cannot start with USER "app:staff"`}, "app:staff"},
		{"app:unknowngroup", passwd, group, []string{`group "unknowngroup" is not in the image's /etc/group, so the container cannot start with USER "app:unknowngroup"`}, "app:unknowngroup"},
		{"app:badgid", passwd, group, nil, ""}, // the runtime reads its GID as 0: not root
		{"app:Staff", passwd, group, []string{`group "Staff" is not in the image's /etc/group, so the container cannot start with USER "app:Staff"`}, "app:Staff"},
		{"app:root", passwd, group, nil, ""},
		{"app:root", passwd, noGroup, []string{`group "root" cannot be looked up because the image has no /etc/group, so the container cannot start with USER "app:root"`}, "app:root"},
		{"app:4000", passwd, noGroup, nil, ""},
		{"1000:65534", nil, noGroup, nil, ""},
		// Root-ness and the group are judged separately.
		{"root:anything", passwd, group, []string{
			`USER "root:anything" runs as root (UID 0)`,
			`group "anything" is not in the image's /etc/group, so the container cannot start with USER "root:anything"`,
		}, "root:anything"},
		{"0:staff", nil, noGroup, []string{
			`USER "0:staff" runs as root (UID 0)`,
			`group "staff" cannot be looked up because the image has no /etc/group, so the container cannot start with USER "0:staff"`,
		}, "0:staff"},
		{"ghost:wheel", passwd, group, []string{
			`group "wheel" is not in the image's /etc/group, so the container cannot start with USER "ghost:wheel"`,
			`user "ghost" is not in the image's /etc/passwd, so its UID cannot be established`,
		}, "ghost:wheel"},
	}
	for _, tt := range tests {
		name := tt.user
		if tt.group == nil {
			name += " without /etc/group"
		}
		t.Run(name, func(t *testing.T) {
			p := &Policy{User: &UserRule{RequireNonRoot: true}}
			d := Evaluate(p, Facts{Image: Image{User: tt.user}, Passwd: tt.passwd, Group: tt.group})
			if tt.wantMsgs == nil {
				if !d.Passed || len(d.Violations) != 0 {
					t.Fatalf("violations %+v", d.Violations)
				}
				return
			}
			var want []Violation
			for _, m := range tt.wantMsgs {
				want = append(want, Violation{Rule: RuleUser, Action: ActionStop, CIS: CISUser, Subject: tt.wantSubj, Message: m})
			}
			if d.Passed || !slices.Equal(d.Violations, want) {
				t.Errorf("got %+v (passed %v), want %+v", d.Violations, d.Passed, want)
			}
		})
	}
}

func TestUserRuleOffOrWarn(t *testing.T) {
	// require_non_root false checks nothing: the policy is refused, not passed.
	d := Evaluate(&Policy{User: &UserRule{RequireNonRoot: false}}, Facts{Image: Image{User: "root"}})
	if d.Passed || len(d.Violations) != 1 || d.Violations[0].Rule != RulePolicy {
		t.Errorf("require_non_root false: %+v", d)
	}
	d = Evaluate(&Policy{User: &UserRule{Action: ActionWarn, RequireNonRoot: true}}, Facts{Image: Image{User: "root"}})
	if !d.Passed || len(d.Violations) != 1 || d.Violations[0].Action != ActionWarn {
		t.Errorf("warn: %+v", d)
	}
}
