package vulndb

import (
	"cmp"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// redacted stands in for a credential taken out of update_url.
const redacted = "<redacted>"

// RedactURL returns update_url as it may be shown: the user information
// (a user and password, or a token used as the user name) and every query
// value (access tokens, signatures) are replaced by "<redacted>"; the
// scheme, host, path and query keys stay so people can tell which URL is
// meant. A URL that cannot be parsed is not shown at all.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(update_url, not shown: it is not a valid URL)"
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme + ":")
	}
	if u.Opaque != "" {
		// mailto:-style URLs carry no host; their opaque part may hold anything.
		b.WriteString(redacted)
		return b.String()
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil {
		b.WriteString("//")
	}
	if u.User != nil {
		b.WriteString(redacted + "@")
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?")
		for i, part := range strings.Split(u.RawQuery, "&") {
			if i > 0 {
				b.WriteString("&")
			}
			key, _, hasValue := strings.Cut(part, "=")
			if hasValue {
				b.WriteString(key + "=" + redacted)
			} else if part != "" {
				// A bare query (?s3cr3t) may be the token itself.
				b.WriteString(redacted)
			}
		}
	}
	if u.Fragment != "" {
		b.WriteString("#" + redacted)
	}
	return b.String()
}

// minSecret is the shortest credential scrubbed from free text; shorter
// strings would mangle ordinary words and protect nothing.
const minSecret = 4

// scrubber takes the credentials of one update_url out of text that may
// quote it in any form: as configured, as grype rewrites it (with
// "/v6/latest.json" appended or an archive path and checksum), and as
// net/http quotes it in errors.
type scrubber struct {
	raw, safe string
	secrets   []string // longest first
}

func newScrubber(raw string) *scrubber {
	s := &scrubber{raw: raw, safe: RedactURL(raw)}
	u, err := url.Parse(raw)
	if err != nil {
		// Nothing can be told apart: never show the URL.
		return s
	}
	add := func(v string) {
		for _, f := range []string{v, unescape(v), url.QueryEscape(unescape(v)), url.PathEscape(unescape(v))} {
			if len(f) >= minSecret {
				s.secrets = append(s.secrets, f)
			}
		}
	}
	if u.User != nil {
		add(u.User.String())
		add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	for part := range strings.SplitSeq(u.RawQuery, "&") {
		if _, v, ok := strings.Cut(part, "="); ok {
			add(v)
		} else {
			add(part)
		}
	}
	add(u.Fragment)
	if u.Opaque != "" {
		add(u.Opaque)
	}
	slices.SortFunc(s.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return s
}

func unescape(v string) string {
	if u, err := url.QueryUnescape(v); err == nil {
		return u
	}
	return v
}

// text returns msg without the URL's credentials.
func (s *scrubber) text(msg string) string {
	if s.raw != "" {
		msg = strings.ReplaceAll(msg, s.raw, s.safe)
	}
	for _, v := range s.secrets {
		msg = strings.ReplaceAll(msg, v, redacted)
	}
	return msg
}

// err returns err with its message scrubbed; errors.Is and errors.As
// still see the original chain, but no message built from the result can
// show a credential.
func (s *scrubber) err(err error) error {
	if err == nil {
		return nil
	}
	msg := s.text(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubError scrubs the message of a database error in place, keeping its
// kind, path and build time.
func (s *scrubber) scrubError(err error) error {
	var e *Error
	if errors.As(err, &e) && errors.Is(err, error(e)) {
		e.Path = s.text(e.Path)
		e.Err = s.err(e.Err)
		return e
	}
	return s.err(err)
}
