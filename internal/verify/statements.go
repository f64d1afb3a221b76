package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
)

// Statement is the in-toto statement of an attestation that verified: its
// signature holds for one of the keys, its subject is the digest and its
// predicate type is one that was asked for.
type Statement struct {
	PredicateType string
	// Predicate is the statement's predicate, exactly as signed.
	Predicate json.RawMessage
	// Signer is the key that signed it.
	Signer Signer
	// Where names the attestation ("sha256-….att layer 0 (classic)").
	Where string
}

// Rejected is an attestation attached to the digest that was not used, and
// why.
type Rejected struct {
	Where string
	// PredicateType is the type the statement claims; it is unverified.
	PredicateType string
	Reason        string
}

// Statements verifies the attestations attached to digest (both storage
// formats) against keys (PEM public keys) and returns the statements of
// those that verify and whose predicate type is exactly one of types, in
// the order they were found: classic .att layers first, then bundle
// referrers. Every other attestation is listed in the second result with
// the reason it was not used (it does not verify with any of the keys, is
// about another digest, or is of another predicate type). The same
// soundness rules and limits as Verify apply; an error means the
// attestations could not be read (registry failure, breached limit) or the
// keys are invalid.
func (v *Verifier) Statements(ctx context.Context, digest name.Digest, keys, types []string) ([]Statement, []Rejected, error) {
	if len(keys) == 0 {
		return nil, nil, &RequirementsError{Problems: []Problem{{Path: "keys", Message: "at least one trusted key is needed to use attestations"}}}
	}
	c, ps := Requirements{Keys: keys}.compile()
	if len(ps) > 0 {
		return nil, nil, &RequirementsError{Problems: ps}
	}
	mats, err := fetch(ctx, v.registry, digest)
	if err != nil {
		return nil, nil, err
	}
	now := v.now()
	var ok []Statement
	var rejected []Rejected
	for _, m := range mats {
		if !m.attestation {
			continue
		}
		m := m.memoized()
		where := fmt.Sprintf("%s (%s)", m.where, m.format)
		if m.unusable != "" {
			rejected = append(rejected, Rejected{Where: where, Reason: m.unusable})
			continue
		}
		st, err := m.statement()
		if err != nil {
			rejected = append(rejected, Rejected{Where: where, Reason: err.Error()})
			continue
		}
		claimed := st.PredicateType
		if !slices.Contains(types, claimed) {
			rejected = append(rejected, Rejected{Where: where, PredicateType: claimed, Reason: fmt.Sprintf("its predicate type %q is not one that is used here", claimed)})
			continue
		}
		var reasons []string
		found := false
		for _, sp := range c.specs() {
			o := c.check(ctx, digest, m, sp, now)
			if o.err != nil {
				reasons = append(reasons, fmt.Sprintf("checked with %s: %v", sp.name, o.err))
				continue
			}
			// The claims cosign's verification read are those of the
			// same payload: o.predicateType equals claimed.
			ok = append(ok, Statement{PredicateType: o.predicateType, Predicate: st.Predicate, Signer: o.signer, Where: where})
			found = true
			break
		}
		if !found {
			rejected = append(rejected, Rejected{Where: where, PredicateType: claimed, Reason: capReasons(reasons)})
		}
	}
	return ok, rejected, nil
}
