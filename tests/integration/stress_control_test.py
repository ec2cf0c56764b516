"""strain stress: bad input exits 2 before any traffic; Ctrl-C exits 130 with the steps so far.

1. --slo missing or unreadable, --precision 200%, --growth 1, --step 1s: exit 2, a message naming
   the flag and the value, no result file, and the target served nothing.
3. A script: `strain stress s.lua` drives its default() at the search's rates; against a
   capacity of 400/s (--workers 4 --service 10ms) it finds within 10% of 400.
2. SIGINT 14 s into a search with 4 s steps: exit 130, a result marked partial whose stress
   section has the steps judged so far (at least two), each with its figures, end "interrupted".
"""
import os
import signal
import subprocess
import tempfile
import time

from harness import STRAIN, check, finish
from soak_support import StrainRun, TargetProcess

with TargetProcess("--workers", "4", "--service", "10ms", "--threads", "1") as t, \
        tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "result.json")
    base = [STRAIN, "stress", "--url", t.url, "--out", out]
    cases = [
        ([], "--slo", "required"),
        (["--slo", "p99 250ms"], "--slo", "p99 250ms"),
        (["--slo", "latency{p99}<fast"], "--slo", "fast"),
        (["--slo", "p99<250ms", "--precision", "200%"], "--precision", "200%"),
        (["--slo", "p99<250ms", "--growth", "1"], "--growth", "1"),
        (["--slo", "p99<250ms", "--step", "1s"], "--step", "1s"),
        (["--slo", "p99<250ms", "--max-rate", "10/s", "--start-rate", "50/s"], "--max-rate", "10/s"),
    ]
    for extra, flag, value in cases:
        p = subprocess.run(base + extra, capture_output=True, text=True, timeout=30)
        label = " ".join(extra) or "(no --slo)"
        print(f"{label}: exit {p.returncode}: {p.stderr.strip()[:200]!r}")
        check(p.returncode == 2, f"{label}: exit 2 (got {p.returncode})")
        check(flag in p.stderr and value in p.stderr, f"{label}: the message names {flag} and {value!r}")
        check(not os.path.exists(out), f"{label}: no result file")
    served = t.stats()["served"]
    check(served == 0, f"no traffic reached the target (served {served})")

    argv = base + ["--slo", "p99<100ms", "--step", "4s", "--max-time", "2m", "-t", "1"]
    with StrainRun(argv, tmp, out) as run:
        time.sleep(14)
        run.proc.send_signal(signal.SIGINT)
        code = run.wait(30)
        r = run.result() or {}
        print(run.stdout()[-2500:])
    check(code == 130, f"SIGINT: exit 130 (got {code})")
    check(r.get("partial") is True, "the result is marked partial")
    s = r.get("stress") or {}
    check(s.get("end") == "interrupted", f"stress.end is interrupted ({s.get('end')})")
    steps = s.get("steps", [])
    check(len(steps) >= 2, f"the steps judged so far are kept ({len(steps)})")
    check(all(x.get("judged_s", 0) > 0 and x.get("achieved_rps", 0) > 0 for x in steps),
          "each kept step has its window and figures")

    script = os.path.join(tmp, "s.lua")
    with open(script, "w") as f:
        f.write(f'function default() http.get("{t.url}") end\n')
    out2 = os.path.join(tmp, "script.json")
    with StrainRun([STRAIN, "stress", script, "--slo", "p99<100ms", "--step", "4s", "--precision",
                    "10%", "--max-time", "3m", "-t", "1", "--out", out2], tmp, out2) as run:
        code = run.wait(240)
        s = (run.result() or {}).get("stress") or {}
        print(run.stdout()[-2000:])
    best = s.get("max_sustainable_rps")
    check(code == 0, f"script: exit 0 ({code})")
    check(best is not None and abs(best - 400) <= 40, f"script: sustainable {best}/s within 10% of 400/s")

finish()
