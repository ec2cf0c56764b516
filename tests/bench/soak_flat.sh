#!/usr/bin/env bash
# A real soak of a healthy target: strain offers 1000 req/s to strain-target for DURATION
# (10 min) with --watch-pid on it. Prints strain's own RSS slope per hour with its CI and verdict
# (the result's (strain, rss) verdict; DESIGN §11: strain's memory stays flat over a long soak),
# the target's, and how much the sampling costs.
# Sampling overhead: two otherwise identical soaks at a low rate (10 req/s, OVERHEAD_S each,
# --watch-pid on the target) sample every 100 ms and every 10 s; strain's CPU seconds (user +
# system, from wait4's rusage, not strain's own figure) differ by what the extra samples cost, so
# CPU per sample = (cpu_fast - cpu_slow) / (samples_fast - samples_slow), samples counted as the
# distinct instants of strain's own rows in result.samples.csv. Printed also as a share of one
# core at the default 1 s period, beside the result's own figure (soak.sampler_cpu_s over
# soak.sample_rounds, which the sampler thread measures itself).
# Usage: tests/bench/soak_flat.sh [BUILD_DIR]   env: DURATION=10m RATE=1000 OVERHEAD_S=60
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
strain=$build/tools/strain/strain
target=$build/tools/target/strain-target
[[ -x $strain && -x $target ]] || { echo "missing $strain or $target: cmake --build --preset release" >&2; exit 2; }
export STRAIN=$strain STRAIN_TARGET=$target DURATION=${DURATION:-10m} RATE=${RATE:-1000} \
  OVERHEAD_S=${OVERHEAD_S:-60}
exec python3 - <<'PY'
import csv, json, os, re, resource, select, subprocess, sys, tempfile, time

strain, target = os.environ["STRAIN"], os.environ["STRAIN_TARGET"]
duration, rate, overhead_s = os.environ["DURATION"], int(os.environ["RATE"]), os.environ["OVERHEAD_S"]
MIB = 1024 * 1024


def start_target():
    p = subprocess.Popen([target, "--host", "127.0.0.1", "--port", "0", "--threads", "1"],
                         stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", p.stdout.readline() if ready else "")
    if not m:
        p.kill()
        sys.exit("strain-target did not start")
    return p, f"http://127.0.0.1:{m.group(1)}/"


def soak(url, pid, tmp, rate_s, dur, *extra):
    """Runs one soak; returns (exit code, result, strain's CPU seconds, samples taken)."""
    out = os.path.join(tmp, "result.json")
    argv = [strain, "soak", "--url", url, "--rate", f"{rate_s}/s", "-d", dur,
            "--watch-pid", f"target={pid}", "--out", out, *extra]
    with open(os.path.join(tmp, "stdout"), "w") as so, open(os.path.join(tmp, "stderr"), "w") as se:
        p = subprocess.Popen(argv, stdout=so, stderr=se)
        _, status, ru = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    r = json.load(open(out)) if os.path.exists(out) else None
    samples = set()
    csv_path = out[:-5] + ".samples.csv"
    if os.path.exists(csv_path):
        for rec in csv.reader(open(csv_path)):
            if len(rec) >= 4 and rec[1] == "strain" and rec[3] != "":
                samples.add(rec[0])
    if r is None:
        print(open(os.path.join(tmp, "stderr")).read()[-1000:])
    return code, r, ru.ru_utime + ru.ru_stime, len(samples)


def verdict(r, component, resource):
    for v in ((r or {}).get("soak") or {}).get("verdicts", []):
        if v["component"] == component and v["resource"] == resource:
            return v
    return None


def show(label, v, unit_div=MIB, unit="MiB"):
    if not v:
        print(f"  {label}: no verdict")
        return
    print(f"  {label}: {v['verdict']}, slope {v['slope_per_hour'] / unit_div:+,.2f} {unit}/h "
          f"(CI {v['ci_low'] / unit_div:+,.2f} .. {v['ci_high'] / unit_div:+,.2f}), "
          f"p={v['p_value']}, {v['samples']} samples: {v['reason']}")


tp, url = start_target()
try:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        code, r, cpu, n = soak(url, tp.pid, tmp, rate, duration, "-t", "1")
        wall = time.monotonic() - t0
        s = (r or {}).get("summary", {})
        print(f"== soak of a healthy target: {rate}/s for {duration}, exit {code} "
              f"({wall:.0f} s wall, {s.get('requests')} responses, {s.get('errors')} errors)")
        show("strain rss", verdict(r, "strain", "rss"))
        show("strain fds", verdict(r, "strain", "fds"), 1, "fds")
        show("target rss", verdict(r, "target", "rss"))
        show("target fds", verdict(r, "target", "fds"), 1, "fds")
        # strain's own floor along the run (the compact series in the result: per-bucket minima)
        for ser in ((r or {}).get("soak") or {}).get("samples", []):
            if ser.get("component") == "strain" and ser.get("resource") == "rss" and ser.get("t_s"):
                ts, mins = ser["t_s"], ser["min"]
                marks = []
                for share in (0.1, 0.25, 0.5, 0.75, 1.0):
                    i = min(len(ts) - 1, int(share * (len(ts) - 1)))
                    marks.append(f"{ts[i]:.0f} s {mins[i] / MIB:.2f}")
                print("  strain rss floor along the run (MiB): " + ", ".join(marks))
        if r and s.get("requests"):
            print(f"  strain CPU {cpu:.2f} s in all, {cpu / s['requests'] * 1e6:.1f} us per response, "
                  f"{n} samples")
        sk = (r or {}).get("soak") or {}
        if sk.get("sampler_cpu_s") is not None and sk.get("sample_rounds"):
            print(f"  the result's own sampler figure: {sk['sampler_cpu_s']:.3f} s of CPU over "
                  f"{sk['sample_rounds']} rounds = "
                  f"{sk['sampler_cpu_s'] / sk['sample_rounds'] * 1e3:.3f} ms per round")
    runs = {}
    for period in ("100ms", "10s"):
        with tempfile.TemporaryDirectory() as tmp:
            runs[period] = soak(url, tp.pid, tmp, 10, f"{overhead_s}s", "--sample-every", period,
                                "-t", "1")
            code, _, cpu, n = runs[period]
            print(f"== overhead run, sampling every {period}: exit {code}, strain CPU {cpu:.3f} s, "
                  f"{n} samples")
    (_, _, cpu_f, n_f), (_, _, cpu_s, n_s) = runs["100ms"], runs["10s"]
    if n_f > n_s:
        per = (cpu_f - cpu_s) / (n_f - n_s)
        print(f"== sampling cost: {per * 1e3:.3f} ms of strain CPU per sample (self + one pid "
              f"watcher), {per * 100:.3f}% of one core at one sample a second")
finally:
    tp.terminate()
    tp.wait(timeout=10)
PY
