# The organisation's image policy, defined once. Every service gates its
# images against the same document; a change to it is one reviewed diff.
# It is a data source, read during every plan, so the services' gates run
# in the first plan and in every plan that changes the policy (an
# imagegate_policy resource here would defer them to apply while its
# creation or change is pending).
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

data "imagegate_policy_document" "this" {
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
  value       = data.imagegate_policy_document.this.document
}
