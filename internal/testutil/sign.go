package testutil

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	intotov1 "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/cosign/v3/pkg/cosign/attestation"
	cbundle "github.com/sigstore/cosign/v3/pkg/cosign/bundle"
	cremote "github.com/sigstore/cosign/v3/pkg/cosign/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v3/pkg/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Signature storage formats, as cosign writes them.
const (
	// FormatClassic stores signatures and attestations as layers of the
	// manifests tagged sha256-<hex>.sig and sha256-<hex>.att.
	FormatClassic = "classic"
	// FormatBundle stores each as a sigstore bundle v0.3 in an OCI referrer
	// of the digest (cosign --new-bundle-format).
	FormatBundle = "bundle"
)

// SignOptions says what to sign and how; the zero value makes a classic
// signature as `cosign sign` does.
type SignOptions struct {
	// Format is FormatClassic (the default when empty) or FormatBundle.
	Format string
	// PredicateType, when set, makes an attestation (`cosign attest
	// --type`) instead of a signature: an in-toto statement of this
	// predicate type in a DSSE envelope.
	PredicateType string
	// Predicate is the JSON object of an attestation; {} when empty.
	Predicate []byte
	// Annotations are cosign's `-a k=v` of a signature: the simple
	// signing payload's "optional" object (classic) or the annotations of
	// the in-toto statement's subject (bundle). cosign attest has no such
	// flag, so setting them on an attestation fails the test.
	Annotations map[string]string
	// DockerReference is what cosign's --sign-container-identity sets:
	// critical.identity.docker-reference of a classic signature (default:
	// the repository of the signed digest). For an attestation it is the
	// statement subject's name (default: the repository). A bundle
	// signature carries no reference, so setting it there fails the test.
	DockerReference string
	// SignedDigest is the digest the payload or statement claims (default:
	// the digest signed), so a test can attach a signature of another image.
	SignedDigest string
	// Tlog attaches a transparency-log entry from the test sigstore
	// (classic: the dev.sigstore.cosign/bundle annotation with its signed
	// entry timestamp; bundle: a tlog entry with inclusion promise and
	// inclusion proof).
	Tlog bool
	// Timestamp attaches an RFC 3161 timestamp from the test sigstore's TSA.
	Timestamp bool
	// Expired issues the keyless certificate two hours ago, so it expired
	// long before now; the signature, log entry and timestamp are made
	// inside its ten minutes of validity, so they prove it was valid.
	Expired bool
	// Sigstore provides the transparency log and TSA for SignWithKey when
	// Tlog or Timestamp is set (cosign uploads key signatures to Rekor by
	// default). SignKeyless takes its sigstore as an argument.
	Sigstore *Sigstore
}

// GenerateKey returns a new signing key and its PKIX public key PEM, as
// `cosign generate-key-pair` writes cosign.pub. alg is one of
// "ecdsa-p256" (the default when empty), "ecdsa-p384", "ecdsa-p521",
// "ed25519", "rsa-2048", "rsa-3072", "rsa-4096", and "rsa-1024" (too
// weak; for refusal tests).
func GenerateKey(t testing.TB, alg string) (crypto.Signer, string) {
	t.Helper()
	var key crypto.Signer
	var err error
	switch alg {
	case "", "ecdsa-p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ecdsa-p521":
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "rsa-1024":
		key, err = rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // deliberately weak, for refusal tests
	case "rsa-2048":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa-3072":
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case "rsa-4096":
		key, err = rsa.GenerateKey(rand.Reader, 4096)
	default:
		t.Fatalf("GenerateKey: unknown algorithm %q; use ecdsa-p256, ecdsa-p384, ecdsa-p521, ed25519, rsa-1024, rsa-2048, rsa-3072 or rsa-4096", alg)
	}
	if err != nil {
		t.Fatalf("generating %s key: %v", alg, err)
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		t.Fatalf("encoding %s public key: %v", alg, err)
	}
	return key, string(pemBytes)
}

// SignWithKey signs digestRef (repo@sha256:…, in this registry) with key,
// writing what `cosign sign --key` (or `cosign attest --key`) would write.
// Without opts.Tlog the result is what cosign writes with
// --tlog-upload=false, so verifiers need IgnoreTlog.
func (r *Registry) SignWithKey(t testing.TB, digestRef string, key crypto.Signer, opts SignOptions) {
	t.Helper()
	if opts.Expired {
		t.Fatal("SignWithKey: Expired applies to keyless certificates; use SignKeyless")
	}
	if (opts.Tlog || opts.Timestamp) && opts.Sigstore == nil {
		t.Fatal("SignWithKey: Tlog and Timestamp need SignOptions.Sigstore (from NewSigstore) to log and timestamp the signature")
	}
	kp, err := newKeypair(key)
	if err != nil {
		t.Fatalf("SignWithKey: %v", err)
	}
	if err := r.sign(digestRef, kp, nil, opts.Sigstore, time.Now(), opts); err != nil {
		t.Fatalf("signing %s with a key: %v", digestRef, err)
	}
}

