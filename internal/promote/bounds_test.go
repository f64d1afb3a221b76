package promote_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/imagegate/terraform-provider-imagegate/internal/promote"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// TestTooManyReferrers refuses a digest with more referrers than a
// promotion copies, writing no tag, rather than copying some of them.
func TestTooManyReferrers(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	img := testutil.RandomImage(t, 1, v1.Config{})
	src := staging.Push(t, "app:1", img)
	desc, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= promote.MaxReferrers; i++ {
		annotated, ok := mutate.Annotations(empty.Image, map[string]string{"n": fmt.Sprint(i)}).(v1.Image)
		if !ok {
			t.Fatal("mutate.Annotations of an image is not an image")
		}
		ref, ok := mutate.Subject(annotated, *desc).(v1.Image)
		if !ok {
			t.Fatal("mutate.Subject of an image is not an image")
		}
		d, _ := ref.Digest()
		if err := remote.Write(digestRef(t, staging.Ref("app@"+d.String())), ref); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	dst := tagRef(t, prod.Ref("app:prod"))
	_, err = p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: dst, CopySignatures: true})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than the %d", promote.MaxReferrers)) {
		t.Fatalf("error = %v, want the referrers bound", err)
	}
	if got := current(t, p, dst); got != "" {
		t.Errorf("the tag names %s after a refused copy", got)
	}
}

// TestDeeplyNestedIndex refuses an index nested beyond MaxIndexDepth before
// writing anything.
func TestDeeplyNestedIndex(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	var idx = testutil.Index(t, testutil.RandomImage(t, 1, v1.Config{}))
	for range promote.MaxIndexDepth {
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})
	}
	src := staging.PushIndex(t, "app:1", idx)
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	_, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: tagRef(t, prod.Ref("app:prod"))})
	if err == nil || !strings.Contains(err.Error(), "nests indexes more than") {
		t.Fatalf("error = %v, want the nesting bound", err)
	}
	if w := uploads(prod.Requests()); len(w) != 0 {
		t.Errorf("a refused index wrote to the destination: %v", w)
	}
}

// TestNestedIndexKeepsDigest copies an index of indexes, as deep as
// allowed, by digest.
func TestNestedIndexKeepsDigest(t *testing.T) {
	staging, prod := testutil.NewRegistry(t), testutil.NewRegistry(t)
	var idx = testutil.Index(t, testutil.RandomImage(t, 1, v1.Config{}), testutil.RandomImage(t, 1, v1.Config{}))
	for range promote.MaxIndexDepth - 1 {
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx})
	}
	src := staging.PushIndex(t, "app:1", idx)
	p, _ := newPromoter(t, 5*time.Second, staging.Host, prod.Host)
	dst := tagRef(t, prod.Ref("app:prod"))
	res, err := p.Copy(context.Background(), promote.Request{Source: digestRef(t, src), Destination: dst})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); current(t, p, dst) != d.String() || res.Manifests != promote.MaxIndexDepth+2 {
		t.Errorf("result %+v, tag %s; want the outer index's digest and %d manifests", res, current(t, p, dst), promote.MaxIndexDepth+2)
	}
	copied, err := remote.Index(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(copied); err != nil {
		t.Errorf("the copy is not a valid index: %v", err)
	}
}
