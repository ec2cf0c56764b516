"""The long run, short (issue 15; tests/bench/long_run.sh is the 30-minute one): `strain soak`
at 300/s for 90 s against a strain-target whose defaults take turns every 10 s (--phases):
healthy; slow (150-350 ms, about 75 requests in flight where 10 VUs start, so strain opens more
connections); failing (10% 500s, 2% resets, 1% hangs past the 1 s timeout, 0.5% garbage).
Three cycles. Checked against truths strain does not produce:
- every count pair with the target's own exit log: requests read, responses served, 200s,
  500s, resets, hangs (strain's timeouts), garbage (strain's bad responses); no other error kind;
  strain's own books balance; the target answered or faulted each request it read, per phase;
- each phase did what it was told (the target's per-phase counts) and came round on schedule;
- strain's RSS, read by this test from /proc/PID/status every second: the peak of the last
  cycle is at most MAX_GROWTH_MIB above the peak of the first (which holds the first slow
  phase's connections); a leak of a request's or a connection's worth would add tens of MiB.
  Under ASan, freed memory sits in ASan's quarantine (256 MiB by default) and RSS climbs for
  minutes whatever strain does: as in fault_matrix_test.py the quarantine is cut to 16 MiB
  (ASAN_OPTIONS, ignored by other builds), and the bound is ASAN_MAX_GROWTH_MIB, the quarantine
  (which may still be filling after the first cycle) plus slack for ASan's allocator and
  shadow: it catches gross growth only; the count checks are the same;
- strain's own soak verdict on its rss is not `leak`.
env: LONG_RUN_DURATION=90 LONG_RUN_PHASE=10 LONG_RUN_RATE=300
"""
import os
import tempfile

from harness import STRAIN, check, finish, passed_or_late
from long_run_support import (is_asan, phase_checks, reconcile, report, rss_figures,
                              run_long, strain_verdict)

DURATION_S = float(os.environ.get("LONG_RUN_DURATION", "90"))
PHASE_S = float(os.environ.get("LONG_RUN_PHASE", "10"))
RATE = int(os.environ.get("LONG_RUN_RATE", "300"))
VUS = 10
MAX_GROWTH_MIB = 4.0
ASAN_MAX_GROWTH_MIB = 24.0

os.environ["ASAN_OPTIONS"] = ":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
asan = is_asan(STRAIN)
bound = ASAN_MAX_GROWTH_MIB if asan else MAX_GROWTH_MIB
with tempfile.TemporaryDirectory() as tmp:
    run = run_long(tmp, DURATION_S, RATE, PHASE_S, vus=VUS, max_vus=1000, sample_s=1.0)
    figures = rss_figures(run)
    report(run, figures)
    if run.code not in (0, 4):
        print(run.stderr[-2000:])
    r = run.result
    check(r is not None, "strain wrote its result")
    check(passed_or_late(run.code, r), f"strain exit 0 (got {run.code})")
    sched = (r or {}).get("schedule") or {}
    check(sched.get("due") and sched.get("started") == sched.get("due"),
          f"every arrival due was started ({sched.get('started')} of {sched.get('due')})")
    check(run.total.get("served") is not None and len(run.phases) == 3,
          "the target logged its count and three phase lines")
    for row in reconcile(run):
        check(row.ok, str(row))
    for what, ok in phase_checks(run):
        check(ok, what)
    # 75 requests in flight in the slow phase against 10 VUs at the start.
    check(sched.get("peak_vus", 0) >= 4 * VUS,
          f"the slow phase made strain open more connections (peak VUs {sched.get('peak_vus')}, "
          f"{VUS} at the start)")
    check(figures is not None and figures["growth_mib"] is not None, "RSS sampled")
    if figures and figures["growth_mib"] is not None:
        check(figures["growth_mib"] <= bound,
              f"strain's RSS peak grew {figures['growth_mib']:+.2f} MiB from the first cycle to "
              f"the last (at most {bound:g}{' under ASan' if asan else ''})")
    v = strain_verdict(run)
    check(v is not None and v["verdict"] != "leak",
          f"strain's soak verdict on its own rss is not leak ({v and v['verdict']})")

finish()
