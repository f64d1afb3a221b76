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
