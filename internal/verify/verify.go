package verify

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// Verifier checks the signatures and attestations attached to image
// digests. It is safe for concurrent use.
type Verifier struct {
	registry *registry.Client
	now      func() time.Time
}

// New returns a Verifier reading registries through reg; now is the clock
// certificates without a signed time are checked against (time.Now when
// nil).
func New(reg *registry.Client, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{registry: reg, now: now}
}

// Result is what was verified on one digest.
type Result struct {
	// Reference is repository@digest, the only thing verified.
	Reference string
	// Digest is the digest alone.
	Digest string
	// Verified is true when at least Minimum distinct signers signed the
	// digest and every required attestation verified.
	Verified bool
	// Signers are the signers whose signatures verified, one per signer and
	// format, sorted.
	Signers []Signer
	// Attestations holds one entry per required predicate type, sorted.
	Attestations []AttestationResult
	// Failures say why each expected signer or attestation did not verify,
	// sorted by what was expected. A verified result can still list the
	// signers beyond the minimum that did not sign.
	Failures []Failure
}

// Signer is one signer whose signature verified.
type Signer struct {
	KeyID   string // "sha256:<hex>" of the public key (PKIX DER), for key signers
	Issuer  string // the certificate's OIDC issuer, for keyless signers
	Subject string // the certificate's subject alternative name, for keyless signers
	Format  string // FormatClassic or FormatBundle
}

// identity is what makes two signers distinct: the key, or the
// certificate's issuer and subject.
func (s Signer) identity() string {
	if s.KeyID != "" {
		return s.KeyID
	}
	return s.Issuer + "\n" + s.Subject
}

// AttestationResult says whether an attestation of a predicate type
// verified.
type AttestationResult struct {
	PredicateType string
	Verified      bool
}

// Failure is one expectation that was not met.
type Failure struct {
	// Expected names the signer ("key sha256:…", "identity issuer=… subject=…"),
	// the attestation ("attestation <predicate type>") or the minimum
	// ("2 distinct signers") that was expected.
	Expected string
	Message  string
}

// RequirementsError lists the problems of invalid Requirements.
type RequirementsError struct{ Problems []Problem }

func (e *RequirementsError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.Message
		if p.Path != "" {
			s[i] = p.Path + ": " + p.Message
		}
	}
	return "invalid signature requirements: " + strings.Join(s, "; ")
}

// Verify checks the signatures and attestations attached to digest, which
// must name an image by digest (repository@sha256:…). A digest that is
// simply not signed is a Result with Verified false; an error means the
// verification could not be carried out (a registry failure, a breached
// limit, invalid requirements).
func (v *Verifier) Verify(ctx context.Context, digest name.Digest, req Requirements) (*Result, error) {
	c, ps := req.compile()
	if len(ps) > 0 {
		return nil, &RequirementsError{Problems: ps}
	}
	log := obs.From(ctx, obs.Verify)
	start := time.Now()
	mats, err := fetch(ctx, v.registry, digest)
	if err != nil {
		log.Warn("signature verification could not read what is attached to the digest", "digest", digest.String(), "duration", time.Since(start))
		return nil, err
	}
	res := c.evaluate(ctx, digest, mats, v.now())
	log.Info("signature verification outcome", "digest", digest.String(), "verified", res.Verified, "signers", len(res.Signers),
		"attestations", len(res.Attestations), "failures", len(res.Failures), "duration", time.Since(start))
	for _, f := range res.Failures {
		log.Debug("expected signer or attestation did not verify", "digest", digest.String(), "expected", f.Expected)
	}
	return res, nil
}

// spec is one expected signer.
type spec struct {
	name     string
	key      *key
	identity *identity
}

func (c *compiled) specs() []spec {
	var out []spec
	for i := range c.keys {
		out = append(out, spec{name: c.keys[i].name(), key: &c.keys[i]})
	}
	for i := range c.identities {
		out = append(out, spec{name: c.identities[i].String(), identity: &c.identities[i]})
	}
	return out
}

// outcome is one material checked against one signer.
type outcome struct {
	signer        Signer
	predicateType string
	err           error
}

