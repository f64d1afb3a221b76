package testutil

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

// Files and Spec are the fixtures types, re-exported for brevity in tests.
type (
	Files = fixtures.Files
	Spec  = fixtures.Spec
)

// Created is the fixed build time of test images.
var Created = fixtures.Created

// Layer builds a layer from files or fails the test.
func Layer(t testing.TB, files Files) v1.Layer {
	t.Helper()
	return must(t, func() (v1.Layer, error) { return fixtures.Layer(files) })
}

// Image builds an image from spec or fails the test.
func Image(t testing.TB, spec Spec) v1.Image {
	t.Helper()
	return must(t, func() (v1.Image, error) { return fixtures.Image(spec) })
}

// RandomImage builds a small image of random layers or fails the test.
func RandomImage(t testing.TB, layers int, cfg v1.Config) v1.Image {
	t.Helper()
	return must(t, func() (v1.Image, error) { return fixtures.RandomImage(layers, 512, cfg) })
}

// Index builds a multi-platform index or fails the test.
func Index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	return must(t, func() (v1.ImageIndex, error) { return fixtures.Index(imgs...) })
}

func must[T any](t testing.TB, f func() (T, error)) T {
	t.Helper()
	v, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return v
}
