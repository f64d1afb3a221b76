package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/imagegate/terraform-provider-imagegate/internal/attest"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

var _ provider.ProviderWithValidateConfig = &imagegateProvider{}

// registryAttestationsModel is the provider's registry_attestations.
type registryAttestationsModel struct {
	UseSBOM            types.Bool   `tfsdk:"use_sbom"`
	PublishSBOM        types.Bool   `tfsdk:"publish_sbom"`
	SigningKey         types.String `tfsdk:"signing_key"`
	SigningKeyPassword types.String `tfsdk:"signing_key_password"`
	// TrustedKeys is a list value, not a slice: it may be unknown (from a
	// variable) at validate time.
	TrustedKeys types.List `tfsdk:"trusted_keys"`
}

// attestationAttributes is the registry_attestations setting: the registry
// as the SBOM store a fleet of runners shares.
func attestationAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"registry_attestations": schema.SingleNestedAttribute{
			MarkdownDescription: "Makes the registry the SBOM store that every runner shares, with signed in-toto attestations stored the way `cosign attest` stores them (a DSSE envelope in the image's `sha256-<digest>.att` tag). Off by default. Publishing is a cache write: it never changes the image, its digest or its tags. Only squashed-scope scans publish or use SBOM attestations, and a gate whose policy has a `user` or `checks` rule still pulls the layers, because the account files and file facts those rules read are not in an SBOM.",
			Optional:            true,
			Attributes: map[string]schema.Attribute{
				"use_sbom": schema.BoolAttribute{
					MarkdownDescription: "Before pulling any layer, look for SBOM attestations on the image digest and match one that verifies against `trusted_keys` instead of cataloging the image. The statement's subject must be the image digest and its predicate type exactly cosign's custom type `https://cosign.sigstore.dev/attestation/v1` (what `publish_sbom` and `syft attest -o syft-json` write), `https://spdx.dev/Document` (`cosign attest --type spdxjson`) or `https://cyclonedx.org/bom` (`cosign attest --type cyclonedx`), preferred in that order; the document is decoded by syft. Among several of one type, the latest in the `.att` tag is preferred, then sigstore bundle referrers in the order the registry lists them. An attestation that does not verify or decode is ignored with a warning and the image is cataloged as usual. Requires `trusted_keys`. Defaults to `false`.",
					Optional:            true,
				},
				"publish_sbom": schema.BoolAttribute{
					MarkdownDescription: "After cataloging an image, attach its syft-json SBOM to the image digest as an in-toto attestation of cosign's custom predicate type `https://cosign.sigstore.dev/attestation/v1` (the SBOM is the predicate's `Data`), signed with `signing_key`, so `cosign verify-attestation --key cosign.pub --type custom` accepts it. Best-effort: a registry that refuses the push produces a warning, never a failed gate. It never changes the image, its digest or its tags. Requires `signing_key`. Defaults to `false`.",
					Optional:            true,
				},
				"signing_key": schema.StringAttribute{
					MarkdownDescription: "The PEM private key that signs published SBOM attestations, and the verdicts of `imagegate_verdict` resources that set no `signing_key` of their own: cosign's encrypted key format (`cosign generate-key-pair`, with `signing_key_password`) or an unencrypted PKCS#8 key (ECDSA, Ed25519 or RSA). Provider configuration is never written to state, so this is where a key belongs with Terraform before 1.11, which has no write-only attributes. It is used in memory only and never written to state, plan output or logs.",
					Optional:            true,
					Sensitive:           true,
				},
				"signing_key_password": schema.StringAttribute{
					MarkdownDescription: "The password of an encrypted cosign `signing_key`. Leave it unset for a PKCS#8 key.",
					Optional:            true,
					Sensitive:           true,
				},
				"trusted_keys": schema.ListAttribute{
					MarkdownDescription: "The PEM public keys (such as the content of `cosign.pub`) whose SBOM attestations `use_sbom` trusts: ECDSA P-256/P-384/P-521, Ed25519, or RSA of at least 2048 bits. An attestation signed by any other key is ignored with a warning.",
					Optional:            true,
					ElementType:         types.StringType,
				},
			},
		},
	}
}

