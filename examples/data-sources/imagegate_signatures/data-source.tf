# What verifies on an image: verified = false is data, not an error.
data "imagegate_signatures" "app" {
  reference = "registry.example.com/team/app:1.4.2"

  # Signed with `cosign sign --key cosign.key`: verified offline against
  # the public key, with no transparency log needed.
  keys = [<<-EOT
    -----BEGIN PUBLIC KEY-----
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpJiYwuKOSp1bK0nH13lgfi/vWgOZ
    lRXI8gdoWXvGAlMjkajRqOFCce1TfuEkK79AQXlxzJ/yMpZsQQbHlSxSaw==
    -----END PUBLIC KEY-----
  EOT
  ]

  # Or signed keyless in CI: the certificate's issuer and subject, checked
  # against the certificate authorities of a sigstore trusted_root.json
  # (here the public sigstore instance's, from its TUF repository: keep it
  # current, as `cosign initialize` does).
  identities = [{
    issuer        = "https://token.actions.githubusercontent.com"
    subject_regex = "https://github\\.com/acme/app/\\.github/workflows/.*"
  }]
  trusted_root = file("${path.module}/trusted_root.json")

  # Each signed by one of the signers above.
  attestations = [{ predicate_type = "https://slsa.dev/provenance/v1" }]
}

output "signed" {
  value = data.imagegate_signatures.app.verified
}

# Why not, when it is not.
output "signature_failures" {
  value = data.imagegate_signatures.app.failures
}
