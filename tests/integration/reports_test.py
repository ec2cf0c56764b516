"""Report files against independent readers: JUnit XML validated by xmllint against the common
schema, the .hlog read by Java's reference HistogramLogReader, the CSV against the result's
own timeline; every file rendered again from the saved result byte for byte; bad input exits 2
with nothing half-written left behind; the live console under a real terminal (tmux).

Truth: the target answers each request after 2 ms, so a p99 below 1 ms must fail and every
request is answered (the target's own served count)."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

from harness import STRAIN, Target, check, finish

HERE = os.path.dirname(os.path.abspath(__file__))
XSD = os.path.join(HERE, "data", "junit.xsd")
JAR = os.environ.get("HDRHISTOGRAM_JAR", "/usr/share/java/hdrhistogram.jar")

work = tempfile.mkdtemp(prefix="strain-reports-")


def path(name):
    return os.path.join(work, name)


def strain(*args, timeout_s=60):
    p = subprocess.run([STRAIN, *args], capture_output=True, text=True, timeout=timeout_s)
    return p.returncode, p.stdout, p.stderr


def read(name):
    with open(path(name), "rb") as f:
        return f.read()


# --- 1. A run with every report ------------------------------------------------------------
with Target("--threads", "1", "--latency", "2ms") as t:
    code, out, err = strain("run", "--url", t.url, "-d", "4s", "-c", "4", "-t", "1",
                            "--threshold", "latency{p99} < 1ms", "--threshold",
                            "errors{rate} < 1%", "--out", path("r.json"), "--junit",
                            path("j.xml"), "--csv", path("t.csv"), "--hlog", path("r.hlog"),
                            "--html", path("r.html"), "--progress-every", "1s")
    served = t.stop()
check(code == 3, f"run: a failed threshold exits 3 (got {code}; {err.strip()[-300:]!r})")
r = json.load(open(path("r.json")))
s = r["summary"]
check(s["requests"] == served, f"run: requests {s['requests']} = the target's served {served}")
for name in ("j.xml", "t.csv", "r.hlog", "r.html"):
    check(os.path.getsize(path(name)) > 0, f"run: {name} written")
left = [f for f in os.listdir(work) if ".tmp" in f]
check(not left, f"run: no temporary files left ({left})")

# No terminal: a plain line every --progress-every (1 s here, over a 4 s run), then the drain.
lines = [l for l in err.splitlines() if "req/s" in l]
check(4 <= len(lines) <= 7, f"run: a progress line per second without a terminal ({len(lines)})")
check(not any("\033" in l for l in err.splitlines()), "run: no escape codes without a terminal")

# JUnit: valid against the schema; the failed threshold carries the measured value.
v = subprocess.run(["xmllint", "--noout", "--schema", XSD, path("j.xml")], capture_output=True,
                   text=True)
check(v.returncode == 0, f"junit: valid against the JUnit schema ({v.stderr.strip()[-300:]})")
root = ET.parse(path("j.xml")).getroot()
cases = {c.get("name"): c for c in root.iter("testcase")}
lat = cases.get("latency{p99} < 1ms")
observed = next(x["observed"] for x in r["thresholds"] if x["expression"] == "latency{p99}")
fail = lat.find("failure") if lat is not None else None
check(fail is not None and f"{observed:.6g}" in fail.get("message", ""),
      f"junit: latency{{p99}} < 1ms failed with the observed {observed:.6g} in its message "
      f"({fail.get('message') if fail is not None else None!r})")
ok = cases.get("errors{rate} < 1%")
check(ok is not None and ok.find("failure") is None, "junit: errors{rate} < 1% passed")
suite = root.find("testsuite")
check(suite is not None and suite.get("failures") == "1" and
      int(suite.get("tests")) == len(cases),
      f"junit: 1 failure of {len(cases)} cases counted ({suite.attrib if suite is not None else None})")

# CSV: one row per timeline point, the same figures.
rows = [l.split(",") for l in read("t.csv").decode().strip().splitlines()]
head, rows = rows[0], rows[1:]
col = {n: i for i, n in enumerate(head)}
check(len(rows) == len(r["timeline"]), f"csv: {len(rows)} rows = {len(r['timeline'])} points")
check(sum(int(x[col["responses"]]) for x in rows) == s["requests"],
      "csv: the rows' responses add up to the requests")
check(all(abs(float(x[col["p99_ms"]]) - p["p99_ms"]) < 1e-6 for x, p in zip(rows, r["timeline"])),
      "csv: every row's p99 is the timeline's")

# .hlog: the reference reader agrees with the result.
classes = path("classes")
os.makedirs(classes)
subprocess.run(["javac", "-d", classes, "-cp", JAR, os.path.join(HERE, "data", "HlogTotals.java")],
               check=True, timeout=120)
j = subprocess.run(["java", "-cp", f"{JAR}:{classes}", "HlogTotals", path("r.hlog")],
                   capture_output=True, text=True, timeout=120)
figures = dict(l.split() for l in j.stdout.split("\n") if l.strip())
print(f"     java: {figures}; strain: requests {s['requests']}, p99 "
      f"{s['response_time_ms']['p99']} ms, {len(r['timeline'])} intervals, duration "
      f"{s['duration_s']:.2f} s")
check(j.returncode == 0, f"hlog: Java's HistogramLogReader read it ({j.stderr.strip()[-300:]})")
check(int(figures.get("intervals", -1)) == len(r["timeline"]),
      f"hlog: {figures.get('intervals')} intervals = the timeline's {len(r['timeline'])}")
check(abs(int(figures.get("intervals", -1)) - s["duration_s"]) <= 2,
      f"hlog: about one interval per second of the run ({figures.get('intervals')} for "
      f"{s['duration_s']:.1f} s)")
check(int(figures.get("count", -1)) == s["requests"],
      f"hlog: total count {figures.get('count')} = summary.requests {s['requests']}")
p99_java_ms = int(figures.get("p99", 0)) / 1000.0
p99 = s["response_time_ms"]["p99"]
check(abs(p99_java_ms - p99) <= 0.002 * p99 + 0.001,
      f"hlog: p99 {p99_java_ms} ms = strain's {p99} ms within the histogram's precision")

# --- 2. The same reports rendered again from the saved result -------------------------------
code, out, err = strain("report", path("r.json"), "--junit", path("j2.xml"), "--csv",
                        path("t2.csv"), "--html", path("r2.html"))
check(code == 0, f"report: exit 0 ({code}; {err.strip()[-200:]!r})")
for a, b in (("j.xml", "j2.xml"), ("t.csv", "t2.csv"), ("r.html", "r2.html")):
    check(os.path.exists(path(b)) and read(a) == read(b),
          f"report: {b} is {a} byte for byte (rendered from the saved result)")

# --- 3. Bad input: exit 2, a message naming it, nothing half-written -----------------------
with open(path("not.json"), "w") as f:
    f.write("this is not json {")
with open(path("other.json"), "w") as f:
    json.dump({"schema": "something.else/1", "rows": []}, f)
for label, args, needle in (
        ("a missing file", ["report", path("missing.json"), "--html", path("m.html")],
         "missing.json"),
        ("a non-JSON file", ["report", path("not.json"), "--html", path("m.html")], "not.json"),
        ("a file of another schema", ["report", path("other.json"), "--html", path("m.html")],
         "other.json"),
        ("an unwritable --html", ["report", path("r.json"), "--html",
                                  path("no/such/dir/r.html")], "--html")):
    code, out, err = strain(*args)
    check(code == 2 and needle in err, f"report of {label}: exit 2 naming {needle!r} "
          f"(got {code}; {err.strip()[-200:]!r})")
    check(not os.path.exists(path("m.html")), f"report of {label}: no HTML left behind")

with Target("--threads", "1") as t:
    code, out, err = strain("run", "--url", t.url, "-d", "2s", "-c", "2", "--out",
                            path("bad.json"), "--html", path("no/such/dir/r.html"))
    served = t.stop()
check(code == 2 and "--html" in err, f"run with an unwritable --html: exit 2 naming it "
      f"(got {code}; {err.strip()[-200:]!r})")
check(served == 0, f"run with an unwritable --html: no traffic (served {served})")
check(not os.path.exists(path("bad.json")), "run with an unwritable --html: no --out left")

# --- 4. The live view under a terminal ------------------------------------------------------
if shutil.which("tmux") is None:
    check(False, "tmux is installed (tools/install-deps.sh installs it)")
else:
    sock = f"strain-reports-{os.getpid()}"
    with Target("--threads", "1", "--latency", "1ms") as t:
        cmd = (f"{STRAIN} run --url {t.url} -d 4s -c 2 -t 1 --out {path('tty.json')}; "
               f"echo EXIT=$?; sleep 30")
        subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "120", "-y", "40", cmd],
                       check=True)
        panes = []
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                cap = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p"],
                                     capture_output=True, text=True).stdout
                panes.append(cap)
                if "EXIT=" in cap:
                    break
                time.sleep(0.25)
        finally:
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
        t.stop()
    during = [p for p in panes if "EXIT=" not in p and "[" in p and "req/s" in p]
    check(len(during) >= 4, f"tty: the live view was seen while running ({len(during)} captures)")
    # Redrawn in place: every capture holds one bar and one figures line, never a scroll of them.
    check(all(p.count("req/s") == 1 and len(re.findall(r"\[[=> ]{30}\]", p)) == 1
              for p in during), "tty: one view on screen at a time (redrawn in place)")
    shown = {re.search(r"\d+:\d\d of", p).group(0) for p in during if re.search(r"\d+:\d\d of", p)}
    check(len(shown) >= 3, f"tty: the elapsed time moved ({sorted(shown)})")
    final = panes[-1] if panes else ""
    check("EXIT=0" in final, f"tty: the run ended (exit 0) ({final[-200:]!r})")
    check(not re.search(r"\[[=> ]{30}\]", final) and "latency" in final.lower(),
          "tty: the view is gone and the summary is on screen")

shutil.rmtree(work, ignore_errors=True)
finish()
