package provider

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/imagegate/terraform-provider-imagegate/internal/gate"
	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
	"github.com/imagegate/terraform-provider-imagegate/internal/scan"
)

var _ datasource.DataSourceWithConfigure = &gateDataSource{}

// NewGateDataSource returns the imagegate_gate data source.
func NewGateDataSource() datasource.DataSource { return &gateDataSource{} }

type gateDataSource struct {
	data *providerData
}

type gateModel struct {
	Reference         types.String        `tfsdk:"reference"`
	Policy            types.String        `tfsdk:"policy"`
	Platform          types.String        `tfsdk:"platform"`
	Platforms         []string            `tfsdk:"platforms"`
	Scope             types.String        `tfsdk:"scope"`
	Enforce           types.Bool          `tfsdk:"enforce"`
	Passed            types.Bool          `tfsdk:"passed"`
	Digest            types.String        `tfsdk:"digest"`
	ApprovedReference types.String        `tfsdk:"approved_reference"`
	Violations        []violationModel    `tfsdk:"violations"`
	Suppressed        []suppressionModel  `tfsdk:"suppressed"`
	Warnings          []string            `tfsdk:"warnings"`
	SeverityCounts    map[string]int64    `tfsdk:"severity_counts"`
	PlatformResults   []gatePlatformModel `tfsdk:"platform_results"`
	DBBuilt           types.String        `tfsdk:"db_built"`
	Signatures        []signedDigestModel `tfsdk:"signatures"`
}

type signedDigestModel struct {
	Platform types.String `tfsdk:"platform"`
	Digest   string       `tfsdk:"digest"`
	Verified bool         `tfsdk:"verified"`
}

type violationModel struct {
	Platform types.String `tfsdk:"platform"`
	Rule     string       `tfsdk:"rule"`
	CIS      types.String `tfsdk:"cis"`
	Action   string       `tfsdk:"action"`
	Subject  string       `tfsdk:"subject"`
	Message  string       `tfsdk:"message"`
	New      bool         `tfsdk:"new"`
}

// newDescription documents the new flag of findings and violations.
const newDescription = "Whether the finding was not among the findings of this digest's first scan: the vulnerability database learned of it later (a CVE published after the image was first scanned). The first scan of a digest is recorded with its cached SBOM, so this stays true until the image is rebuilt; false for violations of other rules. Use it in a `check` block or an output to call out new findings."

type suppressionModel struct {
	Platform types.String `tfsdk:"platform"`
	Subject  string       `tfsdk:"subject"`
	Source   string       `tfsdk:"source"`
	Reason   string       `tfsdk:"reason"`
}

type gatePlatformModel struct {
	Platform       types.String     `tfsdk:"platform"`
	Digest         string           `tfsdk:"digest"`
	Passed         bool             `tfsdk:"passed"`
	SeverityCounts map[string]int64 `tfsdk:"severity_counts"`
}

// maxListed caps the violations spelled out in a diagnostic.
const maxListed = 10

func (d *gateDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_gate"
}

