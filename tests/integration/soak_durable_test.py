"""A killed soak loses at most its last second (DESIGN §7: results stream to disk each interval).

A 20 s soak at 300 req/s with --out, SIGKILLed at a random moment between 8 and 15 s (the
moment is printed; SOAK_KILL_AT=S repeats it). Then `strain report --rebuild result.json` exits
0 (or 3 if it judges), and writes result.json marked partial whose interval count equals the
lines of result.intervals.jsonl and whose responses equal their sum; strain-target's own served
count (GET /__strain/stats) is at least that, and exceeds it by at most one interval's worth of
requests: those of the last second, which was never written.
"""
import json
import math
import os
import random
import signal
import subprocess
import tempfile
import time

from harness import STRAIN, check, finish
from soak_support import (StrainRun, TargetProcess, print_verdicts, read_jsonl, sidecar_paths,
                          soak_argv)

RATE, DURATION = 300, 20
kill_at = float(os.environ.get("SOAK_KILL_AT") or random.uniform(8.0, 15.0))

with TargetProcess() as t, tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "result.json")
    side = sidecar_paths(out)
    argv = soak_argv("--url", t.url, "--rate", f"{RATE}/s", "-d", f"{DURATION}s",
                     "--watch-pid", f"target={t.pid}", out=out)
    with StrainRun(argv, tmp, out) as run:
        time.sleep(kill_at)
        alive = run.proc.poll() is None
        run.proc.send_signal(signal.SIGKILL)
        run.wait(10)
        print(f"SIGKILL at {kill_at:.2f} s (SOAK_KILL_AT={kill_at:.2f} repeats it)")
        check(alive, f"strain was still running when killed (exit {run.code}; "
                     f"stderr {run.stderr().strip()[-400:]!r})")
    time.sleep(0.5)  # whatever strain had sent is answered (or dropped) by now
    served = t.stats()["served"]

    for key, path in side.items():
        check(os.path.exists(path), f"sidecar {key} written before the kill: {os.path.basename(path)}")
    lines, torn = read_jsonl(side["intervals"]) if os.path.exists(side["intervals"]) else ([], False)
    if torn:
        print("note: the last line of result.intervals.jsonl was cut by the kill")
    # The spec: one JSON object per interval with at least start_s, length_s, responses, errors.
    # strain writes one {"header": ...} line first (the run's identity and soak options, for the
    # rebuild): accepted there and only there; every other line must be an interval.
    header = lines[:1] if lines and "header" in lines[0] else []
    intervals = lines[len(header):]
    check(all(k in l for l in intervals for k in ("start_s", "length_s", "responses", "errors")),
          "every line of intervals.jsonl after the header is an interval with start_s, length_s, "
          f"responses and errors at its top level (keys: {[sorted(l)[:6] for l in intervals[:1]]})")
    line_responses = sum(p.get("responses", 0) for p in intervals)
    print(f"intervals.jsonl: {len(lines)} lines, {len(intervals)} intervals, {line_responses} "
          f"responses; target served {served}")
    check(kill_at - 3 <= len(intervals) <= kill_at + 1,
          f"about one interval per second before the kill ({len(intervals)}, killed at "
          f"{kill_at:.1f} s)")

    before = os.stat(out).st_mtime_ns if os.path.exists(out) else None
    p = subprocess.run([STRAIN, "report", "--rebuild", out], capture_output=True, text=True,
                       timeout=60)
    print(f"report --rebuild: exit {p.returncode}\n{p.stdout[-1500:]}{p.stderr[-600:]}")
    check(p.returncode in (0, 3), f"report --rebuild exits 0 or 3 (got {p.returncode})")
    r = None
    if os.path.exists(out) and os.stat(out).st_mtime_ns != before:
        with open(out) as f:
            r = json.load(f)
    check(r is not None, "report --rebuild wrote result.json")
    if r:
        print_verdicts(r)
        check(r.get("partial") is True, f"the rebuilt result is marked partial ({r.get('partial')})")
        timeline = r.get("timeline", [])
        check(len(timeline) == len(intervals),
              f"its intervals ({len(timeline)}) = the intervals in intervals.jsonl ({len(intervals)})")
        rebuilt = r["summary"]["requests"]
        check(rebuilt == line_responses,
              f"its responses ({rebuilt}) = the sum over the lines ({line_responses})")
        check(sum(p_["responses"] for p_ in timeline) == line_responses,
              "its timeline's responses sum to the same")
        # One interval's worth: the rate times the longest interval, 5% for the moment between
        # an interval closing and its line reaching the disk.
        interval_s = max([p.get("length_s", 1.0) for p in intervals] or [1.0])
        allowed = math.ceil(RATE * interval_s * 1.05)
        check(rebuilt <= served <= rebuilt + allowed,
              f"target served {served}: at least the rebuilt {rebuilt}, at most one interval "
              f"({allowed}) more (lost: {served - rebuilt})")
        check("soak" in r, "the rebuilt result has its soak section")
        # The rebuilt drift verdicts see the same intervals the run's would have: each interval
        # is one sample of latency_p99 and error_rate.
        for res in ("latency_p99", "error_rate"):
            v = next((x for x in (r.get("soak") or {}).get("verdicts", [])
                      if x.get("component") == "run" and x.get("resource") == res), None)
            n = v.get("samples") if v else None
            check(n is not None and n >= len(intervals) - 2,
                  f"rebuilt (run, {res}) verdict has the intervals as samples ({n} of "
                  f"{len(intervals)})")

finish()
