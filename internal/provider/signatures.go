package provider

import (
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/registry"
	"github.com/imagegate/terraform-provider-imagegate/internal/verify"
)

// The descriptions of the signer requirements, shared by the
// imagegate_signatures data source and the policy's signatures rule.
const (
	descKeys = "PEM public keys of the signers (`-----BEGIN PUBLIC KEY-----`, as in the `cosign.pub` that `cosign generate-key-pair` writes, or a KMS key's exported public key): ECDSA on P-256, P-384 or P-521, Ed25519, or RSA of at least 2048 bits. " +
		"A key signature verifies against the key alone, offline: no transparency log entry and no `trusted_root` are needed. Keys are public data; nothing secret is read or stored."
	descIdentities = "Keyless signers (the Fulcio certificates `cosign sign` issues without a key): each names the certificate's OIDC issuer and its subject (the subject alternative name: an email address, or a URI such as a CI workflow's), exactly or by regular expression. " +
		"Keyless signatures need `trusted_root`, whose certificate authorities must have issued the certificate."
	descIssuer       = "The OIDC issuer, exactly, such as `https://token.actions.githubusercontent.com`. Set this or `issuer_regex`, not both."
	descIssuerRegex  = "A regular expression (RE2 syntax) the OIDC issuer must match as a whole: it is anchored at both ends, so `https://accounts\\.example\\.com` matches that issuer only. Set this or `issuer`, not both."
	descSubject      = "The certificate subject, exactly, such as `release@example.com` or `https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main`. Set this or `subject_regex`, not both."
	descSubjectRegex = "A regular expression (RE2 syntax) the certificate subject must match as a whole: it is anchored at both ends, so `https://github\\.com/acme/.*` matches every subject under that prefix and nothing that merely contains it. Set this or `subject`, not both."
	descTrustedRoot  = "The content of a sigstore `trusted_root.json` (for example `file(\"trusted_root.json\")`, as `cosign trusted-root create` writes it or the sigstore TUF repository serves it): the certificate authorities, transparency logs and timestamp authorities to trust. " +
		"Required with `identities`. Verification is offline: nothing else is fetched."
	descRequireDockerReference = "Whether each signature's signed payload must name the image's repository (`critical.identity.docker-reference`), so that a signature copied from another repository does not count. Defaults to false."
	descAnnotations            = "Annotations a signature must carry with exactly these values (`cosign sign -a key=value`) to count. They apply to signatures, not to attestations."
	descMinimum                = "How many distinct signers must have signed the digest; at least 1, the default. A key counts once however often it is listed or has signed, a keyless certificate once per issuer and subject."
	descPredicateType          = "The in-toto predicate type, compared exactly (no pattern, no trimming), such as `https://slsa.dev/provenance/v1` or `https://spdx.dev/Document`."
	descAttestationsRequired   = "In-toto attestations (as `cosign attest` attaches them) that must be present, each signed by one of the signers in `keys` or `identities`; an attestation by anyone else does not count."
)

// signerRequirementsModel holds the attributes the imagegate_signatures
// data source and the policy's signatures rule share (attestations differ:
// the data source reports on each).
type signerRequirementsModel struct {
	Keys                   []types.String          `tfsdk:"keys"`
	Identities             []signerIdentityModel   `tfsdk:"identities"`
	TrustedRoot            types.String            `tfsdk:"trusted_root"`
	RequireDockerReference types.Bool              `tfsdk:"require_docker_reference"`
	Annotations            map[string]types.String `tfsdk:"annotations"`
	Minimum                types.Int64             `tfsdk:"minimum"`
}

type signerIdentityModel struct {
	Issuer       types.String `tfsdk:"issuer"`
	Subject      types.String `tfsdk:"subject"`
	IssuerRegex  types.String `tfsdk:"issuer_regex"`
	SubjectRegex types.String `tfsdk:"subject_regex"`
}

