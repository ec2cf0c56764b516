#!/usr/bin/env bash
# Requests per client CPU-second: strain (--url), strain running examples/hello.lua (one GET and
# one check per iteration, in Lua) and wrk against the same nginx, in the same run.
# nginx (one worker) is pinned to CPU 0, the client (one thread) to CPU 1. Each client runs
# RUNS times per connection count, alternating; medians are printed with the ratio.
# Usage: tests/bench/http_throughput.sh [BUILD_DIR]   env: RUNS=5 SECONDS_EACH=5 CONNS="50 1000"
#        BASELINE=/path/to/an/older/strain adds it to the rotation (--url and hello.lua), so a
#        change is measured before and after in the same run, against the same wrk.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
runs=${RUNS:-5}
secs=${SECONDS_EACH:-5}
conns_list=${CONNS:-50 1000}
port=${PORT:-18090}
url="http://127.0.0.1:$port/"
for tool in wrk nginx taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: tools/install-deps.sh --bench" >&2; exit 2; }
done
[[ -x $strain ]] || { echo "missing $strain: cmake --build --preset release" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

source "$here/nginx_target.sh"
start_nginx "$port" 0
trap stop_nginx EXIT
out=$(mktemp -d)

# Prints "REQUESTS CPU_SECONDS" for one client run.
run_wrk() {
  /usr/bin/time -f "%U %S" -o "$out/time" taskset -c 1 wrk -t1 -c"$1" -d"${secs}s" "$url" >"$out/wrk" 2>&1
  local reqs; reqs=$(awk '/requests in/ {print $1}' "$out/wrk")
  echo "$reqs $(awk '{print $1+$2}' "$out/time")"
}
run_strain() {
  /usr/bin/time -f "%U %S" -o "$out/time" taskset -c 1 "$strain" run --url "$url" -c "$1" \
    -d "${secs}s" -t 1 -q --out "$out/strain.json" >/dev/null 2>&1
  local reqs; reqs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['requests'])" "$out/strain.json")
  echo "$reqs $(awk '{print $1+$2}' "$out/time")"
}

run_base() { strain=$BASELINE run_strain "$@"; }
run_basehello() { strain=$BASELINE run_hello "$@"; }

run_hello() {
  /usr/bin/time -f "%U %S" -o "$out/time" taskset -c 1 "$strain" run "$here/../../examples/hello.lua" \
    -e BASE_URL="http://127.0.0.1:$port" -c "$1" -d "${secs}s" -t 1 -q --out "$out/strain.json" >/dev/null 2>&1
  local reqs; reqs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['requests'])" "$out/strain.json")
  echo "$reqs $(awk '{print $1+$2}' "$out/time")"
}

tools="wrk strain hello"
[[ -n ${BASELINE:-} ]] && tools="$tools base basehello"
printf '%-6s %-9s %12s %12s %12s\n' conns tool "req/s" "cpu-s" "req/cpu-s"
for conns in $conns_list; do
  for tool in $tools; do : >"$out/$tool.rates"; done
  for ((i = 0; i < runs; i++)); do
    for tool in $tools; do
      read -r reqs cpu < <(run_$tool "$conns")
      rate=$(python3 -c "print(f'{$reqs/$cpu:.0f}')")
      echo "$rate" >>"$out/$tool.rates"
      printf '%-6s %-9s %12.0f %12.2f %12s\n' "$conns" "$tool" "$(python3 -c "print($reqs/$secs)")" "$cpu" "$rate"
    done
  done
  python3 - "$conns" "$out" <<'PY'
import os, statistics, sys
conns, out = sys.argv[1], sys.argv[2]
def median(tool):
    return statistics.median(float(x) for x in open(os.path.join(out, tool + ".rates")))
mw, ms, mh = median("wrk"), median("strain"), median("hello")
print(f"== {conns} connections: median req per CPU-second  wrk {mw:,.0f}  strain {ms:,.0f}  ratio strain/wrk {ms/mw:.2f} (goal >= 1.20)")
print(f"== {conns} connections: hello.lua {mh:,.0f}  ratio hello.lua/wrk {mh/mw:.2f} (goal >= 1.00); "
      f"Lua cost per iteration {1e9/mh - 1e9/ms:,.0f} ns of client CPU ({1e9/ms:,.0f} ns per plain request)")
if os.path.exists(os.path.join(out, "base.rates")):
    mb, mbh = median("base"), median("basehello")
    print(f"== {conns} connections: baseline strain {mb:,.0f} ({mb/mw:.2f} x wrk), hello.lua {mbh:,.0f} "
          f"({mbh/mw:.2f} x wrk); this build / baseline: --url {ms/mb:.3f}, hello.lua {mh/mbh:.3f}")
PY
done
rm -rf "$out"
