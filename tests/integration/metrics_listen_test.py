"""--metrics-listen: scraped by an independent client (urllib) during a run, the exposition is
strict Prometheus text, its counters only grow, and after the run they equal the result's totals
and the target's own counts. A port in use is a usage error before any traffic.
"""
import json
import math
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request

from harness import STRAIN, Target, check, finish

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
VALUE = r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN|Nan|nan)"
HELP_RE = re.compile(rf"^# HELP ({NAME}) [^\n]*$")
TYPE_RE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|summary|histogram|untyped)$")
SAMPLE_RE = re.compile(rf"^({NAME})(\{{(?:{LABEL}(?:,{LABEL})*)?\}})? ({VALUE})(?: -?[0-9]+)?$")
SUFFIXES = {"summary": ("", "_sum", "_count"), "histogram": ("_bucket", "_sum", "_count")}


class BadExposition(Exception):
    pass


def parse(text):
    """The text format, strictly: HELP then TYPE once per family, every sample in a declared
    family and next to its siblings, valid names and labels, no series twice.
    Returns ({series: value}, {family: type})."""
    samples, types, helped, done = {}, {}, set(), set()
    current = None
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("# HELP "):
            m = HELP_RE.match(line)
            if not m or m.group(1) in helped:
                raise BadExposition(f"line {n}: bad or repeated HELP: {line!r}")
            helped.add(m.group(1))
            continue
        if line.startswith("# TYPE "):
            m = TYPE_RE.match(line)
            if not m or m.group(1) in types or m.group(1) not in helped:
                raise BadExposition(f"line {n}: bad, repeated or unhelped TYPE: {line!r}")
            if current:
                done.add(current)
            current = m.group(1)
            types[current] = m.group(2)
            continue
        if line.startswith("#"):
            raise BadExposition(f"line {n}: stray comment: {line!r}")
        m = SAMPLE_RE.match(line)
        if not m:
            raise BadExposition(f"line {n}: not a sample: {line!r}")
        name = m.group(1)
        allowed = [current + s for s in SUFFIXES.get(types.get(current), ("",))] if current else []
        if name not in allowed:
            raise BadExposition(f"line {n}: {name} outside its family ({current}): {line!r}")
        series = name + (m.group(2) or "")
        if series in samples:
            raise BadExposition(f"line {n}: series twice: {series}")
        samples[series] = float(m.group(3))
    return samples, types


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
        check_type = resp.headers.get("Content-Type", "")
        if not check_type.startswith("text/plain"):
            raise BadExposition(f"content type {check_type!r}")
        return parse(resp.read().decode("utf-8"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def is_counter(series, types):
    name = series.split("{")[0]
    if types.get(name) == "counter":
        return True
    return name.endswith("_count") and types.get(name[:-len("_count")]) == "summary"


# --- A 6 s run with errors of several kinds, scraped every 0.5 s through the hold.
with Target("--latency", "1ms", "--error-rate", "503:5%,500:2%", "--reset-rate", "1%") as t, \
        tempfile.TemporaryDirectory() as tmp:
    port = free_port()
    out = os.path.join(tmp, "r.json")
    proc = subprocess.Popen([STRAIN, "run", "--url", t.url, "-c", "4", "-d", "6s", "-q",
                             "--metrics-listen", f"127.0.0.1:{port}", "--metrics-hold", "3s",
                             "--out", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    scrapes, refused, bad = [], 0, []
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            scrapes.append(scrape(port))
        except BadExposition as e:
            bad.append(str(e))
        except OSError:
            refused += 1  # not listening yet, or already gone
        time.sleep(0.5)
    if proc.poll() is None:
        proc.kill()
    stdout, stderr = proc.communicate(timeout=10)
    served = t.stop()
    target_out = t.output
    result = json.load(open(out)) if os.path.exists(out) else None

    check(proc.returncode == 0, f"run: exit 0 (got {proc.returncode}; {stderr.strip()[:300]})")
    check(not bad, f"every scrape is strict text format ({bad[:2]})")
    check(len(scrapes) >= 12, f"scraped through the run and the hold ({len(scrapes)} scrapes, "
                              f"{refused} refused)")
    check("did not add up" not in stderr, "the intervals added up to the result's totals")

    decreased = []
    for (before, types), (after, _) in zip(scrapes, scrapes[1:]):
        for series, v in before.items():
            if is_counter(series, types) and after.get(series, -1) < v:
                decreased.append(f"{series}: {v} -> {after.get(series)}")
    check(not decreased, f"counters never decrease ({decreased[:3]})")
    during = [s for s, _ in scrapes if s.get("strain_run_finished") == 0]
    check(len(during) >= 8 and during[-1]["strain_requests_total"] > during[0]["strain_requests_total"],
          f"counters grow during the run ({[int(s['strain_requests_total']) for s in during]})")

    last, types = scrapes[-1] if scrapes else ({}, {})
    check(last.get("strain_run_finished") == 1, "the last scrape (in the hold) is final")
    if result is not None and last:
        total = result["total"]
        want = {
            "strain_requests_total": result["summary"]["requests"],
            "strain_requests_failed_total": result["summary"]["errors"],
            "strain_responses_rate_limited_total": result["summary"]["rate_limited"],
            "strain_bytes_received_total": total["bytes_in"],
            "strain_bytes_sent_total": total["bytes_out"],
            "strain_response_time_seconds_count": result["summary"]["response_time_ms"]["count"],
        }
        for kind, n in total["errors"].items():
            want[f'strain_errors_total{{kind="{kind}"}}'] = n
        for cls, n in total["status_classes"].items():
            want[f'strain_responses_total{{class="{cls}"}}'] = n
        wrong = {k: (last.get(k), v) for k, v in want.items() if last.get(k) != v}
        check(not wrong, f"the last scrape equals the result exactly ({len(want)} series; "
                         f"wrong: {wrong})")
        # The target's own counts: an independent truth for what the exporter served.
        by_status = dict(re.findall(r"(\d{3}):(\d+)", re.search(r"by_status=(\S*)", target_out)
                                    .group(1))) if "by_status=" in target_out else {}
        fives = sum(int(n) for code, n in by_status.items() if code.startswith("5"))
        resets = int(re.search(r"reset=(\d+)", target_out).group(1)) if "reset=" in target_out else -1
        check(last["strain_requests_total"] == served,
              f"requests = the target's served count ({last['strain_requests_total']} vs {served})")
        got_5xx = last['strain_responses_total{class="5xx"}']
        got_resets = last['strain_errors_total{kind="reset"}']
        check(got_5xx == fives and fives > 0,
              f"5xx = the target's 500s and 503s ({got_5xx} vs {fives})")
        check(got_resets == resets and resets > 0,
              f"resets = the target's ({got_resets} vs {resets})")

    gauges = ["strain_vus_active", "strain_in_flight", "strain_generator_busy_ratio",
              "strain_run_elapsed_seconds", "strain_run_planned_seconds", "strain_run_draining",
              'strain_response_time_seconds{quantile="0.99"}',
              'strain_response_time_seconds{quantile="1"}',
              'strain_run_info{command="run",executor="constant-vus"}']
    missing = [g for g in gauges if not during or g not in during[-1]]
    check(not missing, f"gauges present during the run (missing: {missing})")
    if during:
        mid = during[len(during) // 2]
        check(mid["strain_vus_active"] <= 4 and mid["strain_run_planned_seconds"] == 6,
              f"gauges hold the run's figures (vus {mid['strain_vus_active']}, planned "
              f"{mid['strain_run_planned_seconds']})")
        p99 = mid['strain_response_time_seconds{quantile="0.99"}']
        check(not math.isnan(p99) and 0.0005 < p99 < 1,
              f"the last interval's p99 is a latency in seconds ({p99})")
        check(types.get("strain_requests_total") == "counter"
              and types.get("strain_response_time_seconds") == "summary"
              and types.get("strain_vus_active") == "gauge", "families are typed")

# --- A port in use: exit 2 before any traffic, the message names the address.
with Target() as t:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    p = subprocess.run([STRAIN, "run", "--url", t.url, "-c", "2", "-d", "2s", "-q",
                        "--metrics-listen", f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=30)
    taken.close()
    served = t.stop()
    check(p.returncode == 2, f"port in use: exit 2 (got {p.returncode})")
    check(f"127.0.0.1:{port}" in p.stderr and "in use" in p.stderr,
          f"port in use: the message names the address ({p.stderr.strip()[:200]})")
    check(served == 0, f"port in use: no traffic sent (target served {served})")

# --- A malformed address: exit 2, naming it.
p = subprocess.run([STRAIN, "run", "--url", "http://127.0.0.1:9/", "-d", "1s", "-q",
                    "--metrics-listen", "127.0.0.1:99999"], capture_output=True, text=True,
                   timeout=30)
check(p.returncode == 2 and "127.0.0.1:99999" in p.stderr,
      f"malformed address: exit 2 naming it (got {p.returncode}: {p.stderr.strip()[:200]})")

finish()
