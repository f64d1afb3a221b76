#!/usr/bin/env bash
# The imagegate demo, entirely local: a real registry on loopback, demo
# images built in Go, and a real `tofu plan` and `tofu apply` against them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
work="$root/demo/.work"
rm -rf "$work"
mkdir -p "$work/plugins"

"$root/scripts/build-clis.sh" tofu >/dev/null
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

"$work/push" -registry "$host" -db "$work/db"
archive="$(ls "$work"/db/vulnerability-db_*.tar.gz)"

"$root/scripts/dev-overrides.sh" "$work/plugins" > "$work/cli.tfrc"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
cp "$root/demo/main.tf" "$work/"
cd "$work"
vars=(-input=false -var "registry=$host" -var "db_archive=$archive")
echo "==> tofu apply: web passes the production gate; legacy is only reported (enforce = false)"
"$bin/tofu" apply "${vars[@]}" -auto-approve
echo
echo "==> tofu plan with the legacy gate enforced: the plan must fail"
if "$bin/tofu" plan "${vars[@]}" -var enforce_legacy=true; then
  echo "the legacy image passed the gate: the demo expected it to fail" >&2
  exit 1
fi
echo
echo "==> the plan failed as expected: imagegate refused the legacy image before anything referenced it"
