#!/usr/bin/env bash
# Prints a CLI configuration that makes OpenTofu and Terraform use the
# provider binary in the given directory instead of installing one.
set -euo pipefail
cat <<CFG
disable_checkpoint = true
provider_installation {
  dev_overrides {
    "imagegate/imagegate" = "$1"
  }
  direct {}
}
CFG
