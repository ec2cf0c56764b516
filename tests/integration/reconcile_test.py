"""Counts reconcile: what strain reports as completed equals what strain-target served, less
at most the requests in flight at stop. Latency can't beat the server's own delay."""
from harness import Target, run_strain, check, finish, reconciles

# A fast target, several threads and VUs: the count must match exactly (drained stop).
with Target("--threads", "1") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "-c", "20", "-d", "2s", "-t", "2", "-q")
    served = t.stop()
    check(code == 0, f"exit 0 (got {code}; stderr {err.strip()!r})")
    check(r is not None, "result JSON written")
    s = r["summary"]
    in_flight = r["generator"]["in_flight_at_stop"]
    check(served is not None, f"target printed its served count ({served})")
    check(s["requests"] > 1000, f"more than 1000 requests completed ({s['requests']})")
    check(served - in_flight <= s["requests"] <= served,
          f"completed {s['requests']} within [served {served} - in flight {in_flight}, served]")
    check(s["errors"] == 0, f"no errors ({s['errors']})")
    check(reconciles(r), f"started {r['generator']['started']} = completed + failed + in flight")
    check(r["total"]["status_codes"].get("200") == s["requests"], "every response was a 200")
    check(r["schema"] == "strain.result/1" and r["partial"] is False, "schema and partial flag")
    check(s["offered_rps"] is None and s["generator_bound"] is False, "closed-loop summary fields")
    for key in ("response_time_ms", "service_time_ms"):
        lat = s[key]
        check(all(k in lat for k in ("min", "mean", "p50", "p90", "p95", "p99", "p999", "max")),
              f"{key} has every percentile")
        check(lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"], f"{key} is ordered")
    load_phase = s["requests"] - s["completed_in_drain"]
    check(abs(s["throughput_rps"] - load_phase / s["duration_s"]) < 1e-6 * s["requests"],
          "throughput = responses completed in the load phase / its duration")
    check(0 <= s["completed_in_drain"] <= 20,
          f"at most one response per VU completes in the drain ({s['completed_in_drain']})")

# A 5 ms server delay: no response can be faster, and the run still reconciles. Thresholds
# judged against that truth: p50 >= 5 ms must fail "< 5ms" (exit 3) and pass ">= 5ms".
with Target("--latency", "5ms") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "-c", "10", "-d", "1500ms", "-t", "1", "-q",
                                   "--threshold", "latency{p50} >= 5ms",
                                   "--threshold", "latency{p50} < 5ms",
                                   "--threshold", "errors{rate} < 1%")
    served = t.stop()
    s = r["summary"]
    check(code == 3, f"delayed target: a failed threshold exits 3 (got {code})")
    verdicts = [(v["expression"], v["condition"], v["passed"]) for v in r["thresholds"]]
    check(verdicts == [("latency{p50}", ">= 5ms", True), ("latency{p50}", "< 5ms", False),
                       ("errors{rate}", "< 1%", True)], f"threshold verdicts {verdicts}")
    check("FAIL latency{p50} < 5ms" in out, "the failed threshold is in the summary")
    check(s["response_time_ms"]["min"] >= 5.0, f"min latency >= 5 ms ({s['response_time_ms']['min']})")
    check(served - r["generator"]["in_flight_at_stop"] <= s["requests"] <= served,
          f"delayed target: completed {s['requests']} vs served {served}")

finish()
