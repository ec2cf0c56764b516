"""Leak verdicts against the test's own truth (DESIGN §7).

1. strain-target --leak 16KiB at 300 req/s for 60 s, watched twice at once: --watch-pid and
   --watch-metrics on its /metrics. The verdict on (target, rss) is `leak` (exit 3) with a slope
   within 25% of the one this test fits itself (Theil–Sen) to /proc/PID/statm read every 0.5 s
   after the warm-up; the verdict from /metrics agrees (leak, slope within 15%); strain's own
   rss is not a leak; the sidecars exist and the samples CSV has about one row per second per
   resource.
2. strain-target --fd-leak 10 at 300 req/s for 40 s: `leak` on (target, fds), slope within 25%
   of 30 fds/s x 3600 = 108,000/h and of this test's own count of /proc/PID/fd.
3. No false descriptor leak from strain's own connections: a ramping arrival rate (20 → 200/s
   over 45 s) against --latency 100ms needs 2 → 20 requests in flight, so strain opens about 18
   connections and keeps them; the target's descriptors (this test's own count) rise by as many,
   steadily, while the target leaks none (its /metrics: strain_target_leaked_fds 0). The verdict
   on (target, fds) is not `leak`, its reason says it is judged net of strain's connections, and
   it fails nothing (memory, which grows with connections too, may); strain's `connections`
   series rose as fast as this test's count of the target's descriptors.
4. strain itself leaking: a script that keeps a new 16 KiB string per iteration at 50/s for 30 s
   (about 2.8 GiB/h, all of it in strain). The verdict on (strain, rss) is `leak` with a slope
   within 25% of the one this test fits to strain's own /proc/PID/statm, while the target, which
   leaks nothing, is not blamed (exit 0). With case 1 (strain's rss not a leak while it does its
   ordinary work) this pins the self check from both sides.
"""
import os
import tempfile
import time
import urllib.request

from harness import check, finish
from soak_support import (ProcSampler, StrainRun, TargetProcess, describe, least_squares_slope,
                          one_verdict, print_verdicts, read_samples_csv, sidecar_paths, soak_argv,
                          theil_sen_slope)

RATE = 300
LEAK_BYTES = 16 * 1024
MIB = 1024 * 1024


def mib(x):
    return "none" if x is None else f"{x / MIB:,.0f}"


def num(x):
    return "none" if x is None else f"{round(x):,}"


def within(a, b, tolerance):
    return a is not None and b not in (None, 0) and abs(a - b) <= tolerance * abs(b)


def fit_window(result, duration_s):
    """The window the test fits: after strain's warm-up (plus a second: strain's clock starts a
    little after the test's), to a second before the planned end (the target stops growing
    when the traffic stops)."""
    warmup = ((result or {}).get("soak") or {}).get("warmup_s")
    warmup = warmup if isinstance(warmup, (int, float)) else 0.1 * duration_s
    return warmup + 1.0, duration_s - 1.0