func (c *compiled) evaluate(ctx context.Context, digest name.Digest, mats []material, now time.Time) *Result {
	res := &Result{Reference: digest.String(), Digest: digest.DigestStr()}
	var sigs, atts []material
	for _, m := range mats {
		if m.attestation {
			atts = append(atts, m)
		} else {
			sigs = append(sigs, m)
		}
	}
	specs := c.specs()
	signers := map[Signer]bool{}
	distinct := map[string]bool{}
	// Each signature is checked with every signer in turn, so that its
	// payload is held only while it is checked; reasons[i] says why each
	// failed for specs[i].
	reasons := make([][]string, len(specs))
	for _, m := range sigs {
		m := m.memoized()
		for i, sp := range specs {
			o := c.check(ctx, digest, m, sp, now)
			if o.err != nil {
				reasons[i] = append(reasons[i], fmt.Sprintf("%s (%s): %v", m.where, m.format, o.err))
				continue
			}
			signers[o.signer] = true
			distinct[o.signer.identity()] = true
		}
	}
	for i, sp := range specs {
		if len(reasons[i]) == len(sigs) {
			res.Failures = append(res.Failures, Failure{Expected: sp.name, Message: noSignatureMessage(digest, "signature", len(sigs), reasons[i])})
		}
	}
	for s := range signers {
		res.Signers = append(res.Signers, s)
	}
	slices.SortFunc(res.Signers, func(a, b Signer) int {
		return cmp.Or(cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Issuer, b.Issuer), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Format, b.Format))
	})
	res.Verified = len(distinct) >= c.minimum
	if !res.Verified && c.minimum > 1 {
		res.Failures = append(res.Failures, Failure{
			Expected: fmt.Sprintf("%d distinct signers", c.minimum),
			Message:  fmt.Sprintf("only %d distinct signer(s) verified on %s; %d are required (a key counts once however often it is listed, a certificate once per issuer and subject)", len(distinct), digest, c.minimum),
		})
	}
	if len(c.Attestations) > 0 {
		// Each attestation is checked once per signer; the predicate types
		// are then matched against what verified.
		byType := map[string]bool{}
		var reasons []string
		for _, m := range atts {
			m := m.memoized()
			for _, sp := range specs {
				o := c.check(ctx, digest, m, sp, now)
				if o.err != nil {
					reasons = append(reasons, fmt.Sprintf("%s (%s) checked with %s: %v", m.where, m.format, sp.name, o.err))
					continue
				}
				byType[o.predicateType] = true
			}
		}
		var found []string
		for t := range byType {
			found = append(found, t)
		}
		slices.Sort(found)
		for _, t := range c.attestationTypes() {
			ok := byType[t]
			res.Attestations = append(res.Attestations, AttestationResult{PredicateType: t, Verified: ok})
			if ok {
				continue
			}
			res.Verified = false
			msg := noSignatureMessage(digest, "attestation", len(atts), reasons)
			if len(found) > 0 {
				msg = fmt.Sprintf("no attestation of predicate type %q verified on %s; the verified attestations are of type %s, and predicate types must match exactly", t, digest, strings.Join(quoteAll(found), ", "))
				if len(reasons) > 0 {
					msg += "; " + capReasons(reasons)
				}
			}
			res.Failures = append(res.Failures, Failure{Expected: "attestation " + t, Message: msg})
		}
	}
	slices.SortFunc(res.Failures, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(a.Expected, b.Expected), cmp.Compare(a.Message, b.Message))
	})
	return res
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// maxReasons bounds the reasons one failure quotes.
const maxReasons = 5

func noSignatureMessage(digest name.Digest, what string, n int, reasons []string) string {
	if n == 0 {
		where := "a sha256-<hex>.sig tag"
		if what == "attestation" {
			where = "a sha256-<hex>.att tag"
		}
		return fmt.Sprintf("no cosign %s is attached to %s: there is neither %s nor a sigstore bundle referrer; sign the digest (cosign sign / cosign attest) or check the reference", what, digest, where)
	}
	return fmt.Sprintf("none of the %d %s(s) attached to %s verifies: %s", n, what, digest, capReasons(reasons))
}

// capReasons joins the distinct reasons, quoting at most maxReasons.
func capReasons(reasons []string) string {
	reasons = slices.Compact(slices.Clone(reasons))
	more := ""
	if len(reasons) > maxReasons {
		more = fmt.Sprintf("; and %d more", len(reasons)-maxReasons)
		reasons = reasons[:maxReasons]
	}
	return strings.Join(reasons, "; ") + more
}

