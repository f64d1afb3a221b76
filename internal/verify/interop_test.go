package verify_test

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imagegate/terraform-provider-imagegate/internal/testutil"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// TestCosignCLIInterop verifies what the real cosign CLI v3.1.3 writes, in
// both formats, on registries with and without the referrers API.
func TestCosignCLIInterop(t *testing.T) {
	keyPath, pub := testutil.CosignKeyPair(t)
	_, otherPub := testutil.GenerateKey(t, "")
	for _, reg := range []struct {
		name string
		opts []testutil.RegistryOption
	}{{"referrers-api", nil}, {"no-referrers-api", []testutil.RegistryOption{testutil.WithoutReferrersAPI()}}} {
		for _, classic := range []bool{true, false} {
			format := testutil.FormatBundle
			if classic {
				format = testutil.FormatClassic
			}
			t.Run(reg.name+"/"+format, func(t *testing.T) {
				e := newEnv(t, reg.opts...)
				ref := e.push(t, "app:1")
				testutil.CosignSign(t, keyPath, ref, classic, map[string]string{"env": "prod"})
				testutil.CosignAttest(t, keyPath, ref, slsa, []byte(`{"builder":{"id":"ci"}}`), classic)

				req := verify.Requirements{Keys: []string{pub}, Annotations: map[string]string{"env": "prod"}, Attestations: []verify.Attestation{{PredicateType: slsa}}}
				res := e.verify(t, ref, req)
				wantVerified(t, res)
				if len(res.Signers) != 1 || res.Signers[0].Format != format {
					t.Errorf("signers = %+v, want one %s signer", res.Signers, format)
				}
				if len(res.Attestations) != 1 || !res.Attestations[0].Verified {
					t.Errorf("attestations = %+v", res.Attestations)
				}
				if classic {
					req.RequireDockerReference = true
					wantVerified(t, e.verify(t, ref, req))
				}

				wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{otherPub}}), "key ", "does not verify with this key")
				wantFailure(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}, Attestations: []verify.Attestation{{PredicateType: spdx}}}), "attestation "+spdx, "predicate types must match exactly")
				unsigned := e.push(t, "app:2")
				wantFailure(t, e.verify(t, unsigned, verify.Requirements{Keys: []string{pub}}), "key ", "no cosign signature is attached")
			})
		}
	}
}

// TestCosignCLIIndex verifies a multi-platform index signed by the cosign
// CLI: the signature is on the index digest, not on its platforms.
func TestCosignCLIIndex(t *testing.T) {
	keyPath, pub := testutil.CosignKeyPair(t)
	e := newEnv(t)
	amd := testutil.RandomImage(t, 1, v1.Config{})
	arm := testutil.RandomImage(t, 1, v1.Config{})
	idx := testutil.Index(t, amd, arm)
	e.reg.PushIndex(t, "multi:1", idx)
	d, _ := idx.Digest()
	ref := e.reg.Ref("multi") + "@" + d.String()
	testutil.CosignSign(t, keyPath, ref, false, nil)
	wantVerified(t, e.verify(t, ref, verify.Requirements{Keys: []string{pub}}))
	ad, _ := amd.Digest()
	res := e.verify(t, e.reg.Ref("multi")+"@"+ad.String(), verify.Requirements{Keys: []string{pub}})
	wantFailure(t, res, "key ", "no cosign signature is attached")
	if !strings.Contains(failures(res), ad.String()) {
		t.Errorf("failure does not name the platform digest: %s", failures(res))
	}
}
