package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	sysuser "github.com/moby/sys/user"
)

// ErrUnknownUser is wrapped by ResolveUser's errors when the user part of
// USER cannot be resolved as a container runtime resolves it (a named user
// missing from /etc/passwd, a numeric UID out of range, an /etc/passwd the
// runtime cannot read), so the UID cannot be established.
var ErrUnknownUser = errors.New("unknown user")

// ErrUnknownGroup is wrapped by ResolveUser's errors when the group part of
// USER (or the image's /etc/group) cannot be resolved as a container runtime
// resolves it, so the GID cannot be established.
var ErrUnknownGroup = errors.New("unknown group")

// maxID is the largest UID or GID container runtimes accept in USER
// (moby/sys/user, and containerd after it, refuse larger ones).
const maxID = 1<<31 - 1

// runtimeDefaults are the defaults runc's setupUser hands to
// user.GetExecUserPath; Docker passes nil, which means the same UID and GID.
func runtimeDefaults() *sysuser.ExecUser {
	return &sysuser.ExecUser{Uid: 0, Gid: 0, Home: "/"}
}

// lookupError carries a readable message and wraps a sentinel and the
// runtime's own error.
type lookupError struct {
	msg  string
	errs []error
}

func (e *lookupError) Error() string   { return e.msg }
func (e *lookupError) Unwrap() []error { return e.errs }

// ResolveUser resolves a USER value from an image config ("", "app", "1000",
// "app:staff", "1000:1000", …) to the UID and GID a container runs with,
// using the image's /etc/passwd and /etc/group (nil when the image has
// none). It decides exactly as runc, containerd and Docker do, because it
// calls the code they call, github.com/moby/sys/user's GetExecUser, with
// runc's defaults:
//
//   - USER is not trimmed; it is split on ":" into a user and a group part
//     (anything after a second ":" is ignored). An empty user part is UID 0.
//   - A user part that parses as a decimal integer (a sign is allowed) is a
//     UID and must be within 0..2147483647; otherwise it is a name.
//   - Every /etc/passwd line is trimmed and split on ":"; blank lines are
//     skipped but nothing else is (comments and NIS lines are entries).
//     Missing fields and numeric fields that do not parse count as 0, and the
//     first line that matches the name (or UID) wins.
//   - A named user, "root" included, must be in /etc/passwd; without one the
//     container cannot start.
//   - A numeric group is that GID; a named one, "root" included, must be in
//     /etc/group (comments skipped, same field rules, first match wins).
//     Without a group part the GID is the user's primary GID, or 0.
//
// Errors are readable sentences wrapping ErrUnknownUser or ErrUnknownGroup.
// A UID read from /etc/passwd is returned as the runtime reads it, so it may
// be negative or beyond 32 bits (see evaluateUser).
func ResolveUser(spec string, passwd, group []byte) (uid int, gid int, err error) {
	u, err := sysuser.GetExecUser(spec, runtimeDefaults(), reader(passwd), reader(group))
	if err != nil {
		return 0, 0, explainLookupError(spec, passwd, group, err)
	}
	return u.Uid, u.Gid, nil
}

// reader is b as the runtime sees the file: nil when the image has none.
func reader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

// splitUserSpec splits USER into its user and group parts the way
// GetExecUser does.
func splitUserSpec(spec string) (userArg, groupArg string) {
	parts := bytes.Split([]byte(spec), []byte(":"))
	userArg = string(parts[0])
	if len(parts) > 1 {
		groupArg = string(parts[1])
	}
	return userArg, groupArg
}

// idOutOfRange reports whether s is numeric in GetExecUser's sense but
// outside 0..maxID, which the runtime refuses.
func idOutOfRange(s string) bool {
	if s == "" {
		return false
	}
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) {
		return true
	}
	return err == nil && (n < 0 || n > maxID)
}

// explainLookupError turns GetExecUser's error into a sentence that names
// the part of USER or the file at fault.
func explainLookupError(spec string, passwd, group []byte, err error) error {
	userArg, groupArg := splitUserSpec(spec)
	userErr := func(msg string) error { return &lookupError{msg, []error{ErrUnknownUser, err}} }
	groupErr := func(msg string) error { return &lookupError{msg, []error{ErrUnknownGroup, err}} }
	switch {
	case errors.Is(err, sysuser.ErrRange) && idOutOfRange(userArg):
		return userErr(fmt.Sprintf("UID %q in USER %q is outside the range 0 to %d that container runtimes accept, so the container cannot start", userArg, spec, maxID))
	case errors.Is(err, sysuser.ErrRange):
		return groupErr(fmt.Sprintf("GID %q in USER %q is outside the range 0 to %d that container runtimes accept, so the container cannot start", groupArg, spec, maxID))
	case errors.Is(err, sysuser.ErrNoPasswdEntries) && passwd == nil:
		return userErr(fmt.Sprintf("user %q cannot be looked up because the image has no /etc/passwd, so its UID cannot be established", userArg))
	case errors.Is(err, sysuser.ErrNoPasswdEntries):
		return userErr(fmt.Sprintf("user %q is not in the image's /etc/passwd, so its UID cannot be established", userArg))
	case errors.Is(err, sysuser.ErrNoGroupEntries) && group == nil:
		return groupErr(fmt.Sprintf("group %q cannot be looked up because the image has no /etc/group, so its GID cannot be established", groupArg))
	case errors.Is(err, sysuser.ErrNoGroupEntries):
		return groupErr(fmt.Sprintf("group %q is not in the image's /etc/group, so its GID cannot be established", groupArg))
	}
	// Otherwise a file could not be read line by line (a line longer than
	// the runtime's scanner allows): find out which.
	if passwd != nil {
		if _, perr := sysuser.ParsePasswd(bytes.NewReader(passwd)); perr != nil {
			return userErr(fmt.Sprintf("the image's /etc/passwd cannot be read the way container runtimes read it (%v), so the container cannot start with USER %q", perr, spec))
		}
	}
	if group != nil {
		if _, gerr := sysuser.ParseGroup(bytes.NewReader(group)); gerr != nil {
			return groupErr(fmt.Sprintf("the image's /etc/group cannot be read the way container runtimes read it (%v), so the container cannot start with USER %q", gerr, spec))
		}
	}
	return userErr(fmt.Sprintf("resolving USER %q as container runtimes do: %v", spec, err))
}

// firstPasswdEntry returns the fields of the /etc/passwd line GetExecUser
// picks for a named user: the first line, trimmed, whose name field is name.
// It reads lines with the same scanner settings, so it sees the same lines.
func firstPasswdEntry(name string, passwd []byte) ([]string, bool) {
	s := bufio.NewScanner(bytes.NewReader(passwd))
	for s.Scan() {
		line := bytes.TrimSpace(s.Bytes())
		if len(line) == 0 {
			continue
		}
		fields := bytes.Split(line, []byte(":"))
		if string(fields[0]) != name {
			continue
		}
		out := make([]string, len(fields))
		for i, f := range fields {
			out[i] = string(f)
		}
		return out, true
	}
	return nil, false
}

// uidOrigin explains, for a named user, where the UID the runtime reads
// comes from when that is not plain: it returns the entry's description and
// its UID field (ok false when the user has no entry).
func uidOrigin(name string, passwd []byte) (entry, field string, hasField, ok bool) {
	fields, ok := firstPasswdEntry(name, passwd)
	if !ok {
		return "", "", false, false
	}
	entry = fmt.Sprintf("the first /etc/passwd entry for %q", name)
	if len(fields) < 3 {
		return entry, "", false, true
	}
	return entry, fields[2], true, true
}
