package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Kind sorts registry failures by what the user has to do about them.
type Kind int

// The kinds of Error.
const (
	KindOther Kind = iota
	KindInvalidReference
	KindInvalidPlatform
	KindNotFound
	KindUnauthorized
	KindInsecure
	KindUnreachable
	KindUnsupported
	KindPlatform
)

// Error is a failure to read an image, naming the reference and what the
// registry answered.
type Error struct {
	Kind Kind
	Ref  string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Ref, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

func classify(ref, doing string, err error) error {
	var ie *InsecureError
	if errors.As(err, &ie) || strings.Contains(err.Error(), "answered over plain HTTP") {
		if ie == nil {
			ie = &InsecureError{Registry: insecureHost(err.Error())}
		}
		return &Error{Kind: KindInsecure, Ref: ref, Err: ie}
	}
	wrapped := fmt.Errorf("%s: %w", doing, err)
	if te, ok := errors.AsType[*transport.Error](err); ok {
		switch {
		case te.StatusCode == http.StatusNotFound || HasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
			return &Error{Kind: KindNotFound, Ref: ref, Err: fmt.Errorf("%s: the registry answered that the image does not exist: %w", doing, err)}
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || HasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return &Error{Kind: KindUnauthorized, Ref: ref, Err: fmt.Errorf("%s: the registry refused access: %w", doing, err)}
		case te.StatusCode == http.StatusTooManyRequests:
			return &Error{Kind: KindUnreachable, Ref: ref, Err: fmt.Errorf("%s: the registry is rate-limiting requests and still answered 429 Too Many Requests after the retries: %w", doing, err)}
		}
		return &Error{Kind: KindOther, Ref: ref, Err: wrapped}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return &Error{Kind: KindUnreachable, Ref: ref, Err: fmt.Errorf("%s: the registry could not be reached: %w", doing, err)}
	}
	if strings.Contains(err.Error(), "unrecognized challenge") || strings.Contains(err.Error(), "UNAUTHORIZED") {
		return &Error{Kind: KindUnauthorized, Ref: ref, Err: wrapped}
	}
	return &Error{Kind: KindOther, Ref: ref, Err: wrapped}
}

// HasCode reports whether the registry's answer carries one of codes.
func HasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	return slices.ContainsFunc(te.Errors, func(d transport.Diagnostic) bool { return slices.Contains(codes, d.Code) })
}

func insecureHost(msg string) string {
	_, rest, ok := strings.Cut(msg, "registry ")
	if !ok {
		return "the registry"
	}
	host, _, _ := strings.Cut(rest, " ")
	return host
}
