"""The long run (issue 15): `strain soak` at an open-model rate against a strain-target whose
defaults take turns (--phases): healthy, slow (latency beyond what the starting VUs can carry,
so strain must open more connections), failing (injected 500s, resets, hangs, garbage). This
process samples strain's RSS itself from /proc (soak_support's ProcSampler), and reconciles strain's counts with
the target's own (its exit log: the total line and one line per phase).

Used by long_run_test.py (a short run in CI) and tests/bench/long_run.sh (30 minutes).
Every process started here is killed at the end, even when a check fails.
"""
import os
import re
import signal
import time

from soak_support import (ProcSampler, StrainRun, TargetProcess, least_squares_slope,
                          soak_argv)

MIB = 1024 * 1024
# A request that times out at strain must be a hang at the target and nothing else: the slow
# phase's longest latency stays far below it (a slow response that timed out would be served
# by the target and a timeout to strain, and the counts could not be reconciled exactly).
TIMEOUT = "1s"
SLOW_LATENCY = "uniform:150ms..350ms"
FAILING = "error_rate=500:10%&reset_rate=2%&hang_rate=1%&hang_for=3s&garbage_rate=0.5%"
# strain's error kinds the failing phase explains; any other kind must stay at zero.
EXPLAINED = ("reset", "timeout", "bad_response")


def phases_spec(phase_s):
    """--phases for three phases of phase_s seconds each."""
    return (f"{phase_s:g}s:healthy; {phase_s:g}s:slow?latency={SLOW_LATENCY}; "
            f"{phase_s:g}s:failing?{FAILING}")


