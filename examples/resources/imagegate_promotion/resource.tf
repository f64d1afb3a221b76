resource "imagegate_policy" "production" {
  name            = "production"
  vulnerabilities = { fail_on_severity = "high" }
  user            = { require_non_root = true }
}

# Copies the digest that staging/app:1.4.2 names now to production, only if
# it passes the policy (the plan already fails if it does not). The tag is
# written last, after every blob, platform manifest and signature.
resource "imagegate_promotion" "app" {
  source      = "staging.example.com/team/app:1.4.2"
  destination = "registry.example.com/team/app:1.4.2"
  policy      = imagegate_policy.production.document

  # Destroying the promotion deletes the production tag.
  keep_on_destroy = false

  timeouts = {
    create = "20m"
  }
}

# Deploy the promoted digest, never the staging tag.
output "image" {
  value = imagegate_promotion.app.destination_reference
}

# False when a vulnerability published after the promotion breaks the policy.
output "compliant" {
  value = imagegate_promotion.app.compliant
}