# --- 1. A memory leak, watched by pid and by /metrics ---------------------------------------
DURATION = 60
with TargetProcess("--leak", "16KiB") as t, tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "result.json")
    t0 = time.monotonic()
    sampler = ProcSampler(t.pid, t0).start()
    # The two watchers need two component names: watch_spec refuses one name used twice.
    argv = soak_argv("--url", t.url, "--rate", f"{RATE}/s", "-d", f"{DURATION}s",
                     "--watch-pid", f"target={t.pid}",
                     "--watch-metrics", f"target-metrics={t.metrics_url}", out=out)
    with StrainRun(argv, tmp, out) as run:
        self_sampler = ProcSampler(run.proc.pid, t0).start()  # strain's own RSS, for the record
        code = run.wait(DURATION + 60)
        sampler.stop()
        self_sampler.stop()
        r = run.result()
        print(f"strain exit {code}; stderr: {run.stderr().strip()[-600:]!r}")
        print("summary:\n" + run.stdout()[-2500:])
    check(code == 3, f"memory leak: exit 3 (got {code})")
    check(r is not None and "soak" in r, "result JSON written with a soak section")
    print_verdicts(r)

    lo, hi = fit_window(r, DURATION)
    points = [(ts, rss) for ts, _, rss, _ in sampler.window(lo, hi)]
    check(len(points) >= 0.8 * (hi - lo) / 0.5, f"the test's own samples: {len(points)} in "
          f"[{lo:.1f}, {hi:.1f}] s")
    truth = theil_sen_slope(points) * 3600 if len(points) > 2 else None
    nominal = LEAK_BYTES * RATE * 3600
    if truth:
        ls = least_squares_slope(points) * 3600
        print(f"truth (test's Theil–Sen on statm): {truth / MIB:,.0f} MiB/h; least squares "
              f"{ls / MIB:,.0f} MiB/h; nominal 16 KiB x {RATE}/s = {nominal / MIB:,.0f} MiB/h")

    v = one_verdict(r, "target", "rss", "pid") if r else None
    check(v is not None and v.get("verdict") == "leak", f"(target, rss) by pid: leak ({describe(v)})")
    check(v is not None and v.get("unit") == "bytes", f"(target, rss) unit is bytes ({v and v.get('unit')})")
    slope_pid = v.get("slope_per_hour") if v else None
    check(within(slope_pid, truth, 0.25),
          f"(target, rss) slope {mib(slope_pid)} MiB/h within 25% of the "
          f"test's own {mib(truth)} MiB/h")
    if v:
        check(v.get("ci_low") is not None and v.get("ci_high") is not None
              and v["ci_low"] <= slope_pid <= v["ci_high"],
              f"the slope lies in its own CI [{v.get('ci_low')}, {v.get('ci_high')}]")

    vm = one_verdict(r, "target-metrics", "rss", "metrics") if r else None
    check(vm is not None and vm.get("verdict") == "leak",
          f"(target-metrics, rss) by /metrics: leak ({describe(vm)})")
    slope_metrics = vm.get("slope_per_hour") if vm else None
    check(within(slope_metrics, slope_pid, 0.15),
          f"the two sources agree: /metrics {mib(slope_metrics)} MiB/h "
          f"within 15% of pid {mib(slope_pid)} MiB/h")

    lo, hi = fit_window(r, DURATION)
    own = [(ts, rss) for ts, _, rss, _ in self_sampler.window(lo, hi)]
    if len(own) > 2:
        print(f"strain's own RSS as this test reads it: {own[0][1] / MIB:.2f} MiB at {own[0][0]:.0f} s, "
              f"{own[-1][1] / MIB:.2f} MiB at {own[-1][0]:.0f} s, Theil–Sen "
              f"{theil_sen_slope(own) * 3600 / MIB:+.2f} MiB/h")
    vs = one_verdict(r, "strain", "rss", "self") if r else None
    check(vs is not None and vs.get("verdict") != "leak", f"(strain, rss) is not a leak ({describe(vs)})")

    # The sidecars, where the spec puts them and where the result says they are.
    soak = (r or {}).get("soak") or {}
    files = soak.get("files") or {}
    expected = sidecar_paths(out)
    for key in ("intervals", "hlog", "samples"):
        path = files.get(key)
        if path and not os.path.isabs(path):
            path = os.path.join(os.path.dirname(out), path)
        check(path is not None and os.path.exists(path), f"soak.files.{key} exists ({path})")
        check(path is not None and os.path.realpath(path) == os.path.realpath(expected[key]),
              f"soak.files.{key} is next to the result: {expected[key]}")
    if os.path.exists(expected["samples"]):
        rows = read_samples_csv(expected["samples"])
        per = {}
        for ts, comp, res, value, _ in rows:
            if value is not None:
                per.setdefault((comp, res), []).append(ts)
        every = soak.get("sample_every_s") or 1.0
        ran = (r or {}).get("summary", {}).get("duration_s") or DURATION
        want = ran / every
        for key in (("target", "rss"), ("target", "fds"), ("strain", "rss"),
                    ("target-metrics", "rss")):
            n = len(per.get(key, []))
            check(0.85 * want <= n <= 1.1 * want + 3,
                  f"samples.csv: {n} rows of {key} for a {ran:.0f} s run at {every} s "
                  f"(about {want:.0f})")
        resources = sorted({res for (comp, res) in per if comp == "target"})
        print(f"samples.csv resources of target: {resources}")
        check(set(resources) >= {"rss", "fds", "threads", "cpu", "read_bytes", "write_bytes"},
              "pid resources: rss, fds, threads, cpu, read_bytes, write_bytes")

