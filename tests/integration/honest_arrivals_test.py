"""Honest arrivals (issue 9): in the open model, an arrival that never got a response is a failed
request, and one that waited until the run gave up on it is a latency at least that long.

Each case checks strain against a truth it does not compute itself: strain-target's stall log
and its own counts (served, hung). The contract under test:
- every unanswered arrival is a failure: `dropped` (never started: backlog overflow, or still
  waiting when the load phase ended) or `abandoned` (sent, unanswered when the drain, at most
  min(--timeout, 5 s), gave up);
- an arrival that waited and was given up also has its wait (until given up) recorded as a
  response time, a lower bound like a timeout; an overflowed arrival is a failure only;
- due = started + overflow + unstarted_at_stop; dropped = overflow + unstarted_at_stop;
  abandoned = in_flight_at_stop; generator.started = requests + transport_errors - dropped;
- --max-vus N is one pool of N at every --threads;
- a request the server held and then closed on is an error, never resent as a stale retry.

Cases: 1. a stall covering the end of the run (2 VUs); 2. a small backlog; 3. one VU pool at
1 and 2 threads; 4. hangs; 5. the reconciliation identities, after every run.

Measured with today's engine (ea9ccf5, release build, 2 cores; the whole file runs in ~34 s):
  1. p99 0.4-4.6 ms and 0 errors (exit 0: both thresholds pass) while 201-205 of the 600
     arrivals (34%) were never answered: ~200 unstarted at stop and 2 in flight at stop, in
     no failure count and no latency. (The issue: "p99 1 ms and 0 errors while 40% of the
     arrivals were never answered".)
  2. backlog 10: 189-194 overflowed, 10 unstarted, 2 in flight, yet 0 errors and exit 0;
     394-399 latency samples where 404-411 are due (answered + abandoned + unstarted).
  3. p99 10.8-24 ms at --threads 1, 1.05-1.15 s at --threads 2 (3 VUs split 2 + 1), where
     134-145 of the 1250 arrivals were never answered.
  4. the target hung 26; strain counted 2 errors (closed) and 24 stale retries hid the rest
     (the target saw served 498 + hung 26 = 524 requests for 500 arrivals).
"""
import math
import re
import time

from harness import Target, run_strain, check, finish


def nearest_rank(sorted_values, p):
    k = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


def stall_log(output):
    """(start_epoch_ms, for_ms, windows): windows as (start, end) in Unix ms, the end taken as
    start + for_ms (the printed end is cut at the target's exit, before the stall ended)."""
    m = re.search(r"stall_clock start_epoch_ms=(\d+) every_ms=(\d+) for_ms=(\d+)", output)
    if not m:
        return None, None, []
    epoch, length = int(m.group(1)), int(m.group(3))
    windows = [(epoch + int(a), epoch + int(a) + length)
               for a, _ in re.findall(r"stall start_ms=(\d+) end_ms=(\d+)", output)]
    return epoch, length, windows


def target_counter(output, name):
    m = re.search(rf"\b{name}=(\d+)", output)
    return int(m.group(1)) if m else None


def kinds(r):
    """Failures by kind. The result file names them total.errors; errors_by_kind accepted too."""
    t = r["total"]
    k = t.get("errors_by_kind", t.get("errors"))
    return k if isinstance(k, dict) else {}


def verdict(r, expression):
    for v in r.get("thresholds", []):
        if v["expression"] == expression:
            return v
    return None


def judged_late(code, r):
    """Strain's own verdict that it could not keep its schedule (exit 4, outranking 3)."""
    g = r["generator"] if r else {}
    return code == 4 and bool(g.get("generator_bound")) and any(
        "could not keep its schedule" in n for n in g.get("notes", []))


def identities(r, label):
    """Case 5: the counts reconcile, in every run."""
    s, sc, g, k = r["summary"], r["schedule"], r["generator"], kinds(r)
    dropped, abandoned = k.get("dropped"), k.get("abandoned")
    check(sc["due"] == sc["started"] + sc["overflow"] + sc["unstarted_at_stop"],
          f"{label}: due {sc['due']} = started {sc['started']} + overflow {sc['overflow']}"
          f" + unstarted {sc['unstarted_at_stop']}")
    check(dropped == sc["overflow"] + sc["unstarted_at_stop"],
          f"{label}: dropped {dropped} = overflow {sc['overflow']}"
          f" + unstarted at stop {sc['unstarted_at_stop']}")
    check(abandoned == g["in_flight_at_stop"],
          f"{label}: abandoned {abandoned} = in flight at stop {g['in_flight_at_stop']}")
    check(dropped is not None
          and g["started"] == s["requests"] + s["transport_errors"] - dropped,
          f"{label}: generator.started {g['started']} = requests {s['requests']}"
          f" + transport errors {s['transport_errors']} - dropped {dropped}")


