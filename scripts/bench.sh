#!/usr/bin/env bash
# The imagegate benchmarks, entirely local: a loopback registry, images
# built in Go (bench/), an offline vulnerability database, and the grype CLI
# and `tofu plan` measured side by side. Writes BENCHMARKS.md at the root.
# Run it with `make bench`; it is not part of `make test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
out="${BENCH_OUT:-$root/BENCHMARKS.md}"
reps="${BENCH_REPS:-3}"
# BENCH_ONLY=fleet runs only the warm-up and the fleet case (a partial report).

for tool in /usr/bin/time; do
  [ -x "$tool" ] || { echo "bench needs $tool (GNU time, Debian package 'time')" >&2; exit 1; }
done

"$root/scripts/build-clis.sh" tofu grype >/dev/null

work="$(mktemp -d "${TMPDIR:-/tmp}/imagegate-bench.XXXXXX")"
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Built before anything is timed, so no measurement includes compilation.
echo "==> building the provider, the registry and the benchmark driver"
mkdir -p "$work/build" "$work/bin" "$work/provider" "$work/tmp"
go build -o "$work/build/terraform-provider-imagegate" "$root"
go build -o "$bin/registry" github.com/google/go-containerregistry/cmd/registry
go build -o "$work/build/bench" "$root/bench"
# Every measured binary is copied the same way before it runs. Peak RSS
# counts the pages of the executable mapped into the process, and how many
# the kernel maps depends on how the file was written: a binary just written
# by the Go linker maps tens of MiB more than a plain copy of the same file
# (as `go install` or unpacking a release writes it).
cp "$work/build/terraform-provider-imagegate" "$work/provider/terraform-provider-imagegate"
cp "$work/build/bench" "$work/bench"
cp "$bin/tofu" "$bin/grype" "$work/bin/"
cp "$bin"/.grype-* "$work/bin/"
rm -rf "$work/build"

# Port 0: the registry takes a free loopback port and logs it. It logs
# every request too ("GET /v2/…/blobs/sha256:…"): the fleet case reads that
# log to check that runner B fetches no layer blob.
"$bin/registry" -port 0 >"$work/registry.log" 2>&1 &
registry_pid=$!
port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's/.*serving on port \([0-9][0-9]*\).*/\1/p' "$work/registry.log" | head -n1)"
  [ -n "$port" ] && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "the registry did not start" >&2; cat "$work/registry.log" >&2; exit 1; }
echo "==> registry serving on localhost:$port (pid $registry_pid)"

# The driver puts the provider (behind an RSS-measuring wrapper) in
# $work/run/plugins; OpenTofu finds it through the shared dev_overrides
# configuration.
"$root/scripts/dev-overrides.sh" "$work/run/plugins" >"$work/cli.tfrc"

TMPDIR="$work/tmp" "$work/bench" \
  -cli-config "$work/cli.tfrc" \
  -registry "localhost:$port" \
  -tofu "$work/bin/tofu" \
  -grype "$work/bin/grype" \
  -provider "$work/provider/terraform-provider-imagegate" \
  -work "$work/run" \
  -reps "$reps" \
  -registry-log "$work/registry.log" \
  -only "${BENCH_ONLY:-}" \
  -out "$out"
