package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/anchore/syft/syft/format"
	"github.com/anchore/syft/syft/source"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/obs"
	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// Attestations makes the registry a shared SBOM store (the provider
// setting registry_attestations). Both directions apply to the squashed
// scope only: an all-layers scan always catalogs, so an SBOM of one scope
// never stands in for the other.
type Attestations struct {
	// UseSBOM looks for SBOM attestations on the digest before pulling any
	// layer and matches the preferred one (sbomPreference) that verifies
	// against TrustedKeys and decodes, instead of cataloging the image.
	UseSBOM bool
	// TrustedKeys are PEM public keys; attestations signed by one of them
	// are used.
	TrustedKeys []string
	// PublishSBOM attaches the syft-json SBOM of each fresh catalog to the
	// digest as an attestation signed by Signer. It is best-effort: a
	// failure is a warning.
	PublishSBOM bool
	Signer      *attest.Signer
}

// SBOMPredicateTypes are the predicate types use_sbom reads, in order of
// preference: cosign's custom type (what imagegate publishes, with the
// syft-json document as its Data, and what `syft attest -o syft-json`
// makes), SPDX (`cosign attest --type spdxjson`, `syft attest -o
// spdx-json`) and CycloneDX (`cosign attest --type cyclonedx`, `syft attest
// -o cyclonedx-json`). Each document is decoded by syft's own decoders.
var SBOMPredicateTypes = []string{attest.PredicateCustom, attest.PredicateSPDX, attest.PredicateCycloneDX}

// Sources of an entry's SBOM.
const (
	// SourceCatalog is a catalog of the image's layers (the zero value).
	SourceCatalog = ""
	// SourceAttestation is a verified SBOM attestation: no layer was read,
	// so the entry has no account files and no hygiene facts.
	SourceAttestation = "attestation"
)

// WithAttestations configures the registry as a shared SBOM store.
func WithAttestations(a Attestations) Option {
	return func(s *Scanner) {
		if !a.UseSBOM && !a.PublishSBOM {
			return
		}
		st := &attestationStore{Attestations: a, verifier: verify.New(s.registry, nil), publisher: attest.New(s.registry, nil)}
		for _, k := range a.TrustedKeys {
			if id, err := verify.KeyID(k); err == nil {
				st.trustedIDs = append(st.trustedIDs, id)
			}
		}
		s.attestations = st
	}
}

type attestationStore struct {
	Attestations
	verifier  *verify.Verifier
	publisher *attest.Publisher
	// trustedIDs are the key ids of TrustedKeys.
	trustedIDs []string
}

// trusts says whether an entry's SBOM may be used under this scanner's
// settings: a catalog's always; an attestation's only while use_sbom is on
// and its signer is one of trusted_keys, since the SBOM cache outlives the
// setting and other configurations may share it.
func (s *Scanner) trusts(e *Entry) bool {
	if e.Source != SourceAttestation {
		return true
	}
	a := s.attestations
	return a != nil && a.UseSBOM && e.SignerKeyID != "" && slices.Contains(a.trustedIDs, e.SignerKeyID)
}

// needs is what a scan needs an entry to carry beyond its packages.
type needs struct {
	// licenses: an SBOM output was asked for, and its packages carry
	// licenses.
	licenses bool
	// layerFacts: the account files and hygiene facts of the layers
	// (user and checks rules, all-layers scans), which no attestation has.
	layerFacts bool
}

// metBy says whether an entry answers such a scan: one without licenses
// cannot answer a scan that needs them, and one made from an attestation
// lacks the layer facts, so the image is cataloged instead.
func (n needs) metBy(e *Entry) bool {
	return (e.Licenses || !n.licenses) && (e.Source != SourceAttestation || !n.layerFacts)
}

