resource "imagegate_policy" "production" {
  name = "production"
  vulnerabilities = {
    # "Severity greater than medium, stop."
    fail_on_severity = "high"
  }
  user = { require_non_root = true }
}

# Fails the plan when the image breaks the policy.
data "imagegate_gate" "app" {
  reference = "registry.example.com/team/app:1.4.2"
  policy    = imagegate_policy.production.document
}

# Only an approved digest ever reaches the deployment.
output "image" {
  value = data.imagegate_gate.app.approved_reference
}
