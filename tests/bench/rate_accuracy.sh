#!/usr/bin/env bash
# Open-model rate accuracy against nginx: strain offers 1k, 10k and 50k req/s (uniform) and
# must achieve them within 1%, with the schedule lag it needed printed. hey with the same
# rate limit (-q per connection) runs in the same session as the peer. Last, a rate this
# machine cannot reach: strain must say generator-bound (exit 4), not report a lower rate as
# if it were the target's.
# nginx (one worker) is pinned to CPU 0, the client (one thread) to CPU 1; RUNS alternating
# runs per rate, medians printed.
# Usage: tests/bench/rate_accuracy.sh [BUILD_DIR]
#   env: RUNS=3 SECONDS_EACH=10 RATES="1000 10000 50000" UNREACHABLE=1000000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
runs=${RUNS:-3}
secs=${SECONDS_EACH:-10}
rates=${RATES:-1000 10000 50000}
unreachable=${UNREACHABLE:-1000000}
port=${PORT:-18091}
url="http://127.0.0.1:$port/"
for tool in hey nginx taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: tools/install-deps.sh --bench" >&2; exit 2; }
done
[[ -x $strain ]] || { echo "missing $strain: cmake --build --preset release" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

source "$here/nginx_target.sh"
start_nginx "$port" 0
trap stop_nginx EXIT
out=$(mktemp -d)

# Prints "ACHIEVED_RPS OFFERED_RPS LAG_P99_MS RT_P99_MS BOUND EXIT" for one strain run.
run_strain() {
  local rate=$1 code=0
  taskset -c 1 "$strain" run --url "$url" --rate "$rate/s" -d "${secs}s" -c 50 --max-vus 500 \
    -t 1 -q --out "$out/strain.json" >"$out/strain.txt" 2>&1 || code=$?
  python3 - "$out/strain.json" "$code" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print(f"{s['throughput_rps']:.1f} {s['offered_rps']:.1f} {s['schedule_lag_ms']['p99']:.3f} "
      f"{s['response_time_ms']['p99']:.3f} {str(s['generator_bound']).lower()} {sys.argv[2]}")
PY
}
# Prints hey's achieved req/s with the same offered rate (-q is per connection).
run_hey() {
  local rate=$1 conns=50
  taskset -c 1 hey -z "${secs}s" -c "$conns" -q "$(python3 -c "print(max(1, round($rate / $conns)))")" \
    "$url" >"$out/hey.txt" 2>&1 || true
  awk '/Requests\/sec/ {print $2}' "$out/hey.txt"
}

printf '%-9s %-7s %12s %10s %14s %12s %7s\n' offered tool "achieved/s" "ratio" "lag p99 ms" "rt p99 ms" bound
for rate in $rates; do
  : >"$out/s.txt"; : >"$out/h.txt"
  for ((i = 0; i < runs; i++)); do
    read -r got offered lag rt bound code < <(run_strain "$rate")
    echo "$got $lag $rt $bound" >>"$out/s.txt"
    printf '%-9s %-7s %12.1f %10.4f %14s %12s %7s\n' "$rate" strain "$got" \
      "$(python3 -c "print($got/$rate)")" "$lag" "$rt" "$bound"
    h=$(run_hey "$rate")
    echo "${h:-0}" >>"$out/h.txt"
    printf '%-9s %-7s %12.1f %10.4f\n' "$rate" hey "${h:-0}" "$(python3 -c "print(${h:-0}/$rate)")"
  done
  python3 - "$rate" "$out/s.txt" "$out/h.txt" <<'PY'
import statistics, sys
rate = float(sys.argv[1])
rows = [l.split() for l in open(sys.argv[2])]
got = statistics.median(float(r[0]) for r in rows)
lag = statistics.median(float(r[1]) for r in rows)
hey = statistics.median(float(l) for l in open(sys.argv[3]) if l.strip())
ok = abs(got - rate) <= 0.01 * rate
print(f"  median: strain {got:.1f}/s = {got / rate:.4f} of offered ({'within' if ok else 'OUTSIDE'} 1%), "
      f"schedule lag p99 {lag:.3f} ms; hey {hey:.1f}/s = {hey / rate:.4f}")
PY
done

echo "unreachable: offering $unreachable/s on one client core"
read -r got offered lag rt bound code < <(run_strain "$unreachable")
printf '  strain achieved %.1f/s of %s offered; generator_bound=%s exit=%s\n' "$got" "$unreachable" "$bound" "$code"
grep -E "GENERATOR-BOUND|note:" "$out/strain.txt" | sed 's/^/  /'
if [[ $bound == true && $code == 4 ]]; then
  echo "  flagged generator-bound (exit 4): the shortfall is strain's, not nginx's"
else
  echo "  NOT flagged generator-bound"
fi
