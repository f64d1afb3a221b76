resource "imagegate_policy" "production" {
  name        = "production"
  description = "What may run in production."

  vulnerabilities = {
    fail_on_severity = "high"
    max_cvss_score   = 9.0
    only_fixed       = false
    treat_unknown_as = "high" # a CVE not scored yet counts as high
    ignore = [{
      id      = "CVE-2021-23337"
      package = "lodash"
      reason  = "template() is never called with user input"
      expires = "2027-01-31"
    }]
    vex_documents = [file("${path.module}/vex/app.openvex.json")]
  }

  user = {
    require_non_root = true
  }

  base_image = {
    trusted = ["cgr.dev/chainguard/*", "registry.example.com/base/debian:12"]
    require = true
  }

  registries = {
    trusted = ["registry.example.com"]
    action  = "warn"
  }
}