// SignKeyless signs digestRef with a fresh key and a ten-minute
// certificate from s for subject (an email address, or a URI such as a
// workflow identity) and OIDC issuer, as `cosign sign` does keyless.
func (r *Registry) SignKeyless(t testing.TB, s *Sigstore, digestRef, issuer, subject string, opts SignOptions) {
	t.Helper()
	if s == nil {
		t.Fatal("SignKeyless: a Sigstore (NewSigstore) is needed to issue the certificate")
	}
	if opts.Sigstore != nil && opts.Sigstore != s {
		t.Fatal("SignKeyless: SignOptions.Sigstore differs from the sigstore argument; leave it nil")
	}
	if issuer == "" || subject == "" {
		t.Fatal("SignKeyless: the certificate needs an issuer and a subject")
	}
	// cosign signs keyless with an ephemeral ECDSA P-256 key.
	ephemeral, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := newKeypair(ephemeral)
	if err != nil {
		t.Fatal(err)
	}
	// Fulcio issued the certificate a moment before the signature is
	// logged and timestamped (now, so no proof of time lies in the future).
	issued := time.Now().Add(-2 * time.Second)
	if opts.Expired {
		issued = issued.Add(-2 * time.Hour)
	}
	at := issued.Add(2 * time.Second)
	certs := &certProvider{s: s, subject: subject, issuer: issuer, notBefore: issued}
	if err := r.sign(digestRef, kp, certs, s, at, opts); err != nil {
		t.Fatalf("signing %s keyless as %s: %v", digestRef, subject, err)
	}
}

// sign builds the payload, has sigstore-go make the bundle exactly as
// cosign's bundle.SignData does, and stores it the way cosign's sign and
// attest commands do.
func (r *Registry) sign(digestRef string, kp *keypair, certs sign.CertificateProvider, s *Sigstore, at time.Time, opts SignOptions) error {
	format := opts.Format
	if format == "" {
		format = FormatClassic
	}
	if format != FormatClassic && format != FormatBundle {
		return fmt.Errorf("unknown format %q: use %q or %q", opts.Format, FormatClassic, FormatBundle)
	}
	attest := opts.PredicateType != ""
	if attest && len(opts.Annotations) > 0 {
		return fmt.Errorf("annotations are for signatures: cosign attest has no -a")
	}
	if !attest && format == FormatBundle && opts.DockerReference != "" {
		return fmt.Errorf("a bundle signature carries no docker-reference: leave DockerReference empty")
	}
	if !attest && len(opts.Predicate) > 0 {
		return fmt.Errorf("a predicate needs a PredicateType")
	}
	d, err := name.NewDigest(digestRef, name.Insecure)
	if err != nil {
		return fmt.Errorf("parsing digest reference %q: %w", digestRef, err)
	}
	signed := d.DigestStr()
	if opts.SignedDigest != "" {
		signed = opts.SignedDigest
	}
	signedHash, err := v1.NewHash(signed)
	if err != nil {
		return fmt.Errorf("parsing SignedDigest %q: %w", signed, err)
	}
	var annotations map[string]any
	for k, v := range opts.Annotations {
		if annotations == nil {
			annotations = map[string]any{}
		}
		annotations[k] = v
	}

	var content sign.Content
	var signedPayload []byte
	predicateType := ctypes.CosignSignPredicateType
	switch {
	case attest:
		// cmd/cosign/cli/attest: the statement comes from cosign's generator.
		predicateType = opts.PredicateType
		pred := opts.Predicate
		if len(pred) == 0 {
			pred = []byte("{}")
		}
		repo := d.Repository.String()
		if opts.DockerReference != "" {
			repo = opts.DockerReference
		}
		st, err := attestation.GenerateStatement(attestation.GenerateOpts{
			Predicate: bytes.NewReader(pred),
			Type:      opts.PredicateType,
			Digest:    signedHash.Hex,
			Repo:      repo,
		})
		if err != nil {
			return fmt.Errorf("generating the in-toto statement: %w", err)
		}
		p, err := st.MarshalJSON()
		if err != nil {
			return fmt.Errorf("encoding the in-toto statement: %w", err)
		}
		content = &sign.DSSEData{Data: p, PayloadType: "application/vnd.in-toto+json"}
	case format == FormatBundle:
		// cmd/cosign/cli/sign signDigestBundle.
		annoStruct, err := structpb.NewStruct(annotations)
		if err != nil {
			return fmt.Errorf("encoding annotations: %w", err)
		}
		statement := &intotov1.Statement{
			Type: intotov1.StatementTypeUri,
			Subject: []*intotov1.ResourceDescriptor{{
				Digest:      map[string]string{signedHash.Algorithm: signedHash.Hex},
				Annotations: annoStruct,
			}},
			PredicateType: ctypes.CosignSignPredicateType,
			Predicate:     &structpb.Struct{},
		}
		p, err := protojson.Marshal(statement)
		if err != nil {
			return fmt.Errorf("encoding the in-toto statement: %w", err)
		}
		content = &sign.DSSEData{Data: p, PayloadType: "application/vnd.in-toto+json"}
	default:
		// cmd/cosign/cli/sign signDigest: simple signing.
		p, err := (&payload.Cosign{
			Image:           d.Repository.Digest(signed),
			ClaimedIdentity: opts.DockerReference,
			Annotations:     annotations,
		}).MarshalJSON()
		if err != nil {
			return fmt.Errorf("encoding the signing payload: %w", err)
		}
		content = &sign.PlainData{Data: p}
		signedPayload = p
	}

	bopts := sign.BundleOptions{CertificateProvider: certs, Context: context.Background()}
	if opts.Timestamp {
		bopts.TimestampAuthorities = append(bopts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{
			URL:       tsaURL,
			Transport: &tsaTransport{s: s, at: at},
		}))
	}
	if opts.Tlog {
		bopts.TransparencyLogs = append(bopts.TransparencyLogs, sign.NewRekor(&sign.RekorOptions{
			BaseURL: rekorURL,
			Client:  &rekorClient{s: s, at: at},
			Version: 1,
		}))
	}
	pb, err := sign.Bundle(content, kp, bopts)
	if err != nil {
		return fmt.Errorf("making the sigstore bundle: %w", err)
	}
	bundleBytes, err := protojson.Marshal(pb)
	if err != nil {
		return fmt.Errorf("encoding the sigstore bundle: %w", err)
	}

	ociOpts := []ociremote.Option{
		ociremote.WithRemoteOptions(remote.WithAuth(r.auth())),
		ociremote.WithNameOptions(name.Insecure),
	}
	if format == FormatBundle {
		if err := ociremote.WriteAttestationNewBundleFormat(d, bundleBytes, predicateType, ociOpts...); err != nil {
			return fmt.Errorf("writing the bundle referrer: %w", err)
		}
		return nil
	}
	return writeClassic(d, pb, signedPayload, kp, attest, predicateType, ociOpts)
}

