#!/usr/bin/env bash
# The imagegate demo, entirely local: a real registry on loopback, demo
# images built in Go, and a real `tofu plan` and `tofu apply` against them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
work="$root/demo/.work"
rm -rf "$work"
mkdir -p "$work/plugins"

"$root/scripts/build-clis.sh" >/dev/null
echo "==> building the provider and the demo registry"
go build -o "$work/plugins/terraform-provider-imagegate" "$root"
go build -o "$bin/registry" github.com/google/go-containerregistry/cmd/registry
go build -o "$work/push" "$root/demo/push"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo 5055)"
"$bin/registry" -port "$port" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  grep -q "serving on port" "$work/registry.log" && break
  sleep 0.1
done
host="localhost:$port"
echo "==> registry serving on $host (pid $registry_pid)"

"$work/push" -registry "$host"

cat > "$work/cli.tfrc" <<CFG
disable_checkpoint = true
provider_installation {
  dev_overrides {
    "imagegate/imagegate" = "$work/plugins"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
cp "$root/demo/main.tf" "$work/"
cd "$work"
echo "==> tofu plan"
"$bin/tofu" plan -input=false -var "registry=$host"
echo "==> tofu apply"
"$bin/tofu" apply -input=false -auto-approve -var "registry=$host"
