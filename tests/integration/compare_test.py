"""strain compare on real runs against strain-target: ten pairs of the same set-up pass, a 20%
p99 rise (--latency 50ms vs 60ms) exits 3 with p99 flagged, bad inputs exit 2 naming the file.

The truth is the set-up: the target's fixed delay decides the latency, and a probe outside strain
(a thread of this script asking for 1 ms sleeps) says whether the machine stalled during a run.
compare judges the noise inside each run; it cannot know that the machine was busier during one
run than the other (another job's build, a neighbour's load test), and on a small shared machine
that happens: a 100 ms stall lifts a 3-second run's p99 by 100%. Most such pairs are still
called within noise (the run's seconds disagree), but a stall that spans a whole run is a real
difference. So a pair called a regression fails the test only when the probe saw no stall longer
than 5 ms during either run (5 ms is the 10% p99 limit at 50 ms: such a stall cannot by itself
make a regression); a flagged pair on a disturbed machine is printed and replaced by another
(at most twenty pairs in all).

Why 50 ms and not 10 ms: at 10 ms, 10% is 1 ms, below the stalls of a shared machine that is
"quiet". The 10 ms vs 12 ms pair still runs: its p99 is printed, and its throughput (a closed
loop slows with its target, ~17%) must be flagged.
"""
import json
import os
import subprocess
import tempfile
import threading
import time

from harness import STRAIN, Target, check, finish, passed_or_late

# Short runs keep the test near a minute and a half; ~3,000 responses each still pin p99.
RUN = ["-c", "50", "-t", "2", "-d", "3s", "-q"]
PAIRS = 10
MAX_PAIRS = 20
QUIET_MS = 5.0


class StallProbe:
    """The machine's scheduling stalls while it is open: how late 1 ms sleeps wake, worst case."""

    def __enter__(self):
        self.worst_ms = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.001)
            self.worst_ms = max(self.worst_ms, (time.perf_counter() - t0) * 1000 - 1)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_to(path, url, run=RUN):
    """Runs strain into `path`; returns the worst stall the probe saw meanwhile, in ms."""
    with StallProbe() as probe:
        p = subprocess.run([STRAIN, "run", "--url", url, *run, "--out", path],
                           capture_output=True, text=True, timeout=60)
    with open(path) as f:
        result = json.load(f)
    ok = passed_or_late(p.returncode, result)
    check(ok, f"run against {url} exits 0 (got {p.returncode}: {p.stderr.strip()[:200]})")
    return result, probe.worst_ms