// writeClassic turns the bundle into cosign's classic layer annotations
// and appends the layer to the .sig or .att manifest, as cosign's
// signDigest and AttestCommand.Exec do.
func writeClassic(d name.Digest, pb *protobundle.Bundle, signedPayload []byte, kp *keypair, attest bool, predicateType string, ociOpts []ociremote.Option) error {
	// signcommon.ExtractComponentsFromProtoBundle, which lives in cosign's
	// CLI packages (importing them would pull in the whole CLI).
	var sig []byte
	if env := pb.GetDsseEnvelope(); env != nil {
		var err error
		if sig, err = json.Marshal(env); err != nil {
			return fmt.Errorf("encoding the DSSE envelope: %w", err)
		}
	} else {
		sig = pb.GetMessageSignature().GetSignature()
	}
	vm := pb.GetVerificationMaterial()

	var sopts []static.Option
	if attest {
		sopts = append(sopts,
			static.WithLayerMediaType(ctypes.DssePayloadType),
			static.WithAnnotations(map[string]string{"predicateType": predicateType}))
	}
	if c := vm.GetCertificate(); c != nil {
		cert, err := x509.ParseCertificate(c.GetRawBytes())
		if err != nil {
			return fmt.Errorf("parsing the signing certificate: %w", err)
		}
		certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
		if err != nil {
			return err
		}
		// cosign's bundle holds the leaf alone, so the chain annotation is empty.
		sopts = append(sopts, static.WithCertChain(certPEM, nil))
	}
	if ts := vm.GetTimestampVerificationData().GetRfc3161Timestamps(); len(ts) > 0 {
		sopts = append(sopts, static.WithRFC3161Timestamp(cbundle.TimestampToRFC3161Timestamp(ts[0].GetSignedTimestamp())))
	}
	if attest {
		sopts = append(sopts, static.WithAnnotations(map[string]string{"predicateType": predicateType}))
	}
	if entries := vm.GetTlogEntries(); len(entries) > 0 {
		e := entries[0]
		sopts = append(sopts, static.WithBundle(&cbundle.RekorBundle{
			SignedEntryTimestamp: e.GetInclusionPromise().GetSignedEntryTimestamp(),
			Payload: cbundle.RekorPayload{
				Body:           e.GetCanonicalizedBody(),
				IntegratedTime: e.GetIntegratedTime(),
				LogIndex:       e.GetLogIndex(),
				LogID:          fmt.Sprintf("%x", e.GetLogId().GetKeyId()),
			},
		}))
	}

	verifier, err := signature.LoadVerifier(kp.pub, kp.alg.GetHashType())
	if err != nil {
		return fmt.Errorf("loading the duplicate detector's verifier: %w", err)
	}
	dd := cremote.NewDupeDetector(verifier)

	if attest {
		att, err := static.NewAttestation(sig, sopts...)
		if err != nil {
			return fmt.Errorf("creating the attestation layer: %w", err)
		}
		se := ociremote.SignedUnknown(d, ociOpts...)
		newSE, err := mutate.AttachAttestationToEntity(se, att, mutate.WithDupeDetector(dd))
		if err != nil {
			return fmt.Errorf("attaching the attestation: %w", err)
		}
		if err := ociremote.WriteAttestations(d.Repository, newSE, ociOpts...); err != nil {
			return fmt.Errorf("writing the attestations: %w", err)
		}
		return nil
	}

	ociSig, err := static.NewSignature(signedPayload, base64.StdEncoding.EncodeToString(sig), sopts...)
	if err != nil {
		return fmt.Errorf("creating the signature layer: %w", err)
	}
	// cosign sign reads the existing signatures of the entity, so each new
	// one is appended to the .sig manifest.
	se, err := ociremote.SignedEntity(d, ociOpts...)
	if _, ok := errors.AsType[*ociremote.EntityNotFoundError](err); ok {
		se = ociremote.SignedUnknown(d, ociOpts...)
	} else if err != nil {
		return fmt.Errorf("accessing %s: %w", d, err)
	}
	newSE, err := mutate.AttachSignatureToEntity(se, ociSig, mutate.WithDupeDetector(dd))
	if err != nil {
		return fmt.Errorf("attaching the signature: %w", err)
	}
	if err := ociremote.WriteSignatures(d.Repository, newSE, ociOpts...); err != nil {
		return fmt.Errorf("writing the signatures: %w", err)
	}
	return nil
}

