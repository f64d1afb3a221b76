// Package verify checks cosign signatures and attestations on an image
// digest, offline, with cosign's own verification code
// (github.com/sigstore/cosign/v3/pkg/cosign) and sigstore-go. It reads both
// storage formats cosign writes: the classic tag scheme (sha256-<hex>.sig and
// .att manifests) and sigstore bundles attached as OCI 1.1 referrers (with
// the referrers tag-schema fallback). It knows nothing of Terraform.
package verify

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Requirements say which signers must have signed a digest and which
// attestations they must have made. It is part of the policy document
// (the signatures rule) and the input of the imagegate_signatures data
// source, so its fields carry the document's JSON names.
type Requirements struct {
	// Keys are PEM public keys (ECDSA P-256/P-384/P-521, Ed25519, RSA of
	// at least 2048 bits).
	Keys []string `json:"keys,omitempty"`
	// Identities are keyless signers: a certificate issued by a certificate
	// authority of TrustedRoot, with this OIDC issuer and subject.
	Identities []Identity `json:"identities,omitempty"`
	// TrustedRoot is the content of a sigstore trusted_root.json: the
	// certificate authorities, transparency logs and timestamp authorities
	// trusted for keyless signatures (and for transparency-log entries and
	// signed timestamps of key signatures).
	TrustedRoot string `json:"trusted_root,omitempty"`
	// RequireDockerReference requires a signature's
	// critical.identity.docker-reference to name the image's repository.
	RequireDockerReference bool `json:"require_docker_reference,omitempty"`
	// Annotations must each be present on a signature with exactly this value.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Attestations must each be present, signed by one of the signers.
	Attestations []Attestation `json:"attestations,omitempty"`
	// Minimum is how many distinct signers must have signed; 0 means 1.
	Minimum int `json:"minimum,omitempty"`
}

// Identity is a keyless signer. Exactly one of Issuer and IssuerRegex, and
// one of Subject and SubjectRegex, is set. Regular expressions (RE2) must
// match the whole value.
type Identity struct {
	Issuer       string `json:"issuer,omitempty"`
	Subject      string `json:"subject,omitempty"`
	IssuerRegex  string `json:"issuer_regex,omitempty"`
	SubjectRegex string `json:"subject_regex,omitempty"`
}

// String names the identity as the requirements give it.
func (id Identity) String() string {
	issuer, subject := id.Issuer, id.Subject
	if id.IssuerRegex != "" {
		issuer = "~" + id.IssuerRegex
	}
	if id.SubjectRegex != "" {
		subject = "~" + id.SubjectRegex
	}
	return fmt.Sprintf("identity issuer=%s subject=%s", issuer, subject)
}

// Attestation requires an in-toto attestation of one predicate type.
type Attestation struct {
	// PredicateType must equal the statement's predicateType exactly.
	PredicateType string `json:"predicate_type"`
}

// Problem is one thing wrong with Requirements: the path of the field at
// fault (like "keys[1]") and what is wrong with it.
type Problem struct {
	Path    string
	Message string
}

// Check returns every problem of the requirements; none means Compile
// succeeds.
func (r Requirements) Check() []Problem {
	_, ps := r.compile()
	return ps
}

// compiled is Requirements parsed for verification.
type compiled struct {
	Requirements
	keys        []key
	identities  []identity
	trustedRoot *root.TrustedRoot
	minimum     int
}

type key struct {
	id string // "sha256:<hex of the PKIX DER>"
	// verifiers are the signing algorithms sigstore tools use with the
	// key, the preferred first; a signature verifies under one of them.
	verifiers []signature.Verifier
}

// name is how failures name the key.
func (k key) name() string { return "key " + k.id }

type identity struct {
	Identity
	issuer, subject *regexp.Regexp
}

// compile parses the requirements, collecting every problem.
func (r Requirements) compile() (*compiled, []Problem) {
	c := &compiled{Requirements: r, minimum: max(r.Minimum, 1)}
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for i, text := range r.Keys {
		k, err := parseKey(text)
		if err != nil {
			add(fmt.Sprintf("keys[%d]", i), "%v", err)
			continue
		}
		if !seen[k.id] {
			seen[k.id] = true
			c.keys = append(c.keys, k)
		}
	}
	for i, id := range r.Identities {
		path := fmt.Sprintf("identities[%d]", i)
		ci := identity{Identity: id}
		var err error
		if ci.issuer, err = matcher(id.Issuer, id.IssuerRegex); err != nil {
			add(path, "issuer: %v", err)
		}
		if ci.subject, err = matcher(id.Subject, id.SubjectRegex); err != nil {
			add(path, "subject: %v", err)
		}
		c.identities = append(c.identities, ci)
	}
	if strings.TrimSpace(r.TrustedRoot) != "" {
		tr, err := root.NewTrustedRootFromJSON([]byte(r.TrustedRoot))
		switch {
		case err != nil:
			add("trusted_root", "is not a sigstore trusted_root.json: %v", err)
		case len(tr.FulcioCertificateAuthorities()) == 0 && len(r.Identities) > 0:
			add("trusted_root", "lists no certificate authority, so no keyless identity can verify; use the trusted_root.json of the sigstore instance that issued the certificates")
		default:
			c.trustedRoot = tr
		}
	} else if len(r.Identities) > 0 {
		add("trusted_root", "is required with identities: keyless certificates are checked against the certificate authorities of a sigstore trusted_root.json (the public instance's is what `cosign trusted-root create` or the sigstore TUF repository gives)")
	}
	if len(r.Keys) == 0 && len(r.Identities) == 0 {
		add("", "no signer: list at least one public key in keys or one keyless signer in identities")
	}
	if r.Minimum < 0 {
		add("minimum", "must be at least 1, not %d", r.Minimum)
	}
	if len(r.Identities) == 0 && len(ps) == 0 && c.minimum > len(c.keys) {
		add("minimum", "is %d but only %d distinct keys are listed and no identity, so it can never be met", c.minimum, len(c.keys))
	}
	if _, ok := r.Annotations[""]; ok {
		add("annotations", "an annotation name is empty")
	}
	types := map[string]bool{}
	for i, a := range r.Attestations {
		path := fmt.Sprintf("attestations[%d].predicate_type", i)
		switch {
		case strings.TrimSpace(a.PredicateType) == "":
			add(path, "is required: the in-toto predicate type URI, such as https://slsa.dev/provenance/v1")
		case strings.TrimSpace(a.PredicateType) != a.PredicateType:
			add(path, "%q has surrounding spaces; predicate types are compared exactly", a.PredicateType)
		case types[a.PredicateType]:
			add(path, "%q is listed twice", a.PredicateType)
		}
		types[a.PredicateType] = true
	}
	return c, ps
}

