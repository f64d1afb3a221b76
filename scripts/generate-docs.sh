#!/usr/bin/env bash
# Generates docs/ with tfplugindocs from the provider's own schema, read by
# the Terraform CLI built in .tools (tfplugindocs never downloads one).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

go build -o "$work/plugins/terraform-provider-imagegate" "$root"
"$root/scripts/dev-overrides.sh" "$work/plugins" > "$work/cli.tfrc"
mkdir -p "$work/tf"
cat > "$work/tf/main.tf" <<'TF'
terraform {
  required_providers {
    imagegate = { source = "imagegate/imagegate" }
  }
}
TF
# tfplugindocs looks the schema up by the provider's short name.
(cd "$work/tf" && TF_CLI_CONFIG_FILE="$work/cli.tfrc" "$bin/terraform" providers schema -json) 2>"$work/stderr" |
  sed 's#"registry.terraform.io/imagegate/imagegate"#"imagegate"#' > "$work/schema.json" || { cat "$work/stderr" >&2; exit 1; }
cd "$root/tools"
go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs generate \
  --provider-dir "$root" --provider-name imagegate --providers-schema "$work/schema.json"
