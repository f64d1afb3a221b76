data "imagegate_scan" "app" {
  reference = "registry.example.com/team/app:1.4.2"

  # Also catalog packages added in one layer and deleted in a later one.
  scope = "all-layers"

  # Keep an SBOM next to the deployment (cached per digest, stable between plans).
  sbom_format = "cyclonedx-json"
}

output "critical_findings" {
  value = [
    for v in data.imagegate_scan.app.vulnerabilities :
    "${v.id} ${v.package_name} ${v.package_version} (fixed in ${join(", ", coalesce(v.fixed_in_versions, []))})"
    if v.severity == "critical"
  ]
}

output "severity_counts" {
  value = data.imagegate_scan.app.severity_counts
}