# --- 2. A descriptor leak -------------------------------------------------------------------
DURATION = 40
FD_EVERY = 10
with TargetProcess("--fd-leak", str(FD_EVERY)) as t, tempfile.TemporaryDirectory() as tmp:
    # The target never leaks within 64 of its soft limit: the run must stay well below it.
    with open(f"/proc/{t.pid}/limits") as f:
        soft = next(int(l.split()[3]) for l in f if l.startswith("Max open files"))
    check(RATE * DURATION / FD_EVERY + 200 < soft - 64,
          f"the fd leak ({RATE * DURATION // FD_EVERY}) stays below the target's limit ({soft})")
    out = os.path.join(tmp, "result.json")
    t0 = time.monotonic()
    sampler = ProcSampler(t.pid, t0).start()
    argv = soak_argv("--url", t.url, "--rate", f"{RATE}/s", "-d", f"{DURATION}s",
                     "--watch-pid", f"target={t.pid}", out=out)
    with StrainRun(argv, tmp, out) as run:
        code = run.wait(DURATION + 60)
        sampler.stop()
        r = run.result()
        print(f"strain exit {code}; stderr: {run.stderr().strip()[-600:]!r}")
    check(code == 3, f"fd leak: exit 3 (got {code})")
    print_verdicts(r)
    lo, hi = fit_window(r, DURATION)
    points = [(ts, fds) for ts, _, _, fds in sampler.window(lo, hi)]
    truth = theil_sen_slope(points) * 3600 if len(points) > 2 else None
    nominal = RATE / FD_EVERY * 3600
    print(f"truth: the test's count of /proc/PID/fd grows {num(truth)}/h; "
          f"nominal {RATE}/s / {FD_EVERY} x 3600 = {nominal:,.0f}/h")
    check(within(truth, nominal, 0.10),
          f"the test's own count agrees with the nominal rate ({num(truth)}/h)")
    v = one_verdict(r, "target", "fds", "pid") if r else None
    check(v is not None and v.get("verdict") == "leak", f"(target, fds): leak ({describe(v)})")
    slope = v.get("slope_per_hour") if v else None
    check(within(slope, nominal, 0.25),
          f"(target, fds) slope {num(slope)}/h within 25% of {nominal:,.0f}/h")
    check(within(slope, truth, 0.25),
          f"(target, fds) slope {num(slope)}/h within 25% of the test's own "
          f"{num(truth)}/h")

# --- 3. A growing connection pool is not a descriptor leak ----------------------------------
RAMP_S = 45
RAMP_SCRIPT = """
options = {{
  scenarios = {{ ramp = {{ executor = "ramping-arrival-rate", start_rate = 20,
                         stages = {{ {{ "{ramp}s", 200 }} }}, preallocated_vus = 2,
                         max_vus = 60, exec = "default" }} }},
}}
function default() http.get("{url}") end
"""
with TargetProcess("--latency", "100ms") as t, tempfile.TemporaryDirectory() as tmp:
    script = os.path.join(tmp, "ramp.lua")
    with open(script, "w") as f:
        f.write(RAMP_SCRIPT.format(ramp=RAMP_S, url=t.url))
    out = os.path.join(tmp, "result.json")
    t0 = time.monotonic()
    sampler = ProcSampler(t.pid, t0).start()
    argv = soak_argv(script, "--warmup", "3s", "--watch-pid", f"target={t.pid}", out=out)
    with StrainRun(argv, tmp, out) as run:
        code = run.wait(RAMP_S + 60)
        sampler.stop()
        r = run.result()
        print(f"strain exit {code}; stderr: {run.stderr().strip()[-600:]!r}")
    print_verdicts(r)
    points = [(ts, fds) for ts, _, _, fds in sampler.window(4, RAMP_S - 1)]
    truth = theil_sen_slope(points) * 3600 if len(points) > 2 else None
    rise = (max(p[1] for p in points) - min(p[1] for p in points)) if points else 0
    print(f"truth: the target's descriptors rose by {rise} ({num(truth)}/h) by this test's count")
    check(truth is not None and truth > 500 and rise >= 8,
          "the pool really grew: the target's descriptors rose steadily by this test's count")
    with urllib.request.urlopen(f"http://127.0.0.1:{t.port}/metrics", timeout=5) as m:
        leaked = next((float(line.split()[1]) for line in m.read().decode().splitlines()
                       if line.startswith("strain_target_leaked_fds ")), None)
    check(leaked == 0, f"the target leaked no descriptor by its own count (got {leaked})")
    v = one_verdict(r, "target", "fds", "pid") if r else None
    check(v is not None and v.get("verdict") != "leak", f"(target, fds): not a leak ({describe(v)})")
    check(v is not None and "net of the connections strain holds open" in v.get("reason", ""),
          "(target, fds) judged net of strain's connections")
    # Memory rises with the connections too (each costs buffers on both sides) and cannot be
    # told apart from a leak by a count: a ramp may be judged a memory leak, and only that.
    failing = [f"{x['component']}/{x['resource']}" for x in (r or {}).get("soak", {}).get(
        "verdicts", []) if x.get("fails_run")]
    check(v is not None and not v.get("fails_run")
          and (code == 0 or (code == 3 and all(f.endswith("/rss") for f in failing))),
          f"the descriptors fail nothing: exit {code}, failing {failing or 'none'}")
    conns = next((s for s in (r or {}).get("soak", {}).get("samples", [])
                  if s.get("component") == "strain" and s.get("resource") == "connections"), None)
    floor = [(ts, m) for ts, m in zip(conns["t_s"], conns["min"]) if 4 <= ts <= RAMP_S - 1] \
        if conns else []
    slope = theil_sen_slope(floor) * 3600 if len(floor) > 2 else None
    check(within(slope, truth, 0.35),
          f"strain's connections rose {num(slope)}/h, as the target's descriptors did "
          f"({num(truth)}/h, within 35%)")

