# The imagegate demo: `make demo` starts a local registry, pushes the demo
# images, builds an offline vulnerability database, and runs this
# configuration with OpenTofu.
terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}

variable "registry" {
  type        = string
  description = "host:port of the local demo registry."
}

variable "db_archive" {
  type        = string
  description = "The offline vulnerability database archive."
}

variable "production_registry" {
  type        = string
  description = "host:port of the local demo production registry."
}

variable "cosign_public_key" {
  type        = string
  description = "Path of the cosign public key the demo signed web:1.0 with."
}

variable "enforce_unsigned" {
  type        = bool
  default     = false
  description = "Whether the unsigned web:1.1 image's gate fails the plan."
}

variable "enforce_legacy" {
  type        = bool
  default     = false
  description = "Whether the legacy image's gate fails the plan."
}

provider "imagegate" {
  # The demo registries speak plain HTTP on loopback, so they are allowed here
  # deliberately; any other plain-HTTP registry is refused.
  insecure_registries = [var.registry, var.production_registry]

  # Air-gapped: import the database archive, never download.
  vulnerability_db = {
    cache_dir   = "${path.root}/grype-db"
    archive     = var.db_archive
    auto_update = false
  }
  sbom_cache_dir = "${path.root}/sbom-cache"
}

data "imagegate_image" "web" {
  reference = "${var.registry}/demo/web:1.0"
}

data "imagegate_scan" "legacy" {
  reference = "${var.registry}/demo/legacy:latest"
}

# A data source, so every plan gates the images, the first one included.
data "imagegate_policy_document" "production" {
  name        = "production"
  description = "What may run in production."
  vulnerabilities = {
    fail_on_severity = "high"
  }
  user       = { require_non_root = true }
  base_image = { trusted = ["${var.registry}/demo/base/debian:12"] }
  registries = { trusted = [var.registry] }
  # Content trust: the digest (for web, the multi-platform index) must carry
  # a cosign signature by the release key.
  signatures = { keys = [file(var.cosign_public_key)] }
}

data "imagegate_signatures" "web" {
  reference = "${var.registry}/demo/web:1.0"
  keys      = [file(var.cosign_public_key)]
}

data "imagegate_signatures" "web_unsigned" {
  reference = "${var.registry}/demo/web:1.1"
  keys      = [file(var.cosign_public_key)]
}

data "imagegate_gate" "web" {
  reference = "${var.registry}/demo/web:1.0"
  policy    = data.imagegate_policy_document.production.document
}

data "imagegate_gate" "web_unsigned" {
  reference = "${var.registry}/demo/web:1.1"
  policy    = data.imagegate_policy_document.production.document
  enforce   = var.enforce_unsigned
}

data "imagegate_gate" "legacy" {
  reference = "${var.registry}/demo/legacy:latest"
  policy    = data.imagegate_policy_document.production.document
  enforce   = var.enforce_legacy
}

# The last step of the pipeline: the approved digest goes to production.
resource "imagegate_promotion" "web" {
  source      = "${var.registry}/demo/web:1.0"
  destination = "${var.production_registry}/demo/web:1.0"
  policy      = data.imagegate_policy_document.production.document
}

output "promotion" {
  value = {
    digest                = imagegate_promotion.web.digest
    destination_reference = imagegate_promotion.web.destination_reference
    compliant             = imagegate_promotion.web.compliant
  }
}

output "web_image" {
  value = {
    pinned_reference = data.imagegate_image.web.pinned_reference
    user             = data.imagegate_image.web.user
    base_image       = data.imagegate_image.web.base_image
    layers           = length(data.imagegate_image.web.layers)
  }
}

output "legacy_scan" {
  value = {
    severity_counts = data.imagegate_scan.legacy.severity_counts
    findings = [
      for v in data.imagegate_scan.legacy.vulnerabilities :
      "${v.id} ${v.package_name} ${v.package_version} ${v.severity}${v.cvss_score != null ? " (CVSS ${v.cvss_score})" : ""}"
    ]
  }
}

output "web_gate" {
  value = {
    passed             = data.imagegate_gate.web.passed
    approved_reference = data.imagegate_gate.web.approved_reference
  }
}

output "signatures" {
  value = {
    web = {
      verified = data.imagegate_signatures.web.verified
      signers  = [for s in data.imagegate_signatures.web.signers : "${s.key_id} (${s.format})"]
    }
    web_unsigned = {
      verified = data.imagegate_signatures.web_unsigned.verified
      failures = data.imagegate_signatures.web_unsigned.failures
    }
  }
}

output "web_unsigned_gate" {
  value = {
    passed     = data.imagegate_gate.web_unsigned.passed
    violations = [for v in data.imagegate_gate.web_unsigned.violations : "${v.rule}: ${v.message}"]
  }
}

output "legacy_gate" {
  value = {
    passed     = data.imagegate_gate.legacy.passed
    violations = [for v in data.imagegate_gate.legacy.violations : "${v.rule}: ${v.message}"]
  }
}
