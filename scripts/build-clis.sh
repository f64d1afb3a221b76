#!/usr/bin/env bash
# Builds the command-line tools the tests, the demo and the benchmarks run,
# from source through the Go module proxy, into a git-ignored directory:
# OpenTofu and Terraform (acceptance tests under both), the grype CLI
# (parity and benchmarks), the cosign CLI (signature interop) and
# golangci-lint (make lint). Each is built only when missing, so repeated runs
# return at once.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${IMAGEGATE_TOOLS_BIN:-$root/.tools/bin}"
mkdir -p "$bin"

build() {
  local name="$1" module="$2" version="$3" pkg="$4" ldflags="${5:-}"
  local out="$bin/$name"
  if [ -x "$out" ] && TF_CLI_CONFIG_FILE="$root/.terraformrc" "$out" version 2>/dev/null | head -n1 | grep -qx ".* ${version}"; then
    return 0
  fi
  echo "building $name $version from $module (first run only, several minutes)" >&2
  local dir
  dir="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || { echo "could not download $module@$version" >&2; exit 1; }
  local work
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' RETURN
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
}

# The grype CLI of the version the provider embeds, for the parity test and
# the benchmarks. A stamp file records the version (go install leaves the
# binary's own version string empty).
build_grype() {
  local grype_version
  grype_version="$(cd "$root" && go list -m -f '{{.Version}}' github.com/anchore/grype)"
  if [ ! -x "$bin/grype" ] || [ ! -f "$bin/.grype-$grype_version" ]; then
    echo "building grype $grype_version (first run only, several minutes)" >&2
    GOBIN="$bin" CGO_ENABLED=0 go install "github.com/anchore/grype/cmd/grype@$grype_version"
    rm -f "$bin"/.grype-*
    touch "$bin/.grype-$grype_version"
  fi
}

# The cosign CLI of the version whose library the verifier uses, so the
# interop tests sign with what cosign users run. It is installed as a module
# (cosign has its own go.mod), with a stamp file like grype's.
build_cosign() {
  local cosign_version
  cosign_version="$(cd "$root" && go list -m -f '{{.Version}}' github.com/sigstore/cosign/v3)"
  if [ ! -x "$bin/cosign" ] || [ ! -f "$bin/.cosign-$cosign_version" ]; then
    echo "building cosign $cosign_version (first run only, several minutes)" >&2
    GOBIN="$bin" CGO_ENABLED=0 go install "github.com/sigstore/cosign/v3/cmd/cosign@$cosign_version"
    rm -f "$bin"/.cosign-*
    touch "$bin/.cosign-$cosign_version"
  fi
}

# golangci-lint, pinned here (it is a tool, not a dependency of the
# provider), with a stamp file like grype's.
golangci_lint_version=v2.15.0
build_golangci_lint() {
  if [ ! -x "$bin/golangci-lint" ] || [ ! -f "$bin/.golangci-lint-$golangci_lint_version" ]; then
    echo "building golangci-lint $golangci_lint_version (first run only, several minutes)" >&2
    GOBIN="$bin" CGO_ENABLED=0 go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$golangci_lint_version"
    rm -f "$bin"/.golangci-lint-*
    touch "$bin/.golangci-lint-$golangci_lint_version"
  fi
}

# With arguments, only the named tools are built (the demo needs only tofu).
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(tofu terraform grype cosign golangci-lint)
for tool in "${tools[@]}"; do
  case "$tool" in
    # dev=no drops the "-dev" suffix a source build would otherwise report.
    tofu) build tofu github.com/opentofu/opentofu v1.12.6 ./cmd/tofu "-X github.com/opentofu/opentofu/version.dev=no" ;;
    terraform) build terraform github.com/hashicorp/terraform v1.5.7 . ;;
    grype) build_grype ;;
    cosign) build_cosign ;;
    golangci-lint) build_golangci_lint ;;
    *) echo "unknown tool $tool (tofu, terraform, grype, cosign or golangci-lint)" >&2; exit 2 ;;
  esac
done
echo "$bin"
