// Package verdict turns a passing gate decision into a signed in-toto
// attestation on the image digest, so an admission controller (the
// sigstore policy-controller, Kyverno) can require "approved by imagegate
// under policy X" at deploy time, and finds that attestation again. It
// signs and stores with internal/attest and reads back with
// internal/verify's cosign code. It knows nothing of Terraform.
package verdict

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// PredicateType is the in-toto predicate type of an imagegate verdict.
// Version 1 of the predicate is the Predicate struct; a change that
// removes or renames a field gets a new URI.
const PredicateType = "https://imagegate.dev/verdict/v1"

// Predicate is what a verdict attests: which image was judged, under which
// policy, with which database and scanners, and the outcome. Every list is
// sorted, so the same decision always gives the same predicate except for
// EvaluatedAt.
type Predicate struct {
	Image      Image       `json:"image"`
	Policy     Policy      `json:"policy"`
	Passed     bool        `json:"passed"`
	Platforms  []Platform  `json:"platforms"`
	Database   Database    `json:"database"`
	Scanner    Scanner     `json:"scanner"`
	Violations []Violation `json:"violations"`
	// EvaluatedAt is when the decision was made (RFC 3339, UTC). It is in
	// the attestation only, never in Terraform state.
	EvaluatedAt string `json:"evaluated_at"`
}

// Image is the image judged.
type Image struct {
	// Reference is the reference as configured (a tag or a digest).
	Reference string `json:"reference"`
	// Repository is the repository the verdict is attached in.
	Repository string `json:"repository"`
	// Digest is the digest the verdict is attached to: the index when
	// every platform was gated, or the one platform image selected.
	Digest string `json:"digest"`
}

// Policy names the policy the image passed.
type Policy struct {
	Name string `json:"name"`
	// ID is "sha256:<hex>" of the canonical policy document, as
	// imagegate_policy's id: the same for documents that differ only in
	// key order, whitespace or defaults.
	ID string `json:"id"`
	// DocumentSHA256 is "sha256:<hex>" of the document exactly as given.
	DocumentSHA256 string `json:"document_sha256"`
}

// Platform is one image gated.
type Platform struct {
	// Platform is "os/arch[/variant]" of an index's image, "" for a
	// single image.
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
}

// Database is the vulnerability database the decision was made with.
type Database struct {
	Built    string `json:"built"`
	Checksum string `json:"checksum"`
	Schema   string `json:"schema"`
}

// Scanner names the code that made the decision.
type Scanner struct {
	Grype     string `json:"grype"`
	Syft      string `json:"syft"`
	Imagegate string `json:"imagegate"`
}

// Violation is a warn-level violation of the passing decision.
type Violation struct {
	Platform string `json:"platform,omitempty"`
	Rule     string `json:"rule"`
	CIS      string `json:"cis,omitempty"`
	Action   string `json:"action"`
	Subject  string `json:"subject"`
	Message  string `json:"message"`
}

// Input is what a predicate is built from.
type Input struct {
	// Reference is the reference as configured.
	Reference string
	// Digest is the digest the verdict is about (repository@sha256:…).
	Digest name.Digest
	Policy *policy.Policy
	// Document is the policy document exactly as given.
	Document []byte
	Result   *gate.Result
	Now      time.Time
}

