"""What broke first, how the target fails, and what saturated (DESIGN §8).

1. A rate limiter: strain-target --rate-limit 500/s answers 429 beyond 500/s at once. With
   --slo 'p99<100ms,errors<1%' the first failure is errors (429s count: a shed request was not
   served), the failure mode is shedding, and the sustainable rate is within 10% of 500.
2. A CPU-bound target: strain-target --threads 1 --cpu-work 2ms on one core (taskset) serves
   about 500/s, its one core full. With --watch-pid on it, the saturated resource at the
   breaking step is the target's cpu, near 100% of the one core it may use.
"""
import os
import shutil
import tempfile

from harness import STRAIN, TARGET, check, finish
from soak_support import StrainRun, TargetProcess

STEP = os.environ.get("STRESS_STEP", "6s")


def stress(tmp, url, *extra, label):
    out = os.path.join(tmp, f"{label}.json")
    argv = [STRAIN, "stress", "--url", url, "--step", STEP, "--precision", "10%",
            "--max-time", "4m", "-t", "1", "--out", out, *extra]
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() >= 2:
        argv = ["taskset", "-c", "0"] + argv  # strain on core 0, targets on core 1
    with StrainRun(argv, tmp, out) as run:
        code = run.wait(330)
        r = run.result()
        print(f"== {label}: exit {code}\n" + run.stdout()[-3000:])
        if code not in (0, 3, 4):
            print("stderr tail:", run.stderr()[-1500:])
    return code, (r or {}).get("stress") or {}


with tempfile.TemporaryDirectory() as tmp:
    with TargetProcess("--rate-limit", "500/s", "--burst", "50", "--threads", "1") as t:
        code, s = stress(tmp, t.url, "--slo", "p99<100ms,errors<1%", label="shed")
        check(code == 0, f"shed: exit 0 ({code})")
        best = s.get("max_sustainable_rps")
        check(best is not None and abs(best - 500) <= 50, f"shed: sustainable {best}/s within 10% of 500/s")
        ff = s.get("first_failure") or {}
        check(ff.get("signal") == "errors{rate}", f"shed: first to break is errors{{rate}} ({ff})")
        broken = [x for x in s.get("steps", []) if not x["ok"]]
        check(any("429" in x.get("errors", {}) for x in broken), "shed: the broken steps' errors are 429s")
        check(s.get("failure_mode") == "sheds",
              f"shed: failure mode sheds ({s.get('failure_mode')}: {s.get('failure_mode_reason')})")

    pin = ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) >= 2 else []
    with TargetProcess("--threads", "1", "--cpu-work", "2ms", binary=TARGET, prefix=pin) as t:
        code, s = stress(tmp, t.url, "--slo", "p99<100ms", "--watch-pid", f"target={t.pid}",
                         label="cpu")
        best = s.get("max_sustainable_rps")
        check(best is not None and 300 <= best <= 550, f"cpu: sustainable {best}/s, about 500/s or less")
        sat = s.get("saturated") or {}
        print(f"cpu: saturated {sat}")
        check(sat.get("component") == "target" and sat.get("resource") == "cpu",
              f"cpu: the saturated resource is the target's cpu ({sat})")
        if pin:
            check((sat.get("utilisation") or 0) >= 0.8,
                  f"cpu: at {sat.get('utilisation')} of the one core it may use (>= 80%)")

finish()