# A stall that begins 2 s after the target starts and lasts 10 s: it begins inside strain's
# 3 s load phase (strain starts well under a second after the target) and outlasts the load
# phase plus the 5 s drain (--timeout stays 10 s), so everything it catches is never answered.
STALL = ("--threads", "1", "--stall-every", "12s", "--stall-for", "10s")
RATE, SECONDS = 200, 3
GAP_MS = 1000.0 / RATE


def stalled_run(*extra):
    """strain against a freshly started stalling target, 2 VUs; returns what both said."""
    with Target(*STALL) as t:
        code, out, err, r = run_strain("run", "--url", t.url, "--rate", f"{RATE}/s",
                                       "-d", f"{SECONDS}s", "-c", "2", "--max-vus", "2",
                                       "-t", "1", "-q", *extra, timeout_s=60)
        strain_done_ms = time.time() * 1000.0
        served = t.stop()
        epoch, length, windows = stall_log(t.output)
        return code, err, r, served, windows, strain_done_ms


# --- 1. Unstarted arrivals under a stall that covers the end of the run ---------------------
# Truth, per scheduled arrival i (due at started_at_unix_ms + i * 5 ms), from the stall log
# (its start time is whole milliseconds, truncated: a is known to within 1 ms):
# - due at or after a + 1 ms: the target writes no response in [a, b), and the run is over
#   before b, so it was never answered, for sure. It would have been answered at b:
#   truth = b - due. strain gave up on it no earlier than the end of the load phase:
#   lower bound = (started_at + 3 s) - due.
# - due from a - 10 ms to a + 1 ms: a VU may have been caught by the stall with it;
#   truth = b - due (an upper bound: answered before the stall, or at b), lower bound 0.
# - due earlier: answered at once (2 VUs, one arrival per 5 ms, the target answers in well under
#   a millisecond): truth 0, lower bound 0. These sit far below the percentiles compared.
# Each arrival's recorded response time lies between its lower bound and its truth, so every
# percentile over all arrivals does too. How many went unanswered in all is the target's own
# count: due - served. (Measured: 201-205 of 600 unanswered, all due inside the stall; truth
# p99 ~9978 ms, lower bound p99 975-995 ms. An honest p99 sits at the lower bound: the waits
# of the unstarted arrivals until the load phase ended.)
code, err, r, served, windows, done_ms = stalled_run(
    "--threshold", "errors{rate} < 1%", "--threshold", "latency{p99} < 10ms")
check(r is not None, f"case 1: result written (exit {code}; {err.strip()[-200:]!r})")
s, sc = r["summary"], r["schedule"]
start = r["started_at_unix_ms"]
load_end = start + SECONDS * 1000.0
check(len(windows) == 1, f"case 1: the target logged one stall window ({windows})")
a, b = windows[0]
check(start + 100 < a < load_end - 200,
      f"case 1: the stall began inside the load phase ({a - start:.0f} ms after strain's start)")
check(done_ms < b,
      f"case 1: the stall outlasted the run (strain ended {b - done_ms:.0f} ms before its end)")
truth, lower, sure_unanswered = [], [], 0
for i in range(sc["due"]):
    due = start + i * GAP_MS
    if due >= a + 1:
        sure_unanswered += 1
        truth.append(b - due)
        lower.append(max(0.0, load_end - due))
    elif due >= a - 10:
        truth.append(b - due)
        lower.append(0.0)
    else:
        truth.append(0.0)
        lower.append(0.0)
truth.sort()
lower.sort()
unanswered = sc["due"] - served
print(f"     truth: {sc['due']} due, {served} served, {unanswered} unanswered "
      f"({sure_unanswered} due inside the stall); truth p50 {nearest_rank(truth, 50):.1f} ms "
      f"p99 {nearest_rank(truth, 99):.1f} ms; lower bound p50 {nearest_rank(lower, 50):.1f} ms "
      f"p99 {nearest_rank(lower, 99):.1f} ms")
print(f"     strain: p99 {s['response_time_ms']['p99']} ms, "
      f"count {s['response_time_ms']['count']}, requests {s['requests']}, "
      f"errors {s['errors']}, kinds { {k: v for k, v in kinds(r).items() if v} }, exit {code}")
