package scan_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
)

// The SBOM reaches state (imagegate_scan.sbom) and the cache: it must not
// carry the image config syft copies into it, with its ENV values and
// unredacted history, in any format or encoding.
func TestSBOMCarriesNoConfigSecrets(t *testing.T) {
	const secret = "s3cr3t-token-value-42"
	e := newEnv(t)
	layer := testutil.Layer(t, fixtures.DebianFiles(fixtures.DefaultDebianPackages))
	img := testutil.Image(t, testutil.Spec{
		Layers:  []v1.Layer{layer},
		Config:  v1.Config{Env: []string{"API_TOKEN=" + secret}},
		History: []v1.History{{CreatedBy: "ENV API_TOKEN=" + secret}},
	})
	e.reg.Push(t, "app:1", img)
	for _, f := range scan.Formats {
		res, err := e.scanner(t, testutil.VulnDBs(t).Old).Scan(context.Background(), scan.Request{Reference: e.reg.Ref("app:1"), SBOMFormat: f})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.SBOM, "libssl3") {
			t.Fatalf("%s: the SBOM lists no packages (%d bytes)", f, len(res.SBOM))
		}
		for _, enc := range []string{secret, base64.StdEncoding.EncodeToString([]byte("API_TOKEN=" + secret))[:20]} {
			if strings.Contains(res.SBOM, enc) {
				t.Errorf("%s: the SBOM carries the ENV secret (as %q)", f, enc)
			}
		}
		if strings.Contains(res.SBOM, `"config":"eyJ`) || strings.Contains(res.SBOM, `"config": "eyJ`) {
			t.Errorf("%s: the SBOM carries the raw image config", f)
		}
	}
}
