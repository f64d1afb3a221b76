package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

func TestAccImage(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img := testutil.Image(t, testutil.Spec{
		Layers: []v1.Layer{
			testutil.Layer(t, testutil.Files{"etc/os-release": []byte("ID=debian\n")}),
			testutil.Layer(t, testutil.Files{"app/run": []byte("#!/bin/sh\n")}),
		},
		Config: v1.Config{
			User:         "1000:1000",
			Env:          []string{"API_KEY=do-not-leak", "PATH=/usr/bin"},
			Labels:       map[string]string{"org.opencontainers.image.source": "https://example.com/app"},
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Entrypoint:   []string{"/app/run"},
			Cmd:          []string{"--serve"},
			Healthcheck:  &v1.HealthConfig{Test: []string{"CMD", "/app/run", "--health"}},
		},
		History: []v1.History{{CreatedBy: "ADD rootfs /"}, {CreatedBy: "COPY run /app/run"}, {CreatedBy: "USER 1000:1000", EmptyLayer: true}},
		Annotations: map[string]string{
			registry.AnnotationBaseName:   "example.com/debian:12",
			registry.AnnotationBaseDigest: "sha256:" + strings.Repeat("b", 64),
		},
	})
	pinned := reg.Push(t, "team/app:1.0", img)
	digest, _ := img.Digest()
	layers, _ := img.Layers()
	l0, _ := layers[0].Digest()
	d0, _ := layers[0].DiffID()

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				// A tag resolves to the digest of what it points at.
				Config: providerConfig("", reg.Host) + fmt.Sprintf(`
data "imagegate_image" "app" {
  reference = %q
}`, reg.Ref("team/app:1.0")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("digest"), knownvalue.StringExact(digest.String())),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("pinned_reference"), knownvalue.StringExact(pinned)),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("index_digest"), knownvalue.Null()),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("os"), knownvalue.StringExact("linux")),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("architecture"), knownvalue.StringExact("amd64")),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("created"), knownvalue.StringExact("2026-01-02T03:04:05Z")),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("user"), knownvalue.StringExact("1000:1000")),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("env_names"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("API_KEY"), knownvalue.StringExact("PATH")})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("labels"), knownvalue.MapExact(map[string]knownvalue.Check{"org.opencontainers.image.source": knownvalue.StringExact("https://example.com/app")})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("healthcheck"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("CMD"), knownvalue.StringExact("/app/run"), knownvalue.StringExact("--health")})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("exposed_ports"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("8080/tcp")})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("entrypoint"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("/app/run")})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("cmd"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("--serve")})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("layers"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("layers").AtSliceIndex(0), knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"digest":     knownvalue.StringExact(l0.String()),
						"diff_id":    knownvalue.StringExact(d0.String()),
						"media_type": knownvalue.StringExact("application/vnd.oci.image.layer.v1.tar+gzip"),
					})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("history"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"created_by": knownvalue.StringExact("ADD rootfs /"), "empty_layer": knownvalue.Bool(false)}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{"created_by": knownvalue.StringExact("COPY run /app/run"), "empty_layer": knownvalue.Bool(false)}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{"created_by": knownvalue.StringExact("USER 1000:1000"), "empty_layer": knownvalue.Bool(true)}),
					})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("base_image"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"name":   knownvalue.StringExact("example.com/debian:12"),
						"digest": knownvalue.StringExact("sha256:" + strings.Repeat("b", 64)),
					})),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("size"), knownvalue.Int64Func(func(v int64) error {
						if v <= 0 {
							return fmt.Errorf("size %d", v)
						}
						return nil
					})),
				},
			},
			{
				// A digest reference reads the same image.
				Config: providerConfig("", reg.Host) + fmt.Sprintf(`
data "imagegate_image" "app" {
  reference = %q
}`, pinned),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("digest"), knownvalue.StringExact(digest.String())),
					statecheck.ExpectKnownValue("data.imagegate_image.app", tfjsonpath.New("pinned_reference"), knownvalue.StringExact(pinned)),
				},
			},
		},
	})
}

