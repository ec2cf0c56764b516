#!/usr/bin/env bash
# A long run (issue 15): `strain soak` offers RATE (1000/s, --timeout 1s, 50 VUs at the start)
# for DURATION (30m) to a strain-target whose defaults take turns every PHASE (60s):
#   healthy; slow (150-350 ms: ~250 requests in flight, so strain opens ~5x the VUs it started
#   with); failing (10% 500s, 2% resets, 1% hangs past the timeout, 0.5% garbage).
# strain runs on CPU 0 with one thread, the target on CPU 1 (taskset). This script samples
# strain's RSS itself from /proc/PID/status every SAMPLE_S (5) seconds, and prints:
# - strain's requests started / completed / failed / in flight at stop, and every count pair
#   against the target's own exit log (requests read, served, 200s, 500s, resets, hangs vs
#   timeouts, garbage vs bad responses, no other error kind), equal or by how much and why;
#   the target's per-phase counts;
# - strain's RSS at 10, 50, 90 and 100% of the run; its least-squares slope after the warm-up
#   (10% of the run or a whole cycle, whichever is longer, at most half the run), fitted over
#   whole cycles counted back from the end; the growth of its high-water mark (the peak of the
#   last cycle minus the peak before the end of the warm-up); the target's, for the record;
# - strain's own soak verdict on its rss.
# Exits 1 if a count does not reconcile, a phase did not do what it was told, strain's exit code
# is not 0, strain's verdict on its rss is `leak`, or RSS is not flat. Flat: slope at most
# MAX_SLOPE_MIB_H (4) MiB/h and high-water growth at most MAX_GROWTH_MIB (4) MiB. A leak of one
# request's worth (~100 B) at 1000/s is ~340 MiB/h; of one connection's (~1 KiB) at the failing
# phase's ~30 new connections a second, ~35 MiB/h averaged over the cycle: both far past these.
# All traffic to 127.0.0.1; strain is killed if it outlives DURATION + 2 min.
# Usage: tests/bench/long_run.sh [BUILD_DIR]
#   env: DURATION=30m RATE=1000 PHASE=60s VUS=50 SAMPLE_S=5 MAX_SLOPE_MIB_H=4 MAX_GROWTH_MIB=4
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
export STRAIN=$build/tools/strain/strain STRAIN_TARGET=$build/tools/target/strain-target
[[ -x $STRAIN && -x $STRAIN_TARGET ]] || {
  echo "missing $STRAIN or $STRAIN_TARGET: cmake --preset release && ninja -C build/release" >&2
  exit 2
}
export DURATION=${DURATION:-30m} RATE=${RATE:-1000} PHASE=${PHASE:-60s} VUS=${VUS:-50} \
  SAMPLE_S=${SAMPLE_S:-5} MAX_SLOPE_MIB_H=${MAX_SLOPE_MIB_H:-4} MAX_GROWTH_MIB=${MAX_GROWTH_MIB:-4}
export PYTHONPATH=$here/../integration
exec python3 - <<'PY'
import os, shutil, sys, tempfile

from long_run_support import (phase_checks, reconcile, report, rss_figures, run_long,
                              strain_verdict)


def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * units[unit]
    return float(text)


duration_s, phase_s = seconds(os.environ["DURATION"]), seconds(os.environ["PHASE"])
rate, vus = int(os.environ["RATE"]), int(os.environ["VUS"])
max_slope, max_growth = float(os.environ["MAX_SLOPE_MIB_H"]), float(os.environ["MAX_GROWTH_MIB"])
pin = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
print(f"== long run: {rate}/s for {duration_s:g} s, phases of {phase_s:g} s, "
      f"{'strain on CPU 0, target on CPU 1' if pin else 'not pinned'}; "
      f"{os.environ['STRAIN']}", flush=True)
failed = []
with tempfile.TemporaryDirectory() as tmp:
    run = run_long(tmp, duration_s, rate, phase_s, vus=vus, max_vus=2000,
                   sample_s=float(os.environ["SAMPLE_S"]), pin=pin)
    figures = rss_figures(run)
    report(run, figures)
    if run.code != 0:
        failed.append(f"strain exited {run.code}")
        print(run.stderr[-2000:])
print("== reconciliation (strain vs the target's own exit log)")
for row in reconcile(run):
    print(("  ok   " if row.ok else "  FAIL ") + str(row))
    if not row.ok:
        failed.append(row.what)
print("== phases (the target's own counts)")
for what, ok in phase_checks(run):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        failed.append(what)
print(f"== strain's RSS: flat means a slope of at most {max_slope:g} MiB/h and a high-water "
      f"growth of at most {max_growth:g} MiB")
if not figures or figures["slope_mib_h"] is None or figures["growth_mib"] is None:
    failed.append("too few RSS samples")
else:
    slope, growth = figures["slope_mib_h"], figures["growth_mib"]
    for what, ok in ((f"slope {slope:+.2f} MiB/h", slope <= max_slope),
                     (f"high-water growth {growth:+.2f} MiB", growth <= max_growth)):
        print(("  ok   " if ok else "  FAIL ") + what)
        if not ok:
            failed.append(what)
v = strain_verdict(run)
ok = v is not None and v["verdict"] != "leak"
print(("  ok   " if ok else "  FAIL ") + f"strain's own verdict on its rss: "
      f"{v['verdict'] if v else 'none'}")
if not ok:
    failed.append("strain's own rss verdict")
if failed:
    print(f"== NOT OK: {'; '.join(failed)}")
    sys.exit(1)
print("== ok: counts reconciled, strain's RSS flat")
PY
