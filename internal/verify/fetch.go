package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/cosign/v3/pkg/oci"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
)

// Limits against hostile registries. cosign itself reads up to 1,000
// signature layers, and sigstore bundles of any size.
const (
	// MaxSignatures bounds the signatures, and separately the attestations,
	// considered for one digest in each format.
	MaxSignatures = 100
	// MaxPayloadSize bounds one signature payload, attestation envelope or
	// bundle.
	MaxPayloadSize = int64(128) << 20
)

// The formats a signature is stored in.
const (
	FormatClassic = "classic" // sha256-<hex>.sig / .att tags
	FormatBundle  = "bundle"  // sigstore bundle attached as an OCI referrer
)

// cosignSignPredicateType marks a bundle that is an image signature, not an
// attestation (cosign v3 signs images as in-toto statements of this type).
const cosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1"

const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// material is one signature or attestation found for the digest, not yet
// verified.
type material struct {
	format      string
	where       string // where it was found, for failures
	attestation bool
	sig         oci.Signature    // classic
	bundle      *sgbundle.Bundle // bundle
	// predicateType is the bundle statement's, read before verification
	// only to tell signatures from attestations.
	predicateType string
	// unusable says why the material cannot be verified at all (an
	// unparseable bundle); it is then a failure for every signer.
	unusable string
	// parsed, when set (memoized), holds the in-toto statement once read.
	parsed *parsedStatement
}

type parsedStatement struct {
	once sync.Once
	st   *statement
	err  error
}

// memoized returns the material with its payload downloaded and its
// statement parsed at most once, however many checks read them (the
// claims, the statement handed to the scan, cosign's verification, once
// per trusted signer): an SBOM attestation may be megabytes. For a classic
// signature the memo lives as long as the returned copy, so a loop that
// takes each material in turn holds one payload at a time, as a hostile
// registry may offer many large ones. A bundle, read whole while the
// referrers were listed, keeps the statement parsed then.
func (m material) memoized() material {
	if m.sig != nil {
		m.sig = &onceSignature{ociSignature: m.sig}
	}
	if m.parsed == nil {
		m.parsed = &parsedStatement{}
	}
	return m
}

// statement reads the in-toto statement of an attestation or a bundle
// (once, when memoized).
func (m material) statement() (*statement, error) {
	if m.parsed == nil {
		return m.readStatement()
	}
	m.parsed.once.Do(func() { m.parsed.st, m.parsed.err = m.readStatement() })
	return m.parsed.st, m.parsed.err
}

func (m material) readStatement() (*statement, error) {
	if m.format == FormatBundle {
		env, err := m.bundle.Envelope()
		if err != nil || env == nil {
			return nil, errors.New("the bundle holds no DSSE envelope (cosign signs images and attestations as in-toto statements in DSSE envelopes)")
		}
		return envelopeStatement(env.RawEnvelope())
	}
	raw, err := m.sig.Payload()
	if err != nil {
		return nil, fmt.Errorf("the payload cannot be read: %w", err)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("the attestation is not a DSSE envelope: %w", err)
	}
	return envelopeStatement(&env)
}

// onceSignature reads a classic signature's payload from the registry
// once: every read of a remote layer is another download of the blob.
type onceSignature struct {
	ociSignature
	once    sync.Once
	payload []byte
	err     error
}

// ociSignature names the embedded interface: its own Signature method
// would hide a field of that name.
type ociSignature = oci.Signature

func (s *onceSignature) Payload() ([]byte, error) {
	s.once.Do(func() { s.payload, s.err = s.ociSignature.Payload() })
	return s.payload, s.err
}

