package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnknownUser is wrapped by ResolveUser's errors when a named user cannot
// be found, so its UID cannot be established.
var ErrUnknownUser = errors.New("unknown user")

// ErrUnknownGroup is wrapped by ResolveUser's errors when a named group cannot
// be found, so its GID cannot be established.
var ErrUnknownGroup = errors.New("unknown group")

// lookupError carries a readable message and wraps a sentinel.
type lookupError struct {
	msg string
	err error
}

func (e *lookupError) Error() string { return e.msg }
func (e *lookupError) Unwrap() error { return e.err }

// ResolveUser resolves a USER value from an image config ("", "app", "1000",
// "app:staff", "1000:1000", …) to the UID and GID a container would run with,
// using the image's /etc/passwd and /etc/group (nil when the image has none),
// as runc does:
//
//   - An empty USER, or an empty user part, is UID 0.
//   - A numeric user is that UID, with no lookup needed; its GID is the one
//     /etc/passwd gives that UID, else 0.
//   - A named user is looked up by name in /etc/passwd (first entry wins);
//     "root" is UID 0 and GID 0 even when the image has no /etc/passwd.
//   - A group after ":" is a numeric GID or a name looked up in /etc/group
//     ("root" is GID 0 even without /etc/group); an empty group keeps the
//     user's primary GID.
//
// Blank lines, comments and malformed lines in the files are skipped.
func ResolveUser(user string, passwd, group []byte) (uid int, gid int, err error) {
	name, groupSpec, _ := strings.Cut(strings.TrimSpace(user), ":")
	uid, gid, err = resolveUID(name, passwd)
	if err != nil {
		return 0, 0, err
	}
	if groupSpec == "" {
		return uid, gid, nil
	}
	if n, ok := numericID(groupSpec); ok {
		return uid, n, nil
	}
	for _, g := range parseDatabase(group, 3) {
		if g.name == groupSpec {
			return uid, g.id, nil
		}
	}
	if groupSpec == "root" {
		return uid, 0, nil
	}
	if group == nil {
		return 0, 0, &lookupError{fmt.Sprintf("group %q cannot be looked up because the image has no /etc/group, so its GID cannot be established", groupSpec), ErrUnknownGroup}
	}
	return 0, 0, &lookupError{fmt.Sprintf("group %q is not in the image's /etc/group, so its GID cannot be established", groupSpec), ErrUnknownGroup}
}

// resolveUID resolves the user part of a USER value to a UID and its primary
// GID.
func resolveUID(name string, passwd []byte) (uid, gid int, err error) {
	if name == "" {
		name = "0"
	}
	entries := parseDatabase(passwd, 4)
	if n, ok := numericID(name); ok {
		for _, e := range entries {
			if e.id == n {
				return n, e.gid, nil
			}
		}
		return n, 0, nil
	}
	for _, e := range entries {
		if e.name == name {
			return e.id, e.gid, nil
		}
	}
	if name == "root" {
		return 0, 0, nil
	}
	if passwd == nil {
		return 0, 0, &lookupError{fmt.Sprintf("user %q cannot be looked up because the image has no /etc/passwd, so its UID cannot be established", name), ErrUnknownUser}
	}
	return 0, 0, &lookupError{fmt.Sprintf("user %q is not in the image's /etc/passwd, so its UID cannot be established", name), ErrUnknownUser}
}

// numericID parses a UID or GID: decimal digits only, at most 2^32-1.
func numericID(s string) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

// dbEntry is one line of /etc/passwd (name, UID, GID) or /etc/group (name,
// GID in id).
type dbEntry struct {
	name    string
	id, gid int
}

// parseDatabase reads colon-separated lines with the name in field 0 and the
// id in field 2 (and, when minFields is 4, the primary GID in field 3).
// Blank lines, comments, NIS lines (+/-) and malformed lines are skipped.
func parseDatabase(b []byte, minFields int) []dbEntry {
	var out []dbEntry
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == '+' || trimmed[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < minFields || f[0] == "" {
			continue
		}
		e := dbEntry{name: f[0]}
		var ok bool
		if e.id, ok = numericID(f[2]); !ok {
			continue
		}
		if minFields >= 4 {
			if e.gid, ok = numericID(f[3]); !ok {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}
