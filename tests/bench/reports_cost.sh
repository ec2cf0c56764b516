#!/usr/bin/env bash
# What the reports cost the generator: requests per client CPU-second of a plain run against a
# run with every report on (--hlog streamed every interval, --metrics-listen scraped by curl every
# second, --html/--junit/--csv/--out written at the end), alternating, against the same nginx
# (one worker on CPU 0, strain one thread on CPU 1). Then the HTML report of a 12-hour synthetic
# soak: how long `strain report --html` takes to render it, and the file's size.
# Usage: tests/bench/reports_cost.sh [BUILD_DIR]   env: RUNS=5 SECONDS_EACH=5 CONNS=50
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
runs=${RUNS:-5}
secs=${SECONDS_EACH:-5}
conns=${CONNS:-50}
port=${PORT:-18091}
metrics_port=${METRICS_PORT:-18092}
url="http://127.0.0.1:$port/"
for tool in nginx taskset python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: tools/install-deps.sh --bench" >&2; exit 2; }
done
[[ -x $strain ]] || { echo "missing $strain: cmake --build --preset release" >&2; exit 2; }

source "$here/nginx_target.sh"
start_nginx "$port" 0
out=$(mktemp -d)
trap 'stop_nginx; rm -rf "$out"' EXIT

# Prints "REQUESTS CPU_SECONDS" for one run; extra flags after the connection count.
run_strain() {
  local c=$1; shift
  /usr/bin/time -f "%U %S" -o "$out/time" taskset -c 1 "$strain" run --url "$url" -c "$c" \
    -d "${secs}s" -t 1 -q --out "$out/strain.json" "$@" >/dev/null 2>&1
  local reqs; reqs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary']['requests'])" "$out/strain.json")
  echo "$reqs $(awk '{print $1+$2}' "$out/time")"
}
run_plain() { run_strain "$1"; }
run_reports() {
  # A scraper as Prometheus would be, once a second for the run (on CPU 0, beside nginx).
  ( for ((s = 0; s < secs + 2; s++)); do
      sleep 1; taskset -c 0 curl -s -m 2 "http://127.0.0.1:$metrics_port/metrics" >/dev/null || true
    done ) &
  local scraper=$!
  run_strain "$1" --hlog "$out/r.hlog" --metrics-listen "127.0.0.1:$metrics_port" \
    --html "$out/r.html" --junit "$out/r.xml" --csv "$out/r.csv"
  wait "$scraper" 2>/dev/null || true
}

printf '%-8s %12s %12s %12s\n' run "req/s" "cpu-s" "req/cpu-s"
: >"$out/plain.rates"; : >"$out/reports.rates"
for ((i = 0; i < runs; i++)); do
  for kind in plain reports; do
    read -r reqs cpu < <(run_$kind "$conns")
    rate=$(python3 -c "print(f'{$reqs/$cpu:.0f}')")
    echo "$rate" >>"$out/$kind.rates"
    printf '%-8s %12.0f %12.2f %12s\n' "$kind" "$(python3 -c "print($reqs/$secs)")" "$cpu" "$rate"
  done
done
python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
def rates(kind):
    return [float(x) for x in open(os.path.join(out, kind + ".rates"))]
p, r = rates("plain"), rates("reports")
pairs = sorted(b / a for a, b in zip(p, r))
print(f"== median req per CPU-second: plain {statistics.median(p):,.0f}, every report on "
      f"{statistics.median(r):,.0f}: ratio {statistics.median(r) / statistics.median(p):.3f} "
      f"(pairs {pairs[0]:.3f}..{pairs[-1]:.3f})")
PY

# The 12-hour soak's HTML: a result of 43,200 s with a 4,096-point timeline and a watched
# resource of 43,200 one-second buckets, rendered from the saved file.
python3 - "$out/strain.json" "$out/soak12h.json" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
span = 43200.0
n = 4096
step = span / n
r["summary"]["duration_s"] = span
r["timeline"] = [dict(r["timeline"][0], start_s=i * step, length_s=step,
                      p99_ms=5 + 3 * math.sin(i / 50.0) + (40 if i == 3000 else 0))
                 for i in range(n)]
t = list(range(43200))
r["soak"] = {"judged": True, "sample_every_s": 1, "warmup_s": 600, "sample_rounds": 43200,
             "sampler_cpu_s": 12.0, "verdicts": [], "gaps": [], "gaps_left_out": 0,
             "restarts": [], "files": {"intervals": "", "hlog": "", "samples": ""},
             "samples": [{"component": "api", "resource": "rss", "unit": "bytes", "bucket_s": 1,
                         "t_s": t, "min": [1e8 + 50 * x for x in t],
                         "max": [1.2e8 + 50 * x + (3e7 if x % 7919 == 0 else 0) for x in t]}]}
json.dump(r, open(sys.argv[2], "w"))
PY
start=$(date +%s.%N)
"$strain" report "$out/soak12h.json" --html "$out/soak12h.html" >/dev/null || true
end=$(date +%s.%N)
python3 -c "import os,sys; print(f'== 12-hour soak HTML: rendered in {float(sys.argv[2]) - float(sys.argv[1]):.2f} s, {os.path.getsize(sys.argv[3]) / 2**20:.2f} MiB')" \
  "$start" "$end" "$out/soak12h.html"
