"""The closed-model executors run the work they are given, judged by the target's own count:
iteration executors do exactly their iterations and end when done, VU executors end on time,
start_time delays a scenario, and -i / -c / -d on the command line replace the script's."""
from harness import Target, check, finish
from script_support import Scripts, run_script, responses_named


def ends_on_its_own(label, script, *args, served_at_least=0):
    """A run whose workers run out of work (no VU on a worker, or VUs that never make a
    request) still ends by itself, on time, with exit 0; it once hung for ever."""
    with Target() as t:
        code, out, err, r, secs = run_script(script, t, *args, timeout_s=20)
        served = t.stop()
        check(code == 0, f"{label}: exit 0 (got {code}; {err.strip()[-300:]!r})")
        check(secs < 8, f"{label}: ended by itself in {secs:.1f}s")
        check(served >= served_at_least, f"{label}: served {served}")
        return r, served


with Scripts() as scripts:
    # per-vu-iterations: 4 VUs x 5 iterations = 20 requests, and the run ends when they are
    # done, not at max_duration.
    per_vu = scripts.write("per_vu.lua", """
options = {
  scenarios = {
    each = { executor = "per-vu-iterations", vus = 4, iterations = 5, max_duration = "60s" },
  },
}
function each()
  http.get(env.BASE_URL .. "/?vu=" .. vu.id .. "&i=" .. vu.iteration, { name = "each" })
  sleep(0.02)
end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(per_vu, t, "-t", "2", timeout_s=90)
        served = t.stop()
        check(code == 0, f"per-vu-iterations: exit 0 (got {code}; {err.strip()[-300:]!r})")
        check(served == 20, f"per-vu-iterations: target served exactly 20 ({served})")
        check(secs < 10, f"per-vu-iterations: ended when done, in {secs:.1f}s (max_duration 60s)")
        if r is not None:
            check(r["script"]["iterations"] == 20, f"per-vu-iterations: 20 iterations "
                                                   f"({r['script']['iterations']})")
            check(r["summary"]["requests"] == 20 and responses_named(r, "each") == 20,
                  "per-vu-iterations: strain counted 20 responses named 'each'")
            check(r["config"]["executor"] == "per-vu-iterations" and r["config"]["vus"] == 4,
                  f"per-vu-iterations: config says so ({r['config']['executor']}, "
                  f"{r['config']['vus']})")

    # shared-iterations across two worker threads: 37 in all, exactly, however they split.
    shared = scripts.write("shared.lua", """
options = {
  scenarios = { pool = { executor = "shared-iterations", vus = 5, iterations = 37 } },
}
function pool()
  http.get(env.BASE_URL .. "/")
end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(shared, t, "-t", "2", timeout_s=60)
        served = t.stop()
        check(code == 0, f"shared-iterations: exit 0 (got {code}; {err.strip()[-300:]!r})")
        check(served == 37, f"shared-iterations: target served exactly 37 ({served})")
        check(secs < 10, f"shared-iterations: ended when done ({secs:.1f}s)")
        if r is not None:
            check(r["script"]["iterations"] == 37, "shared-iterations: 37 iterations")

    # ramping-vus 0 → 4 → 0 over 2 s: ends at the end of its stages (plus a short drain).
    ramp = scripts.write("ramp.lua", """
options = {
  scenarios = {
    ramp = { executor = "ramping-vus", stages = { { "1s", 4 }, { "1s", 0 } },
             graceful_stop = "1s" },
  },
}
function ramp()
  http.get(env.BASE_URL .. "/")
  sleep(0.05)
end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(ramp, t, "-t", "2", timeout_s=60)
        served = t.stop()
        check(code == 0, f"ramping-vus: exit 0 (got {code}; {err.strip()[-300:]!r})")
        check(1.8 <= secs < 5, f"ramping-vus: two 1 s stages took {secs:.1f}s")
        if r is not None:
            check(r["summary"]["requests"] == served > 0,
                  f"ramping-vus: strain's {r['summary']['requests']} = served {served}")
            # At most 4 VUs, each at most one request per 50 ms, for 2 s: fewer than 4 x 40.
            # Linear ramps average 2 VUs: about 80. A constant 4 VUs would make about 160.
            check(20 <= served <= 130, f"ramping-vus: a ramp's worth of requests ({served})")
            check(r["script"]["iterations_interrupted"] == 0,
                  "ramping-vus: VUs ramped down between iterations, none interrupted")

    # Two constant-vus scenarios, the second starting 1.6 s in: the run lasts until the
    # second ends (2.6 s), and each scenario ran only for its own second.
    staggered = scripts.write("staggered.lua", """
options = {
  scenarios = {
    early = { executor = "constant-vus", vus = 1, duration = "1s", exec = "early" },
    late = { executor = "constant-vus", vus = 1, duration = "1s", start_time = "1600ms",
             exec = "late" },
  },
}
function early() http.get(env.BASE_URL .. "/", { name = "early" }) sleep(0.1) end
function late() http.get(env.BASE_URL .. "/", { name = "late" }) sleep(0.1) end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(staggered, t, "-t", "1", timeout_s=60)
        served = t.stop()
        check(code == 0, f"start_time: exit 0 (got {code}; {err.strip()[-300:]!r})")
        check(2.5 <= secs < 6, f"start_time: the run lasted until 1.6 s + 1 s ({secs:.1f}s)")
        if r is not None:
            e, l = responses_named(r, "early"), responses_named(r, "late")
            check(5 <= e <= 12 and 5 <= l <= 12,
                  f"start_time: each scenario ran about 1 s at 10 iterations/s ({e}, {l})")
            check(e + l == served, f"start_time: early {e} + late {l} = served {served}")
            check(r["summary"]["duration_s"] >= 2.5,
                  f"start_time: the load phase covers both ({r['summary']['duration_s']:.2f}s)")
            # Nothing runs from 1 s (early ends) to 1.6 s (late starts): the timeline's second
            # from 1 s holds about 4 of late's 10/s (a late start at 1 s would make it 10).
            second = [p for p in r["timeline"] if 0.9 <= p["start_s"] < 1.5]
            check(len(second) == 1 and second[0]["responses"] <= 7,
                  f"start_time: a quiet gap between 1 s and 1.6 s ({second})")

    # A worker whose event loop runs out of work must still answer the controller and stop:
    # two 1-VU scenarios on -t 2 leave worker 1 without a VU; a script that never makes a
    # request leaves no socket to keep a loop busy. Both once hung the run for ever.
    r, served = ends_on_its_own("start_time on two worker threads", staggered, "-t", "2",
                                served_at_least=10)
    if r is not None:
        e, l = responses_named(r, "early"), responses_named(r, "late")
        check(e + l == served, f"start_time on two workers: early {e} + late {l} = served {served}")
    no_requests = scripts.write("no_requests.lua", "function default() sleep(0.01) end\n")
    r, served = ends_on_its_own("a script that makes no request", no_requests, "-c", "1", "-d",
                                "1s", "-t", "1")
    if r is not None:
        check(served == 0 and r["summary"]["requests"] == 0, "no request was made")
        # One VU sleeping 10 ms per iteration for 1 s: about 100 iterations, at most 100.
        its = r["script"]["iterations"]
        check(50 <= its <= 101, f"about 100 iterations of 10 ms in 1 s ({its})")

    # The command line replaces the script's scenarios: -i 7 runs exactly 7 iterations.
    overridden = scripts.write("overridden.lua", """
options = {
  scenarios = {
    default = { executor = "per-vu-iterations", vus = 2, iterations = 50 },
  },
  thresholds = { ["iterations{count}"] = "== 7" },
}
function default() http.get(env.BASE_URL .. "/") end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(overridden, t, "-i", "7", "-t", "2", timeout_s=60)
        served = t.stop()
        check(code == 0, f"-i 7: exit 0, iterations{{count}} == 7 held (got {code}; "
                         f"{err.strip()[-300:]!r})")
        check(served == 7, f"-i 7: target served exactly 7, not 100 ({served})")
        if r is not None:
            check(r["config"]["executor"] == "shared-iterations",
                  f"-i 7: a shared-iterations run ({r['config']['executor']})")

    with Target() as t:
        code, out, err, r, secs = run_script(overridden, t, "-i", "7", "-c", "3", "-t", "2",
                                             timeout_s=60)
        served = t.stop()
        check(code == 0 and served == 7, f"-i 7 -c 3: exactly 7 served ({code}, {served})")
        if r is not None:
            check(r["config"]["vus"] == 3, f"-i 7 -c 3: 3 VUs ({r['config']['vus']})")

    # -c and -d replace them with constant VUs for a duration.
    with Target() as t:
        code, out, err, r, secs = run_script(overridden, t, "-c", "2", "-d", "1s", "-t", "2",
                                             "--threshold", "iterations{count} > 7",
                                             timeout_s=60)
        served = t.stop()
        # The script's own "== 7" now fails: 1 s of 2 VUs makes far more.
        check(code == 3, f"-c 2 -d 1s: ran for a duration, the script's == 7 fails ({code})")
        check(secs < 6, f"-c 2 -d 1s: ended on time ({secs:.1f}s)")
        if r is not None:
            check(r["config"]["executor"] == "constant-vus" and r["config"]["vus"] == 2,
                  f"-c 2 -d 1s: constant-vus, 2 VUs ({r['config']['executor']}, "
                  f"{r['config']['vus']})")
            check(served - r["generator"]["in_flight_at_stop"] <= r["summary"]["requests"]
                  <= served and served > 7,
                  f"-c 2 -d 1s: strain's {r['summary']['requests']} reconcile with {served}")

    # options.iterations / vus without scenarios: a shared pool, like k6.
    plain = scripts.write("plain.lua", """
options = { vus = 3, iterations = 11 }
function default() http.get(env.BASE_URL .. "/") end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(plain, t, "-t", "2", timeout_s=60)
        served = t.stop()
        check(code == 0 and served == 11, f"options.iterations: exactly 11 served ({code}, {served})")

    # No options at all: k6's default, one iteration by one VU.
    bare = scripts.write("bare.lua", 'function default() http.get(env.BASE_URL .. "/") end\n')
    with Target() as t:
        code, out, err, r, secs = run_script(bare, t, timeout_s=60)
        served = t.stop()
        check(code == 0 and served == 1, f"no options: one iteration ({code}, {served})")

finish()
