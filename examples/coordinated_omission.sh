#!/usr/bin/env bash
# Coordinated omission, shown: strain-target freezes for 1 s in every 5 s (a stop-the-world
# pause) and strain offers 200 req/s on a fixed schedule for 12 s. Response time counts from
# when each request was due, so the pauses show in its p95/p99; service time (what a closed-loop
# tool such as wrk reports) counts from the send and hides them. Traffic stays on 127.0.0.1.
# Usage: examples/coordinated_omission.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
build=${1:-$(dirname "$0")/../build/release}
target="$build/tools/target/strain-target"
strain="$build/tools/strain/strain"
out=$(mktemp -d)
trap 'kill "$target_pid" 2>/dev/null || true; rm -rf "$out"' EXIT

"$target" --host 127.0.0.1 --port 0 --stall-every 5s --stall-for 1s --exit-after 60s \
  >"$out/target.log" &
target_pid=$!
for _ in $(seq 50); do grep -q listening "$out/target.log" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out/target.log")

"$strain" run --url "$url" --rate 200/s -d 12s -c 10 --threads 1 --out "$out/result.json"

kill -TERM "$target_pid"; wait "$target_pid" || true
echo
grep -E "stall " "$out/target.log" | sed 's/^/strain-target: /'
python3 - "$out/result.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
rt, st = s["response_time_ms"], s["service_time_ms"]
print(f"response time p95 {rt['p95']:.0f} ms, p99 {rt['p99']:.0f} ms  (from the intended start: the pauses show)")
print(f"service time  p95 {st['p95']:.1f} ms, p99 {st['p99']:.1f} ms  (from the send: what wrk would report)")
if not rt["p99"] > 10 * st["p99"]:
    sys.exit("expected the stalls to show in response time and hide in service time")
PY
