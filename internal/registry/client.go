// Package registry reads and (later) copies container images with
// go-containerregistry. It knows nothing of Terraform: it takes a context and
// plain options, and returns plain structs and wrapped errors.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Defaults for Options fields left at their zero value.
const (
	DefaultPlatform       = "linux/amd64"
	DefaultMaxRetries     = 3
	DefaultRequestTimeout = 60 * time.Second
	DefaultRetryBackoff   = time.Second
)

// Credential is one registry's login. Either Username and Password, or
// IdentityToken (an OAuth2 refresh token), is set.
type Credential struct {
	Address       string
	Username      string
	Password      string
	IdentityToken string
}

// Options configures a Client.
type Options struct {
	// Credentials are tried first, by registry host; anything else falls back
	// to Keychain (authn.DefaultKeychain when nil: the Docker config file and
	// its credential helpers).
	Credentials []Credential
	// Keychain is set only by tests, to an empty keychain, so that no test
	// reads the developer's Docker config; the provider leaves it nil.
	Keychain authn.Keychain
	// CloudKeychains serve a registry of their own cloud (chosen by host,
	// see CloudOf) when neither Credentials nor Keychain has a credential
	// for it; nil means DefaultCloudKeychains.
	CloudKeychains *CloudKeychains
	// InsecureRegistries lists registry hosts (host or host:port) that may be
	// reached over plain HTTP. Every other registry must speak HTTPS, loopback
	// included.
	InsecureRegistries []string
	// Platform selects a manifest from a multi-platform index ("os/arch" or
	// "os/arch/variant").
	Platform string
	// MaxRetries is the number of retries for 408, 429 and 5xx answers and
	// network flakes; 0 means DefaultMaxRetries, a negative value none.
	MaxRetries int
	// RetryBackoff is the first wait between retries; it triples each time.
	// Only tests set it (to milliseconds, to test retries quickly); the
	// provider uses DefaultRetryBackoff.
	RetryBackoff time.Duration
	// RequestTimeout bounds how long one request may wait for the registry to
	// start answering, and how long a response body may stall.
	RequestTimeout time.Duration
	// Transport is the base HTTP transport. Only tests set it, to trust an
	// httptest TLS server's certificate; the provider uses the stall guard.
	Transport http.RoundTripper
	// MaxImageLayers bounds the layers of one image pulled through
	// Resolved.Limited; 0 means DefaultMaxImageLayers.
	MaxImageLayers int
	// MaxIndexImages bounds the images ResolveAll takes from one index;
	// 0 means DefaultMaxIndexImages.
	MaxIndexImages int
	// MaxImageSize bounds the uncompressed bytes of all layers of one image,
	// counted while they are read; 0 means DefaultMaxImageSize.
	MaxImageSize int64
	// MinTransferRate is the lowest average rate, in bytes per second, at
	// which a response body may arrive over each TransferRateWindow; 0 means
	// DefaultMinTransferRate, a negative value no minimum. It applies to the
	// default transport (the stall guard), not to an injected Transport.
	MinTransferRate int64
	// TransferRateWindow is how long the rate is averaged over; 0 means
	// DefaultTransferRateWindow. Only tests set it (a short window, to test
	// a trickling registry quickly); the provider uses the default.
	TransferRateWindow time.Duration
}

// Client talks to registries with one set of options. It is safe for
// concurrent use.
type Client struct {
	opts     Options
	platform v1.Platform
	keychain authn.Keychain
	insecure map[string]bool
	base     http.RoundTripper
}

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Platform == "" {
		opts.Platform = DefaultPlatform
	}
	p, err := ParsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxImageLayers <= 0 {
		opts.MaxImageLayers = DefaultMaxImageLayers
	}
	if opts.MaxIndexImages <= 0 {
		opts.MaxIndexImages = DefaultMaxIndexImages
	}
	if opts.MaxImageSize <= 0 {
		opts.MaxImageSize = DefaultMaxImageSize
	}
	if opts.MinTransferRate == 0 {
		opts.MinTransferRate = DefaultMinTransferRate
	}
	if opts.TransferRateWindow <= 0 {
		opts.TransferRateWindow = DefaultTransferRateWindow
	}
	insecure := map[string]bool{}
	for _, h := range opts.InsecureRegistries {
		host, err := normalizeRegistry(h)
		if err != nil {
			return nil, fmt.Errorf("insecure registry %q: %w", h, err)
		}
		insecure[host] = true
	}
	kc, err := newKeychain(opts.Credentials, opts.Keychain, opts.CloudKeychains)
	if err != nil {
		return nil, err
	}
	base := opts.Transport
	if base == nil {
		base = newTransport(opts.RequestTimeout, opts.MinTransferRate, opts.TransferRateWindow)
	}
	return &Client{opts: opts, platform: p, keychain: kc, insecure: insecure, base: base}, nil
}

// ParsePlatform parses "os/arch[/variant]".
func ParsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	// go-containerregistry accepts "linux", "linux//v8", "linux/amd64/" and
	// an OS version after ":"; a platform setting names os and arch.
	if err != nil || s != strings.TrimSpace(s) || p.OS == "" || p.Architecture == "" || p.OSVersion != "" || strings.Contains(s, ":") ||
		(strings.Count(s, "/") == 2 && p.Variant == "") {
		return v1.Platform{}, fmt.Errorf("platform %q is not of the form os/arch or os/arch/variant (for example linux/amd64 or linux/arm64/v8)", s)
	}
	return *p, nil
}

