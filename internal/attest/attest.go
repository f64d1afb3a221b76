// Package attest signs in-toto attestations with a key and attaches them to
// an image digest the way `cosign attest --key … --tlog-upload=false
// --new-bundle-format=false` does: the statement in a DSSE envelope, as a
// layer of the sha256-<hex>.att manifest in the image's repository (cosign's
// classic attestation format). `cosign verify-attestation --key cosign.pub
// --type … --insecure-ignore-tlog=true` accepts what it writes (cosign falls
// back to the classic format when a digest has no sigstore bundle), and so
// do internal/verify, cosign v2, Kyverno and the sigstore policy-controller.
//
// Attaching an attestation never changes the image: its manifest, digest
// and tags stay as they are; only the .att tag is written. It knows nothing
// of Terraform.
package attest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"
	cremote "github.com/sigstore/cosign/v3/pkg/cosign/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v3/pkg/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// Predicate types. The short names are cosign's `attest --type` names,
// which Publish accepts as well as a predicate type URI.
const (
	// PredicateCustom is cosign's custom predicate type (`cosign attest
	// --type custom`, and what `syft attest -o syft-json` makes): the
	// predicate is {"Data": "<the document as text>", "Timestamp": "…"}.
	// imagegate publishes its syft-json SBOMs with it.
	PredicateCustom = attestation.CosignCustomProvenanceV01 // https://cosign.sigstore.dev/attestation/v1
	// PredicateSPDX is an SPDX document (`cosign attest --type spdxjson`,
	// `syft attest -o spdx-json`): the predicate is the SPDX JSON object.
	PredicateSPDX = "https://spdx.dev/Document"
	// PredicateCycloneDX is a CycloneDX BOM (`cosign attest --type
	// cyclonedx`, `syft attest -o cyclonedx-json`): the predicate is the
	// CycloneDX JSON object.
	PredicateCycloneDX = "https://cyclonedx.org/bom"
)

// Signer signs attestations with one private key. It holds the decrypted
// key in memory only; nothing of it is ever printed.
type Signer struct {
	sv    signature.SignerVerifier
	pub   crypto.PublicKey
	keyID string
}

// PEM block types of the private keys LoadSigner reads.
const (
	pemEncryptedSigstore = cosign.SigstorePrivateKeyPemType // ENCRYPTED SIGSTORE PRIVATE KEY (cosign generate-key-pair)
	pemEncryptedCosign   = cosign.CosignPrivateKeyPemType   // ENCRYPTED COSIGN PRIVATE KEY (older cosign)
	pemPKCS8             = "PRIVATE KEY"
)

// LoadSigner reads a PEM private key: cosign's encrypted key format
// (`cosign generate-key-pair`, decrypted with password) or an unencrypted
// PKCS#8 key (ECDSA, Ed25519 or RSA; password must then be empty). Errors
// say what is wrong with the key and never contain the password or key
// material.
func LoadSigner(keyPEM, password []byte) (*Signer, error) {
	block, rest := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("the signing key is not PEM: expected a block such as -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY----- (cosign generate-key-pair) or -----BEGIN PRIVATE KEY----- (PKCS#8)")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("the signing key holds more than one PEM block (%s, then %s): give exactly one private key", block.Type, next.Type)
	}
	var sv signature.SignerVerifier
	switch block.Type {
	case pemEncryptedSigstore, pemEncryptedCosign:
		if len(password) == 0 {
			return nil, fmt.Errorf("the signing key is an encrypted cosign key (%s) and no password was given: set the key's password", block.Type)
		}
		var err error
		sv, err = cosign.LoadPrivateKey(pem.EncodeToMemory(block), password, nil)
		if err != nil {
			// cosign's error says "decrypt: …" for a wrong password; it
			// never contains the password.
			if strings.Contains(err.Error(), "decrypt") {
				return nil, errors.New("the password does not decrypt the signing key (an encrypted cosign key): check the password that goes with this key")
			}
			return nil, fmt.Errorf("reading the encrypted cosign signing key: %w", err)
		}
	case pemPKCS8:
		if len(password) > 0 {
			return nil, errors.New("the signing key is an unencrypted PKCS#8 key but a password was given: leave the password unset, or use an encrypted cosign key (cosign generate-key-pair)")
		}
		pk, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the signing key is not a valid PKCS#8 private key: %w", err)
		}
		if sv, err = signature.LoadDefaultSignerVerifier(pk, *cosign.GetDefaultLoadOptions(nil)...); err != nil {
			return nil, fmt.Errorf("the PKCS#8 signing key cannot sign: %w", err)
		}
	case "EC PRIVATE KEY", "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("the signing key is a %s, which is not supported: convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt) or import it into cosign's format (cosign import-key-pair)", block.Type)
	case "PUBLIC KEY", "CERTIFICATE":
		return nil, fmt.Errorf("the signing key is a %s, not a private key: give the private key (cosign.key), and the public key to trusted_keys", block.Type)
	default:
		return nil, fmt.Errorf("the signing key is a PEM %q block: expected ENCRYPTED SIGSTORE PRIVATE KEY (cosign generate-key-pair) or PRIVATE KEY (PKCS#8)", block.Type)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading the signing key's public key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the signing key's public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &Signer{sv: sv, pub: pub, keyID: "sha256:" + hex.EncodeToString(sum[:])}, nil
}

