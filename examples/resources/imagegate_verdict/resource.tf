variable "cosign_key" {
  description = "The private key that signs verdicts, in PEM: the contents of cosign.key (cosign generate-key-pair), for example from a secret store."
  type        = string
  sensitive   = true
}

variable "cosign_password" {
  description = "The password of cosign.key (cosign generate-key-pair)."
  type        = string
  sensitive   = true
}

# The key that signs verdicts. Provider configuration is never stored in
# state, and this works with every Terraform and OpenTofu version. With
# Terraform or OpenTofu 1.11 or later, imagegate_verdict's write-only
# signing_key and signing_key_password can carry a key of its own instead.
provider "imagegate" {
  registry_attestations = {
    signing_key          = var.cosign_key
    signing_key_password = var.cosign_password
  }
}

resource "imagegate_policy" "production" {
  name            = "production"
  vulnerabilities = { fail_on_severity = "high" }
  user            = { require_non_root = true }
}

# Gates the digest that app:1.4.2 names now (the plan fails if it does not
# pass) and, on apply, attaches the decision to that digest as an in-toto
# attestation of type https://imagegate.dev/verdict/v1, signed with
# the provider's key. An admission controller then admits only digests that carry a
# verdict of this policy (see the admission guide).
resource "imagegate_verdict" "app" {
  reference = "registry.example.com/team/app:1.4.2"
  policy    = imagegate_policy.production.document

  timeouts = {
    create = "20m"
  }
}

# Deploy the digest the verdict is on, never the tag.
output "image" {
  value = imagegate_verdict.app.id
}

# What the admission rule requires: predicate.policy.id equal to this.
output "policy_id" {
  value = imagegate_verdict.app.policy_id
}

# The key the admission controller verifies the verdict with (cosign.pub).
output "verdict_public_key" {
  value = imagegate_verdict.app.public_key
}
