package policy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	sysuser "github.com/moby/sys/user"
)

// runtimeExecUser is what runc's setupUser computes for USER: GetExecUser
// with its defaults, and a nil reader for a file the image does not have.
func runtimeExecUser(spec string, passwd, group []byte, defaults *sysuser.ExecUser) (*sysuser.ExecUser, error) {
	var p, g io.Reader
	if passwd != nil {
		p = bytes.NewReader(passwd)
	}
	if group != nil {
		g = bytes.NewReader(group)
	}
	return sysuser.GetExecUser(spec, defaults, p, g)
}

// checkAgainstRuntime fails the test when imagegate and the runtime disagree
// about USER spec: the UID and GID, whether the container can start, whether
// the gate passes, and which /etc/passwd line the explanation names.
func checkAgainstRuntime(t *testing.T, spec string, passwd, group []byte) outcome {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("USER %q\n/etc/passwd %q\n/etc/group %q\n"+format, append([]any{spec, passwd, group}, args...)...)
	}
	runc, rerr := runtimeExecUser(spec, passwd, group, &sysuser.ExecUser{Uid: 0, Gid: 0, Home: "/"})
	// Docker passes no defaults; the UID and GID must not differ.
	docker, derr := runtimeExecUser(spec, passwd, group, nil)
	if (rerr == nil) != (derr == nil) || (rerr == nil && (runc.Uid != docker.Uid || runc.Gid != docker.Gid)) {
		fail("runc and Docker defaults disagree: %+v %v / %+v %v", runc, rerr, docker, derr)
	}

	uid, gid, err := ResolveUser(spec, passwd, group)
	switch {
	case (err == nil) != (rerr == nil):
		fail("ResolveUser err %v, runtime err %v", err, rerr)
	case err == nil && (uid != runc.Uid || gid != runc.Gid):
		fail("ResolveUser %d:%d, runtime %d:%d", uid, gid, runc.Uid, runc.Gid)
	case err != nil && !errors.Is(err, ErrUnknownUser) && !errors.Is(err, ErrUnknownGroup):
		fail("ResolveUser error %q wraps neither sentinel", err)
	case errors.Is(rerr, sysuser.ErrNoPasswdEntries) && (!errors.Is(err, sysuser.ErrNoPasswdEntries) || !errors.Is(err, ErrUnknownUser)),
		errors.Is(rerr, sysuser.ErrNoGroupEntries) && (!errors.Is(err, sysuser.ErrNoGroupEntries) || !errors.Is(err, ErrUnknownGroup)),
		errors.Is(rerr, sysuser.ErrRange) && !errors.Is(err, sysuser.ErrRange):
		fail("ResolveUser error %q does not wrap the runtime's %q", err, rerr)
	}

	// The explanation reads the same /etc/passwd line the runtime picked.
	userArg, _ := splitUserSpec(spec)
	if _, nerr := strconv.Atoi(userArg); rerr == nil && userArg != "" && nerr != nil && !errors.Is(nerr, strconv.ErrRange) {
		fields, ok := firstPasswdEntry(userArg, passwd)
		if !ok {
			fail("no /etc/passwd entry found for %q, runtime resolved it to %d", userArg, runc.Uid)
		}
		var u, g int
		if len(fields) > 2 {
			u = runtimeAtoi(fields[2])
		}
		if len(fields) > 3 {
			g = runtimeAtoi(fields[3])
		}
		if u != runc.Uid {
			fail("explained entry %q gives UID %d, runtime %d", fields, u, runc.Uid)
		}
		if _, groupArg := splitUserSpec(spec); groupArg == "" && g != runc.Gid {
			fail("explained entry %q gives GID %d, runtime %d", fields, g, runc.Gid)
		}
	}

	// The gate passes exactly when the runtime starts the container with a
	// non-root UID it keeps as is.
	d := Evaluate(&Policy{User: &UserRule{RequireNonRoot: true}}, Facts{Image: Image{User: spec}, Passwd: passwd, Group: group})
	nonRoot := rerr == nil && runc.Uid > 0 && runc.Uid <= maxID
	if d.Passed != nonRoot {
		fail("gate passed %v, runtime %+v %v; violations %+v", d.Passed, runc, rerr, d.Violations)
	}
	for _, v := range d.Violations {
		if v.Message == "" || strings.ContainsAny(v.Message, "\n\r") {
			fail("violation message %q is not one line", v.Message)
		}
	}
	switch {
	case rerr != nil:
		return cannotStart
	case uint32(runc.Uid) == 0:
		said := false
		for _, v := range d.Violations {
			said = said || strings.Contains(v.Message, "UID 0") || strings.Contains(v.Message, "runs as root")
		}
		if !said {
			fail("the runtime runs as root but no violation says so: %+v", d.Violations)
		}
		return root
	case !nonRoot:
		return outOfRange
	}
	return nonRootUser
}

