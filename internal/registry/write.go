package registry

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Write pushes img to ref (a tag), with the client's auth, transport and
// retries. The demo and tests use it; promotion will build on it.
func (c *Client) Write(ctx context.Context, ref string, img v1.Image) error {
	r, err := c.ParseReference(ref)
	if err != nil {
		return &Error{Kind: KindInvalidReference, Ref: ref, Err: err}
	}
	if err := remote.Write(r, img, c.remoteOptions(ctx)...); err != nil {
		return classify(ref, "writing image", err)
	}
	return nil
}

// WriteIndex pushes a multi-platform index and its images to ref.
func (c *Client) WriteIndex(ctx context.Context, ref string, idx v1.ImageIndex) error {
	r, err := c.ParseReference(ref)
	if err != nil {
		return &Error{Kind: KindInvalidReference, Ref: ref, Err: err}
	}
	if err := remote.WriteIndex(r, idx, c.remoteOptions(ctx)...); err != nil {
		return classify(ref, "writing index", err)
	}
	return nil
}