// check verifies one signature or attestation against one signer. The
// claims are read first (the digest, reference and annotations the
// material states), then cosign verifies the signature, the certificate
// chain and identity, the transparency-log entry and signed timestamp.
func (c *compiled) check(ctx context.Context, digest name.Digest, m material, sp spec, now time.Time) outcome {
	if m.unusable != "" {
		return outcome{err: errors.New(m.unusable)}
	}
	h, err := v1.NewHash(digest.DigestStr())
	if err != nil {
		return outcome{err: err}
	}
	var o outcome
	var cert *x509.Certificate
	var tlog, timestamp bool
	switch m.format {
	case FormatClassic:
		if o, err = c.classicClaims(digest, m); err != nil {
			return outcome{err: err}
		}
		if cert, err = m.sig.Cert(); err != nil {
			return outcome{err: fmt.Errorf("the certificate annotation does not parse: %w", err)}
		}
		rb, err := m.sig.Bundle()
		if err != nil {
			return outcome{err: fmt.Errorf("the transparency-log bundle annotation does not parse: %w", err)}
		}
		ts, err := m.sig.RFC3161Timestamp()
		if err != nil {
			return outcome{err: fmt.Errorf("the signed timestamp annotation does not parse: %w", err)}
		}
		tlog, timestamp = rb != nil, ts != nil
	default:
		if o, err = c.bundleClaims(digest, m); err != nil {
			return outcome{err: err}
		}
		vc, err := m.bundle.VerificationContent()
		if err != nil {
			return outcome{err: fmt.Errorf("the bundle's verification material is invalid: %w", err)}
		}
		cert = vc.Certificate()
		entries, _ := m.bundle.TlogEntries()
		stamps, _ := m.bundle.Timestamps()
		tlog, timestamp = len(entries) > 0, len(stamps) > 0
	}
	if sp.identity != nil {
		signer, err := c.checkCertificate(cert, sp, tlog, timestamp, now)
		if err != nil {
			return outcome{err: err}
		}
		o.signer = signer
	} else {
		o.signer = Signer{KeyID: sp.key.id}
	}
	o.signer.Format = m.format
	co := c.checkOpts(sp, tlog, timestamp)
	if sp.key == nil {
		if err := cosignVerify(ctx, co, m, h); err != nil {
			return outcome{err: fmt.Errorf("does not verify: %w", err)}
		}
		return o
	}
	for _, kv := range sp.key.verifiers {
		co.SigVerifier = kv
		if err = cosignVerify(ctx, co, m, h); err == nil {
			return o
		}
	}
	return outcome{err: fmt.Errorf("does not verify with this key: %w", err)}
}

// cosignVerify has cosign verify one signature, attestation or bundle.
func cosignVerify(ctx context.Context, co *cosign.CheckOpts, m material, h v1.Hash) error {
	var err error
	switch {
	case m.format == FormatBundle:
		sum, _ := hex.DecodeString(h.Hex)
		_, err = cosign.VerifyNewBundle(ctx, co, sgverify.WithArtifactDigest(h.Algorithm, sum), m.bundle)
	case m.attestation:
		_, err = cosign.VerifyBlobAttestation(ctx, m.sig, h, co)
	default:
		_, err = cosign.VerifyImageSignature(ctx, m.sig, h, co)
	}
	return err
}

// checkOpts configures cosign for one signer and one material: offline,
// with the transparency-log entry and signed timestamp verified when the
// material carries them. A key signature needs neither; a certificate
// without either is checked against the current time.
func (c *compiled) checkOpts(sp spec, tlog, timestamp bool) *cosign.CheckOpts {
	co := &cosign.CheckOpts{Offline: true, IgnoreTlog: !tlog, UseSignedTimestamps: timestamp}
	if c.trustedRoot != nil {
		co.TrustedMaterial = c.trustedRoot
	} else {
		co.TrustedMaterial = &root.BaseTrustedMaterial{}
		co.IgnoreTlog, co.UseSignedTimestamps = true, false
	}
	if sp.key != nil {
		co.SigVerifier = sp.key.verifiers[0]
		co.IgnoreSCT = true
		return co
	}
	co.Identities = []cosign.Identity{{IssuerRegExp: sp.identity.issuer.String(), SubjectRegExp: sp.identity.subject.String()}}
	// Certificates carry SCTs when the trusted root lists the certificate
	// transparency logs that issued them; a root without CT logs cannot
	// check any.
	co.IgnoreSCT = len(c.trustedRoot.CTLogs()) == 0
	return co
}