// outcome is what the runtime made of one case.
type outcome int

const (
	nonRootUser outcome = iota
	root
	outOfRange
	cannotStart
)

// runtimeAtoi reads a numeric field of /etc/passwd as moby/sys/user does:
// a field that does not parse counts as 0, one out of int range saturates.
func runtimeAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// trickyCases are USER values and account files on which a hand-written
// parser is easily wrong.
var trickyCases = []struct {
	user          string
	passwd, group string
	noPasswd      bool
	noGroup       bool
}{
	{user: "app", passwd: issuePasswd, group: "app:x:1000:\n"},
	{user: "app", passwd: "app:x: 1000:1000\napp:x:1000:1000\n"},
	{user: "app", passwd: "app:x::\n"},
	{user: "app", passwd: "app\n"},
	{user: "app", passwd: "app:x:1000\r\n"},
	{user: "app", passwd: "  app:x:1000:1000  \r\n"},
	{user: "app", passwd: "\tapp\t:x:1000:1000\n"},
	{user: "app ", passwd: "app :x:1000:1000\n"},
	{user: "app", passwd: "app:x:+1000:-1000\n"},
	{user: "app", passwd: "app:x:0x3e8:0\n"},
	{user: "app", passwd: "app:x:1e3:0\n"},
	{user: "app", passwd: "app:x:99999999999999999999:1\n"},
	{user: "app", passwd: "app:x:-99999999999999999999:1\n"},
	{user: "app", passwd: "app:x:4294967296:1\n"},
	{user: "app", passwd: "app:x:2147483648:1\n"},
	{user: "app", passwd: "app:x:-1:1\n"},
	{user: "app", passwd: "#app:x:1000:1000\napp:x:0:0\n"},
	{user: "+app", passwd: "+app::::::\n"},
	{user: "-app", passwd: "-app:x:1000\n"},
	{user: "", passwd: "app:x:1000 :5\n"},
	{user: "", passwd: ""},
	{user: "", noPasswd: true},
	{user: ":", noPasswd: true},
	{user: "::", passwd: "root:x:0:0\n"},
	{user: ":app", passwd: "root:x:0:0\n", group: "app:x:7:\n"},
	{user: "root", noPasswd: true},
	{user: "root", passwd: ""},
	{user: "root:root", passwd: "root:x:0:0\n", noGroup: true},
	{user: "0", noPasswd: true},
	{user: "00", noPasswd: true},
	{user: "+0", noPasswd: true},
	{user: "-0", noPasswd: true},
	{user: "+1000", noPasswd: true},
	{user: "-1", noPasswd: true},
	{user: "2147483647", noPasswd: true},
	{user: "2147483648", noPasswd: true},
	{user: "99999999999999999999", noPasswd: true},
	{user: " 1000", noPasswd: true},
	{user: "1000 ", passwd: "1000 :x:5:5\n"},
	{user: "1000", passwd: "app:x:1000 :7\nweb:x:1000:8\n"},
	{user: "1000:app", passwd: "app:x:1000:1000\n", group: "app:x:1000 :\napp:x:5:\n"},
	{user: "app:staff:extra", passwd: "app:x:1000:1000\n", group: "staff:x:50:\n"},
	{user: "app:", passwd: "app:x:1000:1000\n", group: "g:x:9:app\n"},
	{user: "app:#g", passwd: "app:x:1000:1000\n", group: "#g:x:9:\n"},
	{user: "app:-1", passwd: "app:x:1000:1000\n"},
	{user: "app:+5", passwd: "app:x:1000:1000\n", group: "five:x:5:\n"},
	{user: "app:4294967296", passwd: "app:x:1000:1000\n"},
	{user: "app", passwd: "app:x:1000:1000\n", group: "g:x:1:" + strings.Repeat("a", 2<<20) + "\n"},
	{user: "app", passwd: strings.Repeat("x", 70000) + "\napp:x:1000:1000\n"},
	{user: "1000", passwd: "app:x:1000:1000\n" + strings.Repeat("x", 70000) + "\n"},
	{user: "\u00a0app", passwd: "\u00a0app:x:1000:1000\n"},
	{user: "app", passwd: "app:x:1000:1000\x00\n"},
	{user: "app\x00", passwd: "app\x00:x:0:0\n"},
}

func TestResolveUserTrickyCasesMatchRuntime(t *testing.T) {
	for _, c := range trickyCases {
		var passwd, group []byte
		if !c.noPasswd {
			passwd = []byte(c.passwd)
		}
		if !c.noGroup {
			group = []byte(c.group)
		}
		checkAgainstRuntime(t, c.user, passwd, group)
	}
}

// accountGen makes random account files and USER values from the pieces
// runtimes read differently from a careful parser.
type accountGen struct{ r *rand.Rand }