def compare(*args):
    p = subprocess.run([STRAIN, "compare", *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def figure(comparison, name):
    total = comparison["series"][0]
    return next(f for f in total["figures"] if f["figure"] == name)


with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    # --- pairs of the same set-up: none may be called a regression.
    counted = passed_pairs = excused = 0
    with Target("--latency", "50ms") as t:
        for i in range(MAX_PAIRS):
            if counted == PAIRS:
                break
            a, b, j = path(f"same{i}a.json"), path(f"same{i}b.json"), path(f"same{i}.cmp.json")
            _, stall_a = run_to(a, t.url)
            _, stall_b = run_to(b, t.url)
            code, out, err = compare(a, b, "--json", j)
            with open(j) as f:
                c = json.load(f)
            p99, thr = figure(c, "p99"), figure(c, "throughput")
            passed = code == 0 and "verdict: passed" in out and not c["regressed"]
            quiet = max(stall_a, stall_b) < QUIET_MS
            print(f"pair {i}: p99 {p99['base']:.2f} -> {p99['new']:.2f} ms "
                  f"({p99['change']:+.1f}%, {p99['verdict']}), throughput "
                  f"{thr['base']:.0f} -> {thr['new']:.0f}/s ({thr['change']:+.1f}%, "
                  f"{thr['verdict']}), exit {code}; machine stalls {stall_a:.1f} / "
                  f"{stall_b:.1f} ms"
                  + ("" if passed or quiet else ": flagged on a disturbed machine, replaced"))
            if not passed:
                print(out)
                if not quiet:
                    excused += 1
                    continue
            counted += 1
            passed_pairs += passed
            check(passed, f"pair {i} of the same set-up passes (exit {code})")
        check(t.stop() is not None, "the 50ms target served and stopped cleanly")
    print(f"same set-up: {passed_pairs} of {counted} pairs passed "
          f"({excused} flagged on a disturbed machine and replaced)")
    check(counted == PAIRS, f"{PAIRS} pairs judged within {MAX_PAIRS} (got {counted})")

    # --- a 20% slower target: p99 flagged as a regression, exit 3. Stalls can hide the rise
    # (they lift the base's p99 too), so the pair must be quiet; again up to five times.
    for attempt in range(5):
        with Target("--latency", "50ms") as fast, Target("--latency", "60ms") as slow:
            base, stall_a = run_to(path("fast.json"), fast.url)
            _, stall_b = run_to(path("slow.json"), slow.url)
        if max(stall_a, stall_b) < QUIET_MS:
            break
        print(f"regression pair, attempt {attempt}: machine stalls {stall_a:.1f} / "
              f"{stall_b:.1f} ms: disturbed, again")
    code, out, err = compare(path("fast.json"), path("slow.json"), "--json", path("slow.cmp.json"))
    with open(path("slow.cmp.json")) as f:
        c = json.load(f)
    p99 = figure(c, "p99")
    print(out)
    print(f"50ms -> 60ms: p99 {p99['base']:.2f} -> {p99['new']:.2f} ms ({p99['change']:+.1f}%), "
          f"intervals {p99['base_interval'][0]:.2f}..{p99['base_interval'][1]:.2f} vs "
          f"{p99['new_interval'][0]:.2f}..{p99['new_interval'][1]:.2f} ms: {p99['verdict']}; "
          f"machine stalls {stall_a:.1f} / {stall_b:.1f} ms")
    check(code == 3, f"50ms vs 60ms exits 3 (got {code}: {err.strip()[:200]})")
    check(p99["verdict"] == "regression", f"p99 is a regression ({p99['verdict']})")
    check(p99["change"] > 10, f"p99 rose beyond the 10% limit ({p99['change']:+.1f}%)")
    check(any(l.split()[:1] == ["p99"] and "REGRESSION" in l for l in out.splitlines()),
          "the table marks the p99 row REGRESSION")
    check("verdict: REGRESSION" in out and "p99" in out.splitlines()[-1],
          "the verdict line names p99")
    # The other way round is an improvement, not a failure.
    code, out, err = compare(path("slow.json"), path("fast.json"))
    check(code == 0, f"60ms vs 50ms (faster) exits 0 (got {code})")
    # Only the figures listed are judged: p50 may rise 50%, so the 20% rise passes.
    code, out, err = compare(path("fast.json"), path("slow.json"), "--max-regression", "p50=50%")
    check(code == 0, f"with only p50=50% judged, a 20% rise passes (got {code})")

    # --- 10 ms vs 12 ms, 10 VUs: the p99 is printed; the closed loop's throughput drop is flagged.
    small = ["-c", "10", "-t", "2", "-d", "3s", "-q"]
    with Target("--latency", "10ms") as fast10, Target("--latency", "12ms") as slow10:
        run_to(path("fast10.json"), fast10.url, small)
        run_to(path("slow10.json"), slow10.url, small)
    code, out, err = compare(path("fast10.json"), path("slow10.json"), "--json",
                             path("slow10.cmp.json"))
    with open(path("slow10.cmp.json")) as f:
        c = json.load(f)
    p99, thr = figure(c, "p99"), figure(c, "throughput")
    print(f"10ms -> 12ms: p99 {p99['base']:.2f} -> {p99['new']:.2f} ms ({p99['change']:+.1f}%, "
          f"{p99['verdict']}), throughput {thr['base']:.0f} -> {thr['new']:.0f}/s "
          f"({thr['change']:+.1f}%, {thr['verdict']}), exit {code}")
    check(code == 3 and thr["verdict"] == "regression",
          f"10ms vs 12ms: the throughput drop is flagged, exit 3 (got {code})")

    # --- bad input: exit 2, one message naming the file.
    with open(path("not.json"), "w") as f:
        f.write("this is not JSON {")
    with open(path("foreign.json"), "w") as f:
        json.dump({"schema": "someone-else/3", "data": [1, 2, 3]}, f)
    with open(path("array.json"), "w") as f:
        json.dump([1, 2, 3], f)
    stress = dict(base)
    stress["config"] = dict(base["config"], command="stress")
    with open(path("stress.json"), "w") as f:
        json.dump(stress, f)
    fast = path("fast.json")
    cases = [
        ([path("missing.json"), fast], "missing.json"),
        ([fast, path("missing.json")], "missing.json"),
        ([path("not.json"), fast], "not.json"),
        ([fast, path("foreign.json")], "foreign.json"),
        ([fast, path("array.json")], "array.json"),
        ([fast, path("stress.json")], "stress.json"),
        ([path("stress.json"), fast], "stress.json"),
        ([fast, fast, "--max-regression", "p98=5%"], "p98"),
        ([fast, fast, "--max-regression", "p99=10"], "--max-regression"),
        ([fast], "new"),
    ]
    for argv, mentions in cases:
        code, out, err = compare(*argv)
        shown = " ".join(os.path.basename(a) for a in argv)
        check(code == 2, f"compare {shown}: exit 2 (got {code})")
        check(mentions in err, f"compare {shown}: message names {mentions!r}: "
              f"{err.strip()[:200]!r}")
    code, out, err = compare(fast, path("stress.json"))
    check("run" in err and "stress" in err, f"the kinds are named: {err.strip()[:200]!r}")

finish()
