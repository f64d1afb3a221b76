data "imagegate_policy_document" "production" {
  name = "production"
  vulnerabilities = {
    # "Severity greater than medium, stop."
    fail_on_severity = "high"
  }
  user = { require_non_root = true }
}

# Fails the plan when the image breaks the policy. The policy is a data
# source, so the gate runs in every plan, the first one included.
data "imagegate_gate" "app" {
  reference = "registry.example.com/team/app:1.4.2"
  policy    = data.imagegate_policy_document.production.document
}

# Only an approved digest ever reaches the deployment.
output "image" {
  value = data.imagegate_gate.app.approved_reference
}
