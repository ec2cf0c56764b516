#!/usr/bin/env bash
# A soak that finds a leak: strain-target keeps 16 KiB of memory per request it serves (a
# deliberate leak), strain offers 300 req/s for 30 s while it samples the target's memory,
# descriptors, threads and CPU from /proc once a second, and judges each trend after a warm-up.
# At 300 req/s the target grows by 16 KiB x 300/s = 4.7 MiB/s (about 16.5 GiB/h), far past the
# budget of 100 MiB/h given here, so strain says `leak` on the target's rss and exits 3 (the
# code a CI job fails on). strain watches itself too: its own rss must not leak.
# The script exits 0 when strain found exactly that (exit 3, a leak on target/rss, none on
# strain/rss), non-zero otherwise. Traffic stays on 127.0.0.1. Takes about 35 s.
# Usage: examples/soak_leak.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
build=${1:-$(dirname "$0")/../build/release}
target="$build/tools/target/strain-target"
strain="$build/tools/strain/strain"
out=$(mktemp -d /tmp/strain-soak-leak.XXXXXX)
trap 'kill "$target_pid" 2>/dev/null || true; rm -rf "$out"' EXIT

"$target" --host 127.0.0.1 --port 0 --leak 16KiB --exit-after 120s >"$out/target.log" &
target_pid=$!
for _ in $(seq 50); do grep -q listening "$out/target.log" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out/target.log")

code=0
# Sampling every 500 ms: strain judges a trend on at least 10 floor points of at least three
# samples each, after the warm-up (10% of the run), so 30 s at the default 1 s is just too short
# to judge. A real soak runs for hours at 1 s.
"$strain" soak --url "$url" --rate 300/s -d 30s --sample-every 500ms --watch-pid "target=$target_pid" \
  --max-growth rss=100MiB/h --out "$out/result.json" >"$out/summary.txt" 2>&1 || code=$?

echo "strain soak exited $code. The verdict lines of its summary:"
grep -Ei '\b(leak|growth|stable|inconclusive|degrading)\b' "$out/summary.txt" || cat "$out/summary.txt"
echo
echo "Files written beside the result (each interval, so a killed run keeps all but its last second):"
ls "$out" | grep '^result' | sed 's/^/  /'
python3 - "$out/result.json" "$code" <<'PY'
import json, sys
code = int(sys.argv[2])
r = json.load(open(sys.argv[1]))
verdicts = {(v["component"], v["resource"]): v for v in r["soak"]["verdicts"]}
mib = 1024 * 1024
t, s = verdicts.get(("target", "rss")), verdicts.get(("strain", "rss"))
for name, v in (("target", t), ("strain", s)):
    if v:
        budget = v.get("budget_per_hour")
        budget = "none" if budget is None else f"{budget / mib:,.0f} MiB/h"
        print(f"{name} rss: {v['verdict']}, {v['slope_per_hour'] / mib:+,.1f} MiB/h "
              f"(CI {v['ci_low'] / mib:+,.1f} .. {v['ci_high'] / mib:+,.1f}), budget {budget}"
              f"{', broken' if v['budget_broken'] else ''}: {v['reason']}")
print()
print("Exit codes: 0 every resource stable or inconclusive and every budget kept; 3 a leak on a")
print("memory or descriptor resource, a broken --max-growth budget or a failed threshold;")
print("4 strain could not keep its own schedule; 2 bad usage (nothing was sent).")
failed = []
if code != 3:
    failed.append(f"expected exit 3 for the leak, got {code}")
if not t or t["verdict"] != "leak":
    failed.append(f"expected a leak on target/rss, got {t and t['verdict']}")
if t and not t["budget_broken"]:
    failed.append("expected the 100 MiB/h budget on target/rss to be broken")
if not s or s["verdict"] == "leak":
    failed.append(f"strain's own rss: {s and s['verdict']}")
if failed:
    sys.exit("FAILED: " + "; ".join(failed))
print("as expected: exit 3 because the target leaks; strain's own memory did not.")
PY