def is_asan(binary):
    """True if `binary` is built with AddressSanitizer (its RSS then includes the quarantine of
    freed memory and the shadow, which grow for a while and say nothing about leaks)."""
    try:
        with open(binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def parse_target_log(text):
    """The target's exit log: (total, clock, phases). total: the count line's numbers
    (by_status as a dict); clock: phase_clock's; phases: one dict per phase line, in order."""
    total, clock, phases = {}, {}, []
    for line in text.splitlines():
        if line.startswith("strain-target served="):
            for key, value in re.findall(r"(\w+)=(\S*)", line):
                if key == "by_status":
                    total[key] = {int(s): int(n) for s, n in
                                  (p.split(":") for p in value.split(",") if p)}
                elif value.isdigit():
                    total[key] = int(value)
        elif line.startswith("strain-target phase_clock "):
            clock = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
        elif line.startswith("strain-target phase "):
            head, _, query = line.partition(" query=")
            p = {k: (int(v) if v.isdigit() else v) for k, v in re.findall(r"(\w+)=(\S+)", head)}
            p["query"] = query
            phases.append(p)
    return total, clock, phases


def rss_only(samples):
    """(seconds since t0, RSS bytes) from ProcSampler's (t_s, segment, rss_bytes, fds)."""
    return [(t_s, rss) for t_s, _segment, rss, _fds in samples]


class LongRun:
    """One long run's record: strain's exit code and result, the target's exit log (parsed),
    strain's RSS samples (seconds since strain was started, bytes), and the plan."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def run_long(workdir, duration_s, rate, phase_s, vus=20, max_vus=2000, sample_s=5.0,
             pin=False, seed=15):
    """Runs the target and `strain soak` for duration_s at `rate`/s; returns a LongRun. With
    `pin`, strain runs on CPU 0 and the target on CPU 1 (taskset), one thread each. strain's
    soak judges strain itself; it does not watch the target (a verdict on the target would set
    strain's exit code, and the target is not what is measured): this process samples the
    target's RSS beside strain's, for the record."""
    spec = phases_spec(phase_s)
    target_prefix = ("taskset", "-c", "1") if pin else ()
    strain_prefix = ["taskset", "-c", "0"] if pin else []
    with TargetProcess("--threads", "1", "--seed", str(seed), "--phases", spec,
                       prefix=target_prefix) as target:
        out = os.path.join(workdir, "result.json")
        argv = strain_prefix + soak_argv(
            "--url", target.url, "--rate", f"{rate}/s", "-d", f"{duration_s:g}s", "--timeout",
            TIMEOUT, "-c", str(vus), "--max-vus", str(max_vus), "-t", "1",
            "-q", out=out)
        t0 = time.monotonic()
        with StrainRun(argv, workdir, out) as run:
            sampler = ProcSampler(run.proc.pid, t0, sample_s).start()
            target_sampler = ProcSampler(target.pid, t0, sample_s).start()
            try:
                code = run.wait(timeout_s=duration_s + 120)
            finally:
                sampler.stop()
                target_sampler.stop()
            wall_s = time.monotonic() - t0
            stdout, stderr, result = run.stdout(), run.stderr(), run.result()
        # strain has exited and closed every connection: the target's counts are final.
        target.kill(signal.SIGTERM)
        log = target.proc.stdout.read() if target.proc.stdout else ""
    total, clock, phases = parse_target_log(log)
    return LongRun(code=code, result=result, stdout=stdout, stderr=stderr, target_log=log,
                   total=total, clock=clock, phases=phases, samples=rss_only(sampler.samples),
                   target_samples=rss_only(target_sampler.samples),
                   duration_s=duration_s, wall_s=wall_s, rate=rate, phase_s=phase_s, spec=spec,
                   argv=argv)


class Row:
    """One reconciled pair: strain's figure, the target's, whether they agree, and why not."""

    def __init__(self, what, strain, target, ok, note="", text=None):
        self.what, self.strain, self.target, self.ok, self.note = what, strain, target, ok, note
        self.text = text  # said instead of "strain N, target M" where both are one side's

    def __str__(self):
        if self.text is not None:
            return f"{self.what}: {self.text}" + (f" ({self.note})" if self.note else "")
        if self.strain == self.target:
            verdict = "equal"
        else:
            diff = (self.strain or 0) - (self.target or 0)
            verdict = f"differ by {diff:+,}"
        line = f"{self.what}: strain {fmt(self.strain)}, target {fmt(self.target)}: {verdict}"
        return line + (f" ({self.note})" if self.note else "")


def fmt(n):
    return "none" if n is None else f"{n:,}"


def reconcile(run):
    """strain's counts against the target's own, pair by pair (exact: the slow phase cannot time
    out, strain drains its requests within the timeout at the end). A request strain abandoned
    at stop may have been served or faulted at the target: the gap is allowed up to that many
    and said."""
    r = run.result or {}
    g, s, t = r.get("generator", {}), r.get("summary", {}), r.get("total", {})
    errors, codes = t.get("errors", {}), t.get("status_codes", {})
    total, phases = run.total, run.phases
    abandoned = errors.get("abandoned", 0)
    slack = f"up to {abandoned} abandoned at stop" if abandoned else ""

    def row(what, strain_n, target_n, allow=0):
        ok = strain_n is not None and target_n is not None and abs(strain_n - target_n) <= allow
        note = slack if (strain_n != target_n and allow) else ""
        if not ok and strain_n is not None and target_n is not None:
            note = "NOT RECONCILED" + (f"; {slack} allowed" if allow else "")
        return Row(what, strain_n, target_n, ok, note)

    rows = []
    started = g.get("started")
    completed = s.get("requests")
    transport = s.get("transport_errors")
    in_flight = g.get("in_flight_at_stop")
    dropped = errors.get("dropped", 0)
    inner = (started is not None and completed is not None and transport is not None
             and started == completed + transport - dropped and in_flight == abandoned)
    rows.append(Row("strain's own books", started,
                    None if completed is None else completed + transport - dropped, inner,
                    "" if inner else "NOT RECONCILED",
                    text=f"started {fmt(started)} = completed {fmt(completed)} + transport "
                         f"errors {fmt(transport)} - dropped {fmt(dropped)}; in flight at stop "
                         f"{fmt(in_flight)} = abandoned {fmt(abandoned)}"))
    target_requests = sum(p.get("requests", 0) for p in phases) if phases else None
    rows.append(row("requests: strain started, target read", started, target_requests, abandoned))
    rows.append(row("responses: strain completed, target served", completed, total.get("served"),
                    abandoned))
    rows.append(row("200s", int(codes.get("200", 0)), total.get("by_status", {}).get(200, 0),
                    abandoned))
    rows.append(row("500s: strain's HTTP 5xx, target's injected errors",
                    sum(int(n) for c, n in codes.items() if c.startswith("5")),
                    total.get("errors_injected"), abandoned))
    rows.append(row("resets: strain's reset errors, target's resets", errors.get("reset"),
                    total.get("reset"), abandoned))
    rows.append(row("hangs: strain's timeouts, target's hangs", errors.get("timeout"),
                    total.get("hung"), abandoned))
    rows.append(row("garbage: strain's bad responses, target's garbage",
                    errors.get("bad_response"), total.get("garbage"), abandoned))
    others = {k: v for k, v in errors.items() if v and k not in EXPLAINED and k != "abandoned"}
    rows.append(Row("strain's other error kinds (closed, connect, protocol, dropped, ...)",
                    sum(others.values()), 0, not others,
                    "" if not others else f"NOT RECONCILED: {others}"))
    # The target's own books, phase by phase: each request read was answered or faulted.
    for p in phases:
        done = p["served"] + p["hung"] + p["reset"] + p["garbage"]
        ok = p["requests"] - abandoned <= done <= p["requests"]
        rows.append(Row(f"the target's own books, phase {p['name']}", p["requests"], done, ok,
                        "" if ok else "NOT RECONCILED",
                        text=f"read {p['requests']:,} = served {p['served']:,} + hung "
                             f"{p['hung']:,} + reset {p['reset']:,} + garbage {p['garbage']:,}"
                             + ("" if done == p["requests"] else f" (short by "
                                                                  f"{p['requests'] - done:,})")))
    return rows


def phase_checks(run):
    """What each phase must show, from the target's own counts: (what, ok) pairs. healthy and
    slow fault nothing; failing faults every way it was told to; each phase came round as the
    schedule says (the cycle began at the target's start, about when strain started)."""
    out = []
    by_name = {p["name"]: p for p in run.phases}
    out.append(("the target logged three phases", sorted(by_name) ==
                ["failing", "healthy", "slow"]))
    cycles = run.duration_s / (3 * run.phase_s)
    for name in ("healthy", "slow", "failing"):
        p = by_name.get(name)
        if not p:
            continue
        faults = p["errors_injected"] + p["hung"] + p["reset"] + p["garbage"]
        if name == "failing":
            out.append((f"failing: injected 500s, resets, hangs and garbage all happened "
                        f"({p['errors_injected']}, {p['reset']}, {p['hung']}, {p['garbage']})",
                        min(p["errors_injected"], p["reset"], p["hung"], p["garbage"]) > 0))
        else:
            out.append((f"{name}: no faults ({faults}) and every request served "
                        f"({p['served']} of {p['requests']})",
                        faults == 0 and p["served"] == p["requests"]))
        # The target lives a little longer than strain's load: a phase may begin once more.
        lo, hi = int(cycles), int(cycles) + 2
        out.append((f"{name}: began {p['entered']} times, {lo}..{hi} for a run of {cycles:.2f} "
                    f"cycles", lo <= p["entered"] <= hi))
    return out


def rss_figures(run, warmup_s=None, samples=None):
    """strain's RSS (or that of `samples`, e.g. run.target_samples), from this process's own
    samples: the value at 10/50/90/100% of the run; the warm-up (10% of the run or one whole
    cycle, whichever is longer, at most half the run); the least-squares slope after it (MiB/h;
    fitted over a whole number of cycles counted back from the end when at least one fits, so
    the phases' own swing does not tilt it); and the growth of the high-water mark: the peak of
    the last cycle-long window minus the peak before the end of the warm-up (which holds a whole
    cycle, slow phase included, when the run is long enough). A leak raises later peaks; the
    phases' swing does not."""
    samples = run.samples if samples is None else samples
    if len(samples) < 4:
        return None
    d, cycle = run.duration_s, 3 * run.phase_s
    end = min(d, samples[-1][0])

    def at(share):
        t = share * d
        return min(samples, key=lambda s: abs(s[0] - t))

    if warmup_s is None:
        warmup_s = min(max(0.1 * d, cycle), 0.5 * d)
    post = [s for s in samples if warmup_s <= s[0] <= end]
    fit_from = warmup_s
    if end - warmup_s >= cycle:
        fit_from = end - cycle * int((end - warmup_s) // cycle)
    fit = [s for s in post if s[0] >= fit_from]
    slope = least_squares_slope(fit) * 3600 / MIB if len(fit) >= 3 else None
    before = [s[1] for s in samples if s[0] <= warmup_s]
    last = [s[1] for s in samples if end - cycle <= s[0] <= end]
    growth = (max(last) - max(before)) / MIB if before and last else None
    return {"marks": {p: at(p / 100) for p in (10, 50, 90, 100)}, "warmup_s": warmup_s,
            "fit_from_s": fit_from, "fit_to_s": end, "fit_points": len(fit),
            "slope_mib_h": slope, "growth_mib": growth,
            "peak_before_mib": max(before) / MIB if before else None,
            "peak_last_mib": max(last) / MIB if last else None,
            # From the 10% mark: the first samples catch the process still starting.
            "min_mib": min(s[1] for s in samples if s[0] >= 0.1 * d) / MIB,
            "max_mib": max(s[1] for s in samples) / MIB}


def strain_verdict(run):
    """strain's own soak verdict on (strain, rss), or None."""
    for v in ((run.result or {}).get("soak") or {}).get("verdicts", []):
        if v.get("component") == "strain" and v.get("resource") == "rss":
            return v
    return None


def describe_verdict(v):
    if not v:
        return "no verdict"
    return (f"{v['verdict']}, slope {v['slope_per_hour'] / MIB:+,.2f} MiB/h (CI "
            f"{v['ci_low'] / MIB:+,.2f} .. {v['ci_high'] / MIB:+,.2f}), {v['samples']} points: "
            f"{v['reason']}")


def describe_rss(figures):
    """Two lines on RSS figures (rss_figures)."""
    m = figures["marks"]
    slope = figures["slope_mib_h"]
    return (", ".join(f"{p}% ({m[p][0]:.0f} s) {m[p][1] / MIB:.2f} MiB" for p in (10, 50, 90, 100)),
            f"min from 10% {figures['min_mib']:.2f} MiB, max {figures['max_mib']:.2f} MiB; warm-up "
            f"{figures['warmup_s']:.0f} s; slope {'none' if slope is None else f'{slope:+.2f}'} "
            f"MiB/h over {figures['fit_from_s']:.0f}..{figures['fit_to_s']:.0f} s "
            f"({figures['fit_points']} samples); peak before the end of the warm-up "
            f"{figures['peak_before_mib']:.2f} MiB, peak of the last cycle "
            f"{figures['peak_last_mib']:.2f} MiB: growth {figures['growth_mib']:+.2f} MiB")


def report(run, figures, out=print):
    """Prints the figures of a long run."""
    r = run.result or {}
    g, s, e = r.get("generator", {}), r.get("summary", {}), (r.get("total", {}) or {}).get(
        "errors", {})
    sched = r.get("schedule") or {}
    out(f"strain: exit {run.code}, {run.wall_s:.0f} s wall for a {run.duration_s:g} s run at "
        f"{run.rate}/s; phases {run.spec!r}")
    out(f"  requests: started {fmt(g.get('started'))} (due {fmt(sched.get('due'))}), completed "
        f"{fmt(s.get('requests'))}, failed {fmt(s.get('errors'))} (transport "
        f"{fmt(s.get('transport_errors'))}), in flight at stop {fmt(g.get('in_flight_at_stop'))}"
        f"; peak VUs {fmt(sched.get('peak_vus'))}, connects {fmt(g.get('connects'))}, stale "
        f"retries {fmt(g.get('stale_retries'))}")
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(e.items()) if v)
    out(f"  strain's errors by kind: {kinds or 'none'}")
    out(f"  status codes: {r.get('total', {}).get('status_codes')}")
    t = run.total
    out(f"target: served {fmt(t.get('served'))} {t.get('by_status')}, connections "
        f"{fmt(t.get('connections'))}, injected {fmt(t.get('errors_injected'))}, resets "
        f"{fmt(t.get('reset'))}, hangs {fmt(t.get('hung'))}, garbage {fmt(t.get('garbage'))}")
    for p in run.phases:
        out(f"  phase {p['name']:8} x{p['entered']}: read {p['requests']:,}, served "
            f"{p['served']:,}, injected {p['errors_injected']:,}, resets {p['reset']:,}, hangs "
            f"{p['hung']:,}, garbage {p['garbage']:,}")
    if figures:
        marks, fit = describe_rss(figures)
        out(f"strain RSS (read here from /proc/PID/status VmRSS): {marks}")
        out(f"  {fit}")
    target_figures = rss_figures(run, samples=run.target_samples)
    if target_figures:
        marks, fit = describe_rss(target_figures)
        out(f"target RSS, for the record: {marks}")
        out(f"  {fit}")
    out(f"strain's own soak verdict on its rss: {describe_verdict(strain_verdict(run))}")
