"""What broke first, how the target fails, and what saturated (DESIGN §8).

1. A rate limiter: strain-target --rate-limit 500/s answers 429 beyond 500/s at once. With
   --slo 'p99<100ms,errors<1%' the first failure is errors (429s count: a shed request was not
   served), the failure mode is shedding, and the sustainable rate is within 10% of 500.
2. A CPU-bound target: strain-target --threads 1 --cpu-work 2ms on one core (taskset) serves
   about 500/s, its one core full. With --watch-pid on it, the saturated resource at the
   breaking step is the target's cpu, near 100% of the one core it may use.
3. A target approaching a memory limit: strain-target --workers 8 --service 10ms --leak 8KiB
   keeps 8 KiB per request, so its RSS climbs with every step; with --limit rss=96MiB the
   saturated resource at the breaking step is the target's rss, judged against the 96 MiB
   (source --limit), and its value is the RSS this test read itself from /proc around the end
   of that step's window.
"""
import os
import shutil
import tempfile
import time

from harness import STRAIN, TARGET, check, finish
from soak_support import ProcSampler, StrainRun, TargetProcess

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

    # 3. Memory near a limit: the leak, not the CPU, is what is closest to giving out.
    limit_mib = 96
    with TargetProcess("--workers", "8", "--service", "10ms", "--threads", "1", "--leak", "8KiB",
                       "--leak-limit", "512MiB", binary=TARGET, prefix=pin) as t:
        sampler = ProcSampler(t.pid, time.monotonic(), every_s=0.25).start()
        code, s = stress(tmp, t.url, "--slo", "p99<100ms", "--watch-pid", f"target={t.pid}",
                         "--limit", f"rss={limit_mib}MiB", label="memory")
        sampler.stop()
        sat = s.get("saturated") or {}
        print(f"memory: saturated {sat}")
        check(sat.get("component") == "target" and sat.get("resource") == "rss",
              f"memory: the saturated resource is the target's rss ({sat})")
        check(sat.get("limit") == limit_mib * 1024 * 1024,
              f"memory: judged against the {limit_mib} MiB of --limit ({sat.get('limit')})")
        value = sat.get("value") or 0
        check(abs((sat.get("utilisation") or 0) - value / (limit_mib * 1024 * 1024)) < 1e-9,
              "memory: utilisation is the value over the limit")
        ff = s.get("first_failure") or {}
        steps = s.get("steps", [])
        at = steps[ff["step"]] if "step" in ff and ff["step"] < len(steps) else None
        res = [x for x in (at or {}).get("resources", [])
               if x["component"] == "target" and x["resource"] == "rss"]
        check(bool(res) and res[0].get("limit_source") == "--limit",
              f"memory: the breaking step's rss limit comes from --limit ({res[:1]})")
        if at and res:
            # The test's own /proc readings around the moment strain's reading was taken
            # (read_at_s: its watcher's latest when the step ended, which for a step cut short
            # is before the step's nominal end). strain's clock starts a moment after this
            # test's, so the same instant is a little later here: [read - 0.5 s, read + 1.5 s].
            end_s = at["start_s"] + at["steady_after_s"] + at["judged_s"]
            read_s = res[0].get("read_at_s")
            check(read_s is not None and at["start_s"] <= read_s <= end_s + 0.5,
                  f"memory: the reading was taken during the step ({read_s} in "
                  f"[{at['start_s']}, {end_s}])")
            read_s = end_s if read_s is None else read_s
            mine = res[0]["value"]
            near = [rss for ts, _, rss, _ in sampler.samples if read_s - 0.5 <= ts <= read_s + 1.5]
            print(f"memory: step {at['index']} ends at {end_s:.1f}s, read at {read_s:.1f}s; strain says "
                  f"{mine / 2**20:.1f} MiB; this test read {min(near, default=0) / 2**20:.1f}.."
                  f"{max(near, default=0) / 2**20:.1f} MiB then")
            check(bool(near) and min(near) <= mine <= max(near),
                  "memory: strain's rss at the breaking step is the RSS this test read then")

finish()
