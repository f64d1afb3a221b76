package policy

import (
	"errors"
	"testing"

	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// A problem of the signatures rule as a whole (no signer at all) is
// reported at "signatures", not at "signatures." (which names no field).
func TestValidateSignaturesRuleProblemPath(t *testing.T) {
	p := &Policy{Version: Version, Name: "signed", Signatures: &SignaturesRule{Requirements: verify.Requirements{Annotations: map[string]string{"team": "payments"}}}}
	var ve *ValidationError
	if err := p.Validate(); !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want a ValidationError", err)
	}
	if len(ve.Problems) != 1 || ve.Problems[0].Path != "signatures" {
		t.Fatalf("problems = %+v, want one at path \"signatures\"", ve.Problems)
	}
}