// KeyID is "sha256:<hex>" of the public key's PKIX DER, as internal/verify
// names key signers.
func (s *Signer) KeyID() string { return s.keyID }

// PublicKeyPEM is the signer's public key as cosign.pub holds it.
func (s *Signer) PublicKeyPEM() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(s.pub)
	if err != nil {
		return "", fmt.Errorf("encoding the public key: %w", err)
	}
	return string(b), nil
}

// Publisher attaches signed attestations to image digests through one
// registry client: its auth, HTTPS policy, retries, limits and timeouts
// apply to every read and write. It is safe for concurrent use.
type Publisher struct {
	registry *registry.Client
	now      func() time.Time
}

// New returns a Publisher writing through reg; now stamps cosign's custom
// predicate (time.Now when nil).
func New(reg *registry.Client, now func() time.Time) *Publisher {
	if now == nil {
		now = time.Now
	}
	return &Publisher{registry: reg, now: now}
}

// Published is an attestation that was attached.
type Published struct {
	// PredicateType is the statement's predicate type URI.
	PredicateType string
	// Tag is repository:sha256-<hex>.att, the manifest holding the
	// digest's classic attestations.
	Tag string
	// ManifestDigest is the digest of that manifest after the write.
	ManifestDigest string
	// KeyID names the key that signed ("sha256:<hex>").
	KeyID string
}

