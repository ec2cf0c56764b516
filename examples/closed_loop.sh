#!/usr/bin/env bash
# A closed-loop run against strain-target with a known 2 ms service delay, saved as JSON.
# Little's law gives the truth to read the result against: 20 VUs / 2 ms = at most ~10,000 req/s,
# and no response can be faster than 2 ms. Traffic stays on 127.0.0.1.
# Usage: examples/closed_loop.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
build=${1:-$(dirname "$0")/../build/release}
target="$build/tools/target/strain-target"
strain="$build/tools/strain/strain"
out=$(mktemp -d)
trap 'kill "$target_pid" 2>/dev/null || true; rm -rf "$out"' EXIT

"$target" --host 127.0.0.1 --port 0 --latency 2ms --exit-after 60s >"$out/target.log" &
target_pid=$!
for _ in $(seq 50); do grep -q listening "$out/target.log" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out/target.log")

"$strain" run --url "$url" -c 20 -d 5s --threads 1 --out "$out/result.json"

kill -TERM "$target_pid"; wait "$target_pid" || true
echo
echo "strain-target: $(tail -n1 "$out/target.log")"
python3 - "$out/result.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(f"strain: {s['requests']} responses, {s['throughput_rps']:.0f} req/s (Little's law bound: 10000), "
      f"p50 {s['response_time_ms']['p50']:.2f} ms (floor: 2 ms)")
PY