func (g accountGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

var (
	genNames = []string{"app", "root", "toor", "web", "", "#app", "+app", "-app", "+", "app ", " app", "ｕ", "1000", "0", "staff"}
	genIDs   = []string{"0", "1", "1000", "1000", "1000", "33", "1000 ", " 1000", "", "abc", "-1", "+5", "00", "-0", "+0", "0x10", "1e3",
		"2147483647", "2147483648", "4294967295", "4294967296", "8589934592", "99999999999999999999", "-99999999999999999999"}
	genSpaces = []string{"", "", "", " ", "\t", "  ", "\u00a0"}
	genEOL    = []string{"\n", "\n", "\n", "\r\n", "\r\r\n", "\n\n"}
)

// line is one /etc/passwd or /etc/group line: name, password, id, id,
// more, with any number of fields and padding.
func (g accountGen) line() string {
	switch g.r.IntN(12) {
	case 0:
		return ""
	case 1:
		return "# " + g.pick(genNames)
	case 2:
		return g.pick(genNames) // no colon at all
	}
	fields := []string{g.pick(genNames), "x", g.pick(genIDs), g.pick(genIDs), g.pick(genNames), "/home", "/bin/sh"}
	if g.r.IntN(2) == 0 {
		fields[0] = g.pick([]string{"app", "web"})
	}
	if g.r.IntN(3) == 0 {
		fields[3] = g.pick(genNames) + "," + g.pick(genNames) // a group's member list
	}
	n := 1 + g.r.IntN(len(fields))
	if g.r.IntN(2) == 0 {
		n = max(n, 3) // most lines have an id
	}
	fields = fields[:n]
	if g.r.IntN(10) == 0 {
		fields = append(fields, "extra")
	}
	return g.pick(genSpaces) + strings.Join(fields, ":") + g.pick(genSpaces)
}

func (g accountGen) file() []byte {
	switch g.r.IntN(10) {
	case 0:
		return nil // the image has no such file
	case 1:
		return []byte{}
	}
	var b strings.Builder
	n := g.r.IntN(8)
	var lines []string
	for range n {
		l := g.line()
		if len(lines) > 0 && g.r.IntN(4) == 0 {
			l = lines[g.r.IntN(len(lines))] // a duplicate
		}
		lines = append(lines, l)
		b.WriteString(l)
		b.WriteString(g.pick(genEOL))
	}
	if g.r.IntN(5) == 0 && b.Len() > 0 {
		return []byte(strings.TrimRight(b.String(), "\r\n")) // no final newline
	}
	return []byte(b.String())
}

func (g accountGen) user() string {
	u := g.pick(append(genNames, genIDs...))
	if g.r.IntN(2) == 0 {
		u = g.pick([]string{"app", "web", "1000"}) // likely in the files
	}
	switch g.r.IntN(6) {
	case 0:
		u += ":" + g.pick(append(genNames, genIDs...))
	case 1:
		if g.r.IntN(4) == 0 {
			u += ":" + g.pick(genNames) + ":" + g.pick(genNames)
		}
	}
	return u
}

// TestResolveUserGeneratedMatchesRuntime resolves thousands of generated
// USER values and account files with imagegate and with the runtime's code.
func TestResolveUserGeneratedMatchesRuntime(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 500
	}
	g := accountGen{rand.New(rand.NewPCG(1, 2))}
	seen := map[outcome]int{}
	for range n {
		seen[checkAgainstRuntime(t, g.user(), g.file(), g.file())]++
	}
	// A generator that never reaches an outcome tests nothing about it.
	for _, o := range []outcome{nonRootUser, root, outOfRange, cannotStart} {
		if seen[o] < n/100 {
			t.Errorf("outcome %d in only %d of %d generated cases: %v", o, seen[o], n, seen)
		}
	}
	t.Logf("outcomes (non-root, root, out of range, cannot start): %v", seen)
}

// FuzzResolveUser compares imagegate with the runtime on arbitrary input.
// Run it with: go test -run '^$' -fuzz FuzzResolveUser ./internal/policy/
func FuzzResolveUser(f *testing.F) {
	for _, c := range trickyCases {
		if len(c.passwd)+len(c.group) < 4096 {
			f.Add(c.user, []byte(c.passwd), []byte(c.group), !c.noPasswd, !c.noGroup)
		}
	}
	f.Add("app:staff", []byte(testPasswd), []byte(testGroup), true, true)
	f.Fuzz(func(t *testing.T, user string, passwd, group []byte, hasPasswd, hasGroup bool) {
		if !hasPasswd {
			passwd = nil
		} else if passwd == nil {
			passwd = []byte{}
		}
		if !hasGroup {
			group = nil
		} else if group == nil {
			group = []byte{}
		}
		checkAgainstRuntime(t, user, passwd, group)
	})
}