// checkCertificate gives the keyless checks their own messages before
// cosign repeats them: a certificate is present, chains to trusted_root,
// names the expected identity, and was valid when the signature was made.
func (c *compiled) checkCertificate(cert *x509.Certificate, sp spec, tlog, timestamp bool, now time.Time) (Signer, error) {
	if cert == nil {
		return Signer{}, fmt.Errorf("carries no certificate (it was made with a key), so it cannot be a keyless signature of %s", sp.name)
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return Signer{}, fmt.Errorf("the certificate does not parse as a sigstore certificate: %w", err)
	}
	s := Signer{Issuer: sum.Issuer, Subject: sum.SubjectAlternativeName}
	if _, err := sgverify.VerifyLeafCertificate(cert.NotBefore, cert, c.trustedRoot); err != nil {
		return Signer{}, fmt.Errorf("the certificate of issuer=%s subject=%s was not issued by a certificate authority in trusted_root: %w", s.Issuer, s.Subject, err)
	}
	if !sp.identity.issuer.MatchString(s.Issuer) || !sp.identity.subject.MatchString(s.Subject) {
		return Signer{}, fmt.Errorf("the certificate names issuer=%s subject=%s, not the expected %s", s.Issuer, s.Subject, sp.name)
	}
	if now.After(cert.NotAfter) && !tlog && !timestamp {
		return Signer{}, fmt.Errorf("the certificate of issuer=%s subject=%s expired at %s and the signature has neither a transparency-log entry nor a signed timestamp proving it was made while the certificate was valid", s.Issuer, s.Subject, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return s, nil
}

// classicClaims reads what a classic signature or attestation states.
func (c *compiled) classicClaims(digest name.Digest, m material) (outcome, error) {
	if m.attestation {
		st, err := m.statement()
		if err != nil {
			return outcome{}, err
		}
		if err := subjectClaim(digest, st, "attests"); err != nil {
			return outcome{}, err
		}
		return outcome{predicateType: st.PredicateType}, nil
	}
	raw, err := m.sig.Payload()
	if err != nil {
		return outcome{}, fmt.Errorf("the payload cannot be read: %w", err)
	}
	var ss payload.SimpleContainerImage
	if err := json.Unmarshal(raw, &ss); err != nil {
		return outcome{}, fmt.Errorf("the payload is not a cosign simple-signing payload: %w", err)
	}
	if got := ss.Critical.Image.DockerManifestDigest; got != digest.DigestStr() {
		if got == "" {
			return outcome{}, fmt.Errorf("the payload names no critical.image.docker-manifest-digest")
		}
		return outcome{}, fmt.Errorf("the signature is for %s, not %s: a signature of another digest was copied onto this digest's signature tag", got, digest.DigestStr())
	}
	if c.RequireDockerReference {
		if err := dockerReferenceClaim(digest, ss.Critical.Identity.DockerReference); err != nil {
			return outcome{}, err
		}
	}
	return outcome{}, c.annotationClaims(ss.Optional)
}

// bundleClaims reads what a bundle's in-toto statement states.
func (c *compiled) bundleClaims(digest name.Digest, m material) (outcome, error) {
	st, err := m.statement()
	if err != nil {
		return outcome{}, err
	}
	verb := "attests"
	if !m.attestation {
		verb = "signs"
	}
	if err := subjectClaim(digest, st, verb); err != nil {
		return outcome{}, err
	}
	if m.attestation {
		return outcome{predicateType: st.PredicateType}, nil
	}
	if c.RequireDockerReference {
		return outcome{}, fmt.Errorf("a sigstore bundle signature names no docker-reference, and require_docker_reference is set: sign with cosign's classic format (--new-bundle-format=false), or leave require_docker_reference unset")
	}
	var annotations map[string]any
	for _, s := range st.Subject {
		if s.Digest["sha256"] == strings.TrimPrefix(digest.DigestStr(), "sha256:") {
			annotations = s.Annotations
		}
	}
	return outcome{}, c.annotationClaims(annotations)
}

func subjectClaim(digest name.Digest, st *statement, verb string) error {
	ds := st.subjectDigests()
	if slices.Contains(ds, digest.DigestStr()) {
		return nil
	}
	if len(ds) == 0 {
		return fmt.Errorf("the in-toto statement has no sha256 subject digest")
	}
	return fmt.Errorf("the statement %s %s, not %s: it was made for another digest", verb, strings.Join(ds, ", "), digest.DigestStr())
}

// dockerReferenceClaim compares critical.identity.docker-reference with the
// repository, both parsed, so "docker.io/library/x" and
// "index.docker.io/library/x" are the same.
func dockerReferenceClaim(digest name.Digest, claimed string) error {
	if claimed == "" {
		return fmt.Errorf("the payload names no critical.identity.docker-reference, and require_docker_reference is set")
	}
	repo, err := name.NewRepository(claimed, name.WeakValidation)
	if err != nil || repo.Name() != digest.Context().Name() {
		return fmt.Errorf("the signature was made for %s (critical.identity.docker-reference), not %s: a signature replayed from another repository", claimed, digest.Context().Name())
	}
	return nil
}

// annotationClaims requires each annotation to be present with exactly the
// expected value.
func (c *compiled) annotationClaims(have map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(c.Annotations)) {
		want := c.Annotations[k]
		got, ok := have[k]
		switch {
		case !ok:
			return fmt.Errorf("the annotation %q is missing (expected %q)", k, want)
		case got != want:
			return fmt.Errorf("the annotation %q is %v, not %q", k, jsonText(got), want)
		}
	}
	return nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
