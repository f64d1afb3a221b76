package testutil

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/cosign/v3/pkg/oci/empty"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v3/pkg/types"
)

// TamperAttestations rewrites the in-toto statement of every classic
// attestation attached to digestRef (the layers of its sha256-<hex>.att
// manifest) with edit, keeping the original signatures, as an attacker
// with push rights could: the envelopes no longer verify.
func (r *Registry) TamperAttestations(t testing.TB, digestRef string, edit func(statement map[string]any)) {
	t.Helper()
	if err := r.tamper(digestRef, edit); err != nil {
		t.Fatalf("tampering with the attestations of %s: %v", digestRef, err)
	}
}

func (r *Registry) tamper(digestRef string, edit func(map[string]any)) error {
	d, err := name.NewDigest(digestRef, name.Insecure)
	if err != nil {
		return err
	}
	opts := []ociremote.Option{ociremote.WithRemoteOptions(remote.WithAuth(r.auth()))}
	se, err := ociremote.SignedEntity(d, opts...)
	if err != nil {
		return err
	}
	atts, err := se.Attestations()
	if err != nil {
		return err
	}
	list, err := atts.Get()
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("no classic attestation is attached")
	}
	var tampered []oci.Signature
	for _, a := range list {
		raw, err := a.Payload()
		if err != nil {
			return err
		}
		var env map[string]any
		if err := json.Unmarshal(raw, &env); err != nil {
			return err
		}
		encoded, _ := env["payload"].(string)
		payload, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return err
		}
		var st map[string]any
		if err := json.Unmarshal(payload, &st); err != nil {
			return err
		}
		edit(st)
		if payload, err = json.Marshal(st); err != nil {
			return err
		}
		env["payload"] = base64.StdEncoding.EncodeToString(payload)
		if raw, err = json.Marshal(env); err != nil {
			return err
		}
		ann, err := a.Annotations()
		if err != nil {
			return err
		}
		na, err := static.NewAttestation(raw, static.WithLayerMediaType(ctypes.DssePayloadType), static.WithAnnotations(ann))
		if err != nil {
			return err
		}
		tampered = append(tampered, na)
	}
	sigs, err := mutate.AppendSignatures(empty.Signatures(), false, tampered...)
	if err != nil {
		return err
	}
	h := d.DigestStr()
	tag := d.Context().Tag(strings.Replace(h, ":", "-", 1) + "." + ociremote.AttestationTagSuffix)
	return remote.Write(tag, sigs, remote.WithAuth(r.auth()))
}