// fromAttestation returns an entry built from the preferred SBOM
// attestation on the digest that verifies and decodes, or nil with warnings
// saying why each SBOM attestation found was not used. No layer is read.
func (s *Scanner) fromAttestation(ctx context.Context, res *registry.Resolved, pinned string, scope Scope) (*cachedEntry, []string) {
	a := s.attestations
	if a == nil || !a.UseSBOM || scope != Squashed {
		return nil, nil
	}
	digest, err := name.NewDigest(pinned, name.Insecure)
	if err != nil {
		return nil, []string{fmt.Sprintf("SBOM attestations of %s were not looked up: %v; the image was cataloged from its layers", pinned, err)}
	}
	sts, rejected, err := a.verifier.Statements(ctx, digest, a.TrustedKeys, SBOMPredicateTypes)
	if err != nil {
		return nil, []string{fmt.Sprintf("SBOM attestations of %s could not be read (%v); the image was cataloged from its layers", pinned, err)}
	}
	var warnings []string
	ignored := func(where, why string) {
		warnings = append(warnings, fmt.Sprintf("The SBOM attestation %s on %s was ignored: %s. The image was cataloged from its layers unless another SBOM attestation was used.", where, pinned, why))
	}
	sbomPreference(sts)
	var used *cachedEntry
	for _, st := range sts {
		ce, err := s.attestedEntry(res, pinned, scope, st)
		if err != nil {
			ignored(st.Where, err.Error())
			continue
		}
		used = ce
		break
	}
	var others []string
	for _, r := range rejected {
		if slices.Contains(SBOMPredicateTypes, r.PredicateType) {
			ignored(r.Where, "it does not verify against trusted_keys: "+r.Reason)
		} else {
			others = append(others, r.Where+": "+r.Reason)
		}
	}
	if used == nil && len(others) > 0 {
		slices.Sort(others)
		more := ""
		if len(others) > 5 {
			more = fmt.Sprintf("; and %d more", len(others)-5)
			others = others[:5]
		}
		warnings = append(warnings, fmt.Sprintf("No SBOM attestation of %s was used: the attestations attached are of other predicate types (%s%s); SBOMs are read from the predicate types %s. The image was cataloged from its layers.", pinned, strings.Join(others, "; "), more, strings.Join(SBOMPredicateTypes, ", ")))
	}
	return used, warnings
}

// sbomPreference orders verified SBOM statements, as Statements returns
// them (the .att tag's layers, then bundle referrers), by preference: by
// predicate type in SBOMPredicateTypes' order (a syft-json SBOM, which
// imagegate publishes, before a build's SPDX or CycloneDX, which lose the
// Go symbols grype reads), and within a type the .att tag's layers latest
// first (cosign appends each attestation to the tag's manifest), then the
// referrers in the order the registry lists them, which says nothing of
// their age.
func sbomPreference(sts []verify.Statement) {
	layers := slices.IndexFunc(sts, func(st verify.Statement) bool { return st.Signer.Format != verify.FormatClassic })
	if layers < 0 {
		layers = len(sts)
	}
	slices.Reverse(sts[:layers])
	slices.SortStableFunc(sts, func(a, b verify.Statement) int {
		return slices.Index(SBOMPredicateTypes, a.PredicateType) - slices.Index(SBOMPredicateTypes, b.PredicateType)
	})
}