// NewPredicate builds the predicate of a passing decision. A decision that
// did not pass, or that carries no scan, has no verdict: it is an error.
func NewPredicate(in Input) (*Predicate, error) {
	if in.Result == nil || in.Policy == nil {
		return nil, errors.New("a verdict needs a policy and a gate result")
	}
	if !in.Result.Decision.Passed {
		return nil, fmt.Errorf("%s failed policy %q: a failing image gets no verdict", in.Digest, in.Policy.Name)
	}
	if len(in.Result.Platforms) == 0 || in.Result.Platforms[0].Scan == nil {
		return nil, fmt.Errorf("the gate result for %s has no scan: its database cannot be named", in.Digest)
	}
	_, id, err := in.Policy.Canonical()
	if err != nil {
		return nil, fmt.Errorf("computing the id of policy %q: %w", in.Policy.Name, err)
	}
	sum := sha256.Sum256(in.Document)
	db := in.Result.Platforms[0].Scan.DB
	p := &Predicate{
		Image:  Image{Reference: in.Reference, Repository: in.Digest.Context().Name(), Digest: in.Digest.DigestStr()},
		Policy: Policy{Name: in.Policy.Name, ID: id, DocumentSHA256: "sha256:" + hex.EncodeToString(sum[:])},
		Passed: true,
		Database: Database{
			Built: db.Built.UTC().Format(time.RFC3339), Checksum: db.Checksum, Schema: db.SchemaVersion,
		},
		Scanner:     Scanner{Grype: scan.GrypeVersion, Syft: scan.SyftVersion, Imagegate: scan.BuildID},
		Platforms:   []Platform{},
		Violations:  []Violation{},
		EvaluatedAt: in.Now.UTC().Format(time.RFC3339),
	}
	for _, pl := range in.Result.Platforms {
		if pl.Scan != nil && pl.Scan.DB.Checksum != db.Checksum {
			return nil, fmt.Errorf("the platforms of %s were scanned with different databases (%s and %s): evaluate again", in.Digest, db.Checksum, pl.Scan.DB.Checksum)
		}
		d := ""
		if pl.Image != nil {
			d = pl.Image.Digest
		}
		p.Platforms = append(p.Platforms, Platform{Platform: pl.Platform, Digest: d})
	}
	for _, v := range in.Result.Decision.Violations {
		if v.Action != policy.ActionWarn {
			return nil, fmt.Errorf("the decision on %s passed with a %s violation of %s: refusing to attest it", in.Digest, v.Action, v.Rule)
		}
		p.Violations = append(p.Violations, Violation{Platform: v.Platform, Rule: v.Rule, CIS: v.CIS, Action: v.Action, Subject: v.Subject, Message: v.Message})
	}
	slices.SortFunc(p.Platforms, func(a, b Platform) int {
		return cmp.Or(cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.Digest, b.Digest))
	})
	slices.SortFunc(p.Violations, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Message, b.Message))
	})
	return p, nil
}

// JSON is the predicate as it is signed.
func (p *Predicate) JSON() ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the verdict predicate: %w", err)
	}
	return b, nil
}

// Publish signs the predicate and attaches it to its digest as an in-toto
// attestation of PredicateType (cosign's classic .att format). The image
// itself is never written.
func Publish(ctx context.Context, pub *attest.Publisher, digest name.Digest, p *Predicate, signer *attest.Signer) (*attest.Published, error) {
	b, err := p.JSON()
	if err != nil {
		return nil, err
	}
	out, err := pub.Publish(ctx, digest, PredicateType, b, signer)
	if err != nil {
		return nil, fmt.Errorf("attaching the verdict to %s: %w", digest, err)
	}
	return out, nil
}

// Find looks for a verdict on digest signed by publicKey (PEM) for the
// policy policyID that passed, and returns its predicate; nil when there is
// none (removed, or never written). Attestations that do not verify are
// not verdicts; an error means the attestations could not be read.
func Find(ctx context.Context, v *verify.Verifier, digest name.Digest, publicKey, policyID string) (*Predicate, error) {
	sts, _, err := v.Statements(ctx, digest, []string{publicKey}, []string{PredicateType})
	if err != nil {
		return nil, fmt.Errorf("reading the verdicts on %s: %w", digest, err)
	}
	return match(sts, digest, policyID), nil
}

// match is the first statement that is a passing verdict about digest
// under policyID.
func match(sts []verify.Statement, digest name.Digest, policyID string) *Predicate {
	for _, st := range sts {
		if st.PredicateType != PredicateType {
			continue
		}
		var p Predicate
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			continue
		}
		if p.Passed && p.Policy.ID == policyID && p.Image.Digest == digest.DigestStr() {
			return &p
		}
	}
	return nil
}
