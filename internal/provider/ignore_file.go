package provider

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/imagegate/terraform-provider-imagegate/internal/policy"
)

// maxIgnoreFileSize bounds the ignore file read at plan time: exception
// lists are small, and a path pointing at something else should fail fast.
const maxIgnoreFileSize = 4 << 20

// loadIgnoreFile reads the vulnerabilities rule's ignore_file, if any, and
// puts its rules into the policy (so the document carries them, and a
// changed file is a diff in the plan). It reports false, with an error on
// the attribute, when the file cannot be read or parsed.
func loadIgnoreFile(p *policy.Policy, diags *diag.Diagnostics) bool {
	r := p.Vulnerabilities
	if r == nil || r.IgnoreFile == "" {
		return true
	}
	at := path.Root("vulnerabilities").AtName("ignore_file")
	name := r.IgnoreFile
	fi, err := os.Stat(name)
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file")
	}
	if err == nil && fi.Size() > maxIgnoreFileSize {
		err = fmt.Errorf("%d bytes, more than the %d an ignore file may have", fi.Size(), maxIgnoreFileSize)
	}
	var content []byte
	if err == nil {
		content, err = os.ReadFile(name)
	}
	if err != nil {
		wd, _ := os.Getwd()
		diags.AddAttributeError(at, "Ignore File Not Readable",
			fmt.Sprintf("The ignore file %q could not be read (relative paths are taken from %s): %v. Give the path of a .grype.yaml or .trivyignore.yaml, for example \"${path.module}/.grype.yaml\".", name, wd, err))
		return false
	}
	rules, err := policy.ParseIgnoreFile(name, content)
	if err != nil {
		diags.AddAttributeError(at, "Invalid Ignore File", fmt.Sprintf("%s. Correct the rule, or write it as an entry of vulnerabilities.ignore if it needs a field only grype or Trivy has.", capitalize(err.Error())))
		return false
	}
	r.IgnoreFileRules = rules
	return true
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// exceptionWarnings reports, in one warning, the policy's exceptions that
// no finding used, that expire soon, or that have expired.
func exceptionWarnings(diags *diag.Diagnostics, subject string, pol *policy.Policy, ws []policy.ExceptionWarning) {
	if len(ws) == 0 {
		return
	}
	var b strings.Builder
	for _, w := range ws {
		b.WriteString("\n  - ")
		b.WriteString(w.Message)
	}
	diags.AddWarning("Policy Exceptions Need Attention",
		fmt.Sprintf("%s, policy %q, %s:%s", subject, pol.Name, plural(len(ws), "exception warning"), b.String()))
}
