#!/usr/bin/env bash
# strain stress with its default settings against targets of known capacity, timed:
#   strain-target --workers 8 --service 10ms   (800 req/s)   goal: within 10%, under 3 minutes
#   strain-target --workers 32 --service 2ms   (16,000 req/s) goal: within 10%, or strain named
#                                                             as the limit
# Client on core 0, target on core 1 (2-core machine). Prints each search's figures and wall
# time; RUNS=3 repeats each and gives the medians.
# Usage: tests/bench/stress_capacity.sh [BUILD_DIR]   env: RUNS=3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
export STRAIN=$build/tools/strain/strain STRAIN_TARGET=$build/tools/target/strain-target RUNS=${RUNS:-3}
[[ -x $STRAIN && -x $STRAIN_TARGET ]] || { echo "missing $STRAIN: cmake --build --preset release" >&2; exit 2; }
exec python3 - <<'PY'
import json, os, re, select, statistics, subprocess, tempfile, time

strain, target, runs = os.environ["STRAIN"], os.environ["STRAIN_TARGET"], int(os.environ["RUNS"])


def start_target(*args):
    p = subprocess.Popen(["taskset", "-c", "1", target, "--host", "127.0.0.1", "--port", "0",
                          "--threads", "1", *args], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", p.stdout.readline() if ready else "")
    if not m:
        p.kill()
        raise SystemExit("strain-target did not start")
    return p, f"http://127.0.0.1:{m.group(1)}/"


for workers, service, capacity in ((8, "10ms", 800), (32, "2ms", 16000)):
    walls, found = [], []
    for _ in range(runs):
        tp, url = start_target("--workers", str(workers), "--service", service)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "r.json")
                t0 = time.monotonic()
                code = subprocess.run(["taskset", "-c", "0", strain, "stress", "--url", url,
                                       "--slo", "p99<100ms", "-t", "1", "-q", "--out", out],
                                      stdout=subprocess.DEVNULL, timeout=900).returncode
                wall = time.monotonic() - t0
                s = json.load(open(out))["stress"]
        finally:
            tp.kill()
            tp.wait()
        best = s.get("max_sustainable_rps") or 0
        walls.append(wall)
        found.append(best)
        print(f"  --workers {workers} --service {service}: exit {code}, end {s['end']}, "
              f"sustainable {best:.0f}/s ({100 * (best - capacity) / capacity:+.1f}% of {capacity}), "
              f"{len(s['steps'])} steps, {wall:.0f} s wall")
    print(f"== capacity {capacity}/s: median sustainable {statistics.median(found):.0f}/s, "
          f"median wall {statistics.median(walls):.0f} s over {runs} runs")
PY