func (d *gateDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Evaluates an image against a policy at plan time. Every platform of a multi-platform index is gated (or those `platforms` selects), since a node of any architecture may pull it. With `enforce = true` (the default) an image that breaks a `stop` rule fails the plan with a message naming the image, its digest and each violation, grouped by platform. `approved_reference` is set only when the gate passed, so infrastructure that references it can only ever get an approved digest.",
		Attributes: map[string]schema.Attribute{
			"reference": referenceAttribute(),
			"policy": schema.StringAttribute{
				MarkdownDescription: "The policy document: the `document` of an `imagegate_policy`, or the same JSON from a file (`file(\"policy.json\")`).",
				Required:            true,
				Validators:          []validator.String{policyDocumentSyntax},
			},
			"platform":  deprecatedPlatformAttribute(),
			"platforms": platformsAttribute("gate"),
			"scope": schema.StringAttribute{
				MarkdownDescription: "Which files the scan catalogs: `squashed` (the default) or `all-layers`, as in `imagegate_scan`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(string(scan.Squashed), string(scan.AllLayers))},
			},
			"enforce": schema.BoolAttribute{
				MarkdownDescription: "Whether a failed gate is an error that fails the plan. Defaults to true. With false, the result is only reported (`passed = false`), for `check` blocks and `precondition`s of your own.",
				Optional:            true,
			},
			"passed": schema.BoolAttribute{
				MarkdownDescription: "Whether the image passed: no `stop` violation.",
				Computed:            true,
			},
			"digest":             computedString("The digest the reference resolved to: the multi-platform index, or the single image manifest."),
			"approved_reference": computedString("The image pinned by digest, `registry/repository@sha256:…`, set only when the gate passed; null otherwise. For a multi-platform index it is the index digest when every platform was gated and passed; when `platforms` narrows the set it is the one platform's manifest digest if exactly one platform was selected, and null (with a warning saying why) otherwise, since no single digest covers exactly the platforms gated."),
			"violations": schema.ListNestedAttribute{
				MarkdownDescription: "Every violation, `stop` and `warn`, most important first: `stop` before `warn`; then violations of the rules that judge the image as a whole (`user`, `base_image`, `signatures`, `registries`, `checks.*`, `policy`) before vulnerability findings; findings by severity (critical first), then CVSS score (higher first), then id; ties broken by platform, rule, subject and message. A failed gate's error shows the first 10; set `enforce = false` to read them all here.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"platform": computedString("The platform (`os/arch[/variant]`) of the image the violation was found in, or null when the reference names a single image."),
					"rule":     computedString("The rule broken: `vulnerabilities`, `user`, `base_image`, `registries`, `signatures`, `policy`, or `checks.<check id>` for a hygiene check (`checks.forbid_setuid`)."),
					"cis":      computedString("The CIS Docker Benchmark item the rule or check implements (`4.1` for `user`, `4.8` for `checks.forbid_setuid`), or null when no CIS item covers it (`registries`, `checks.forbid_latest_tag`, `checks.required_labels`, `checks.account_anomalies`)."),
					"action":   computedString("`stop` (fails the gate) or `warn` (reported only)."),
					"subject":  computedString("What broke the rule: a vulnerability and package, the user, the base image, the repository, the signer, attestation or minimum the signatures rule expected (`key sha256:…`, `identity issuer=… subject=…`, `attestation <predicate type>`), or what failed a hygiene check: a package (`sudo@1.9.13`), a path, a variable (`env DB_PASSWORD`), a build step (`history[2]`), a label, an account (`account toor`), `HEALTHCHECK` or `created`. Never a secret value."),
					"message":  computedString("A readable explanation, with the installed and fixed versions, severity and CVSS for vulnerabilities."),
					"new":      schema.BoolAttribute{MarkdownDescription: newDescription, Computed: true},
				}},
			},
			"suppressed": schema.ListNestedAttribute{
				MarkdownDescription: "Findings that would have failed the vulnerabilities rule but were waived, with the exception or OpenVEX statement that waived them: the audit trail of every exception in use.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"platform": computedString("The platform of the image the finding is in, as in `violations`."),
					"subject":  computedString("The vulnerability and package, as in `violations`."),
					"source":   computedString("`ignore` (an entry of `vulnerabilities.ignore`) or `vex` (an OpenVEX statement)."),
					"reason":   computedString("Which entry or statement waived it, and its reason."),
				}},
			},
			"warnings": computedStrings("Warn-level violations, how many findings were left unevaluated because their severity is unknown (or, with the policy's `treat_unknown_as`, the severity they were judged as), and scan warnings, as readable messages."),
			"severity_counts": schema.MapAttribute{
				MarkdownDescription: "How many findings the scans have of each severity, before exceptions, summed over the platforms gated (`platform_results` has each platform's).",
				Computed:            true,
				ElementType:         types.Int64Type,
			},
			"platform_results": schema.ListNestedAttribute{
				MarkdownDescription: "One result per image gated, sorted by platform: a single image has one, an index one per platform.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"platform": computedString("The platform, `os/arch[/variant]`, or null when the reference names a single image."),
					"digest":   computedString("The digest of the platform's image manifest."),
					"passed":   schema.BoolAttribute{MarkdownDescription: "Whether this platform's image passed: no `stop` violation.", Computed: true},
					"severity_counts": schema.MapAttribute{
						MarkdownDescription: "How many findings this platform's scan has of each severity, before exceptions.",
						Computed:            true,
						ElementType:         types.Int64Type,
					},
				}},
			},
			"db_built": computedString("When the vulnerability database used was built, in RFC 3339 form."),
			"signatures": schema.ListNestedAttribute{
				MarkdownDescription: "The verifications the policy's `signatures` rule made: the digest the reference resolved to first, then, with `per_platform`, each platform's manifest. Empty when the policy has no `signatures` rule. Why one did not verify is in `violations`.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"platform": computedString("The platform whose manifest was verified, or null for the digest the reference resolved to (the index, or the single image)."),
					"digest":   computedString("The digest verified, `sha256:…`."),
					"verified": schema.BoolAttribute{MarkdownDescription: "Whether the digest met the rule's signers, minimum and attestations.", Computed: true},
				}},
			},
		},
	}
}