check(sc["due"] == RATE * SECONDS, f"case 1: {RATE * SECONDS} arrivals due ({sc['due']})")
check(s["requests"] == served, f"case 1: completed {s['requests']} = served {served}")
check(unanswered >= sure_unanswered > 0.1 * sc["due"],
      f"case 1: the truth leaves {unanswered} unanswered, at least the {sure_unanswered} due "
      "inside the stall (over 10%)")
lo, hi = nearest_rank(lower, 99), nearest_rank(truth, 99)
got = s["response_time_ms"]["p99"]
check(lo > 100, f"case 1: the lower bound's p99 shows the stall ({lo:.1f} ms)")
check(lo * 0.998 - 5 <= got <= hi * 1.002 + 5,
      f"case 1: response time p99 {got} ms within [{lo:.1f}, {hi:.1f}] ms "
      "(waited until given up .. answered at the stall's end)")
check(s["errors"] >= sure_unanswered,
      f"case 1: errors {s['errors']} >= the {sure_unanswered} due inside the stall")
check(s["errors"] == unanswered,
      f"case 1: errors {s['errors']} = the {unanswered} arrivals the target never answered")
k = kinds(r)
check(k.get("dropped", 0) + k.get("abandoned", 0) == unanswered,
      f"case 1: dropped {k.get('dropped')} + abandoned {k.get('abandoned')} = {unanswered}")
check(code == 3, f"case 1: a failed threshold exits 3 (got {code})")
v = verdict(r, "errors{rate}")
check(v is not None and v["passed"] is False,
      f"case 1: errors{{rate}} < 1% fails (observed {v and v['observed']})")
v = verdict(r, "latency{p99}")
check(v is not None and v["passed"] is False,
      f"case 1: latency{{p99}} < 10ms fails (observed {v and v['observed']})")
identities(r, "case 1")

# --- 2. Small backlog: overflows are failures, not latencies -------------------------------
# Same stall, --backlog 10: the 2 VUs are caught, 10 arrivals wait, the rest overflow. Truth:
# the target's served count; every other arrival is a failure (errors = due - served).
# Latency samples: each arrival that got a response, timed out, was abandoned in flight, or
# was still waiting at stop has exactly one; an overflowed one (it never waited) has none:
#   response_time.count = requests + timeout + abandoned + unstarted_at_stop
# and, with no other kind of failure here, that is due - overflow.
code, err, r, served, windows, done_ms = stalled_run(
    "--backlog", "10", "--threshold", "errors{rate} < 1%")
check(r is not None, f"case 2: result written (exit {code}; {err.strip()[-200:]!r})")
s, sc, k = r["summary"], r["schedule"], kinds(r)
check(len(windows) == 1 and done_ms < windows[0][1], "case 2: the stall outlasted the run")
unanswered = sc["due"] - served
count = s["response_time_ms"]["count"]
print(f"     truth: {sc['due']} due, {served} served, {unanswered} unanswered; strain: overflow "
      f"{sc['overflow']}, unstarted {sc['unstarted_at_stop']}, errors {s['errors']}, kinds "
      f"{ {n: v for n, v in k.items() if v} }, latency count {count}, exit {code}")
check(s["requests"] == served, f"case 2: completed {s['requests']} = served {served}")
check(sc["overflow"] > 0, f"case 2: arrivals overflowed the backlog ({sc['overflow']})")
check(k.get("dropped", 0) >= sc["overflow"],
      f"case 2: dropped {k.get('dropped')} >= overflow {sc['overflow']}")
check(s["errors"] == unanswered,
      f"case 2: errors {s['errors']} = the {unanswered} arrivals the target never answered")
# Exit 4 outranks 3: on a slow machine (a sanitizer build) strain may judge its own schedule
# late while the target stalls. That judgement is its own truth, stated in the notes; the
# failed threshold must still be in the result.
late = judged_late(code, r)
if late:
    print("note: case 2: strain judged itself late on this machine (exit 4)")
check(code == 3 or late, f"case 2: a failed threshold exits 3, or 4 judged late (got {code})")
v = verdict(r, "errors{rate}")
check(v is not None and v["passed"] is False,
      f"case 2: errors{{rate}} < 1% fails (observed {v and v['observed']})")
others = {n: c for n, c in k.items() if c and n not in ("dropped", "abandoned")}
check(not others, f"case 2: no other kind of failure ({others})")
want = (s["requests"] + k.get("timeout", 0) + k.get("abandoned", 0) + sc["unstarted_at_stop"])
check(count == want,
      f"case 2: latency count {count} = requests + timeouts + abandoned + unstarted ({want})")
check(count == sc["due"] - sc["overflow"],
      f"case 2: latency count {count} = due - overflow ({sc['due'] - sc['overflow']})")
identities(r, "case 2")