// Publish signs an in-toto statement about digest with predicateType and
// predicate and attaches it to the digest. predicateType is a URI or one of
// cosign's `--type` names (custom, spdxjson, cyclonedx, slsaprovenance,
// …); predicate is the predicate file cosign would read: for "custom" any
// text (wrapped as {"Data", "Timestamp"}), for a URI a JSON object.
//
// The statement's subject is the digest (and the repository as its name);
// the envelope is signed with signer and appended to the existing
// attestations of the digest (an identical one is not added twice). The
// image itself is never written.
func (p *Publisher) Publish(ctx context.Context, digest name.Digest, predicateType string, predicate []byte, signer *Signer) (*Published, error) {
	if signer == nil {
		return nil, errors.New("publishing an attestation needs a signing key")
	}
	if strings.TrimSpace(predicateType) == "" {
		return nil, errors.New("publishing an attestation needs a predicate type")
	}
	h, err := v1.NewHash(digest.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("digest %s: %w", digest, err)
	}
	if h.Algorithm != "sha256" {
		return nil, fmt.Errorf("digest %s: cosign attestations name sha256 digests only", digest)
	}
	now := p.now()
	st, err := attestation.GenerateStatement(attestation.GenerateOpts{
		Predicate: bytes.NewReader(predicate),
		Type:      predicateType,
		Digest:    h.Hex,
		Repo:      digest.Repository.String(),
		Time:      func() time.Time { return now },
	})
	if err != nil {
		return nil, fmt.Errorf("making the in-toto statement of type %s for %s: %w", predicateType, digest, err)
	}
	payload, err := st.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding the in-toto statement for %s: %w", digest, err)
	}
	envelope, err := dsse.WrapSigner(signer.sv, ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(payload), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing the attestation for %s: %w", digest, err)
	}
	if n := int64(len(envelope)); n > verify.MaxPayloadSize {
		return nil, fmt.Errorf("the attestation for %s would be %s, more than the %s a verifier reads: it is not published", digest, registry.FormatBytes(n), registry.FormatBytes(verify.MaxPayloadSize))
	}
	uri := st.PredicateType
	att, err := static.NewAttestation(envelope,
		static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": uri}))
	if err != nil {
		return nil, fmt.Errorf("making the attestation layer for %s: %w", digest, err)
	}
	layer, err := att.Digest()
	if err != nil {
		return nil, fmt.Errorf("making the attestation layer for %s: %w", digest, err)
	}
	opts := []ociremote.Option{ociremote.WithRemoteOptions(p.registry.RemoteOptions(ctx)...)}
	tag := digest.Context().Tag(fmt.Sprintf("%s-%s.%s", h.Algorithm, h.Hex, ociremote.AttestationTagSuffix))
	mu := tagLock(tag.String())
	mu.Lock()
	defer mu.Unlock()
	out := &Published{PredicateType: uri, Tag: tag.String(), KeyID: signer.keyID}
	for attempt := 1; ; attempt++ {
		// As cosign attest does: the existing .att manifest is read and
		// the new layer appended, unless the same envelope is already
		// there.
		se := ociremote.SignedUnknown(digest, opts...)
		newSE, err := mutate.AttachAttestationToEntity(se, att, mutate.WithDupeDetector(cremote.NewDupeDetector(signer.sv)))
		if err != nil {
			return nil, registry.Classify(tag.String(), "reading the existing attestations", err)
		}
		if err := ociremote.WriteAttestations(digest.Repository, newSE, opts...); err != nil {
			return nil, registry.Classify(tag.String(), "writing the attestation", err)
		}
		// Another writer (another process) may have replaced the manifest
		// between the read and the write: read it back, and append again
		// if the attestation is not in it.
		manifest, found, err := attached(digest, layer, opts)
		if err != nil {
			return nil, registry.Classify(tag.String(), "reading the attestations back", err)
		}
		if found {
			out.ManifestDigest = manifest
			return out, nil
		}
		if attempt == maxAttachAttempts {
			return nil, fmt.Errorf("%s: the attestation was written %d times and each time replaced by another writer's manifest", tag, attempt)
		}
	}
}

// maxAttachAttempts bounds the appends to a .att manifest that other
// writers keep replacing.
const maxAttachAttempts = 3

// tagLocks serialize the read, append and write of each .att manifest in
// this process: two publishes to one digest (two verdicts, or a verdict and
// an SBOM) would otherwise each append to the manifest they read, and the
// later write would drop the earlier attestation.
var tagLocks sync.Map // tag -> *sync.Mutex

func tagLock(tag string) *sync.Mutex {
	mu, _ := tagLocks.LoadOrStore(tag, &sync.Mutex{})
	return mu.(*sync.Mutex) //nolint:forcetypeassert // only *sync.Mutex is stored
}

// attached reads the digest's .att manifest and says whether it holds the
// layer, with the manifest's digest.
func attached(digest name.Digest, layer v1.Hash, opts []ociremote.Option) (manifest string, found bool, err error) {
	atts, err := ociremote.SignedUnknown(digest, opts...).Attestations()
	if err != nil {
		return "", false, err
	}
	m, err := atts.Manifest()
	if err != nil {
		return "", false, err
	}
	for _, l := range m.Layers {
		if l.Digest == layer {
			found = true
		}
	}
	d, err := atts.Digest()
	if err != nil {
		return "", false, err
	}
	return d.String(), found, nil
}
