package gate_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/fixtures"
	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/vulndb"
)

// TestUserRuleNeverReadsAnAttestedSBOM: an SBOM attestation has no
// account files, so a gate with a user rule catalogs the image and
// resolves its named USER from /etc/passwd; a gate without one uses the
// attestation.
func TestUserRuleNeverReadsAnAttestedSBOM(t *testing.T) {
	reg := testutil.NewRegistry(t)
	img, err := fixtures.VulnerableImage(fixtures.Vulnerable{User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	reg.Push(t, "app:1", img)
	c, err := registry.New(registry.Options{InsecureRegistries: []string{reg.Host}, Keychain: authn.NewMultiKeychain(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	k, pub := testutil.GenerateKey(t, "")
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	signer, err := attest.LoadSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
	if err != nil {
		t.Fatal(err)
	}
	newGateWith := func(a scan.Attestations) *gate.Gate {
		db, err := vulndb.New(vulndb.Config{CacheDir: t.TempDir(), Archive: testutil.VulnDBs(t).Old.Archive, MaxAge: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return gate.New(c, scan.New(c, db, t.TempDir(), scan.WithAttestations(a)), nil)
	}
	ctx := context.Background()
	vulns := &policy.Policy{Version: 1, Name: "v", Vulnerabilities: &policy.VulnerabilityRule{FailOnSeverity: "critical"}}
	// Runner A publishes.
	if _, err := newGateWith(scan.Attestations{PublishSBOM: true, Signer: signer}).Evaluate(ctx, gate.Request{Reference: reg.Ref("app:1"), Policy: vulns}); err != nil {
		t.Fatal(err)
	}
	// Runner B, with a user rule: the layers are read, the user resolves.
	b := newGateWith(scan.Attestations{UseSBOM: true, TrustedKeys: []string{pub}})
	user := &policy.Policy{Version: 1, Name: "u", User: &policy.UserRule{RequireNonRoot: true}}
	res, err := b.Evaluate(ctx, gate.Request{Reference: reg.Ref("app:1"), Policy: user})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Passed || res.Platforms[0].Scan.SBOMSource != scan.SourceCatalog {
		t.Fatalf("user rule: passed %v (%+v), SBOM source %q", res.Decision.Passed, res.Decision.Violations, res.Platforms[0].Scan.SBOMSource)
	}
	// Runner C, vulnerabilities only: the attestation is used.
	res, err = newGateWith(scan.Attestations{UseSBOM: true, TrustedKeys: []string{pub}}).Evaluate(ctx, gate.Request{Reference: reg.Ref("app:1"), Policy: vulns})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Passed || res.Platforms[0].Scan.SBOMSource != scan.SourceAttestation {
		t.Fatalf("vulnerabilities only: passed %v, SBOM source %q", res.Decision.Passed, res.Platforms[0].Scan.SBOMSource)
	}
}
