# A gate that reports instead of failing: with enforce = false the data source
# never errors, and a check block turns the result into a warning. (A data
# source that fails inside a check block only warns too.)
data "imagegate_policy_document" "baseline" {
  name            = "baseline"
  vulnerabilities = { fail_on_severity = "critical" }
}

check "image_policy" {
  data "imagegate_gate" "app" {
    reference = "registry.example.com/team/app:1.4.2"
    policy    = data.imagegate_policy_document.baseline.document
    enforce   = false
  }

  assert {
    condition     = data.imagegate_gate.app.passed
    error_message = "app breaks the baseline policy: ${join("; ", [for v in data.imagegate_gate.app.violations : v.message])}"
  }
}
