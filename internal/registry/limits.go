package registry

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Defaults of the pull limits, for Options fields left at their zero value.
const (
	DefaultMaxImageLayers     = 256
	DefaultMaxIndexImages     = 64
	DefaultMaxImageSize       = int64(20) << 30 // 20 GiB uncompressed
	DefaultMinTransferRate    = int64(1) << 10  // 1 KiB/s
	DefaultTransferRateWindow = 30 * time.Second
)

// The provider settings the limits come from, named in every breach.
const (
	SettingMaxImageLayers  = "max_image_layers"
	SettingMaxIndexImages  = "max_index_images"
	SettingMaxImageSize    = "max_image_size"
	SettingMinTransferRate = "min_transfer_rate"
	SettingScanTimeout     = "scan_timeout"
)

// LimitError says an image went past one of the provider's limits. It names
// the image, the limit and the setting that raises it.
type LimitError struct {
	Image   string // repository@digest, or the reference as given
	Setting string // the provider setting, such as max_image_size
	Limit   string // the limit as a person reads it, such as "20 GiB"
	msg     string
	err     error
}

func (e *LimitError) Error() string { return e.msg }
func (e *LimitError) Unwrap() error { return e.err }

// NewLimitError builds a LimitError. what completes "image <image> …" and
// names the setting and the limit; hint says what to do.
func NewLimitError(image, setting, limit, what, hint string, cause error) *LimitError {
	msg := fmt.Sprintf("image %s %s: %s", image, what, hint)
	return &LimitError{Image: image, Setting: setting, Limit: limit, msg: msg, err: cause}
}

// FormatBytes formats a byte count as the limits are written ("20 GiB").
func FormatBytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// rateError is a response body that arrived slower than the minimum rate.
// The layer reader turns it into a LimitError naming the image.
type rateError struct {
	got, min int64 // bytes per second
	window   time.Duration
	url      string
}

func (e *rateError) Error() string {
	return fmt.Sprintf("%s arrived at %s/s on average over %s, below %s (%s/s)", e.url, FormatBytes(e.got), e.window, SettingMinTransferRate, FormatBytes(e.min))
}

// Timeout makes the error a net.Error timeout, so a slow manifest read is
// classified as an unreachable registry.
func (e *rateError) Timeout() bool   { return true }
func (e *rateError) Temporary() bool { return false }

// limits are the bounds applied to one image's layers as they are pulled.
type limits struct {
	maxLayers int
	maxSize   int64
	minRate   int64
	window    time.Duration
}

func (c *Client) limits() limits {
	return limits{maxLayers: c.opts.MaxImageLayers, maxSize: c.opts.MaxImageSize, minRate: c.opts.MinTransferRate, window: c.opts.TransferRateWindow}
}

// Limited returns the resolved image with the client's limits on layer
// count and uncompressed size applied to its layers. Each call counts from
// zero: call it once per pull.
func (res *Resolved) Limited() v1.Image {
	name := Pin(res.Ref.Context(), res.Digest.String())
	l := res.limits
	if l.maxLayers <= 0 {
		l.maxLayers = DefaultMaxImageLayers
	}
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxImageSize
	}
	return &limitedImage{Image: res.Image, name: name, limits: l, total: new(atomic.Int64)}
}

// limitedImage refuses more layers than allowed and counts the
// uncompressed bytes of all its layers together while they are read, so an
// oversized image (or a compression bomb) fails before it fills the disk.
type limitedImage struct {
	v1.Image
	name   string
	limits limits
	total  *atomic.Int64
}

func (img *limitedImage) Layers() ([]v1.Layer, error) {
	ls, err := img.Image.Layers()
	if err != nil {
		return nil, err
	}
	if len(ls) > img.limits.maxLayers {
		return nil, NewLimitError(img.name, SettingMaxImageLayers, fmt.Sprint(img.limits.maxLayers),
			fmt.Sprintf("has %d layers, more than %s (%d)", len(ls), SettingMaxImageLayers, img.limits.maxLayers),
			"raise max_image_layers in the provider configuration if this image is expected to have that many layers", nil)
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = &limitedLayer{Layer: l, img: img}
	}
	return out, nil
}

func (img *limitedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := img.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &limitedLayer{Layer: l, img: img}, nil
}

func (img *limitedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := img.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return &limitedLayer{Layer: l, img: img}, nil
}

type limitedLayer struct {
	v1.Layer
	img *limitedImage
}

func (l *limitedLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, l.img.explain(err)
	}
	return &countingReader{rc: rc, img: l.img}, nil
}

func (l *limitedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, l.img.explain(err)
	}
	return &countingReader{rc: rc, img: l.img, compressed: true}, nil
}

// explain names the image in a transfer-rate failure.
func (img *limitedImage) explain(err error) error {
	if re, ok := errors.AsType[*rateError](err); ok {
		return NewLimitError(img.name, SettingMinTransferRate, FormatBytes(re.min)+"/s",
			fmt.Sprintf("came from the registry slower than %s (%s/s): %v", SettingMinTransferRate, FormatBytes(re.min), re),
			"check the network path to the registry, or lower min_transfer_rate in the provider configuration if this registry is known to be that slow", err)
	}
	return err
}

type countingReader struct {
	rc         io.ReadCloser
	img        *limitedImage
	compressed bool // compressed bytes are not counted against the size
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = r.img.explain(err)
	}
	if r.compressed || n == 0 {
		return n, err
	}
	if total := r.img.total.Add(int64(n)); total > r.img.limits.maxSize {
		return n, NewLimitError(r.img.name, SettingMaxImageSize, FormatBytes(r.img.limits.maxSize),
			fmt.Sprintf("is larger than %s (%s) uncompressed", SettingMaxImageSize, FormatBytes(r.img.limits.maxSize)),
			"raise max_image_size in the provider configuration if this image is expected to be that large", nil)
	}
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }
