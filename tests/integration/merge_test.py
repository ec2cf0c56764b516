"""strain merge on real results: two segments of one test (--segment 1/2 and 2/2, started
together with --start-at) against strain-target merge into the whole, and bad inputs exit 2
naming the file.

The truths: the target's own count of requests served; the parts' histograms, decoded here from
their lossless HdrHistogram encoding and added bucket by bucket in Python, for the merged
histogram (count, every bucket) and its global p99; and the test's design, a threshold
(`requests{count} > 900`, about 600 each) that fails on each segment and passes on the whole.
Without --segment (an older strain) the test makes the two results segments by editing them.
"""
import base64
import datetime
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib

from harness import STRAIN, Target, check, finish, passed_or_late, reconciles

RATE = 400          # the whole test's rate, per second: each segment offers half
SECONDS = 3
THRESHOLD = ("requests{count}", "> 900")


# --- HdrHistogram V2, compressed and base64 (as strain writes it), decoded independently.
def decode_histogram(text):
    raw = base64.b64decode(text)
    cookie, length = struct.unpack(">ii", raw[:8])
    assert cookie & ~0xF0 == 0x1C849304 & ~0xF0, f"not a compressed histogram: {cookie:#x}"
    inner = zlib.decompress(raw[8:8 + length])
    (_, payload_len, _, digits, lowest, highest, _) = struct.unpack(">iiiiqqd", inner[:40])
    counts, i, pos, end = {}, 0, 40, 40 + payload_len
    while pos < end:  # ZigZag LEB128 of up to 9 bytes: a count, or minus a run of empty buckets
        value = 0
        for k in range(9):
            b = inner[pos]
            pos += 1
            if k == 8:  # the 9th byte carries 8 bits
                value |= b << 56
                break
            value |= (b & 0x7F) << (7 * k)
            if b < 0x80:
                break
        value = (value >> 1) ^ -(value & 1)
        if value < 0:
            i += -value
        else:
            if value:
                counts[i] = value
            i += 1
    return {"digits": digits, "lowest": lowest, "highest": highest, "counts": counts}


def highest_equivalent(h, index):
    """The top of bucket `index`'s value range, as HdrHistogram lays buckets out."""
    sub_count_mag = math.ceil(math.log2(2 * 10 ** h["digits"]))
    half_mag = max(sub_count_mag, 1) - 1
    half = 1 << half_mag
    unit_mag = int(math.floor(math.log2(h["lowest"])))
    bucket = (index >> half_mag) - 1
    sub = (index & (half - 1)) + half
    if bucket < 0:
        sub -= half
        bucket = 0
    value = sub << (bucket + unit_mag)
    return value + (1 << (unit_mag + bucket)) - 1


def percentile_us(h, p):
    total = sum(h["counts"].values())
    reach = max(1, math.ceil(p / 100.0 * total))
    seen = 0
    for index in sorted(h["counts"]):
        seen += h["counts"][index]
        if seen >= reach:
            return highest_equivalent(h, index)
    return 0


def response_histogram(result):
    return decode_histogram(result["total"]["histograms"]["response_time"])


