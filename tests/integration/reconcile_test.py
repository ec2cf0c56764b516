"""Counts reconcile: what strain reports as completed equals what strain-target served, less
at most the requests in flight at stop; the throughput lies within bounds set by the target's
count, the planned duration and the wall time this test measures around strain. Latency can't
beat the server's own delay."""
import time

from harness import Target, run_strain, check, finish, reconciles

# A fast target, several threads and VUs: the count must match exactly (drained stop).
VUS, PLANNED_S = 20, 2.0
with Target("--threads", "1") as t:
    wall_start = time.monotonic()
    code, out, err, r = run_strain("run", "--url", t.url, "-c", str(VUS), "-d", f"{PLANNED_S:g}s",
                                   "-t", "2", "-q")
    wall_s = time.monotonic() - wall_start
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
    # Throughput against truths strain does not produce: the planned -d (P), the wall time W
    # this test measured around the whole strain process, and the target's served count S.
    # strain's load phase D starts before its stop timer is armed for P and ends inside the
    # process, so P <= D <= W. Throughput X is L / D, L the responses of the load phase; with
    # the drain's responses that is every response strain counted, already checked against S.
    # Upper: L <= S (no error: each response counted was served) and D >= P, so X <= S / P.
    # Lower: when the load phase ends each VU has at most one request outstanding and sends no
    # more, so the target serves at most VUS beyond L: L >= S - VUS, and D <= W, so
    # X >= (S - VUS) / W. Neither bound leans on a tolerance. The upper one is tight to about
    # 0.1% (the drain's responses and D - P); the lower to (W - D) / W, strain's start and exit.
    x, d = s["throughput_rps"], s["duration_s"]
    check(PLANNED_S <= d <= wall_s,
          f"load phase {d:.4f} s between the planned {PLANNED_S:g} s and the wall time "
          f"{wall_s:.4f} s")
    check(round(x * d) + s["completed_in_drain"] == s["requests"],
          f"throughput x duration ({x * d:.1f}) + completed in the drain "
          f"({s['completed_in_drain']}) = the responses counted ({s['requests']})")
    check((served - VUS) / wall_s <= x <= served / PLANNED_S,
          f"throughput {x:.1f}/s within [(served - {VUS} VUs) / wall time, served / planned] = "
          f"[{(served - VUS) / wall_s:.1f}, {served / PLANNED_S:.1f}]")
    check(0 <= s["completed_in_drain"] <= VUS,
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
