"""The open model against independent truths: strain-target's own counts and stall log.

- Coordinated omission: strain-target freezes 1 s in every 5 s and logs when; strain offers
  500 req/s uniformly for 30 s. The true response time of each arrival is computed here from
  the stall windows alone (an arrival inside a window waits for its end); strain's p95 and p99
  must be within 10% of it. Service time, which wrk reports, must hide the stall.
- Exact counts: a uniform schedule offers exactly rate × duration arrivals; the target served
  every one. Poisson arrivals with one seed are the same schedule twice.
- A ramp follows its line second by second (within 2% after each stage's first second).
- 429s from a rate-limited target are their own class, equal to the target's own 429 count.
- A generator that cannot keep its schedule says so and exits 4.
"""
import math
import os
import re
import tempfile

from harness import Target, run_strain, check, finish, passed_or_late, reconciles


def nearest_rank(sorted_values, p):
    k = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


def stall_windows(output):
    """Stall windows as (start, end) in Unix ms, from strain-target's exit log."""
    m = re.search(r"stall_clock start_epoch_ms=(\d+)", output)
    if not m:
        return None
    epoch = int(m.group(1))
    return [(epoch + int(a), epoch + int(b))
            for a, b in re.findall(r"stall start_ms=(\d+) end_ms=(\d+)", output)]


# --- Coordinated omission, against the stall log -------------------------------------------
# 28 s: strain starts just after the target, so its run ends between the target's windows
# (every 5 s: [4, 5), [9, 10) … [24, 25)) and every arrival gets its answer before the stop.
RATE, SECONDS = 500, 28
with Target("--threads", "1", "--stall-every", "5s", "--stall-for", "1s") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "--rate", f"{RATE}/s",
                                   "-d", f"{SECONDS}s", "-c", "10", "--max-vus", "10",
                                   "-t", "1", "-q", timeout_s=90)
    served = t.stop()
    windows = stall_windows(t.output)
    check(code == 0, f"stalled target: exit 0 (got {code}; stderr {err.strip()[-300:]!r})")
    check(windows is not None and len(windows) >= 5,
          f"strain-target logged its stall windows ({windows and len(windows)})")
    s, sched = r["summary"], r["schedule"]
    check(sched["due"] == RATE * SECONDS, f"{RATE * SECONDS} arrivals offered ({sched['due']})")
    check(sched["started"] == sched["due"] and sched["unstarted_at_stop"] == 0,
          f"every arrival started ({sched['started']}, {sched['unstarted_at_stop']} unstarted)")
    check(s["requests"] == served, f"completed {s['requests']} = served {served}")
    check(reconciles(r), "started = completed + failed + in flight")
    # The truth: arrival i is due at start + i/rate; inside a stall window it completes when
    # the window ends, otherwise at once (the target answers in well under a millisecond).
    start_ms = r["started_at_unix_ms"]
    truth = []
    for i in range(sched["due"]):
        due = start_ms + i * 1000.0 / RATE
        wait = 0.0
        for a, b in windows:
            if a <= due < b:
                wait = b - due
                break
        truth.append(wait)
    truth.sort()
    for p, key in ((95, "p95"), (99, "p99")):
        want = nearest_rank(truth, p)
        got = s["response_time_ms"][key]
        check(want > 100, f"the truth's {key} shows the stall ({want:.1f} ms)")
        check(abs(got - want) <= 0.10 * want,
              f"response time {key} {got:.1f} ms within 10% of the truth {want:.1f} ms")
    svc = s["service_time_ms"]["p99"]
    check(svc < nearest_rank(truth, 99) / 5,
          f"service time p99 ({svc:.2f} ms) hides the stall, as wrk's latency does")
    check(s["schedule_lag_ms"]["max"] > 500, "schedule lag shows arrivals waiting for a VU")
    check(s["generator_bound"] is False, "the stall is the target's, not strain's")
    check("the target did not keep up" in out, "the summary says the target did not keep up")
    print(f"     truth p95 {nearest_rank(truth, 95):.1f} ms p99 {nearest_rank(truth, 99):.1f} ms; "
          f"strain p95 {s['response_time_ms']['p95']:.1f} p99 {s['response_time_ms']['p99']:.1f}; "
          f"service p99 {svc:.2f} ms")

