provider "imagegate" {
  # imagegate_image reads this platform of multi-platform indexes (scans and
  # gates cover every platform unless they set platforms).
  platform = "linux/amd64"

  # Credentials for private registries; everything else uses the Docker
  # config file and its credential helpers.
  registry_auth = [{
    address  = "registry.example.com"
    username = "ci"
    password = var.registry_password
  }]

  # Plain HTTP is refused unless a registry is listed here deliberately.
  insecure_registries = ["localhost:5000"]

  max_retries     = 3
  request_timeout = "60s"

  # grype's database, shared with the grype CLI; refused when older than max_age.
  vulnerability_db = {
    auto_update = true
    max_age     = "120h"
  }

  # Failed gates fail the run; IMAGEGATE_ENFORCE=false switches this off for one run.
  enforce = true
}

variable "registry_password" {
  type      = string
  sensitive = true
}
