#!/usr/bin/env bash
# Requests per client CPU-second: strain (--url), strain running examples/hello.lua (one GET and
# one check per iteration, in Lua) and wrk against the same nginx, in the same run.
# nginx (one worker) is pinned to CPU 0, the client (one thread) to CPU 1. Each client runs
# RUNS times per connection count, alternating; medians are printed with the ratio.
# Usage: tests/bench/http_throughput.sh [BUILD_DIR]   env: RUNS=5 SECONDS_EACH=5 CONNS="50 1000"
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

run_hello() {
  /usr/bin/time -f "%U %S" -o "$out/time" taskset -c 1 "$strain" run "$here/../../examples/hello.lua" \
    -e BASE_URL="http://127.0.0.1:$port" -c "$1" -d "${secs}s" -t 1 -q --out "$out/strain.json" >/dev/null 2>&1
  local reqs; reqs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['requests'])" "$out/strain.json")
  echo "$reqs $(awk '{print $1+$2}' "$out/time")"
}

printf '%-6s %-7s %12s %12s %12s\n' conns tool "req/s" "cpu-s" "req/cpu-s"
for conns in $conns_list; do
  : >"$out/wrk.rates"; : >"$out/strain.rates"; : >"$out/hello.rates"
  for ((i = 0; i < runs; i++)); do
    for tool in wrk strain hello; do
      read -r reqs cpu < <(run_$tool "$conns")
      rate=$(python3 -c "print(f'{$reqs/$cpu:.0f}')")
      echo "$rate" >>"$out/$tool.rates"
      printf '%-6s %-7s %12.0f %12.2f %12s\n' "$conns" "$tool" "$(python3 -c "print($reqs/$secs)")" "$cpu" "$rate"
    done
  done
  python3 - "$conns" "$out/wrk.rates" "$out/strain.rates" "$out/hello.rates" <<'PY'
import statistics, sys
conns = sys.argv[1]
wrk = [float(x) for x in open(sys.argv[2])]
strain = [float(x) for x in open(sys.argv[3])]
hello = [float(x) for x in open(sys.argv[4])]
mw, ms, mh = statistics.median(wrk), statistics.median(strain), statistics.median(hello)
print(f"== {conns} connections: median req per CPU-second  wrk {mw:,.0f}  strain {ms:,.0f}  ratio strain/wrk {ms/mw:.2f} (goal >= 1.20)")
print(f"== {conns} connections: hello.lua {mh:,.0f}  ratio hello.lua/wrk {mh/mw:.2f} (goal >= 1.00); "
      f"Lua cost per iteration {1e9/mh - 1e9/ms:,.0f} ns of client CPU ({1e9/ms:,.0f} ns per plain request)")
PY
done
rm -rf "$out"
