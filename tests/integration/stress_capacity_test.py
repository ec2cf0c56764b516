"""The breaking point of a target with a known capacity (DESIGN §8).

strain-target --workers 8 --service 10ms serves at most 800 requests a second: beyond that its
one FIFO queue grows without bound, so p99 < 100ms breaks a little below 800/s. The search must
find a sustainable rate within 10% of 800, call the failure mode queueing, and every response
strain counted must be one the target says it served (its own count, at the end).

CI runs a short search (--step 8s, --precision 8%); tests/bench/stress_capacity.sh runs the
defaults and times them. env: STRESS_STEP, STRESS_PRECISION.
"""
import os
import tempfile

from harness import STRAIN, check, finish
from soak_support import StrainRun, TargetProcess

STEP = os.environ.get("STRESS_STEP", "8s")
PRECISION = os.environ.get("STRESS_PRECISION", "8%")
CAPACITY = 800

with TargetProcess("--workers", "8", "--service", "10ms", "--threads", "1") as t, \
        tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "result.json")
    argv = [STRAIN, "stress", "--url", t.url, "--slo", "p99<100ms", "--step", STEP,
            "--precision", PRECISION, "--max-time", "5m", "-t", "1", "--expected-peak", "600/s",
            "--out", out]
    with StrainRun(argv, tmp, out) as run:
        code = run.wait(400)
        r = run.result()
        print(run.stdout()[-4000:])
        print("stderr tail:", run.stderr()[-1500:])
    s = (r or {}).get("stress") or {}
    check(code == 0, f"exit 0: the expected 600/s is below the sustainable rate (got {code})")
    best = s.get("max_sustainable_rps")
    check(best is not None and abs(best - CAPACITY) <= 0.10 * CAPACITY,
          f"sustainable {best}/s within 10% of the true capacity {CAPACITY}/s")
    check(s.get("end") == "precise", f"the search ended precise ({s.get('end')})")
    bad = s.get("first_bad_rps")
    check(best is not None and bad is not None and bad > best, f"bracket {best} .. {bad}")
    check(s.get("failure_mode") == "queues",
          f"failure mode: queues ({s.get('failure_mode')}: {s.get('failure_mode_reason')})")
    ff = s.get("first_failure") or {}
    check(ff.get("signal") == "latency{p99}", f"first to break: latency{{p99}} ({ff})")
    steps = s.get("steps", [])
    check([x["offered_rps"] for x in steps[:4]] == [50, 100, 200, 400],
          f"growth steps 50, 100, 200, 400 first ({[x['offered_rps'] for x in steps[:5]]})")
    check(all(x["ok"] for x in steps if x["offered_rps"] <= 400), "every step to 400/s held")
    check(any(not x["ok"] and x["offered_rps"] >= 800 for x in steps), "800/s broke")
    head = s.get("headroom") or {}
    check(head.get("exceeds") is False and abs(head.get("share_of_sustainable", 0) - 600 / best) < 1e-6,
          f"headroom: 600/s is {head.get('share_of_sustainable')} of {best}")
    # The independent truth: the target's own count of what it served.
    served = t.stats()["served"]
    answered = (r or {}).get("summary", {}).get("requests")
    print(f"target served {served}, strain counted {answered} responses")
    check(answered is not None and served >= answered and served - answered <= 50,
          f"strain's responses ({answered}) are the target's ({served}) up to those cut at the end")
    check(s.get("usl") is not None or s.get("usl_note"), "a USL fit, or a note why not")

finish()