# --- 4. strain itself leaking is seen, and not blamed on the target -------------------------
HOARD_S = 30
HOARD_SCRIPT = """
options = {{
  scenarios = {{ hoard = {{ executor = "constant-arrival-rate", rate = 50, duration = "{d}s",
                          preallocated_vus = 5, exec = "default" }} }},
}}
kept = {{}}
function default()
  http.get("{url}")
  kept[#kept + 1] = string.rep("x", 16384)  -- a long string: a new object every time
end
"""
with TargetProcess() as t, tempfile.TemporaryDirectory() as tmp:
    script = os.path.join(tmp, "hoard.lua")
    with open(script, "w") as f:
        f.write(HOARD_SCRIPT.format(d=HOARD_S, url=t.url))
    out = os.path.join(tmp, "result.json")
    t0 = time.monotonic()
    # Sampled every 0.25 s: a 30 s run then has enough floor points to be judged.
    argv = soak_argv(script, "--sample-every", "0.25s", "--watch-pid", f"target={t.pid}", out=out)
    with StrainRun(argv, tmp, out) as run:
        own_sampler = ProcSampler(run.proc.pid, t0).start()
        code = run.wait(HOARD_S + 60)
        own_sampler.stop()
        r = run.result()
        print(f"strain exit {code}; stderr: {run.stderr().strip()[-600:]!r}")
    print_verdicts(r)
    lo, hi = fit_window(r, HOARD_S)
    own = [(ts, rss) for ts, _, rss, _ in own_sampler.window(lo, hi)]
    truth = theil_sen_slope(own) * 3600 if len(own) > 2 else None
    nominal = 16384 * 50 * 3600
    print(f"truth (test's Theil–Sen on strain's statm): {mib(truth)} MiB/h; nominal 16 KiB x 50/s "
          f"= {mib(nominal)} MiB/h")
    # At least what the script keeps (a sanitizer build adds its redzones and quarantine).
    check(truth is not None and truth >= 0.75 * nominal,
          f"strain really grew as the script says ({mib(truth)} MiB/h)")
    vs = one_verdict(r, "strain", "rss", "self") if r else None
    check(vs is not None and vs.get("verdict") == "leak", f"(strain, rss): leak ({describe(vs)})")
    slope = vs.get("slope_per_hour") if vs else None
    check(within(slope, truth, 0.25),
          f"(strain, rss) slope {mib(slope)} MiB/h within 25% of the test's own {mib(truth)} MiB/h")
    check(vs is not None and not vs.get("fails_run"), "strain's own leak fails nothing")
    vt = one_verdict(r, "target", "rss", "pid") if r else None
    check(vt is not None and vt.get("verdict") != "leak", f"(target, rss): not a leak ({describe(vt)})")
    check(code == 0, f"exit 0: strain's leak is reported, not the target's failure (got {code})")

finish()
