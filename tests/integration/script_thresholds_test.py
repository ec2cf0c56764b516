"""A script's thresholds (options.thresholds) and --threshold flags: judged at the end against
figures the target bounds (its own delay, its own status), exit 3 on failure, and
abort_on_fail stopping a run long before its planned end."""
from harness import Target, check, finish
from script_support import Scripts, run_script, target_stats, check_named

with Scripts() as scripts:
    # Passing thresholds over counts the target can confirm: 20 iterations of one request.
    passing = scripts.write("passing.lua", """
options = {
  iterations = 20,
  thresholds = {
    ["checks{rate}"] = "== 1",
    ["checks{check:status is 200,rate}"] = { "> 0.99", ">= 1" },
    ["errors{count}"] = "== 0",
    ["requests{count}"] = "== 20",
    ["iterations{count}"] = "== 20",
    ["latency{name:home,max}"] = "< 5s",
  },
}
function default()
  local r = http.get(env.BASE_URL .. "/", { name = "home" })
  check(r, { ["status is 200"] = function(r) return r.status == 200 end })
end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(passing, t, "-t", "1")
        served = t.stop()
        check(code == 0, f"passing: exit 0 (got {code}; stderr {err.strip()[-300:]!r})")
        check(served == 20, f"passing: target served 20 ({served})")
        if r is not None:
            verdicts = [(v["expression"], v["condition"], v["passed"]) for v in r["thresholds"]]
            check(len(verdicts) == 7 and all(p for _, _, p in verdicts),
                  f"passing: 7 thresholds, all passed ({verdicts})")
            check("FAIL" not in out and "thresholds" in out,
                  "passing: the summary lists thresholds, none failed")

    # A failing threshold: the target holds every response 20 ms, so p50 < 5ms cannot hold.
    failing = scripts.write("failing.lua", """
options = {
  vus = 2,
  iterations = 10,
  thresholds = {
    ["latency{p50}"] = { "< 5ms", ">= 20ms" },
    ["checks{check:status is 200,rate}"] = "== 1",
  },
}
function default()
  local r = http.get(env.BASE_URL .. "/?delay=20ms")
  check(r, { ["status is 200"] = function(r) return r.status == 200 end })
end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(failing, t, "-t", "1")
        served = t.stop()
        check(code == 3, f"failing: a failed threshold exits 3 (got {code}; {err.strip()[-300:]!r})")
        check(served == 10, f"failing: target served 10 ({served})")
        if r is not None:
            verdicts = [(v["expression"], v["condition"], v["passed"]) for v in r["thresholds"]]
            # Keys of options.thresholds come in Lua's table order; a key's list stays in order.
            check(sorted(verdicts) == sorted([("latency{p50}", "< 5ms", False),
                                              ("latency{p50}", ">= 20ms", True),
                                              ("checks{check:status is 200,rate}", "== 1", True)]),
                  f"failing: verdicts ({verdicts})")
            lat = [v for v in verdicts if v[0] == "latency{p50}"]
            check(lat == [("latency{p50}", "< 5ms", False), ("latency{p50}", ">= 20ms", True)],
                  f"failing: one key's conditions in the order written ({lat})")
            observed = next(v["observed"] for v in r["thresholds"] if v["condition"] == "< 5ms")
            check(observed is not None and observed >= 20,
                  f"failing: observed p50 {observed} ms is at least the target's 20 ms delay")
        check("FAIL latency{p50} < 5ms" in out, "failing: the summary shows the failed threshold")
        check("pass latency{p50} >= 20ms" in out, "failing: and the one that passed")

    # abort_on_fail: every response is a 500, so errors{rate} < 0.1 fails at the first
    # evaluation; a 30 s run must stop within a few seconds.
    abort = scripts.write("abort.lua", """
options = {
  scenarios = { hammer = { executor = "constant-vus", vus = 2, duration = "30s",
                           exec = "hit" } },
  thresholds = {
    ["errors{rate}"] = { { threshold = "< 0.1", abort_on_fail = true } },
    ["requests{count}"] = "> 0",
  },
}
function hit()
  http.get(env.BASE_URL .. "/?status=500", { name = "always 500" })
  sleep(0.01)
end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(abort, t, "-t", "1", timeout_s=60)
        served = t.stop()
        check(code == 3, f"abort: exit 3 (got {code}; stderr {err.strip()[-300:]!r})")
        check(secs < 6, f"abort: a 30 s run stopped early, after {secs:.1f}s")
        check("stopped early" in out and "errors{rate} < 0.1" in out,
              "abort: the summary says it stopped early, and which threshold")
        if r is not None:
            s = r["summary"]
            check(s["threshold_abort"] == "errors{rate} < 0.1",
                  f"abort: result names the threshold ({s['threshold_abort']!r})")
            check(r["total"]["status_codes"].get("500") == s["requests"] > 0,
                  f"abort: every response was a 500 ({r['total']['status_codes']})")
            in_flight = r["generator"]["in_flight_at_stop"]
            check(served - in_flight <= s["requests"] <= served,
                  f"abort: strain's {s['requests']} responses reconcile with served {served}")
            v = {x["expression"]: x for x in r["thresholds"]}
            check(not v["errors{rate}"]["passed"] and v["errors{rate}"]["observed"] == 1.0,
                  f"abort: errors{{rate}} failed with 1.0 ({v['errors{rate}']})")
            check(v["requests{count}"]["passed"], "abort: the other threshold is still judged")

    # delay_abort_eval: the same failure is not acted on for the first 2 s.
    delayed = scripts.write("delayed.lua", """
options = {
  scenarios = { hammer = { executor = "constant-vus", vus = 1, duration = "30s",
                           exec = "hit" } },
  thresholds = {
    ["errors{rate}"] = { { threshold = "< 0.1", abort_on_fail = true,
                           delay_abort_eval = "2s" } },
  },
}
function hit()
  http.get(env.BASE_URL .. "/?status=500")
  sleep(0.01)
end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(delayed, t, "-t", "1", timeout_s=60)
        t.stop()
        check(code == 3, f"delayed abort: exit 3 (got {code})")
        check(1.9 <= secs < 8, f"delayed abort: stopped after the 2 s delay, before 8 s ({secs:.1f}s)")
        if r is not None:
            check(r["summary"]["duration_s"] >= 1.9,
                  f"delayed abort: load ran at least ~2 s ({r['summary']['duration_s']:.2f})")

    # --threshold adds to the script's: the script's come first, the flags' after.
    with Target() as t:
        code, out, err, r, _ = run_script(passing, t, "-t", "1",
                                          "--threshold", "requests{count} == 20",
                                          "--threshold", "iterations{count} > 1000")
        t.stop()
        check(code == 3, f"--threshold: a failed flag threshold exits 3 (got {code})")
        if r is not None:
            verdicts = [(v["expression"], v["condition"], v["passed"]) for v in r["thresholds"]]
            check(len(verdicts) == 9, f"--threshold: 7 from the script + 2 flags ({len(verdicts)})")
            check(verdicts[-2:] == [("requests{count}", "== 20", True),
                                    ("iterations{count}", "> 1000", False)],
                  f"--threshold: the flags' verdicts come last ({verdicts[-2:]})")
            check(all(p for _, _, p in verdicts[:7]), "--threshold: the script's still pass")
        check("FAIL iterations{count} > 1000" in out, "--threshold: failure in the summary")

    # A check that fails half the time: checks{check:NAME,rate} sees it, checks{rate} the mix.
    half = scripts.write("half.lua", """
options = {
  scenarios = { one = { executor = "per-vu-iterations", vus = 2, iterations = 10 } },
  thresholds = {
    ["checks{check:even iteration,rate}"] = "== 0.5",
    ["checks{check:status is 200,fails}"] = "== 0",
    ["checks{rate}"] = "== 0.75",
    ["checks{rate}"] = "> 0.9",
  },
}
function one()
  local r = http.get(env.BASE_URL .. "/")
  check(r, {
    ["status is 200"] = function(r) return r.status == 200 end,
    ["even iteration"] = function() return vu.iteration % 2 == 0 end,
  })
end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(half, t, "-t", "2")
        served = t.stop()
        # A Lua table keeps one value per key: the later "checks{rate}" replaces the earlier.
        check(code == 3, f"checks: exit 3, checks{{rate}} > 0.9 fails (got {code}; {err[-300:]!r})")
        check(served == 20, f"checks: target served 20 ({served})")
        if r is not None:
            v = {(x["expression"], x["condition"]): x for x in r["thresholds"]}
            check(len(v) == 3, f"checks: three thresholds judged ({sorted(v)})")
            ok = v.get(("checks{check:even iteration,rate}", "== 0.5"))
            check(ok is not None and ok["passed"], f"checks: one named check's rate ({ok})")
            mix = v.get(("checks{rate}", "> 0.9"))
            check(mix is not None and not mix["passed"] and mix["observed"] == 0.75,
                  f"checks: all checks' rate is 30/40 ({mix})")
            c = check_named(r, "even iteration")
            check(c == {"name": "even iteration", "passes": 10, "fails": 10},
                  f"checks: tally of the half-failing check ({c})")

finish()
