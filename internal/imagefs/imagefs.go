// Package imagefs opens what is inside an image: its layers unpacked by
// stereoscope, the squashed filesystem, and bounded reads of files in it.
// The scan catalogs packages from it, and the policy checks read account
// files (and later CIS hygiene facts) from the same unpacked copy, so an
// image's layers are pulled once.
package imagefs

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/stereoscope/pkg/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MaxFileSize bounds reads of small configuration files such as /etc/passwd,
// so a hostile image cannot exhaust memory.
const MaxFileSize = 1 << 20

// AccountFiles are the files the user rule resolves USER against.
var AccountFiles = []string{"/etc/passwd", "/etc/group"}

// FS is an unpacked image. Close removes the unpacked layers.
type FS struct {
	Image *image.Image
	tmp   *file.TempDirGenerator
}

// Open pulls and unpacks img's layers (through img's own transport: the
// registry client's auth, retries and HTTPS policy) into a private temporary
// directory. name is the reference recorded in the SBOM.
func Open(ctx context.Context, img v1.Image, name, repoDigest string) (*FS, error) {
	tmp := file.NewTempDirGenerator("imagegate")
	dir, err := tmp.NewDirectory("image")
	if err != nil {
		_ = tmp.Cleanup()
		return nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	opts := []image.AdditionalMetadata{image.WithTags(name)}
	if repoDigest != "" {
		opts = append(opts, image.WithRepoDigests(repoDigest))
	}
	if raw, err := img.RawManifest(); err == nil {
		opts = append(opts, image.WithManifest(raw))
	}
	simg := image.New(img, tmp, dir, opts...)
	if err := simg.Read(ctx); err != nil {
		_ = simg.Cleanup()
		_ = tmp.Cleanup()
		return nil, fmt.Errorf("reading the image layers: %w", err)
	}
	return &FS{Image: simg, tmp: tmp}, nil
}

// Close removes the unpacked layers.
func (f *FS) Close() error {
	return errors.Join(f.Image.Cleanup(), f.tmp.Cleanup())
}

// ReadFiles reads paths from the squashed filesystem (what the final image
// holds). Absent paths are left out; a file over MaxFileSize is an error.
func (f *FS) ReadFiles(paths ...string) (map[string][]byte, error) {
	out := map[string][]byte{}
	tree := f.Image.SquashedTree()
	for _, p := range paths {
		if !tree.HasPath(file.Path(p)) {
			continue
		}
		rc, err := f.Image.OpenPathFromSquash(file.Path(p))
		if err != nil {
			// A directory, a dangling link or a special file: not a readable file.
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, MaxFileSize+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if len(b) > MaxFileSize {
			return nil, fmt.Errorf("%s is larger than %d bytes", p, MaxFileSize)
		}
		out[p] = b
	}
	return out, nil
}