# --- 3. One pool at every thread count -----------------------------------------------------
# Truth: the target answers each request in 10 ms; one pool of 3 VUs serves up to 300/s, so at
# 250/s uniform nothing queues: every arrival is answered (the target's served = due) and p99
# stays near 10 ms. A pool split 2 + 1 across 2 threads leaves the 1-VU thread short (125/s
# offered, under 100/s served) and its backlog grows for the whole run (p99 over a second).
# Criterion, robust on a noisy 2-core machine: p99 below 100 ms at both thread counts. And
# still 3 VUs in all, not 3 per thread: a VU is a keep-alive connection and this target never
# closes one, so the target accepts at most 3 connections.
p99s = {}
for threads in (1, 2):
    with Target("--threads", "1", "--latency", "10ms") as t:
        code, out, err, r = run_strain("run", "--url", t.url, "--rate", "250/s", "-d", "5s",
                                       "-c", "3", "--max-vus", "3", "-t", str(threads), "-q",
                                       timeout_s=60)
        served = t.stop()
        connections = target_counter(t.output, "connections")
    label = f"case 3, --threads {threads}"
    check(r is not None, f"{label}: result written (exit {code}; {err.strip()[-200:]!r})")
    s, sc, k = r["summary"], r["schedule"], kinds(r)
    p99s[threads] = s["response_time_ms"]["p99"]
    print(f"     {label}: p99 {p99s[threads]} ms, served {served} of {sc['due']}, unstarted "
          f"{sc['unstarted_at_stop']}, overflow {sc['overflow']}, dropped {k.get('dropped')}")
    check(sc["due"] == 1250, f"{label}: 1250 arrivals due ({sc['due']})")
    check(served == sc["due"], f"{label}: the target answered every arrival ({served})")
    check(k.get("dropped", 0) == 0 and sc["overflow"] == 0 and sc["unstarted_at_stop"] == 0,
          f"{label}: no dropped arrivals (dropped {k.get('dropped')}, overflow "
          f"{sc['overflow']}, unstarted {sc['unstarted_at_stop']})")
    # When strain says it could not keep its own schedule (exit 4; seen under ASan with one
    # thread), its lateness is honestly part of the response time: the bound widens to 500 ms,
    # still well under the split pool's backlog of over a second.
    bound_ms = 500 if judged_late(code, r) else 100
    if bound_ms != 100:
        print(f"note: {label}: strain judged itself late on this machine (exit 4)")
    check(p99s[threads] < bound_ms,
          f"{label}: response time p99 {p99s[threads]} ms < {bound_ms} ms")
    check(connections is not None and connections <= 3,
          f"{label}: the target saw at most 3 connections, one per VU ({connections})")
    identities(r, label)

# --- 4. A hang is never hidden as a stale retry --------------------------------------------
# Truth: the target's own `hung=` count. A hung request is read, held 2 s, and its connection
# closed: the server had it and did not answer, so it is a failure (closed or reset, or
# abandoned/timeout if the run gave up first) and is never resent. Each arrival then makes
# exactly one request, so the target saw served + hung = due.
with Target("--threads", "1", "--hang-rate", "5%", "--hang-for", "2s") as t:
    code, out, err, r = run_strain("run", "--url", t.url, "--rate", "100/s", "-d", "5s",
                                   "-c", "20", "--max-vus", "50", "-t", "1", "-q", timeout_s=60)
    served = t.stop()
    hung = target_counter(t.output, "hung")
check(r is not None, f"case 4: result written (exit {code}; {err.strip()[-200:]!r})")
s, sc, g, k = r["summary"], r["schedule"], r["generator"], kinds(r)
hang_errors = sum(k.get(n, 0) for n in ("closed", "reset", "abandoned", "timeout"))
print(f"     truth: hung {hung}, served {served}, due {sc['due']}; strain: errors {s['errors']}, "
      f"kinds { {n: v for n, v in k.items() if v} }, stale retries {g['stale_retries']}")
check(hung is not None and hung > 5, f"case 4: the target hung some requests ({hung})")
check(s["requests"] == served, f"case 4: completed {s['requests']} = served {served}")
check(hang_errors == hung,
      f"case 4: closed + reset + abandoned + timeout {hang_errors} = the target's hung {hung}")
check(s["errors"] == hung, f"case 4: errors {s['errors']} = hung {hung}")
check(g["stale_retries"] == 0, f"case 4: no stale retries ({g['stale_retries']})")
check(hung is not None and served + hung == sc["due"],
      f"case 4: one request per arrival: served {served} + hung {hung} = due {sc['due']}")
identities(r, "case 4")

finish()