// fetch lists every signature and attestation attached to digest in both
// formats. A registry failure or a breached limit is an error: the
// verification cannot be complete.
func fetch(ctx context.Context, reg *registry.Client, digest name.Digest) ([]material, error) {
	opts := reg.RemoteOptions(ctx)
	var out []material
	for _, tagOf := range []func(name.Reference, ...ociremote.Option) (name.Tag, error){ociremote.SignatureTag, ociremote.AttestationTag} {
		tag, err := tagOf(digest, ociremote.WithTargetRepository(digest.Context()))
		if err != nil {
			return nil, fmt.Errorf("naming the attachments of %s: %w", digest, err)
		}
		ms, err := fetchClassic(tag, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	ms, err := fetchBundles(digest, opts)
	if err != nil {
		return nil, err
	}
	return append(out, ms...), nil
}

// fetchClassic reads cosign's sha256-<hex>.sig or .att manifest, tag: one
// signature per layer.
func fetchClassic(tag name.Tag, opts []remote.Option) ([]material, error) {
	sigs, err := ociremote.Signatures(tag, ociremote.WithRemoteOptions(opts...))
	if err != nil {
		return nil, registry.Classify(tag.String(), "reading cosign signatures", err)
	}
	m, err := sigs.Manifest()
	if err != nil {
		return nil, registry.Classify(tag.String(), "reading cosign signatures", err)
	}
	attestation := strings.HasSuffix(tag.TagStr(), "."+ociremote.AttestationTagSuffix)
	what := "signatures"
	if attestation {
		what = "attestations"
	}
	if n := len(m.Layers); n > MaxSignatures {
		return nil, fmt.Errorf("%s holds %d %s, more than the %d this provider considers for one digest: a registry flooding signatures is refused rather than read in part; remove the stale ones (cosign clean) and sign again", tag, n, what, MaxSignatures)
	}
	for i, l := range m.Layers {
		if l.Size > MaxPayloadSize || l.Size < 0 {
			return nil, fmt.Errorf("%s layer %d declares %d bytes, more than the %s a signature payload may have", tag, i, l.Size, registry.FormatBytes(MaxPayloadSize))
		}
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, registry.Classify(tag.String(), "reading cosign signatures", err)
	}
	out := make([]material, 0, len(list))
	for i, s := range list {
		out = append(out, material{
			format: FormatClassic, sig: s, attestation: attestation,
			where: fmt.Sprintf("%s layer %d", tag.TagStr(), i),
		})
	}
	return out, nil
}

// fetchBundles reads the sigstore bundles among the digest's referrers (the
// referrers API, or the sha256-<hex> tag where the registry has none).
func fetchBundles(digest name.Digest, opts []remote.Option) ([]material, error) {
	idx, err := remote.Referrers(digest, opts...)
	if err != nil {
		return nil, registry.Classify(digest.String(), "listing referrers", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, registry.Classify(digest.String(), "listing referrers", err)
	}
	var descs []v1.Descriptor
	for _, d := range im.Manifests {
		if mayBeBundle(d) {
			descs = append(descs, d)
		}
	}
	if len(descs) > MaxSignatures {
		return nil, fmt.Errorf("%s has %d sigstore bundle referrers, more than the %d this provider considers for one digest: a registry flooding signatures is refused rather than read in part; delete the stale referrers and sign again", digest, len(descs), MaxSignatures)
	}
	var out []material
	for _, d := range descs {
		m, ok, err := fetchBundle(digest.Context(), d, opts)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// mayBeBundle says whether a referrer may hold a sigstore bundle. cosign
// sets the manifest's artifactType to the bundle media type, but registries
// that do not read artifactType list the config's media type (the empty
// descriptor) instead, so those are read too.
func mayBeBundle(d v1.Descriptor) bool {
	switch {
	case strings.HasPrefix(d.ArtifactType, bundleMediaTypePrefix), d.ArtifactType == "", d.ArtifactType == emptyJSON:
		return true
	}
	_, ok := d.Annotations["dev.sigstore.bundle.content"]
	return ok
}

const emptyJSON = "application/vnd.oci.empty.v1+json"

// fetchBundle reads one referrer; ok is false when it is not a sigstore
// bundle. cosign's ociremote.Bundle reads the bundle without a size bound,
// hence this reading of the same layout.
func fetchBundle(repo name.Repository, d v1.Descriptor, opts []remote.Option) (material, bool, error) {
	ref := repo.Digest(d.Digest.String())
	m := material{format: FormatBundle, where: "referrer " + d.Digest.String()}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return m, false, registry.Classify(ref.String(), "reading a referrer", err)
	}
	if desc.Size > MaxPayloadSize {
		return m, false, fmt.Errorf("referrer %s is %d bytes, more than the %s a bundle manifest may have", ref, desc.Size, registry.FormatBytes(MaxPayloadSize))
	}
	var man struct {
		ArtifactType string          `json:"artifactType"`
		Config       v1.Descriptor   `json:"config"`
		Layers       []v1.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(desc.Manifest, &man); err != nil {
		m.unusable = fmt.Sprintf("its manifest is not valid JSON: %v", err)
		return m, strings.HasPrefix(d.ArtifactType, bundleMediaTypePrefix), nil
	}
	bundleLayers := 0
	for _, l := range man.Layers {
		if strings.HasPrefix(string(l.MediaType), bundleMediaTypePrefix) {
			bundleLayers++
		}
	}
	if !strings.HasPrefix(man.ArtifactType, bundleMediaTypePrefix) && bundleLayers == 0 {
		return m, false, nil // an SBOM or another artifact: not ours to judge
	}
	if len(man.Layers) != 1 || bundleLayers != 1 {
		m.unusable = fmt.Sprintf("a sigstore bundle manifest must have exactly one bundle layer, this one has %d layers", len(man.Layers))
		return m, true, nil
	}
	l := man.Layers[0]
	if l.Size > MaxPayloadSize || l.Size < 0 {
		return m, false, fmt.Errorf("referrer %s declares a bundle of %d bytes, more than the %s a bundle may have", ref, l.Size, registry.FormatBytes(MaxPayloadSize))
	}
	layer, err := remote.Layer(repo.Digest(l.Digest.String()), opts...)
	if err != nil {
		return m, false, registry.Classify(ref.String(), "reading a bundle", err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return m, false, registry.Classify(ref.String(), "reading a bundle", err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, MaxPayloadSize+1))
	if err != nil {
		return m, false, registry.Classify(ref.String(), "reading a bundle", err)
	}
	if int64(len(raw)) > MaxPayloadSize {
		return m, false, fmt.Errorf("referrer %s sent more than the %s a bundle may have", ref, registry.FormatBytes(MaxPayloadSize))
	}
	pb := &protobundle.Bundle{}
	if err := protojson.Unmarshal(raw, pb); err != nil {
		m.unusable = fmt.Sprintf("the bundle is not valid sigstore bundle JSON: %v", err)
		return m, true, nil
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		m.unusable = fmt.Sprintf("the bundle is invalid: %v", err)
		return m, true, nil
	}
	if !b.MinVersion("v0.3") {
		m.unusable = "the bundle is older than v0.3, which cosign no longer attaches to images"
		return m, true, nil
	}
	m.bundle, m.parsed = b, &parsedStatement{}
	st, err := m.statement()
	if err != nil {
		m.unusable = err.Error()
		return m, true, nil
	}
	m.predicateType = st.PredicateType
	m.attestation = st.PredicateType != cosignSignPredicateType
	return m, true, nil
}

// statement is an in-toto statement.
type statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name        string            `json:"name"`
		Digest      map[string]string `json:"digest"`
		Annotations map[string]any    `json:"annotations"`
	} `json:"subject"`
	// Predicate is the predicate exactly as signed.
	Predicate json.RawMessage `json:"predicate"`
}

const inTotoPayloadType = "application/vnd.in-toto+json"

// envelopeStatement reads the in-toto statement of a DSSE envelope.
func envelopeStatement(env *dsse.Envelope) (*statement, error) {
	if env.PayloadType != inTotoPayloadType {
		return nil, fmt.Errorf("the DSSE payload type is %q, not an in-toto statement (%s)", env.PayloadType, inTotoPayloadType)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("the DSSE payload is not base64: %w", err)
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("the in-toto statement does not parse: %w", err)
	}
	return &st, nil
}

// subjectDigests lists the sha256 digests the statement is about.
func (st *statement) subjectDigests() []string {
	var out []string
	for _, s := range st.Subject {
		if d, ok := s.Digest["sha256"]; ok {
			out = append(out, "sha256:"+d)
		}
	}
	return out
}
