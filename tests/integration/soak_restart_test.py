"""--watch-process follows a target that dies and comes back (DESIGN §7).

A 30 s soak at 300 req/s of strain-target --leak 16KiB, watched by process name and sampled
every 500 ms. Halfway the test SIGKILLs the target, leaves it down 2.5 s (longer than a sample
period, so several samples find no process), and starts it again on the same port. The run
goes on to its end: exit 3 for the leak (not a crash), one entry in soak.restarts with the new
pid, the gap in soak.gaps with a reason, and the rss verdict still `leak`, its slope within 25%
of the growth this test fits itself to both segments of /proc/PID/statm (one slope, an
intercept per segment).

500 ms: strain fits the floor on windows of at least three samples and judges no fewer than 10
windows; at 1 s, 30 s less the 3 s warm-up and the gap leaves 8, and every verdict is "too
short to judge" (SOAK_RESTART_SAMPLE=1s shows it; SOAK_RESTART_DURATION=45 judges at 1 s).

The name: strain-target's comm is "strain-target" (checked below). --watch-process takes the
oldest process of a name, and on a CI machine other strain-target processes may be running (the
other integration tests, other builds), so the test runs the target through a symlink whose
name is unique to this test; the kernel takes comm from the name that was executed.
"""
import os
import signal
import tempfile
import time

from harness import TARGET, check, finish
from soak_support import (ProcSampler, StrainRun, TargetProcess, describe, one_verdict,
                          pooled_slope, print_verdicts, soak_argv, start_target_on)

RATE, DOWN_S = 300, 2.5
DURATION = int(os.environ.get("SOAK_RESTART_DURATION", "30"))
SAMPLE = os.environ.get("SOAK_RESTART_SAMPLE", "500ms")
KILL_AT = DURATION / 2
MIB = 1024 * 1024


def mib(x):
    return "none" if x is None else f"{x / MIB:,.0f}"

with TargetProcess() as plain:
    comm = plain.comm()
    check(comm == "strain-target", f"strain-target's process name (comm) is {comm!r}")

with tempfile.TemporaryDirectory() as tmp:
    name = f"st-rst-{os.getpid()}"[:15]
    binary = os.path.join(tmp, name)
    os.symlink(os.path.abspath(TARGET), binary)
    out = os.path.join(tmp, "result.json")
    first = TargetProcess("--leak", "16KiB", binary=binary)
    second = None
    try:
        check(first.comm() == name, f"the target runs as {first.comm()!r} (expected {name!r})")
        t0 = time.monotonic()
        sampler = ProcSampler(first.pid, t0).start()
        argv = soak_argv("--url", first.url, "--rate", f"{RATE}/s", "-d", f"{DURATION}s",
                         "--watch-process", f"target={name}", "--sample-every", SAMPLE, out=out)
        with StrainRun(argv, tmp, out) as run:
            time.sleep(max(0.0, KILL_AT - (time.monotonic() - t0)))
            killed_at = time.monotonic() - t0
            first.kill(signal.SIGKILL)
            time.sleep(DOWN_S)
            second = start_target_on(first.port, "--leak", "16KiB", binary=binary)
            back_at = time.monotonic() - t0
            sampler.set_pid(second.pid)
            print(f"killed pid {first.pid} at {killed_at:.1f} s; pid {second.pid} listening on "
                  f"the same port at {back_at:.1f} s")
            code = run.wait(DURATION + 60)
            sampler.stop()
            r = run.result()
            print(f"strain exit {code}; stderr: {run.stderr().strip()[-600:]!r}")
            print("summary:\n" + run.stdout()[-2500:])
    finally:
        first.kill()
        if second:
            second.kill()

    check(code == 3, f"exit 3 for the leak, the run went on (got {code})")
    check(r is not None and "soak" in r, "result JSON with a soak section")
    check(r is not None and r["summary"]["duration_s"] >= DURATION - 1,
          f"the run lasted its planned {DURATION} s ({r and r['summary']['duration_s']})")
    print_verdicts(r)
    soak = (r or {}).get("soak") or {}
    restarts = soak.get("restarts", [])
    print(f"restarts: {restarts}")
    check(len(restarts) == 1, f"one restart recorded (got {len(restarts)})")
    if restarts:
        x = restarts[0]
        check(x.get("component") == "target" and second and x.get("pid") == second.pid,
              f"the restart is the target's, new pid {second and second.pid} ({x})")
        check(isinstance(x.get("t_s"), (int, float)) and killed_at - 1 <= x["t_s"] <= back_at + 3,
              f"the restart is dated after the kill: {x.get('t_s')} s in "
              f"[{killed_at - 1:.1f}, {back_at + 3:.1f}]")
    gaps = [g for g in soak.get("gaps", []) if g.get("component") == "target"]
    print(f"gaps: {soak.get('gaps')}")
    check(len(gaps) >= 1, f"the target's gap is recorded ({len(gaps)})")
    if gaps:
        g = gaps[0]
        check(bool(g.get("reason")), f"the gap has a reason ({g.get('reason')!r})")
        check(killed_at - 2 <= g.get("from_s", -1) <= back_at + 1
              and g.get("from_s", 0) <= g.get("to_s", -1) <= back_at + 3,
              f"the gap [{g.get('from_s')}, {g.get('to_s')}] s lies around the downtime "
              f"[{killed_at:.1f}, {back_at:.1f}] s")

    v = one_verdict(r, "target", "rss", "process") if r else None
    check(v is not None and v.get("verdict") == "leak", f"(target, rss): still leak ({describe(v)})")
    warmup = soak.get("warmup_s") if isinstance(soak.get("warmup_s"), (int, float)) else 0.1 * DURATION
    segments = [[(ts, rss) for ts, seg, rss, _ in sampler.samples
                 if seg == k and lo <= ts <= hi]
                for k, (lo, hi) in enumerate([(warmup + 1, killed_at - 0.2),
                                              (back_at + 1, DURATION - 1)])]
    truth = pooled_slope(segments) * 3600 if all(len(s) > 3 for s in segments) else None
    slope = v.get("slope_per_hour") if v else None
    print(f"truth: {mib(truth)} MiB/h from {len(segments[0])} + "
          f"{len(segments[1])} samples of the two processes")
    check(truth is not None and slope is not None and abs(slope - truth) <= 0.25 * truth,
          f"(target, rss) slope {mib(slope)} MiB/h within 25% of the test's "
          f"own {mib(truth)} MiB/h over both segments")

finish()
