# The organisation's image policy, defined once. Every service gates its
# images against the same document; a change to it is one reviewed diff.
terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}

variable "exceptions" {
  description = "Time-limited vulnerability exceptions, each with a reason."
  type = list(object({
    id      = string
    package = optional(string)
    reason  = string
    expires = optional(string)
  }))
  default = []
}

resource "imagegate_policy" "this" {
  name = "org-production"
  vulnerabilities = {
    fail_on_severity = "high"
    ignore           = var.exceptions
  }
  user       = { require_non_root = true }
  base_image = { trusted = ["registry.example.com/base/*"] }
}

output "document" {
  description = "The policy document, for imagegate_gate.policy."
  value       = imagegate_policy.this.document
}
