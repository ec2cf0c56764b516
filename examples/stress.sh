#!/usr/bin/env bash
# Finds the breaking point of strain-target --workers 8 --service 10ms: eight requests in
# service at once, 10 ms each, so at most 800 req/s; past that its queue grows without bound.
# With --slo 'p99<100ms' the search must end near 800/s (within 10%), name latency{p99} as
# what broke first and queueing as how it fails; the script exits non-zero if not.
# Traffic stays on 127.0.0.1.
# Usage: examples/stress.sh [BUILD_DIR]   (default build/release)   env: STEP=20s PRECISION=5%
set -euo pipefail
build=${1:-$(dirname "$0")/../build/release}
target="$build/tools/target/strain-target"
strain="$build/tools/strain/strain"
out=$(mktemp -d)
trap 'kill "$target_pid" 2>/dev/null || true; rm -rf "$out"' EXIT

"$target" --host 127.0.0.1 --port 0 --workers 8 --service 10ms --exit-after 15m \
  >"$out/target.log" &
target_pid=$!
for _ in $(seq 50); do grep -q listening "$out/target.log" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out/target.log")

"$strain" stress --url "$url" --slo 'p99<100ms' --step "${STEP:-20s}" \
  --precision "${PRECISION:-5%}" --expected-peak 600/s --max-time 10m -t 1 \
  --out "$out/result.json"

python3 - "$out/result.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["stress"]
best = s["max_sustainable_rps"]
print(f"\nsustainable {best:.0f}/s (the truth: a little under 800/s), failure mode {s['failure_mode']}")
ok = abs(best - 800) <= 80 and s["failure_mode"] == "queues" \
    and s["first_failure"]["signal"] == "latency{p99}"
sys.exit(0 if ok else 1)
PY
