# The imagegate demo: run it with `make demo`, which starts a local registry,
# pushes the demo images and runs this configuration with OpenTofu.
terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}

variable "registry" {
  type        = string
  description = "host:port of the local demo registry."
}

provider "imagegate" {
  # The demo registry speaks plain HTTP on loopback, so it is allowed here
  # deliberately; any other plain-HTTP registry is refused.
  insecure_registries = [var.registry]
}

data "imagegate_image" "web" {
  reference = "${var.registry}/demo/web:1.0"
}

data "imagegate_image" "web_arm" {
  reference = "${var.registry}/demo/web:1.0"
  platform  = "linux/arm64"
}

data "imagegate_image" "legacy" {
  reference = "${var.registry}/demo/legacy:latest"
}

output "web" {
  value = {
    pinned_reference = data.imagegate_image.web.pinned_reference
    index_digest     = data.imagegate_image.web.index_digest
    user             = data.imagegate_image.web.user
    exposed_ports    = data.imagegate_image.web.exposed_ports
    env_names        = data.imagegate_image.web.env_names
    layers           = length(data.imagegate_image.web.layers)
    size             = data.imagegate_image.web.size
  }
}

output "web_arm64_digest" {
  value = data.imagegate_image.web_arm.digest
}

output "legacy_user" {
  value = data.imagegate_image.legacy.user == "" ? "root (no USER set)" : data.imagegate_image.legacy.user
}