func (d *gateDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *gateDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = logged(ctx, d.data)
	var m gateModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// The same validator as the imagegate_policy resource.
	pol, err := policy.Parse([]byte(m.Policy.ValueString()))
	if err != nil {
		invalidPolicyArgument(&resp.Diagnostics, path.Root("policy"), err)
		return
	}
	res, err := d.data.gate.Evaluate(ctx, gate.Request{
		Reference: m.Reference.ValueString(),
		Platforms: selectedPlatforms(m.Platform, m.Platforms),
		Scope:     scan.Scope(m.Scope.ValueString()),
		Policy:    pol,
	})
	if err != nil {
		scanError(&resp.Diagnostics, m.Reference.ValueString(), err, platformsPath(m.Platform))
		return
	}
	m.fill(res)
	enforce := m.Enforce.IsNull() || m.Enforce.ValueBool()
	report(&resp.Diagnostics, path.Root("reference"), m.Reference.ValueString(), pol, res, enforce, d.data.enforcement)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (m *gateModel) fill(res *gate.Result) {
	d := res.Decision
	m.Passed = types.BoolValue(d.Passed)
	m.Digest = types.StringValue(res.Digest)
	m.ApprovedReference = optionalString(res.ApprovedReference)
	m.Violations = make([]violationModel, len(d.Violations))
	m.Suppressed = make([]suppressionModel, len(d.Suppressed))
	for i, sp := range d.Suppressed {
		m.Suppressed[i] = suppressionModel{Platform: optionalString(sp.Platform), Subject: sp.Subject, Source: sp.Source, Reason: sp.Reason}
	}
	m.Warnings = []string{}
	for i, v := range d.Violations {
		m.Violations[i] = violationModel{Platform: optionalString(v.Platform), Rule: v.Rule, CIS: optionalString(v.CIS), Action: v.Action, Subject: v.Subject, Message: v.Message, New: v.Finding.New}
		if v.Action == policy.ActionWarn {
			m.Warnings = append(m.Warnings, v.Rule+": "+onPlatform(v.Platform, res)+violationMessage(v))
		}
	}
	if w := unknownSeverityWarning(d); w != "" {
		m.Warnings = append(m.Warnings, policy.RuleVulnerabilities+": "+w)
	}
	for _, w := range d.ExceptionWarnings {
		m.Warnings = append(m.Warnings, policy.RuleVulnerabilities+": "+w.Message)
	}
	m.Warnings = append(m.Warnings, uniqueWarnings(res.Scans()...)...)
	m.Warnings = append(m.Warnings, res.Warnings...)
	m.SeverityCounts = map[string]int64{}
	m.PlatformResults = make([]gatePlatformModel, len(res.Platforms))
	for i, p := range res.Platforms {
		counts := map[string]int64{}
		for k, n := range p.Scan.SeverityCounts {
			counts[k] = int64(n)
			m.SeverityCounts[k] += int64(n)
		}
		m.PlatformResults[i] = gatePlatformModel{Platform: optionalString(p.Platform), Digest: p.Image.Digest, Passed: p.Decision.Passed, SeverityCounts: counts}
	}
	m.DBBuilt = types.StringValue(res.Platforms[0].Scan.DB.Built.UTC().Format(time.RFC3339))
	m.Signatures = make([]signedDigestModel, 0, len(res.Signatures))
	for _, c := range res.Signatures {
		if c.Result != nil {
			m.Signatures = append(m.Signatures, signedDigestModel{Platform: optionalString(c.Platform), Digest: c.Result.Digest, Verified: c.Result.Verified})
		}
	}
}

// onPlatform prefixes a message with its platform when the reference names
// an index.
func onPlatform(platform string, res *gate.Result) string {
	if !res.Index {
		return ""
	}
	return platform + ": "
}

// report turns the decision into diagnostics: an error for a failed,
// enforced gate; warnings for warn-level violations, for scan warnings, and
// for a failed gate whose enforcement was switched off provider-wide.
func report(diags *diag.Diagnostics, at path.Path, ref string, pol *policy.Policy, res *gate.Result, enforce bool, e enforcement) {
	reportMore(diags, at, ref, pol, res, enforce, e, gateMore)
}

// gateBeforeWrite gates the image a resource is about to write for (a
// promotion's copy, a verdict), always enforcing, and reports like
// imagegate_gate: ref names the image in the messages, at and platformsAt
// are the attributes a problem is reported on, more is the hint for the
// violations the messages leave out. It returns nil when nothing may be
// written, with the reasons in diags.
func (d *providerData) gateBeforeWrite(ctx context.Context, req gate.Request, ref string, at, platformsAt path.Path, more string, diags *diag.Diagnostics) *gate.Result {
	res, err := d.gate.Evaluate(ctx, req)
	if err != nil {
		scanErrorAt(diags, req.Reference, err, at, platformsAt)
		return nil
	}
	reportMore(diags, at, ref, req.Policy, res, true, enforcement{on: true}, more)
	if diags.HasError() {
		return nil
	}
	return res
}

// reportMore is report with its own hint for the violations the messages
// leave out.
func reportMore(diags *diag.Diagnostics, at path.Path, ref string, pol *policy.Policy, res *gate.Result, enforce bool, e enforcement, more string) {
	var stops, warns []policy.Violation
	for _, v := range res.Decision.Violations {
		if v.Action == policy.ActionWarn {
			warns = append(warns, v)
		} else {
			stops = append(stops, v)
		}
	}
	subject := fmt.Sprintf("%s (%s)", ref, res.Digest)
	warnMore := more
	if res.Decision.Passed || !enforce || !e.on {
		// The run goes on, so the violations attribute is written.
		warnMore = "the violations attribute lists all of them"
	}
	if len(warns) > 0 {
		diags.AddWarning("Image Policy Warnings", fmt.Sprintf("%s has %s of policy %q that do not fail the gate:\n%s", subject, plural(len(warns), "warning"), pol.Name, listViolationsMore(warns, res, warnMore)))
	}
	scanWarnings(diags, res.Scans()...)
	for _, w := range res.Warnings {
		diags.AddWarning("Image Gate Warning", w)
	}
	if w := unknownSeverityWarning(res.Decision); w != "" {
		diags.AddWarning("Findings of Unknown Severity", fmt.Sprintf("%s: %s", subject, w))
	}
	exceptionWarnings(diags, subject, pol, res.Decision.ExceptionWarnings)
	if res.Decision.Passed || !enforce {
		return
	}
	detail := fmt.Sprintf("%s fails policy %q with %s:\n%s\n\n%s", subject, pol.Name, plural(len(stops), "violation"), listViolationsMore(stops, res, more), remedy(stops))
	if !e.on {
		diags.AddWarning("Image Policy Gate Not Enforced", detail+"\n\nEnforcement is switched off by "+e.source+", so this run goes on. Switch it back on as soon as the emergency is over.")
		return
	}
	diags.AddAttributeError(at, "Image Failed Policy Gate", detail)
}

// unknownSeverityWarning says how many findings the decision could not
// judge by severity, or how they were judged; "" when there were none.
func unknownSeverityWarning(d policy.Decision) string {
	n := d.UnknownSeverity
	if n == 0 {
		return ""
	}
	were := "were"
	if n == 1 {
		were = "was"
	}
	if d.UnknownTreatedAs != "" {
		return fmt.Sprintf("%s of unknown severity %s evaluated as %s, as the policy's vulnerabilities.treat_unknown_as says.", plural(n, "finding"), were, d.UnknownTreatedAs)
	}
	return fmt.Sprintf("%s of unknown severity %s left unevaluated: the vulnerability database gives no severity for such a finding or its aliases (CVE, GHSA) and has no CVSS score to compare, so neither fail_on_severity nor max_cvss_score can count it. Set the policy's vulnerabilities.treat_unknown_as to judge such findings as a severity.", plural(n, "finding"), were)
}

// gateMore says how to see every violation of a gate.
const gateMore = "set enforce = false on the imagegate_gate to write all of them to its violations attribute"

// listViolations lists violations readably with the gate's hint for
// those left out.
func listViolations(vs []policy.Violation, res *gate.Result) string {
	return listViolationsMore(vs, res, gateMore)
}

// listViolationsMore lists the first maxListed violations (vs is sorted
// by importance, so they are the ones to fix first), grouped under their
// platform (with its manifest digest) when the reference names an index,
// and then says how many more there are and how to see them: more.
func listViolationsMore(vs []policy.Violation, res *gate.Result, more string) string {
	digests := map[string]string{}
	for _, p := range res.Platforms {
		digests[p.Platform] = p.Image.Digest
	}
	shown := vs[:min(len(vs), maxListed)]
	if res.Index {
		// The most important first, shown under one heading per platform.
		shown = slices.Clone(shown)
		slices.SortStableFunc(shown, func(a, b policy.Violation) int { return cmp.Compare(a.Platform, b.Platform) })
	}
	var b strings.Builder
	for i, v := range shown {
		if res.Index && (i == 0 || v.Platform != shown[i-1].Platform) {
			if v.Platform == "" { // the index itself, as the signatures rule verifies it
				fmt.Fprintf(&b, "index (%s):\n", res.Digest)
			} else {
				fmt.Fprintf(&b, "%s (%s):\n", v.Platform, digests[v.Platform])
			}
		}
		fmt.Fprintf(&b, "  - %s: %s\n", ruleWithCIS(v), violationMessage(v))
	}
	if n := len(vs) - len(shown); n > 0 {
		fmt.Fprintf(&b, "  ... and %d more; %s\n", n, more)
	}
	return strings.TrimRight(b.String(), "\n")
}

// ruleWithCIS is a violation's rule with its CIS id, as in
// "checks.forbid_setuid (CIS 4.8)".
func ruleWithCIS(v policy.Violation) string {
	if v.CIS == "" {
		return v.Rule
	}
	return fmt.Sprintf("%s (CIS %s)", v.Rule, v.CIS)
}

// violationMessage is a violation's message, prefixed for a signatures
// violation by the signer, attestation or minimum it expected, which the
// message alone does not name.
func violationMessage(v policy.Violation) string {
	if v.Rule == policy.RuleSignatures && v.Subject != "" && v.Subject != policy.RuleSignatures {
		return v.Subject + ": " + v.Message
	}
	return v.Message
}

// remedy says how to fix or except what failed.
func remedy(vs []policy.Violation) string {
	rules := map[string]bool{}
	for _, v := range vs {
		rules[v.Rule] = true
	}
	var steps []string
	if rules[policy.RuleVulnerabilities] {
		steps = append(steps, "upgrade the packages named above to a fixed version (or rebuild on a patched base image), or, if a finding does not apply, add an exception to the policy's vulnerabilities.ignore with the id, a reason and an expiry date")
	}
	if rules[policy.RuleUser] {
		steps = append(steps, "set a non-root USER in the image (a UID, or a user that exists in its /etc/passwd)")
	}
	if rules[policy.RuleBaseImage] {
		steps = append(steps, "build the image on a base listed in base_image.trusted, with accurate org.opencontainers.image.base.* annotations")
	}
	if rules[policy.RuleRegistries] {
		steps = append(steps, "pull the image from a registry listed in registries.trusted")
	}
	if rules[policy.RuleSignatures] {
		steps = append(steps, "sign the digest named above with a signer listed in signatures (cosign sign, and cosign attest for the attestations), or correct the rule's keys, identities and trusted_root; the imagegate_signatures data source shows what verifies")
	}
	for rule := range rules {
		if strings.HasPrefix(rule, policy.RuleChecks+".") {
			steps = append(steps, "fix what each hygiene check above names, as its message says, or, where a check does not apply, relax it in the policy's checks (allowed_setuid_paths for a deliberate setuid file, or actions to make a check warn)")
			break
		}
	}
	if rules[policy.RulePolicy] {
		steps = append(steps, "fix the policy document")
	}
	return "To pass: " + strings.Join(steps, "; ") + "."
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
