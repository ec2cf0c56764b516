"""A script's options.soak (budgets, warm-up, sampling period), and a flag that overrides it.

Two short soaks of a Lua script at 300 arrivals/s against strain-target --leak 16KiB (about
16 GiB/h of RSS): the script says max_growth rss = 1 MiB/h, warmup 2s, sample_every 0.25s.
1. `strain soak script.lua --watch-pid`: the (target, rss) verdict carries the script's budget
   (1 MiB/h), broken; the soak section's warm-up and period are the script's; exit 3.
2. The same with --max-growth rss=64GiB/h: the flag wins, the budget is 64 GiB/h and kept
   (the run still exits 3: the leak itself is a verdict).
3. `strain run script.lua` with no --watch-*: the script's budget alone turns judging on.
"""
import os
import tempfile

from harness import check, finish
from soak_support import StrainRun, TargetProcess, describe, one_verdict, print_verdicts

MIB = 1024 * 1024
SCRIPT = """
options = {{
  scenarios = {{ leak = {{ executor = "constant-arrival-rate", rate = 300, duration = "15s",
                         preallocated_vus = 20, exec = "default" }} }},
  soak = {{ max_growth = {{ rss = "1MiB/h" }}, warmup = "2s", sample_every = 0.25 }},
}}
function default() http.get("{url}") end
"""

with TargetProcess("--leak", "16KiB") as t, tempfile.TemporaryDirectory() as tmp:
    script = os.path.join(tmp, "leaky.lua")
    with open(script, "w") as f:
        f.write(SCRIPT.format(url=t.url))
    cases = [
        ("soak", ["--watch-pid", f"target={t.pid}"], 1 * MIB, True),
        ("soak", ["--watch-pid", f"target={t.pid}", "--max-growth", "rss=64GiB/h"],
         64 * 1024 * MIB, False),
    ]
    for i, (command, extra, budget, broken) in enumerate(cases):
        out = os.path.join(tmp, f"result{i}.json")
        label = f"{command} {' '.join(extra)}"
        with StrainRun([os.environ["STRAIN"], command, script, *extra, "--out", out], tmp,
                       out) as run:
            code = run.wait(60)
            r = run.result()
            print(f"{label}: exit {code}; stderr {run.stderr().strip()[-300:]!r}")
            print_verdicts(r)
        soak = (r or {}).get("soak") or {}
        check(code == 3, f"{label}: exit 3 (got {code})")
        check(soak.get("warmup_s") == 2, f"{label}: the script's warm-up, 2 s ({soak.get('warmup_s')})")
        check(soak.get("sample_every_s") == 0.25,
              f"{label}: the script's period, 0.25 s ({soak.get('sample_every_s')})")
        v = one_verdict(r, "target", "rss", "pid") if r else None
        check(v is not None and v.get("verdict") == "leak", f"{label}: (target, rss) leak ({describe(v)})")
        check(v is not None and v.get("budget_per_hour") == budget,
              f"{label}: budget {budget / MIB:g} MiB/h ({v and v.get('budget_per_hour')})")
        check(v is not None and v.get("budget_broken") is broken,
              f"{label}: budget broken is {broken} ({v and v.get('budget_broken')})")

    # 3. strain run with the script's budget only: no watcher flag, yet the run is judged.
    out = os.path.join(tmp, "run.json")
    with StrainRun([os.environ["STRAIN"], "run", script, "--out", out], tmp, out) as run:
        code = run.wait(60)
        r = run.result()
    soak = (r or {}).get("soak") or {}
    check(code in (0, 3), f"run: exit 0 or 3 (got {code})")
    v = one_verdict(r, "strain", "rss", "self") if r else None
    check(v is not None and v.get("budget_per_hour") == MIB,
          f"run: strain's own rss judged against the script's budget ({describe(v)})")

finish()