// ValidateConfig checks registry_attestations as soon as its values are
// known, so a bad key fails validate, not the first plan that scans.
func (p *imagegateProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var obj types.Object
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("registry_attestations"), &obj)...)
	if resp.Diagnostics.HasError() || obj.IsNull() || obj.IsUnknown() {
		return // unset, or known at plan time, when Configure checks it
	}
	var m registryAttestationsModel
	resp.Diagnostics.Append(obj.As(ctx, &m, basetypes.ObjectAsOptions{})...)
	if resp.Diagnostics.HasError() {
		return
	}
	checkAttestations(&m, &resp.Diagnostics)
}

// checkAttestations adds an attribute error for each problem of known
// values and returns the scanner setting and whether it is complete (every
// value known and valid).
func checkAttestations(m *registryAttestationsModel, diags *diag.Diagnostics) (scan.Attestations, bool) {
	root := path.Root("registry_attestations")
	a := scan.Attestations{UseSBOM: m.UseSBOM.ValueBool(), PublishSBOM: m.PublishSBOM.ValueBool()}
	complete := !m.UseSBOM.IsUnknown() && !m.PublishSBOM.IsUnknown() && !m.SigningKey.IsUnknown() && !m.SigningKeyPassword.IsUnknown()
	keysKnown := !m.TrustedKeys.IsUnknown()
	complete = complete && keysKnown
	for i, v := range m.TrustedKeys.Elements() {
		k, ok := v.(types.String)
		if !ok || k.IsUnknown() {
			keysKnown, complete = false, false
			continue
		}
		if k.IsNull() {
			diags.AddAttributeError(root.AtName("trusted_keys").AtListIndex(i), "Invalid Trusted Key",
				"trusted_keys cannot contain null: give each public key as PEM text, such as file(\"cosign.pub\").")
			continue
		}
		a.TrustedKeys = append(a.TrustedKeys, k.ValueString())
		for _, p := range (verify.Requirements{Keys: []string{k.ValueString()}}).Check() {
			diags.AddAttributeError(root.AtName("trusted_keys").AtListIndex(i), "Invalid Trusted Key",
				fmt.Sprintf("trusted_keys[%d] is not a usable public key: %s. Give the PEM public key the signer publishes, such as the content of cosign.pub.", i, p.Message))
		}
	}
	if a.UseSBOM && keysKnown && len(a.TrustedKeys) == 0 {
		diags.AddAttributeError(root.AtName("trusted_keys"), "Missing Trusted Keys",
			"use_sbom = true uses only SBOM attestations signed by a trusted key: set trusted_keys to the PEM public keys of the runners or build systems that publish them (for example [file(\"cosign.pub\")]).")
	}
	hasKey := !m.SigningKey.IsNull() && !m.SigningKey.IsUnknown()
	if a.PublishSBOM && m.SigningKey.IsNull() {
		diags.AddAttributeError(root.AtName("signing_key"), "Missing Signing Key",
			"publish_sbom = true signs each published SBOM: set signing_key to a PEM private key (cosign's encrypted format with signing_key_password, or PKCS#8).")
	}
	if !m.SigningKeyPassword.IsNull() && m.SigningKey.IsNull() {
		diags.AddAttributeError(root.AtName("signing_key_password"), "Password Without Signing Key",
			"signing_key_password is set but signing_key is not: set the encrypted cosign key it belongs to, or remove the password.")
	}
	if hasKey && !m.SigningKeyPassword.IsUnknown() {
		s, err := attest.LoadSigner([]byte(m.SigningKey.ValueString()), []byte(m.SigningKeyPassword.ValueString()))
		if err != nil {
			at := root.AtName("signing_key")
			if strings.Contains(err.Error(), "password") {
				at = root.AtName("signing_key_password")
			}
			// The error names what is wrong, never the key or the password.
			diags.AddAttributeError(at, "Invalid Signing Key", "registry_attestations.signing_key cannot be used: "+err.Error()+".")
		} else {
			a.Signer = s
		}
	}
	return a, complete && !diags.HasError()
}

// attestationOptions returns the scanner option of registry_attestations
// and its signing key, which also signs verdicts that bring no key.
func attestationOptions(m *registryAttestationsModel, diags *diag.Diagnostics) ([]scan.Option, *attest.Signer) {
	if m == nil {
		return nil, nil
	}
	var local diag.Diagnostics
	a, ok := checkAttestations(m, &local)
	// Warnings were given at validate time already.
	for _, d := range local.Errors() {
		diags.Append(d)
	}
	if !ok {
		return nil, nil
	}
	return []scan.Option{scan.WithAttestations(a)}, a.Signer
}