// keypair is sigstore-go's sign.Keypair over a crypto.Signer, as cosign's
// internal/key.SignerVerifierKeypair wraps a key file: ED25519 signs
// Ed25519ph (cosign's default load option), the hint is the base64
// SHA-256 of the PKIX public key.
type keypair struct {
	sv     signature.SignerVerifier
	pub    crypto.PublicKey
	hint   []byte
	keyAlg string
	alg    signature.AlgorithmDetails
}

func newKeypair(key crypto.Signer) (*keypair, error) {
	loadOpts := []signature.LoadOption{options.WithED25519ph()}
	var sv signature.SignerVerifier
	var err error
	if k, ok := key.(*rsa.PrivateKey); ok && k.N.BitLen() < 2048 {
		// sigstore refuses to load short RSA keys; sign as PKCS#1 v1.5
		// with SHA-256 like the 2048-bit ones, so a verifier sees a valid
		// signature and must refuse the key itself.
		sv, err = signature.LoadRSAPKCS1v15SignerVerifier(k, crypto.SHA256)
	} else {
		sv, err = signature.LoadDefaultSignerVerifier(key, loadOpts...)
	}
	if err != nil {
		return nil, fmt.Errorf("loading the signing key: %w", err)
	}
	pub := key.Public()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %w", err)
	}
	sum := sha256.Sum256(der)
	kp := &keypair{sv: sv, pub: pub, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		kp.keyAlg = "ECDSA"
	case *rsa.PublicKey:
		kp.keyAlg = "RSA"
		if k.N.BitLen() < 2048 {
			kp.alg, err = signature.GetAlgorithmDetails(protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256)
			if err != nil {
				return nil, err
			}
			return kp, nil
		}
	case ed25519.PublicKey:
		kp.keyAlg = "ED25519"
	default:
		return nil, fmt.Errorf("unsupported key type %T", pub)
	}
	kp.alg, err = signature.GetDefaultAlgorithmDetails(pub, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("choosing the signing algorithm: %w", err)
	}
	return kp, nil
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }
func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}
func (k *keypair) GetHint() []byte                { return k.hint }
func (k *keypair) GetKeyAlgorithm() string        { return k.keyAlg }
func (k *keypair) GetPublicKey() crypto.PublicKey { return k.pub }
func (k *keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// SignData signs data the way cosign's SignerVerifierKeypair does.
func (k *keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	var digest []byte
	sOpts := []signature.SignOption{options.WithContext(ctx)}
	if h := k.alg.GetHashType(); h != 0 {
		hh := h.New()
		hh.Write(data)
		digest = hh.Sum(nil)
		sOpts = append(sOpts, options.WithDigest(digest))
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(data), sOpts...)
	if err != nil {
		return nil, nil, err
	}
	return sig, digest, nil
}
