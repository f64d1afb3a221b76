package registry_test

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// Inspect keeps the instructions of the history and drops every ENV, ARG
// and RUN build-argument value, in the forms the legacy builder and BuildKit
// write.
func TestInspectRedactsHistoryValues(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"etc/hello": []byte("hi")})},
		Config: v1.Config{Env: []string{"API_TOKEN=hunter2"}},
		History: []v1.History{
			{CreatedBy: "RUN |1 NPM_TOKEN=hunter2 /bin/sh -c npm ci"},
			{CreatedBy: "/bin/sh -c #(nop)  ENV API_TOKEN=hunter2 MODE=prod", EmptyLayer: true},
			{CreatedBy: "/bin/sh -c #(nop)  ENV LEGACY hunter2 too", EmptyLayer: true},
			{CreatedBy: `ENV QUOTED="hunter2 with spaces"`, EmptyLayer: true},
			{CreatedBy: "ARG VERSION=hunter2", EmptyLayer: true},
			{CreatedBy: "ARG PLAIN", EmptyLayer: true},
		},
	})
	reg.Push(t, "app:v1", img)
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}})
	got, err := c.Inspect(context.Background(), reg.Ref("app:v1"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"RUN |1 NPM_TOKEN=<redacted> /bin/sh -c npm ci",
		"/bin/sh -c #(nop)  ENV API_TOKEN=<redacted> MODE=<redacted>",
		"/bin/sh -c #(nop)  ENV LEGACY=<redacted>",
		"ENV QUOTED=<redacted>",
		"ARG VERSION=<redacted>",
		"ARG PLAIN",
	}
	if len(got.History) != len(want) {
		t.Fatalf("history has %d entries, want %d: %+v", len(got.History), len(want), got.History)
	}
	for i, h := range got.History {
		if h.CreatedBy != want[i] {
			t.Errorf("history[%d] = %q, want %q", i, h.CreatedBy, want[i])
		}
		if strings.Contains(h.CreatedBy, "hunter2") {
			t.Errorf("history[%d] keeps a secret: %q", i, h.CreatedBy)
		}
	}
}