// attestedEntry decodes the SBOM of a verified statement with syft's
// decoders and builds the entry a catalog would have made, less the facts
// only layers hold (account files, hygiene facts).
func (s *Scanner) attestedEntry(res *registry.Resolved, pinned string, scope Scope, st verify.Statement) (*cachedEntry, error) {
	doc, err := sbomDocument(st)
	if err != nil {
		return nil, err
	}
	sb, id, _, err := format.Decode(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("its SBOM does not decode: %w", err)
	}
	if sb == nil {
		return nil, errors.New("its predicate is not an SBOM format syft reads (syft-json, SPDX, CycloneDX)")
	}
	if m, ok := imageMetadata(sb.Source.Metadata); ok && strings.HasPrefix(m.ManifestDigest, "sha256:") && m.ManifestDigest != res.Digest.String() {
		return nil, fmt.Errorf("its SBOM describes the image %s, not %s", m.ManifestDigest, res.Digest)
	}
	// The manifest and config only: no layer is read.
	img, err := res.Inspect(pinned)
	if err != nil {
		return nil, fmt.Errorf("the image's manifest could not be read: %w", err)
	}
	e := &Entry{
		FormatVersion: cacheFormat, SyftVersion: SyftVersion, Digest: res.Digest.String(), Scope: scope, Layers: map[string]string{},
		Source: SourceAttestation, Attestation: fmt.Sprintf("%s %s (%s, signed by key %s)", st.Where, st.PredicateType, id, st.Signer.KeyID), SignerKeyID: st.Signer.KeyID,
	}
	for _, l := range img.Layers {
		e.Layers[l.DiffID] = l.Digest
		e.LayerOrder = append(e.LayerOrder, l.DiffID)
	}
	e.setContents(sb)
	withoutRawConfig(sb)
	out, err := encode(sb, FormatSyftJSON)
	if err != nil {
		return nil, fmt.Errorf("its SBOM cannot be encoded as syft-json: %w", err)
	}
	_ = s.cache.StoreSBOM(e, FormatSyftJSON, out) // the document stays in memory for this process
	e.Created = nowUTC()
	return &cachedEntry{entry: e, syftJSON: out}, nil
}

func imageMetadata(m any) (source.ImageMetadata, bool) {
	switch v := m.(type) {
	case source.ImageMetadata:
		return v, true
	case *source.ImageMetadata:
		if v != nil {
			return *v, true
		}
	}
	return source.ImageMetadata{}, false
}

// sbomDocument extracts the SBOM document from a statement's predicate.
func sbomDocument(st verify.Statement) ([]byte, error) {
	switch st.PredicateType {
	case attest.PredicateCustom:
		var p struct {
			Data *string `json:"Data"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil || p.Data == nil {
			return nil, errors.New(`its custom predicate has no "Data" text holding an SBOM`)
		}
		return []byte(*p.Data), nil
	default:
		// cosign attest --type spdx keeps a tag-value document as a JSON
		// string; spdxjson and cyclonedx keep the JSON object.
		var text string
		if json.Unmarshal(st.Predicate, &text) == nil {
			return []byte(text), nil
		}
		if len(bytes.TrimSpace(st.Predicate)) == 0 || bytes.Equal(bytes.TrimSpace(st.Predicate), []byte("null")) {
			return nil, errors.New("its predicate is empty")
		}
		return st.Predicate, nil
	}
}

// publishSBOM attaches the syft-json SBOM of a fresh catalog to the digest
// as a signed attestation. Best-effort: a failure is a warning, never a
// failed scan. The image, its digest and its tags are never changed.
func (s *Scanner) publishSBOM(ctx context.Context, res *registry.Resolved, pinned string, scope Scope, ce *cachedEntry) []string {
	a := s.attestations
	if a == nil || !a.PublishSBOM || a.Signer == nil || scope != Squashed || ce == nil || ce.syftJSON == nil {
		return nil
	}
	digest := res.Ref.Context().Digest(res.Digest.String())
	// One SBOM per signer and digest: every runner that catalogs the digest
	// cold would otherwise append another (each envelope is signed anew).
	if pub, err := a.Signer.PublicKeyPEM(); err == nil {
		if sts, _, err := a.verifier.Statements(ctx, digest, []string{pub}, []string{attest.PredicateCustom}); err == nil && len(sts) > 0 {
			obs.From(ctx, obs.Scan).Info("SBOM attestation by this signing key already on the digest: not published again", "digest", res.Digest.String(), "attestation", sts[0].Where)
			return nil
		}
	}
	if _, err := a.publisher.Publish(ctx, digest, "custom", ce.syftJSON, a.Signer); err != nil {
		return []string{fmt.Sprintf("The SBOM of %s was not published as an attestation (publish_sbom): %v. The scan is not affected; other runners will catalog the image themselves.", pinned, err)}
	}
	return nil
}
