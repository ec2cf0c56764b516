#!/usr/bin/env bash
# A closed-loop run against strain-target with a known 2 ms service delay, saved as JSON, and
# read against the truths that hold for any correct closed-loop tool (it exits non-zero if not):
#   - Little's law: 20 VUs with no think time each have exactly one request outstanding, so
#     throughput X times mean response time R is 20 (N = X * R), within 5%.
#   - No response can be faster than the target's 2 ms delay, so min >= 2 ms and
#     X <= 20 / 2 ms = 10,000 req/s.
#   - strain-target's own count of responses served equals strain's count.
# Traffic stays on 127.0.0.1.
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
tail -n1 "$out/target.log" | sed 's/^strain-target /strain-target: /'
python3 - "$out/result.json" "$out/target.log" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
served = int(re.search(r"served=(\d+)", open(sys.argv[2]).read()).group(1))
vus, delay_s, tolerance = 20, 0.002, 0.05

# X: responses completed in the load phase / its measured duration (the drain is left out).
# R: mean response time over every response. Little's law, N = X * R, is exact over a window
# in which each VU always has one request outstanding; what it charges to neither side is the
# ramp-up (threads and connections starting), the drain at the end, and strain's own moment
# between reading a response and sending the next. Together they are well under 1% of
# 20 VUs x 5 s; the histogram's mean is within 0.05%. 5% leaves room for a busy machine and
# still fails when R or X is off by a twentieth.
x = s["throughput_rps"]
rt = s["response_time_ms"]
little = x * rt["mean"] / 1000.0
# Each VU completes at most one response per 2 ms, so at most 10,000/s all told; a response
# read just as the load phase ends may still count in it: at most one more per VU.
x_max = vus / delay_s + vus / s["duration_s"]
in_flight = r["generator"]["in_flight_at_stop"]

print(f"strain: {s['requests']} responses, {x:.0f} req/s x mean {rt['mean']:.3f} ms "
      f"= {little:.2f} requests in flight on average (Little's law: the {vus} VUs, +-5%)")
print(f"        min {rt['min']:.3f} ms (floor: {delay_s * 1000:g} ms), throughput {x:.0f} req/s "
      f"(ceiling: {vus} VUs / {delay_s * 1000:g} ms = {vus / delay_s:.0f} req/s)")
failed = []
if abs(little - vus) > tolerance * vus:
    failed.append(f"Little's law: X * R = {little:.2f}, not within 5% of {vus} VUs")
if rt["min"] < delay_s * 1000:
    failed.append(f"a response faster than the target's 2 ms delay (min {rt['min']} ms)")
if x > x_max:
    failed.append(f"throughput {x:.0f} req/s above the ceiling {x_max:.0f} req/s")
if not served - in_flight <= s["requests"] <= served:
    failed.append(f"strain counted {s['requests']} responses, strain-target served {served}")
if s["errors"] != 0:
    failed.append(f"{s['errors']} errors")
if failed:
    sys.exit("FAILED: " + "; ".join(failed))
print("all hold: Little's law, the 2 ms floor and ceiling, and the target's own count")
PY
