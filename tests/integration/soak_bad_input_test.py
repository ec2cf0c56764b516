"""Bad soak input: exit 2 before any traffic, with a message naming the flag and the value.

One strain-target serves every case; at the end its own count must be zero. The target's
/metrics endpoint is not counted as served, so --watch-metrics on it would not show; the cases
never point there.
"""
import os
import subprocess
import tempfile

from harness import STRAIN, check, finish
from soak_support import TargetProcess

with TargetProcess() as t, tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "result.json")
    base = ["soak", "--url", t.url, "--rate", "50/s", "-d", "5s", "--watch-pid", f"target={t.pid}"]
    # (extra flags, the flag the message must name, the value it must name)
    cases = [
        (["--watch-pid", "999999"], "--watch-pid", "999999"),
        (["--watch-pid", "abc"], "--watch-pid", "abc"),
        (["--max-growth", "rss=lots"], "--max-growth", "lots"),
        (["--max-growth", "bogus=1MiB/h"], "--max-growth", "bogus"),
        (["--limit", "rss=-1"], "--limit", "-1"),
        (["--watch-metrics", "http://127.0.0.1:1/metrics"], "--watch-metrics",
         "http://127.0.0.1:1/metrics"),
        (["--watch-metrics", "http://example.com/metrics"], "--watch-metrics",
         "http://example.com/metrics"),
        (["--watch-path", "/nonexistent"], "--watch-path", "/nonexistent"),
        (["--sample-every", "0s"], "--sample-every", "0s"),
        (["--warmup", "200%"], "--warmup", "200%"),
    ]
    for extra, flag, value in cases:
        argv = [STRAIN, *base, *extra, "--out", out]
        label = " ".join(extra)
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            code, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            code, err = None, "(timed out after 30 s)"
        lines = [l for l in err.strip().splitlines() if l]
        print(f"{label}: exit {code}: {lines[:2]}")
        check(code == 2, f"{label!r}: exit 2 (got {code})")
        check(any(flag in l and value in l for l in lines),
              f"{label!r}: one line names {flag} and {value!r}")
        check(not os.path.exists(out), f"{label!r}: no result written")
        if os.path.exists(out):
            os.remove(out)
    # The same budgets from a script's options.soak: the message names the script and the field.
    script = os.path.join(tmp, "budget.lua")
    with open(script, "w") as f:
        f.write('options = { vus = 1, duration = "5s", soak = { max_growth = { rss = "lots" } } }\n'
                f'function default() http.get("{t.url}") end\n')
    for command in ("soak", "run"):
        p = subprocess.run([STRAIN, command, script, "--out", out], capture_output=True, text=True,
                           timeout=30)
        print(f"{command} budget.lua: exit {p.returncode}: {p.stderr.strip()[:200]!r}")
        check(p.returncode == 2, f"{command} with options.soak.max_growth 'lots': exit 2")
        check("budget.lua: options.soak.max_growth" in p.stderr and "lots" in p.stderr,
              f"{command}: the message names budget.lua, options.soak.max_growth and 'lots'")
        check(not os.path.exists(out), f"{command} budget.lua: no result written")
    served = t.stats()["served"]
    check(served == 0, f"no traffic reached the target (served {served})")

finish()