def merge(*args):
    p = subprocess.run([STRAIN, "merge", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)


def has_segment_flag():
    p = subprocess.run([STRAIN, "run", "--help"], capture_output=True, text=True, timeout=10)
    return "--segment " in p.stdout and "--start-at" in p.stdout


def run_segments(url, outs, rate, seconds, segmented):
    """Runs one strain per segment at once, started together; returns their exit codes."""
    start = datetime.datetime.fromtimestamp(math.ceil(time.time()) + 3, datetime.timezone.utc)
    at = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    procs = []
    n = len(outs)
    for i, out in enumerate(outs, 1):
        argv = [STRAIN, "run", "--url", url, "-c", "4", "-t", "1", "-d", f"{seconds}s", "-q",
                "--threshold", f"{THRESHOLD[0]} {THRESHOLD[1]}", "--out", out]
        if segmented:
            argv += ["--rate", f"{rate}/s", "--segment", f"{i}/{n}", "--start-at", at]
        else:
            argv += ["--rate", f"{rate // n}/s"]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    codes = []
    for p in procs:
        _, err = p.communicate(timeout=60)
        codes.append(p.returncode)
        if p.returncode not in (3, 4):
            print(err[:500])
    if not segmented:  # an older strain: make the two whole runs segments of one
        for i, out in enumerate(outs):
            doc = load(out)
            doc["config"].update(segment_count=n, segments=[i])
            save(out, doc)
    return codes


segmented = has_segment_flag()
print("strain run has --segment: " + ("yes" if segmented else "no (results edited instead)"))

with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    seg1, seg2 = path("seg1.json"), path("seg2.json")
    # The test, and then the same test at another rate (its options differ, nothing else).
    other_rate, unused = path("other-rate.json"), path("unused.json")
    with Target() as t:
        codes = run_segments(t.url, [seg1, seg2], RATE, SECONDS, segmented)
        run_segments(t.url, [unused, other_rate], RATE * 3 // 4, SECONDS, segmented)
        served = t.stop()
    parts = [load(seg1), load(seg2)]
    others = [load(unused), load(other_rate)]
    for i, (code, r) in enumerate(zip(codes, parts), 1):
        # Each segment alone has half the requests: its threshold fails (3), or 4 for lateness.
        check(code == 3 or (code == 4 and passed_or_late(code, r)),
              f"segment {i}/2 alone fails {THRESHOLD[0]} {THRESHOLD[1]} "
              f"(exit {code}, {r['summary']['requests']} requests)")
        check(r["config"]["segments"] == [i - 1] and r["config"]["segment_count"] == 2,
              f"segment {i}/2 says which segment it is: {r['config']['segments']}")

    # --- the merge of the whole, with every report.
    merged_path, html, junit, csv = (path("merged.json"), path("merged.html"),
                                     path("merged.xml"), path("merged.csv"))
    code, out, err = merge(seg2, seg1, "--out", merged_path, "--html", html, "--junit", junit,
                           "--csv", csv)
    print(out[-1500:])
    print(err[-800:])
    m = load(merged_path)
    check(passed_or_late(code, m), f"the merge passes on the whole (exit {code})")
    check("strain merge: 2 results, segments 1,2 of 2" in out, "the merge says what it holds")
    check(m["config"]["segments"] == [0, 1] and m["config"]["segment_count"] == 2
          and not m["partial"], f"the merged result holds segments {m['config']['segments']}")
    requests = [r["summary"]["requests"] for r in parts]
    check(m["summary"]["requests"] == sum(requests),
          f"merged requests {m['summary']['requests']} = {requests[0]} + {requests[1]}")
    other_requests = sum(r["summary"]["requests"] for r in others)
    check(served == m["summary"]["requests"] + other_requests,
          f"the target served {served}: the merged result counts {m['summary']['requests']} "
          f"(and the other test {other_requests})")
    check(abs(m["summary"]["requests"] - RATE * SECONDS) <= RATE * SECONDS * 0.02,
          f"the whole offered {RATE}/s for {SECONDS} s (got {m['summary']['requests']})")
    check(reconciles(m), "the merged result reconciles (started = responses + errors - dropped)")
    check(m["schedule"]["due"] == sum(r["schedule"]["due"] for r in parts),
          f"arrivals due add up: {m['schedule']['due']}")

    # The histogram: decoded here, the parts added bucket by bucket, against the merged one.
    hs = [response_histogram(r) for r in parts]
    hm = response_histogram(m)
    summed = dict(hs[0]["counts"])
    for index, count in hs[1]["counts"].items():
        summed[index] = summed.get(index, 0) + count
    count_parts = [sum(h["counts"].values()) for h in hs]
    count_merged = sum(hm["counts"].values())
    check(count_merged == sum(count_parts) == m["summary"]["response_time_ms"]["count"],
          f"merged histogram count {count_merged} = {count_parts[0]} + {count_parts[1]} exactly")
    check(hm["counts"] == summed, "the merged histogram is the parts' sum, bucket for bucket")
    p99_parts = [r["summary"]["response_time_ms"]["p99"] for r in parts]
    p99_truth = percentile_us({**hm, "counts": summed}, 99) / 1000.0
    print(f"p99: segments {p99_parts[0]:.3f} and {p99_parts[1]:.3f} ms, merged "
          f"{m['summary']['response_time_ms']['p99']:.3f} ms, decoded sum {p99_truth:.3f} ms")
    check(abs(m["summary"]["response_time_ms"]["p99"] - p99_truth) < 1e-6,
          "the merged p99 is the global p99 of every request")

    # The threshold, judged on the whole.
    verdicts = [v for v in m["thresholds"] if v["expression"] == THRESHOLD[0]]
    check(len(verdicts) == 1 and verdicts[0]["passed"]
          and verdicts[0]["observed"] == m["summary"]["requests"],
          f"{THRESHOLD[0]} {THRESHOLD[1]} passes on the whole: {verdicts}")
    check(all(not v["passed"] for r in parts for v in r["thresholds"]), "and failed on each")
    check("failed on" in err and "alone, passes on the merged whole" in err,
          "a note says the segments alone said otherwise")
    # The timeline, by wall clock: both segments' seconds together, nothing lost.
    tl = sum(p["responses"] for p in m["timeline"])
    check(tl == sum(p["responses"] for r in parts for p in r["timeline"]),
          f"the merged timeline holds every part's responses ({tl})")
    check(len(m["timeline"]) <= max(len(r["timeline"]) for r in parts) + 1,
          f"segments started together share their seconds ({len(m['timeline'])} points)")

    # The reports of the whole.
    check(os.path.exists(html) and "<html" in open(html).read()[:2000], "--html written")
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    case = cases.get(f"{THRESHOLD[0]} {THRESHOLD[1]}")
    check(case is not None and case.find("failure") is None,
          f"--junit has the threshold's case, passed ({sorted(cases)})")
    with open(csv) as f:
        rows = f.read().splitlines()
    check(rows[0].startswith("start_s,") and len(rows) == len(m["timeline"]) + 1,
          f"--csv has a row per merged second ({len(rows) - 1})")

    # --- bad inputs: exit 2, naming the file.
    junk = path("notes.txt")
    with open(junk, "w") as f:
        f.write("not a result\n")
    code, out, err = merge(seg1, junk, "--out", path("x.json"))
    check(code == 2 and "notes.txt" in err and "not a strain result" in err,
          f"a non-result file exits 2 naming it (exit {code}: {err.strip()[:200]})")
    check(not os.path.exists(path("x.json")), "and writes nothing")
    other_kind = path("other.json")
    save(other_kind, {"schema": "strain.comparison/1", "series": []})
    code, _, err = merge(seg1, seg2, other_kind)
    check(code == 2 and "other.json" in err, f"another strain file exits 2 naming it ({err.strip()})")

    seg1_copy = path("seg1-copy.json")
    shutil.copy(seg1, seg1_copy)
    code, _, err = merge(seg1, seg2, seg1_copy)
    check(code == 2 and "seg1.json' and '" in err and "seg1-copy.json' both hold segment 1/2" in err,
          f"overlapping segments exit 2 naming both files ({err.strip()})")

    # A different script: the same segment of a test with another script.
    other_script = path("other-script.json")
    doc = load(seg2)
    doc["config"]["script"] = "other.lua"
    doc["config"]["url"] = ""
    doc["config"]["fingerprint"] = "0123456789abcdef"
    save(other_script, doc)
    code, _, err = merge(seg1, other_script)
    check(code == 2 and "'" + other_script + "' is not of the same test as '" + seg1 + "'" in err
          and "other.lua" in err, f"a different script exits 2 naming it ({err.strip()})")

    # Different options, really run: the second segment of the same test at another rate.
    code, _, err = merge(seg1, other_rate)
    fingerprinted = bool(parts[0]["config"].get("fingerprint"))
    check(code == 2 and "other-rate.json' is not of the same test as" in err
          and ("fingerprint" in err if fingerprinted else True),
          f"a segment of a test with other options exits 2 naming it ({err.strip()})")

    code, _, err = merge(seg2)
    check(code == 2 and "segment 1 of 2 is missing" in err and "--allow-partial" in err,
          f"a missing segment exits 2 naming it ({err.strip()})")
    partial = path("partial.json")
    code, out, err = merge(seg2, "--allow-partial", "--out", partial)
    p = load(partial)
    check(p["partial"] and p["config"]["segments"] == [1]
          and p["summary"]["requests"] == parts[1]["summary"]["requests"],
          "--allow-partial merges what there is, marked partial")
    check(code == 3 or (code == 4 and passed_or_late(code, p)),
          f"and judges it on what it holds: the count threshold fails (exit {code})")
    check(any(n.startswith("merge: segment 1 of 2 missing") for n in p["generator"]["notes"]),
          f"the partial result says what is missing: {p['generator']['notes']}")

    code, _, err = merge(seg1, seg2, "--out", path("no/such/dir/m.json"))
    check(code == 2 and "--out" in err, f"an unwritable --out exits 2 naming the flag ({err.strip()})")

finish()
