package registry_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// Inspect redacts a credential written inline in a RUN step and records its
// kind, so imagegate_image.history never shows it.
func TestInspectRedactsInlineCredentials(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"etc/hello": []byte("hi")})},
		History: []v1.History{
			{CreatedBy: "RUN /bin/sh -c git clone https://bot:hunter2@git.example.com/app.git /src && export API_TOKEN=hunter2"},
		},
	})
	reg.Push(t, "app:v1", img)
	c := newClient(t, registry.Options{InsecureRegistries: []string{reg.Host}})
	got, err := c.Inspect(context.Background(), reg.Ref("app:v1"), "")
	if err != nil {
		t.Fatal(err)
	}
	h := got.History[0]
	if want := "RUN /bin/sh -c git clone https://bot:<redacted>@git.example.com/app.git /src && export API_TOKEN=<redacted>"; h.CreatedBy != want {
		t.Errorf("history = %q, want %q", h.CreatedBy, want)
	}
	if strings.Contains(h.CreatedBy, "hunter2") {
		t.Errorf("history keeps a secret: %q", h.CreatedBy)
	}
	if want := []string{"password in a URL", "variable API_TOKEN"}; !slices.Equal(h.Credentials, want) {
		t.Errorf("credentials = %q, want %q", h.Credentials, want)
	}
}
