package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"sort"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Created is the fixed build time of test images, so digests are stable.
var Created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Files is a layer's content: path -> file body. A path ending in "/" is a
// directory; a nil body of a path marks a whiteout (the file is deleted).
type Files map[string][]byte

// Layer builds an uncompressed-tar layer (gzip on push) from files, sorted
// by path so the digest is stable.
func Layer(t testing.TB, files Files) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		body := files[p]
		hdr := &tar.Header{Name: p, Mode: 0o644, ModTime: Created, Typeflag: tar.TypeReg, Size: int64(len(body))}
		switch {
		case len(p) > 0 && p[len(p)-1] == '/':
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		case body == nil:
			dir, base := splitPath(p)
			hdr.Name, hdr.Size = dir+".wh."+base, 0
		case len(body) > 4 && string(body[1:4]) == "ELF":
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func splitPath(p string) (dir, base string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i+1], p[i+1:]
		}
	}
	return "", p
}

// Spec describes a test image.
type Spec struct {
	Layers      []v1.Layer
	Config      v1.Config
	Annotations map[string]string
	Platform    v1.Platform // defaults to linux/amd64
	History     []v1.History
}

// Image builds an OCI image from spec with a fixed creation time.
func Image(t testing.TB, spec Spec) v1.Image {
	t.Helper()
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for i, l := range spec.Layers {
		h := v1.History{Created: v1.Time{Time: Created}, CreatedBy: "layer " + string(rune('0'+i%10))}
		if i < len(spec.History) {
			h = spec.History[i]
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: h, MediaType: types.OCILayer})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	p := spec.Platform
	if p.OS == "" {
		p = v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: Created}
	cf.Config = spec.Config
	if len(spec.History) > len(spec.Layers) {
		cf.History = append(cf.History, spec.History[len(spec.Layers):]...)
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Annotations) > 0 {
		img = mutate.Annotations(img, spec.Annotations).(v1.Image)
	}
	return img
}

// RandomImage is a small image with random layers, for registry tests.
func RandomImage(t testing.TB, layers int, cfg v1.Config) v1.Image {
	t.Helper()
	r, err := random.Image(512, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	var ls []v1.Layer
	m, err := r.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ls = append(ls, m...)
	return Image(t, Spec{Layers: ls, Config: cfg})
}

// Index builds a multi-platform index of the given images, each tagged
// with its config's platform.
func Index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
		}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}