func TestAccImageMultiPlatform(t *testing.T) {
	reg := testutil.NewRegistry(t)
	amd := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"a": []byte("amd64")})}})
	arm := testutil.Image(t, testutil.Spec{Layers: []v1.Layer{testutil.Layer(t, testutil.Files{"a": []byte("arm64")})}, Platform: v1.Platform{OS: "linux", Architecture: "arm64"}})
	idx := testutil.Index(t, amd, arm)
	reg.PushIndex(t, "multi:latest", idx)
	idxDigest, _ := idx.Digest()
	amdDigest, _ := amd.Digest()
	armDigest, _ := arm.Digest()
	cfg := func(provider, platform string) string {
		return providerConfig(provider, reg.Host) + fmt.Sprintf(`
data "imagegate_image" "multi" {
  reference = %q
  %s
}`, reg.Ref("multi:latest"), platform)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_image.multi", tfjsonpath.New("digest"), knownvalue.StringExact(amdDigest.String())),
					statecheck.ExpectKnownValue("data.imagegate_image.multi", tfjsonpath.New("index_digest"), knownvalue.StringExact(idxDigest.String())),
					statecheck.ExpectKnownValue("data.imagegate_image.multi", tfjsonpath.New("pinned_reference"), knownvalue.StringExact(reg.Ref("multi@"+amdDigest.String()))),
				},
			},
			{
				Config: cfg("", `platform = "linux/arm64"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_image.multi", tfjsonpath.New("digest"), knownvalue.StringExact(armDigest.String())),
					statecheck.ExpectKnownValue("data.imagegate_image.multi", tfjsonpath.New("architecture"), knownvalue.StringExact("arm64")),
				},
			},
			{
				// The provider's platform is the default for every data source.
				Config: cfg(`platform = "linux/arm64"`, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_image.multi", tfjsonpath.New("digest"), knownvalue.StringExact(armDigest.String())),
				},
			},
			{
				Config:      cfg("", `platform = "windows/amd64"`),
				ExpectError: regexp.MustCompile(`(?s)Platform Not In Image.*no image for platform\s+windows/amd64.*linux/amd64,\s+linux/arm64`),
			},
		},
	})
}

func TestAccImageErrors(t *testing.T) {
	reg := testutil.NewRegistry(t)
	reg.Push(t, "app:v1", testutil.RandomImage(t, 1, v1.Config{}))
	one := func(ref string) string {
		return providerConfig("", reg.Host) + fmt.Sprintf(`
data "imagegate_image" "x" {
  reference = %q
}`, ref)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: one(reg.Ref("app:missing")), ExpectError: regexp.MustCompile(`(?s)Image Not Found.*app:missing.*does not exist`)},
			{Config: one(reg.Ref("nothing:v1")), ExpectError: regexp.MustCompile(`(?s)Image Not Found.*nothing:v1`)},
			{Config: one("UPPER/Case::bad"), ExpectError: regexp.MustCompile(`(?s)Invalid Image Reference.*UPPER/Case::bad.*must be an image reference`)},
			{Config: one(reg.Ref("app@sha256:1234")), ExpectError: regexp.MustCompile(`(?s)Invalid Image Reference`)},
		},
	})
}

func TestAccImagePlainHTTPRefused(t *testing.T) {
	reg := testutil.NewRegistry(t)
	reg.Push(t, "app:v1", testutil.RandomImage(t, 1, v1.Config{}))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{{
			Config: providerConfig("") + fmt.Sprintf(`
data "imagegate_image" "x" {
  reference = %q
}`, reg.Ref("app:v1")),
			ExpectError: regexp.MustCompile(`(?s)Plain HTTP Registry Refused.*` + regexp.QuoteMeta(reg.Host) + `.*insecure_registries`),
		}},
	})
}

func TestAccImageBasicAuth(t *testing.T) {
	reg := testutil.NewRegistry(t, testutil.WithBasicAuth("deploy", "correct-horse"))
	img := testutil.RandomImage(t, 1, v1.Config{})
	reg.Push(t, "private/app:v1", img)
	digest, _ := img.Digest()
	data := fmt.Sprintf(`
data "imagegate_image" "private" {
  reference = %q
}`, reg.Ref("private/app:v1"))
	auth := func(password string) string {
		return fmt.Sprintf(`
  registry_auth = [{
    address  = %q
    username = "deploy"
    password = %q
  }]`, reg.Host, password)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: providerConfig("", reg.Host) + data, ExpectError: regexp.MustCompile(`(?s)Registry Authentication Failed.*private/app:v1.*registry_auth`)},
			{Config: providerConfig(auth("wrong"), reg.Host) + data, ExpectError: regexp.MustCompile(`Registry Authentication Failed`)},
			{
				Config: providerConfig(auth("correct-horse"), reg.Host) + data,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.imagegate_image.private", tfjsonpath.New("digest"), knownvalue.StringExact(digest.String())),
				},
			},
		},
	})
}

func TestAccProviderConfigErrors(t *testing.T) {
	data := `
data "imagegate_image" "x" {
  reference = "example.com/app:v1"
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{Config: providerConfig(`request_timeout = "soon"`) + data, ExpectError: regexp.MustCompile(`Invalid Request Timeout`)},
			{Config: providerConfig(`platform = "amd64"`) + data, ExpectError: regexp.MustCompile(`(?s)Invalid Platform.*os/arch`)},
			{Config: providerConfig(`registry_auth = [{ address = "example.com", username = "u" }]`) + data, ExpectError: regexp.MustCompile(`(?s)Invalid Registry Configuration.*username and password`)},
			{
				// A setting known only at apply is refused, never read as false.
				Config: providerConfig(`enforce = terraform_data.flag.output`) + `
resource "terraform_data" "flag" {
  input = false
}` + data,
				ExpectError: regexp.MustCompile(`Unknown Provider Configuration`),
			},
		},
	})
}
