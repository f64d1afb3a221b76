resource "imagegate_policy" "production" {
  name        = "production"
  description = "What may run in production."

  vulnerabilities = {
    fail_on_severity = "high"
    max_cvss_score   = 9.0
    only_fixed       = false
    treat_unknown_as = "high" # a CVE not scored yet counts as high
    ignore = [{
      id      = "CVE-2021-23337"
      package = "lodash"
      reason  = "template() is never called with user input"
      expires = "2027-01-31"
    }]
    # OpenVEX or CycloneDX VEX: a statement applies when a product names the
    # image by digest (here registry.example.com/team/app:1.4.2), narrowed
    # to the packages its subcomponents' purls name.
    vex_documents = [file("${path.module}/vex/app.openvex.json")]
    # Exceptions the team already keeps for grype or Trivy (read at plan).
    # ignore_file = "${path.module}/.grype.yaml"
  }

  user = {
    require_non_root = true
  }

  base_image = {
    trusted = [
      # "*" matches within one path segment: cgr.dev/chainguard/static.
      "cgr.dev/chainguard/*",
      # "**" matches across segments: registry.example.com/golden/team/node.
      "registry.example.com/golden/**",
      # No tag: any manifest of the repository that the image's layers prove.
      "registry.example.com/base/debian",
      # A tag: only the manifest the tag names when the plan runs.
      "registry.example.com/base/alpine:3.20",
    ]
    require = true # the default: an image that proves no trusted base by its layers fails
  }

  registries = {
    trusted = ["registry.example.com"]
    action  = "warn"
  }

  signatures = {
    # The public half of the key the release pipeline signs with
    # (cosign sign --key): verified offline, no transparency log needed.
    keys = [<<-EOT
      -----BEGIN PUBLIC KEY-----
      MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpJiYwuKOSp1bK0nH13lgfi/vWgOZ
      lRXI8gdoWXvGAlMjkajRqOFCce1TfuEkK79AQXlxzJ/yMpZsQQbHlSxSaw==
      -----END PUBLIC KEY-----
    EOT
    ]
    annotations  = { pipeline = "release" } # cosign sign -a pipeline=release
    attestations = [{ predicate_type = "https://slsa.dev/provenance/v1" }]
    per_platform = true # each platform's manifest too, not only the index
  }

  # The CIS Docker Benchmark image hygiene checks (section 4); each
  # violation names its CIS id. Every check is off until set.
  checks = {
    action = "stop"
    actions = {
      max_age = "warn" # an old image is a warning, not a failed plan
    }
    denied_packages      = ["openssh-server", "sudo", "netcat*"] # CIS 4.3
    require_healthcheck  = true                                  # CIS 4.6
    forbid_update_alone  = true                                  # CIS 4.7
    forbid_setuid        = true                                  # CIS 4.8
    allowed_setuid_paths = ["/usr/bin/passwd"]
    forbid_add           = true    # CIS 4.9
    forbid_secrets       = true    # CIS 4.10
    max_age              = "2160h" # 90 days: rebuild to pick up patches (CIS 4.4)
    forbid_latest_tag    = true
    required_labels      = ["org.opencontainers.image.source", "org.opencontainers.image.revision"]
    account_anomalies    = true # a second UID-0 account, an empty password
  }
}