// matcher compiles an exact value or a whole-value regular expression.
func matcher(exact, re string) (*regexp.Regexp, error) {
	switch {
	case exact != "" && re != "":
		return nil, fmt.Errorf("set the exact value or the regular expression, not both")
	case exact == "" && re == "":
		return nil, fmt.Errorf("is required: set the exact value or the regular expression")
	case exact != "":
		return regexp.MustCompile("^" + regexp.QuoteMeta(exact) + "$"), nil
	}
	if _, err := regexp.Compile(re); err != nil {
		return nil, fmt.Errorf("%q is not a valid regular expression (RE2 syntax): %w", re, err)
	}
	return regexp.MustCompile("^(?:" + re + ")$"), nil
}

// KeyID is the id a verification reports for a PEM public key's
// signatures (Signer.KeyID): "sha256:<hex>" of its PKIX DER.
func KeyID(pemKey string) (string, error) {
	k, err := parseKey(pemKey)
	return k.id, err
}

// parseKey reads one PEM public key and refuses the kinds and sizes cosign
// signers should not use.
func parseKey(text string) (key, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return key{}, fmt.Errorf("is not a PEM public key (expected -----BEGIN PUBLIC KEY-----, as in cosign.pub)")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return key{}, fmt.Errorf("holds more than one PEM block; list each key separately")
	}
	if block.Type != "PUBLIC KEY" {
		return key{}, fmt.Errorf("is a PEM %q block; a public key (-----BEGIN PUBLIC KEY-----) is expected, never a private key or certificate", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return key{}, fmt.Errorf("is not a valid public key: %w", err)
	}
	var vs []signature.Verifier
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		hashes := map[elliptic.Curve]crypto.Hash{elliptic.P256(): crypto.SHA256, elliptic.P384(): crypto.SHA384, elliptic.P521(): crypto.SHA512}
		h, ok := hashes[k.Curve]
		if !ok {
			return key{}, fmt.Errorf("is an ECDSA key on curve %s; use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
		// sigstore signs with the curve's hash; cosign's classic
		// signatures were long made with SHA-256 whatever the curve.
		for _, hh := range slices.Compact([]crypto.Hash{h, crypto.SHA256}) {
			v, err := signature.LoadECDSAVerifier(k, hh)
			if err != nil {
				return key{}, fmt.Errorf("cannot verify with this key: %w", err)
			}
			vs = append(vs, v)
		}
	case ed25519.PublicKey:
		pure, err := signature.LoadED25519Verifier(k)
		if err != nil {
			return key{}, fmt.Errorf("cannot verify with this key: %w", err)
		}
		ph, err := signature.LoadED25519phVerifier(k)
		if err != nil {
			return key{}, fmt.Errorf("cannot verify with this key: %w", err)
		}
		vs = append(vs, pure, ph)
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 {
			return key{}, fmt.Errorf("is an RSA key of %d bits; at least 2048 bits are required", n)
		}
		v, err := signature.LoadRSAPKCS1v15Verifier(k, crypto.SHA256)
		if err != nil {
			return key{}, fmt.Errorf("cannot verify with this key: %w", err)
		}
		vs = append(vs, v)
	case *ecdh.PublicKey:
		return key{}, fmt.Errorf("is an %s key-agreement key, which cannot sign; use ECDSA (P-256, P-384, P-521), Ed25519 or RSA (2048 bits or more)", k.Curve())
	default:
		return key{}, fmt.Errorf("is a key of a kind cosign does not sign with (%T); use ECDSA (P-256, P-384, P-521), Ed25519 or RSA (2048 bits or more)", pub)
	}
	sum := sha256.Sum256(block.Bytes)
	return key{id: "sha256:" + hex.EncodeToString(sum[:]), verifiers: vs}, nil
}

// sortedTypes lists the required predicate types in order.
func (c *compiled) attestationTypes() []string {
	out := make([]string, 0, len(c.Attestations))
	for _, a := range c.Attestations {
		out = append(out, a.PredicateType)
	}
	slices.Sort(out)
	return out
}
