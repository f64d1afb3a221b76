# The policy as a data source: it depends on nothing pending, so Terraform
# reads it during every plan, and the gate below is evaluated by the first
# plan of this configuration and by every plan that changes the policy.
data "imagegate_policy_document" "production" {
  name = "production"
  vulnerabilities = {
    # "Severity greater than medium, stop."
    fail_on_severity = "high"
    ignore = [{
      id      = "CVE-2021-23337"
      reason  = "template() is never called with user input"
      expires = "2027-01-31"
    }]
  }
  user       = { require_non_root = true }
  base_image = { trusted = ["registry.example.com/base/*"] }
}

# Fails the plan when the image breaks the policy.
data "imagegate_gate" "app" {
  reference = "registry.example.com/team/app:1.4.2"
  policy    = data.imagegate_policy_document.production.document
}

# The policy's id, sha256 of its canonical document, for audit trails.
output "policy_id" {
  value = data.imagegate_policy_document.production.id
}