// ParseReference parses a tag or digest reference strictly enough to reject
// typos, applying the plain-HTTP allowance for listed registries.
func (c *Client) ParseReference(s string) (name.Reference, error) {
	if strings.TrimSpace(s) != s || s == "" {
		return nil, fmt.Errorf("reference %q is empty or has surrounding spaces", s)
	}
	ref, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("reference %q is not a valid image reference (expected registry/repository:tag or registry/repository@sha256:<64 hex>): %w", s, err)
	}
	if c.insecure[ref.Context().RegistryStr()] {
		ref, err = name.ParseReference(s, name.WeakValidation, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("reference %q: %w", s, err)
		}
	}
	return ref, nil
}

// remoteOptions builds go-containerregistry options for one operation.
func (c *Client) remoteOptions(ctx context.Context) []remote.Option {
	backoff := remote.Backoff{Duration: c.opts.RetryBackoff, Factor: 3, Jitter: 0.1, Steps: c.opts.MaxRetries + 1}
	if c.opts.MaxRetries < 0 {
		backoff.Steps = 1
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(&secureChannel{base: c.base, insecure: c.insecure}),
		remote.WithRetryBackoff(backoff),
		remote.WithUserAgent("terraform-provider-imagegate"),
	}
}

// secureChannel refuses plain HTTP to registries that are not listed as
// insecure. go-containerregistry speaks plain HTTP to loopback and private
// addresses on its own; here such requests are upgraded to HTTPS, so a
// plain-HTTP registry fails unless it was allowed deliberately.
type secureChannel struct {
	base     http.RoundTripper
	insecure map[string]bool
}

func (s *secureChannel) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !s.insecure[req.URL.Host] {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	resp, err := s.base.RoundTrip(req)
	if err != nil && !s.insecure[req.URL.Host] && isPlainHTTPAnswer(err) {
		return nil, &InsecureError{Registry: req.URL.Host}
	}
	return resp, err
}

func isPlainHTTPAnswer(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "server gave HTTP response to HTTPS client") ||
		strings.Contains(msg, "first record does not look like a TLS handshake")
}

// InsecureError says a registry answered in plain HTTP without being allowed to.
type InsecureError struct{ Registry string }

func (e *InsecureError) Error() string {
	return fmt.Sprintf("registry %s answered over plain HTTP, which is refused: images must come over a secure channel (HTTPS)", e.Registry)
}

// newTransport is go-containerregistry's default transport with a bound on
// how long a registry may take to start answering, and on how slowly it may
// send a body (minRate bytes per second on average over each window; none
// when minRate < 0).
func newTransport(timeout time.Duration, minRate int64, window time.Duration) http.RoundTripper {
	return &stallGuard{timeout: timeout, minRate: minRate, window: window, base: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
	}}
}

// stallGuard cancels a request whose response body makes no progress for
// timeout, so a registry that stops sending mid-blob cannot hang a plan, or
// whose body arrives slower than minRate on average over a window, so a
// registry that trickles a byte at a time cannot either.
type stallGuard struct {
	timeout time.Duration
	minRate int64
	window  time.Duration
	base    http.RoundTripper
}

func (g *stallGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(g.timeout, cancel)
	resp, err := g.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		stalled := !timer.Stop() && req.Context().Err() == nil
		cancel()
		if stalled {
			return nil, fmt.Errorf("%s %s: no answer within %s: %w", req.Method, req.URL.Redacted(), g.timeout, context.DeadlineExceeded)
		}
		return nil, err
	}
	resp.Body = &stallBody{body: resp.Body, parent: req.Context(), timer: timer, timeout: g.timeout, cancel: cancel,
		minRate: g.minRate, window: g.window, start: time.Now(), url: req.URL.Host + req.URL.Path}
	return resp, nil
}

type stallBody struct {
	body    io.ReadCloser
	parent  context.Context
	timer   *time.Timer
	timeout time.Duration
	cancel  context.CancelFunc
	// The rate check: bytes read since start, the beginning of the window.
	minRate int64
	window  time.Duration
	start   time.Time
	read    int64
	url     string // host and path only: a query may carry a signature
}

func (b *stallBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.timeout)
	}
	if err == nil && b.minRate > 0 && b.window > 0 {
		b.read += int64(n)
		if elapsed := time.Since(b.start); elapsed >= b.window {
			if rate := float64(b.read) / elapsed.Seconds(); rate < float64(b.minRate) {
				b.cancel()
				return n, &rateError{got: int64(rate), min: b.minRate, window: b.window, url: b.url}
			}
			b.start, b.read = time.Now(), 0
		}
	}
	if err != nil && errors.Is(err, context.Canceled) && b.parent.Err() == nil {
		err = fmt.Errorf("registry stopped sending for %s: %w", b.timeout, context.DeadlineExceeded)
	}
	return n, err
}

func (b *stallBody) Close() error {
	b.timer.Stop()
	b.cancel()
	return b.body.Close()
}

// RemoteOptions are the go-containerregistry options of this client (auth,
// HTTPS policy, retries, timeouts, user agent) for one operation, for
// packages that read registries through other libraries.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	return c.remoteOptions(ctx)
}

// Classify turns a registry failure into an *Error naming ref, as the
// client's own reads do; doing says what was being done ("reading …").
func Classify(ref, doing string, err error) error { return classify(ref, doing, err) }
