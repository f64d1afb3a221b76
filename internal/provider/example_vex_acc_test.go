package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
)

// exampleImageDigest is the digest the example VEX document gives
// registry.example.com/team/app:1.4.2, the image of the examples.
const exampleImageDigest = "538da402e0720019b7af11b0da11c2059458a84cbba9b790e9fc9fe4768c4ace"

// TestAccExampleVEXSuppresses proves that the example VEX document
// (examples/resources/imagegate_policy/vex/app.openvex.json) suppresses a
// real finding: the standard vulnerable image stands in for the example
// image (its digest replaces the example's), and its CVE-2024-0727 findings
// in openssl and libssl3 are suppressed by the document as written. The
// same document with the example's own digest suppresses nothing.
func TestAccExampleVEXSuppresses(t *testing.T) {
	e := newScanEnv(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Push(t, "team/app:1.4.2", img)
	ref := e.reg.Ref("team/app:1.4.2")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../examples/resources/imagegate_policy/vex/app.openvex.json")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(example), exampleImageDigest); n != 1 {
		t.Fatalf("the example VEX document names the example image's digest %d times, want 1", n)
	}
	dir := t.TempDir()
	asIs := filepath.Join(dir, "as-is.json")
	standIn := filepath.Join(dir, "stand-in.json")
	writeFile(t, asIs, string(example))
	writeFile(t, standIn, strings.Replace(string(example), exampleImageDigest, digest.Hex, 1))
	body := func(doc string) string {
		return fmt.Sprintf(`
  vulnerabilities = {
    fail_on_severity = "medium"
    ignore           = [{ id = "CVE-2021-23337", reason = "template() is never called with user input" }]
    vex_documents    = [file(%q)]
  }`, doc)
	}
	vex := func(pkg string) knownvalue.Check {
		return knownvalue.ObjectExact(map[string]knownvalue.Check{
			"platform": knownvalue.Null(),
			"subject":  knownvalue.StringExact("CVE-2024-0727 " + pkg + "@3.0.11-1~deb12u2"),
			"source":   knownvalue.StringExact("vex"),
			"reason":   knownvalue.StringExact("OpenVEX vulnerabilities.vex_documents[0] statements[0] (CVE-2024-0727): not_affected, vulnerable_code_not_in_execute_path: The service never reads PKCS12 files."),
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories(),
		Steps: []resource.TestStep{
			{
				Config: e.provider("") + gateConfig(ref, body(standIn), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					passed("app", true),
					statecheck.ExpectKnownValue("data.imagegate_gate.app", tfjsonpath.New("suppressed"), knownvalue.ListExact([]knownvalue.Check{
						vex("libssl3"),
						vex("openssl"),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"source": knownvalue.StringExact("ignore")}),
					})),
				},
			},
			{
				Config:      e.provider("") + gateConfig(ref, body(asIs), ""),
				ExpectError: regexp.MustCompile(`(?s)Image Failed Policy Gate.*CVE-2024-0727`),
			},
		},
	})
}
