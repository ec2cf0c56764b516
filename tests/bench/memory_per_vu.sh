#!/usr/bin/env bash
# Memory per idle VU: peak RSS with 1,000 and with 100,000 VUs that sleep in think time before
# their first request (so no VU has a socket yet), one worker thread. Prints the difference per
# VU (goal <= 4 KiB; k6 documents 1-5 MB per VU). No traffic is sent.
# Usage: tests/bench/memory_per_vu.sh [BUILD_DIR]   env: LOW=1000 HIGH=100000 RUNS=3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
low=${LOW:-1000}
high=${HIGH:-100000}
runs=${RUNS:-3}
[[ -x $strain ]] || { echo "missing $strain: cmake --build --preset release" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

peak_rss() {  # VUS → peak RSS in bytes, from strain's own result
  VUS=$1 "$strain" run "$here/think_first.lua" -t 1 -q --out "$out/r.json" >/dev/null 2>&1 || true
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['generator']['peak_rss_bytes'])" "$out/r.json"
}

: >"$out/per_vu"
for ((i = 0; i < runs; i++)); do
  lo=$(peak_rss "$low")
  hi=$(peak_rss "$high")
  per=$(python3 -c "print(($hi - $lo) / ($high - $low))")
  echo "$per" >>"$out/per_vu"
  python3 -c "print(f'run $i: {$low} VUs {$lo/2**20:.1f} MiB, {$high} VUs {$hi/2**20:.1f} MiB, {$per:.0f} bytes per VU')"
done
python3 - "$out/per_vu" <<'PY'
import statistics, sys
v = [float(x) for x in open(sys.argv[1])]
print(f"== median memory per idle VU: {statistics.median(v):,.0f} bytes ({statistics.median(v)/1024:.2f} KiB; goal <= 4 KiB)")
PY
