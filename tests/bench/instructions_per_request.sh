#!/usr/bin/env bash
# User-space instructions per request (valgrind --tool=callgrind: repeatable on a noisy
# machine), strain vs wrk, 50 keep-alive connections against nginx on 127.0.0.1.
# Usage: tests/bench/instructions_per_request.sh [BUILD_DIR]   env: SECONDS_EACH=4
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
secs=${SECONDS_EACH:-4}
port=${PORT:-18092}
url="http://127.0.0.1:$port/"
for tool in valgrind wrk nginx python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: tools/install-deps.sh --bench" >&2; exit 2; }
done
source "$here/nginx_target.sh"
start_nginx "$port" 0
trap stop_nginx EXIT
out=$(mktemp -d)

total_ir() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }

valgrind --tool=callgrind --callgrind-out-file="$out/strain.cg" "$strain" run --url "$url" -c 50 \
  -d "${secs}s" -t 1 -q --out "$out/strain.json" >/dev/null 2>&1
strain_reqs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['requests'])" "$out/strain.json")
valgrind --tool=callgrind --callgrind-out-file="$out/wrk.cg" wrk -t1 -c50 -d"${secs}s" "$url" >"$out/wrk.txt" 2>&1
wrk_reqs=$(awk '/requests in/ {print $1}' "$out/wrk.txt")

python3 - "$(total_ir "$out/strain.cg")" "$strain_reqs" "$(total_ir "$out/wrk.cg")" "$wrk_reqs" <<'PY'
import sys
s_ir, s_n, w_ir, w_n = (float(x) for x in sys.argv[1:])
print(f"strain: {s_ir/s_n:,.0f} instructions per request ({s_n:,.0f} requests, start-up included)")
print(f"wrk:    {w_ir/w_n:,.0f} instructions per request ({w_n:,.0f} requests)")
print(f"ratio wrk/strain: {w_ir/w_n/(s_ir/s_n):.2f}")
PY
rm -rf "$out"
