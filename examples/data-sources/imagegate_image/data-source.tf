data "imagegate_image" "app" {
  reference = "registry.example.com/team/app:1.4.2"
  platform  = "linux/arm64"
}

# Deploy exactly what was read, pinned by digest.
output "app_image" {
  value = data.imagegate_image.app.pinned_reference
}

output "runs_as" {
  value = data.imagegate_image.app.user
}

# Every CIS image hygiene check with its defaults, without a policy: this
# pulls and scans the image, so it needs the vulnerability database.
data "imagegate_image" "app_checks" {
  reference      = "registry.example.com/team/app:1.4.2"
  include_checks = true
}

output "failed_checks" {
  value = { for c in data.imagegate_image.app_checks.checks : "${c.id} (CIS ${coalesce(c.cis, "-")})" => c.subjects if !c.passed }
}
