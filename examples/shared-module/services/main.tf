terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}

module "image_policy" {
  source = "../modules/image-policy"
  exceptions = [{
    id      = "CVE-2021-23337"
    reason  = "lodash template() is not reachable in billing"
    expires = "2027-01-31"
  }]
}

locals {
  services = {
    billing  = "registry.example.com/team/billing:2.3.0"
    checkout = "registry.example.com/team/checkout:5.1.4"
  }
}

# One gate per service; the plan fails if any image breaks the policy.
data "imagegate_gate" "service" {
  for_each  = local.services
  reference = each.value
  policy    = module.image_policy.document
}

output "approved" {
  value = { for name, g in data.imagegate_gate.service : name => g.approved_reference }
}
