"""Runtime failures are counted by kind and the run still finishes with a summary."""
import re
import socket
import threading
import time

from harness import Target, run_strain, check, finish, reconciles

# Nothing listening: every attempt is refused; the run ends on time with exit 1 and a summary.
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
start = time.monotonic()
code, out, err, r = run_strain("run", "--url", f"http://127.0.0.1:{port}/", "-c", "4", "-d", "1s", "-q")
elapsed = time.monotonic() - start
check(code == 1, f"refused: exit 1 (got {code})")
check(elapsed < 10, f"refused: finished in {elapsed:.1f}s")
check("requests" in out and "connect_refused" in out, "refused: summary printed with the error kind")
check(r is not None and r["total"]["errors"]["connect_refused"] > 0,
      f"refused: connect_refused counted ({r and r['total']['errors']['connect_refused']})")
check(r is not None and r["summary"]["requests"] == 0, "refused: no responses")
check(r is not None and reconciles(r), "refused: started = completed + failed + in flight")

# The target dies in the middle of the run: resets/closes/refusals are counted, the run finishes.
with Target("--latency", "1ms") as t:
    threading.Timer(1.0, t.kill).start()
    start = time.monotonic()
    code, out, err, r = run_strain("run", "--url", t.url, "-c", "8", "-d", "3s", "-q")
    elapsed = time.monotonic() - start
    errors = r["total"]["errors"] if r else {}
    check(code == 0, f"target killed: exit 0, responses were received before (got {code})")
    check(elapsed < 15, f"target killed: finished in {elapsed:.1f}s")
    check(r is not None and r["summary"]["requests"] > 0, "target killed: responses before the kill")
    lost = sum(errors.get(k, 0) for k in ("reset", "closed", "connect_refused"))
    check(lost > 0, f"target killed: failures counted by kind {errors}")
    check("failed" in out, "target killed: summary printed")
    check(reconciles(r), "target killed: started = completed + failed + in flight")

# A server that accepts and never answers: the request timeout fires and is counted.
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(64)
port = silent.getsockname()[1]
code, out, err, r = run_strain("run", "--url", f"http://127.0.0.1:{port}/", "-c", "2", "-d", "1500ms",
                               "--timeout", "300ms", "-q")
silent.close()
check(r is not None and r["total"]["errors"]["timeout"] >= 2,
      f"silent server: timeouts counted ({r and r['total']['errors']['timeout']})")
# A timed-out request took at least the timeout: it is in the latency, not left out of it.
check(r is not None and r["summary"]["response_time_ms"]["min"] >= 300,
      f"silent server: timeouts recorded at >= 300 ms ({r and r['summary']['response_time_ms']['min']})")

# The server closes every connection after its response: strain reconnects each time and
# the counts still reconcile with the server's (connections = responses).
with Target() as t:
    code, out, err, r = run_strain("run", "--url", t.url, "-c", "4", "-d", "1s", "-q",
                                   "-H", "Connection: close")
    served = t.stop()
    check(code == 0, f"Connection: close: exit 0 (got {code})")
    s = r["summary"]
    check(served - r["generator"]["in_flight_at_stop"] <= s["requests"] <= served and s["errors"] == 0,
          f"Connection: close: completed {s['requests']} vs served {served}, errors {s['errors']}")
    check(r["generator"]["connects"] == s["requests"] + r["generator"]["in_flight_at_stop"],
          f"Connection: close: one connection per request ({r['generator']['connects']})")

# strain-target's faults, each counted by the target itself: strain's counts by kind must
# match. Resets mid-response are resets, garbage is a bad response, an injected 503 is a 503
# (a failure), a hang outlasting --timeout is a timeout. Open model: the schedule offers
# exactly 1500 requests whatever the faults do.
with Target("--threads", "1", "--seed", "5", "--reset-rate", "4%", "--garbage-rate", "4%",
            "--error-rate", "503:5%", "--hang-rate", "2%", "--hang-for", "3s") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "--rate", "500/s", "-d", "3s",
                                   "-c", "20", "--max-vus", "200", "--timeout", "500ms", "-q",
                                   timeout_s=60)
    served = t.stop()
    counts = dict(re.findall(r"(hung|reset|garbage|errors_injected)=(\d+)", t.output))
    counts = {k: int(v) for k, v in counts.items()}
    e, s = r["total"]["errors"], r["summary"]
    check(set(counts) == {"hung", "reset", "garbage", "errors_injected"},
          f"faults: the target logged its fault counts ({counts})")
    check(r["schedule"]["due"] == 1500 and r["schedule"]["started"] == 1500,
          f"faults: all 1500 arrivals started ({r['schedule']['started']})")
    check(e["reset"] == counts.get("reset"), f"faults: resets {e['reset']} = target's {counts.get('reset')}")
    check(e["bad_response"] == counts.get("garbage"),
          f"faults: bad responses {e['bad_response']} = target's garbage {counts.get('garbage')}")
    check(e["timeout"] == counts.get("hung"), f"faults: timeouts {e['timeout']} = target's hangs {counts.get('hung')}")
    check(r["total"]["status_codes"].get("503", 0) == counts.get("errors_injected"),
          f"faults: 503s {r['total']['status_codes'].get('503', 0)} = target's injected "
          f"{counts.get('errors_injected')}")
    check(s["requests"] == served, f"faults: responses {s['requests']} = served {served}")
    check(s["errors"] == e["reset"] + e["bad_response"] + e["timeout"] +
          r["total"]["status_codes"].get("503", 0) + sum(
              v for k, v in e.items() if k not in ("reset", "bad_response", "timeout")),
          "faults: failed = transport errors + 503s")
    check(reconciles(r), "faults: started = completed + failed + in flight")
    check(min(counts.values() or [0]) > 0, "faults: every kind happened at least once")

finish()