# --- Exact counts: uniform and poisson -----------------------------------------------------
with Target("--threads", "1") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "--rate", "2000/s", "-d", "3s",
                                   "-t", "2", "-q")
    served = t.stop()
    s, sched = r["summary"], r["schedule"]
    check(passed_or_late(code, r), f"uniform 2000/s: exit 0 (got {code}; {err.strip()[-200:]!r})")
    check(sched["due"] == 6000, f"uniform 2000/s for 3 s offers exactly 6000 ({sched['due']})")
    check(s["requests"] == served == 6000, f"completed {s['requests']}, served {served}")
    check(abs(s["offered_rps"] - 2000) < 2000 * 0.005, f"offered_rps {s['offered_rps']:.1f}")
    check(r["config"]["executor"] == "constant-arrival-rate", "executor named in the result")
    check(s["schedule_lag_ms"]["count"] == 6000, "one schedule-lag sample per arrival")
    check(sum(p["started"] for p in r["timeline"]) == 6000,
          "the timeline's per-interval starts add up to every start")
    check(all(p["schedule_lag_p99_ms"] > 0 for p in r["timeline"] if p["started"] > 0),
          "every interval with starts has a schedule-lag p99")
    check("schedule lag" in out and re.search(r"offered \d+\.\d/s \(6000 arrivals due\)", out),
          "the summary shows the schedule")

dues = []
for attempt in range(2):
    with Target("--threads", "1") as t:
        code, out, err, r = run_strain("run", "--url", t.url, "--rate", "1000/s", "-d", "3s",
                                       "--arrival", "poisson", "--seed", "11", "-q")
        served = t.stop()
        dues.append(r["schedule"]["due"])
        check(passed_or_late(code, r) and r["summary"]["requests"] == served,
              f"poisson run {attempt + 1}: exit 0, completed = served ({served})")
check(dues[0] == dues[1], f"the same seed offers the same schedule ({dues})")
check(abs(dues[0] - 3000) < 5 * math.sqrt(3000), f"poisson 1000/s for 3 s: {dues[0]} arrivals")

# --- A ramp follows its line ---------------------------------------------------------------
with Target("--threads", "1") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "--stages", "4s:4000,3s:4000",
                                   "-t", "2", "-q", timeout_s=60)
    t.stop()
    check(passed_or_late(code, r), f"ramp: exit 0 (got {code}; {err.strip()[-200:]!r})")
    check(r["config"]["executor"] == "ramping-arrival-rate", "ramping-arrival-rate named")

    def expected(a, b):  # arrivals the profile puts in [a, b) seconds: 0→4000/s over 4 s, then 4000/s
        def integral(x):
            x = max(0.0, min(x, 7.0))
            return 500.0 * x * x if x <= 4 else 8000.0 + 4000.0 * (x - 4)
        return integral(b) - integral(a)

    checked = 0
    for p in r["timeline"]:
        a, b = p["start_s"], p["start_s"] + p["length_s"]
        # After the first second of each stage, and only whole intervals inside the profile.
        if b > 7.0 or not (a >= 1.0 and not (4.0 <= a < 5.0)):
            continue
        want = expected(a, b)
        checked += 1
        check(abs(p["responses"] - want) <= 0.02 * want,
              f"ramp second [{a:.2f}, {b:.2f}): {p['responses']} vs the line's {want:.0f} (2%)")
    check(checked >= 4, f"at least 4 ramp seconds checked ({checked})")

# --- 429: rate-limited, its own class ------------------------------------------------------
with Target("--threads", "1", "--rate-limit", "200/s", "--burst", "20") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "--rate", "400/s", "-d", "3s", "-q",
                                   "--threshold", "rate_limited{rate} < 90%")
    served = t.stop()
    m = re.search(r"429:(\d+)", t.output)
    target_429 = int(m.group(1)) if m else None
    s = r["summary"]
    check(passed_or_late(code, r), f"rate-limited target: exit 0 (got {code}; {err.strip()[-200:]!r})")
    check(target_429 is not None and s["rate_limited"] == target_429,
          f"rate_limited {s['rate_limited']} = the target's own 429 count {target_429}")
    check(s["rate_limited"] > 300, f"about half were limited ({s['rate_limited']} of 1200)")
    check(s["errors"] == 0, f"429s are not counted as errors ({s['errors']})")
    check("rate-limited" in out, "the summary has a rate-limited line")