// requirements converts the model and the required predicate types; ok is
// false when a value is not known yet.
func (m *signerRequirementsModel) requirements(predicateTypes []types.String) (r verify.Requirements, ok bool) {
	unknown := func(vs ...interface{ IsUnknown() bool }) bool {
		for _, v := range vs {
			if v.IsUnknown() {
				return true
			}
		}
		return false
	}
	if unknown(m.TrustedRoot, m.RequireDockerReference, m.Minimum) {
		return r, false
	}
	for _, k := range m.Keys {
		if k.IsUnknown() {
			return r, false
		}
		r.Keys = append(r.Keys, k.ValueString())
	}
	for _, id := range m.Identities {
		if unknown(id.Issuer, id.Subject, id.IssuerRegex, id.SubjectRegex) {
			return r, false
		}
		r.Identities = append(r.Identities, verify.Identity{Issuer: id.Issuer.ValueString(), Subject: id.Subject.ValueString(), IssuerRegex: id.IssuerRegex.ValueString(), SubjectRegex: id.SubjectRegex.ValueString()})
	}
	if len(m.Annotations) > 0 {
		r.Annotations = map[string]string{}
		for k, v := range m.Annotations {
			if v.IsUnknown() {
				return r, false
			}
			r.Annotations[k] = v.ValueString()
		}
	}
	for _, pt := range predicateTypes {
		if pt.IsUnknown() {
			return r, false
		}
		r.Attestations = append(r.Attestations, verify.Attestation{PredicateType: pt.ValueString()})
	}
	r.TrustedRoot = m.TrustedRoot.ValueString()
	r.RequireDockerReference = m.RequireDockerReference.ValueBool()
	// Null is the default, 1; below 1 is refused by the schema's validator.
	r.Minimum = int(m.Minimum.ValueInt64())
	return r, true
}

// fromRequirements fills the model from (normalised) requirements, for
// import.
func (m *signerRequirementsModel) fromRequirements(r verify.Requirements) {
	m.Keys = nil
	for _, k := range r.Keys {
		m.Keys = append(m.Keys, types.StringValue(k))
	}
	m.Identities = nil
	for _, id := range r.Identities {
		m.Identities = append(m.Identities, signerIdentityModel{Issuer: optionalString(id.Issuer), Subject: optionalString(id.Subject), IssuerRegex: optionalString(id.IssuerRegex), SubjectRegex: optionalString(id.SubjectRegex)})
	}
	m.TrustedRoot = optionalString(r.TrustedRoot)
	m.RequireDockerReference = types.BoolValue(r.RequireDockerReference)
	m.Annotations = nil
	if len(r.Annotations) > 0 {
		m.Annotations = map[string]types.String{}
		for k, v := range r.Annotations {
			m.Annotations[k] = types.StringValue(v)
		}
	}
	m.Minimum = types.Int64Value(int64(max(r.Minimum, 1)))
}

// requirementProblems reports each problem of signer requirements on the
// data source attribute at fault.
func requirementProblems(diags *diag.Diagnostics, problems []verify.Problem) {
	for _, pr := range problems {
		detail := pr.Message + "."
		if pr.Path != "" {
			detail = pr.Path + " " + pr.Message + "."
		}
		if p, ok := problemPath(pr.Path); ok {
			diags.AddAttributeError(p, "Invalid Signature Requirements", detail)
		} else {
			diags.AddError("Invalid Signature Requirements", detail)
		}
	}
}

// verifyError turns a failed verification (as opposed to a digest that is
// simply not signed) into diagnostics.
func verifyError(diags *diag.Diagnostics, ref string, err error) {
	if re, ok := errors.AsType[*verify.RequirementsError](err); ok {
		requirementProblems(diags, re.Problems)
		return
	}
	if le, ok := errors.AsType[*registry.LimitError](err); ok {
		diags.AddError("Image Exceeds Provider Limit", le.Error()+". Verification stopped there and nothing was judged: a verification that cannot finish is an error, never a pass.")
		return
	}
	if _, ok := errors.AsType[*registry.Error](err); ok {
		registryError(diags, err, path.Root("platform"))
		return
	}
	diags.AddError("Signature Verification Failed", fmt.Sprintf("The signatures of %s could not be verified: %v. Nothing was judged: a verification that cannot be carried out is an error, never a pass; check the registry and the signatures attached to the image.", ref, err))
}
