"""Runtime failures are counted by kind and the run still finishes with a summary."""
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

finish()
