"""Ctrl-C: the first SIGINT drains and writes a partial result (exit 130); a second stops at once."""
import os
import signal
import subprocess
import tempfile
import time
import json

from harness import STRAIN, Target, check, finish, reconciles

with Target("--latency", "2ms") as t, tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "r.json")
    p = subprocess.Popen([STRAIN, "run", "--url", t.url, "-c", "10", "-d", "60s", "-q", "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        stdout, stderr = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        stdout, stderr = p.communicate()
    elapsed = time.monotonic() - start
    served = t.stop()
    check(p.returncode == 130, f"exit 130 after SIGINT (got {p.returncode})")
    check(elapsed < 10, f"stopped {elapsed:.1f}s after SIGINT")
    check("requests" in stdout and "interrupted" in stdout, "summary printed, marked interrupted")
    r = json.load(open(out)) if os.path.exists(out) else None
    check(r is not None and r["partial"] is True, "result written and marked partial")
    if r:
        s = r["summary"]
        check(1.0 < s["duration_s"] < 10, f"duration covers what ran ({s['duration_s']:.2f}s)")
        check(served - r["generator"]["in_flight_at_stop"] <= s["requests"] <= served,
              f"drained: completed {s['requests']} vs served {served}")

# Two signals: the second abandons what is in flight at once; files are still valid.
with Target("--latency", "3s") as t, tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "r.json")
    p = subprocess.Popen([STRAIN, "run", "--url", t.url, "-c", "4", "-d", "60s", "-q", "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    time.sleep(0.3)
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
    elapsed = time.monotonic() - start
    check(p.returncode == 130, f"second SIGINT: exit 130 (got {p.returncode})")
    check(elapsed < 2, f"second SIGINT: stopped at once ({elapsed:.2f}s; requests take 3 s)")
    r = json.load(open(out)) if os.path.exists(out) else None
    check(r is not None and reconciles(r), "second SIGINT: started = completed + failed + in flight")
    check(r is not None and r["partial"] and r["generator"]["in_flight_at_stop"] == 4,
          f"second SIGINT: valid partial result with 4 in flight ({r and r['generator']['in_flight_at_stop']})")

finish()