# --- A generator that cannot keep up says so (exit 4) --------------------------------------
with tempfile.TemporaryDirectory() as tmp, Target("--threads", "1") as t:
    script = os.path.join(tmp, "heavy.lua")
    with open(script, "w") as f:
        f.write("""
options = { scenarios = { heavy = { executor = "constant-arrival-rate", rate = 3000,
  duration = "2s", preallocated_vus = 20, max_vus = 50, exec = "heavy" } } }
-- About a millisecond of Lua per iteration: 3000/s needs three cores; the run gets one.
function heavy()
  local x = 0
  for i = 1, 400000 do x = x + i % 7 end
  http.get(env.BASE_URL .. "/")
end
""")
    code, out, err, r = run_strain("run", script, "-e", f"BASE_URL=http://127.0.0.1:{t.port}",
                                   "-t", "1", "-q", timeout_s=60)
    t.stop()
    s = r["summary"]
    check(code == 4, f"generator-bound run exits 4 (got {code}; {err.strip()[-200:]!r})")
    check(s["generator_bound"] is True and r["generator"]["generator_bound"] is True,
          "summary.generator_bound is true")
    check("GENERATOR-BOUND" in out and "strain could not keep its schedule" in out,
          "the summary says strain could not keep its schedule")
    sc = r["schedule"]
    check(sc["started"] < sc["due"],
          f"fewer started ({sc['started']}) than due ({sc['due']})")
    check(sc["started"] + sc["overflow"] + sc["unstarted_at_stop"] == sc["due"],
          "due = started + overflow + unstarted at stop")

# --- A script's offered rate counts over its arrival-rate scenario's active time ------------
# 200/s for 1 s beside a closed scenario of 2.5 s: 200 arrivals were offered over 1 s, so the
# offered rate is 200/s, not 200 over the whole 2.5 s run (80/s).
with tempfile.TemporaryDirectory() as tmp, Target("--threads", "1") as t:
    script = os.path.join(tmp, "mixed.lua")
    with open(script, "w") as f:
        f.write("""
options = { scenarios = {
  paced = { executor = "constant-arrival-rate", rate = 200, duration = "1s",
            preallocated_vus = 5, max_vus = 20, exec = "hit" },
  steady = { executor = "constant-vus", vus = 1, duration = "2500ms", exec = "slow" },
} }
function hit() http.get(env.BASE_URL .. "/") end
function slow() http.get(env.BASE_URL .. "/") sleep(0.1) end
""")
    code, out, err, r = run_strain("run", script, "-e", f"BASE_URL=http://127.0.0.1:{t.port}",
                                   "-t", "2", "-q", timeout_s=60)
    t.stop()
    check(passed_or_late(code, r), f"mixed scenarios: exit 0 (got {code}; {err.strip()[-200:]!r})")
    sc = {x["name"]: x for x in r["scenarios"]}
    check(r["schedule"]["due"] == 200, f"200 arrivals due ({r['schedule']['due']})")
    check(abs(sc["paced"]["active_s"] - 1.0) < 1e-6, f"paced was active 1 s ({sc['paced']['active_s']})")
    check(abs(sc["paced"]["offered_rps"] - 200) < 1, f"paced offered 200/s ({sc['paced']['offered_rps']})")
    check(sc["steady"]["offered_rps"] is None, "a closed scenario offers no rate")
    check(abs(r["summary"]["offered_rps"] - 200) < 1,
          f"the run's offered rate is over the active time: {r['summary']['offered_rps']:.1f}/s")
    check(r["summary"]["duration_s"] >= 2.4, f"the run lasted the closed scenario ({r['summary']['duration_s']:.2f} s)")
    check(sc["paced"]["iterations"] == 200, f"paced ran its 200 iterations ({sc['paced']['iterations']})")

finish()
