"""Four segments on one machine against one run of the whole: 4 processes with --segment 1/4 ..
4/4 (4,000 req/s in total for 20 s, started together by --start-at) merged with `strain merge`,
next to one process offering 4,000 req/s to a second target.

Truths: the targets' own served counts; the whole load's arithmetic (rate x duration); the parts'
own files (the merged histogram's count is exactly the sum of theirs). The target answers after
20 ms, so both p99s sit near it (a 2-core machine's scheduling noise is a small part of 20 ms)
and must agree within 10%."""
import datetime
import json
import os
import subprocess
import tempfile
import time

from harness import STRAIN, Target, check, finish, passed_or_late

RATE = 4000
SECONDS = 20
N = 4
LATENCY = "20ms"
# Each segment at 1,000/s holds about 20 requests in flight at 20 ms; 50 VUs each leave room.
LOAD = ["--rate", f"{RATE}/s", "-d", f"{SECONDS}s", "-c", "20", "--max-vus", "200", "-t", "1",
        "-q"]


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def histogram_count(r):
    return r["summary"]["response_time_ms"]["count"]


with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    # --- four segments, one target --------------------------------------------------------
    with Target("--threads", "1", "--latency", LATENCY) as t:
        start_at = time.time() + 3.0
        procs = []
        for i in range(1, N + 1):
            argv = [STRAIN, "run", "--url", t.url, *LOAD, "--segment", f"{i}/{N}", "--start-at",
                    rfc3339(start_at), "--out", path(f"seg{i}.json")]
            procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        codes = []
        for p in procs:
            out, err = p.communicate(timeout=SECONDS + 60)
            codes.append((p.returncode, err.strip()[-300:]))
        served_segments = t.stop()
    parts = []
    for i in range(1, N + 1):
        with open(path(f"seg{i}.json")) as f:
            parts.append(json.load(f))
    for (code, err), r, i in zip(codes, parts, range(1, N + 1)):
        check(passed_or_late(code, r), f"segment {i}/{N}: exit 0 (got {code}; {err!r})")
        check(r["config"]["segments"] == [i - 1] and r["config"]["segment_count"] == N,
              f"segment {i}/{N}: the result says which segment it is ({r['config']['segments']} "
              f"of {r['config']['segment_count']})")
    origins = {r["started_at_unix_ms"] for r in parts}
    check(len(origins) == 1 and abs(origins.pop() - start_at * 1000) < 1,
          "the four schedules count from the --start-at instant")
    dues = [r["schedule"]["due"] for r in parts]
    check(sum(dues) == RATE * SECONDS, f"the segments' arrivals due add up to the whole "
          f"({dues} = {sum(dues)} of {RATE * SECONDS})")

    code, out, err = (lambda p: (p.returncode, p.stdout, p.stderr))(subprocess.run(
        [STRAIN, "merge", *[path(f"seg{i}.json") for i in range(1, N + 1)], "--out",
         path("merged.json")], capture_output=True, text=True, timeout=60))
    check(code == 0, f"merge: exit 0 (got {code}; {err.strip()[-300:]!r})")
    with open(path("merged.json")) as f:
        merged = json.load(f)

    # --- one process offering the whole ----------------------------------------------------
    with Target("--threads", "1", "--latency", LATENCY) as t:
        code, out, err = (lambda p: (p.returncode, p.stdout, p.stderr))(subprocess.run(
            [STRAIN, "run", "--url", t.url, *LOAD, "--out", path("whole.json")],
            capture_output=True, text=True, timeout=SECONDS + 60))
        served_whole = t.stop()
    with open(path("whole.json")) as f:
        whole = json.load(f)
    check(passed_or_late(code, whole), f"one process: exit 0 (got {code})")

    ms, ws = merged["summary"], whole["summary"]
    print(f"     segments: requests {[r['summary']['requests'] for r in parts]}, merged "
          f"{ms['requests']}, p99 {ms['response_time_ms']['p99']} ms, target served "
          f"{served_segments}; one process: requests {ws['requests']}, p99 "
          f"{ws['response_time_ms']['p99']} ms, target served {served_whole}")
    check(merged["config"]["segments"] == list(range(N)), "the merged result holds all four")
    check(abs(ms["requests"] - ws["requests"]) <= 0.01 * ws["requests"],
          f"total requests agree within 1% ({ms['requests']} vs {ws['requests']})")
    check(histogram_count(merged) == sum(histogram_count(r) for r in parts),
          f"the merged histogram's count {histogram_count(merged)} = the parts' sum "
          f"{sum(histogram_count(r) for r in parts)}")
    check(ms["requests"] == sum(r["summary"]["requests"] for r in parts),
          "the merged requests are the parts' sum")
    check(ms["requests"] == served_segments,
          f"the target served what the merge counts ({served_segments} = {ms['requests']})")
    p99m, p99w = ms["response_time_ms"]["p99"], ws["response_time_ms"]["p99"]
    check(abs(p99m - p99w) <= 0.10 * p99w, f"p99 agrees within 10% ({p99m} vs {p99w} ms)")

finish()
