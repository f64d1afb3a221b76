#!/usr/bin/env bash
# The imagegate demo, entirely local: a real registry on loopback, demo
# images built in Go, and a real `tofu plan` and `tofu apply` against them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
work="$root/demo/.work"
rm -rf "$work"
mkdir -p "$work/plugins"

"$root/scripts/build-clis.sh" tofu cosign >/dev/null
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
echo "==> staging registry serving on $host (pid $registry_pid)"
prod_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo 5056)"
"$bin/registry" -port "$prod_port" >"$work/production.log" 2>&1 &
prod_pid=$!
trap 'kill $registry_pid $prod_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  grep -q "serving on port" "$work/production.log" && break
  sleep 0.1
done
prod="localhost:$prod_port"
echo "==> production registry serving on $prod (pid $prod_pid)"

"$work/push" -registry "$host" -db "$work/db"
archive="$(ls "$work"/db/vulnerability-db_*.tar.gz)"

# Sign web:1.0 with the cosign CLI, offline: a fresh key pair, no
# transparency log, a sigstore bundle attached as an OCI referrer. cosign
# resolves the tag and signs the digest (the multi-platform index).
# web:1.1 stays unsigned.
echo "==> signing $host/demo/web:1.0 with cosign (web:1.1 stays unsigned)"
cosign_env=(env -i PATH="$PATH" HOME="$work/cosign-home" COSIGN_PASSWORD="")
mkdir -p "$work/cosign-home"
(cd "$work" && "${cosign_env[@]}" "$bin/cosign" generate-key-pair >/dev/null 2>&1)
"${cosign_env[@]}" "$bin/cosign" sign --key "$work/cosign.key" --tlog-upload=false --use-signing-config=false --yes \
  --allow-http-registry --allow-insecure-registry "$host/demo/web:1.0" >"$work/cosign.log" 2>&1 || { cat "$work/cosign.log" >&2; exit 1; }

"$root/scripts/dev-overrides.sh" "$work/plugins" > "$work/cli.tfrc"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
cp "$root/demo/main.tf" "$work/"
cd "$work"
vars=(-input=false -var "registry=$host" -var "db_archive=$archive" -var "cosign_public_key=$work/cosign.pub" -var "production_registry=$prod")
echo "==> tofu apply: web (signed) passes the production gate and is promoted to production; legacy and the unsigned web:1.1 are only reported (enforce = false)"
"$bin/tofu" apply "${vars[@]}" -auto-approve
echo
echo "==> tofu plan with the legacy gate enforced: the plan must fail"
if "$bin/tofu" plan "${vars[@]}" -var enforce_legacy=true; then
  echo "the legacy image passed the gate: the demo expected it to fail" >&2
  exit 1
fi
echo
echo "==> the plan failed as expected: imagegate refused the legacy image before anything referenced it"
echo
echo "==> tofu plan with the unsigned web:1.1 gate enforced: the plan must fail on its missing signature"
if "$bin/tofu" plan "${vars[@]}" -var enforce_unsigned=true >"$work/unsigned.log" 2>&1; then
  cat "$work/unsigned.log"
  echo "the unsigned image passed the gate: the demo expected it to fail" >&2
  exit 1
fi
sed -n '/Error:/,$p' "$work/unsigned.log"
grep -q "no cosign signature is attached" "$work/unsigned.log" || { echo "the plan failed for another reason than the missing signature" >&2; exit 1; }
echo
echo "==> the plan failed as expected: imagegate refused web:1.1, which nobody signed"
echo
echo "==> the promotion: web:1.0 was copied by digest, with its signature, from staging to production"
"$bin/tofu" output promotion
