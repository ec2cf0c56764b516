"""The HTML report (--html, `strain report --html`): every chart draws, in a real browser.

1. A real run (open model, some 503s, a stall every 4 s), a real soak (--watch-pid on a target
   that leaks) and a real stress search, each written with --html; `strain report RESULT.json
   --html` of the run's result gives the same bytes as the run's own page.
2. A synthetic 12-hour soak, stretched in Python from the real soak's result (43,200 s, 4096
   timeline points, a resource series of 43,200 buckets), rendered with `strain report --html`:
   the page is under 5 MiB and draws in under 2 s.
Each page is loaded in headless chromium. The page checks itself on load (every svg.chart has
non-empty data paths whose bounding box has width and, unless the page marks the chart flat,
height) and writes the outcome into <body data-selfcheck=...>, with the time from navigation
start to the end of that check in data-render-ms; --dump-dom shows both. No console message
may appear. Screenshots go to the build dir (printed); with UPDATE_SCREENSHOTS=1 they are also
copied to docs/img/report-{run,soak,stress}.png.
Traffic only to 127.0.0.1; every process bounded in time. chromium missing is a failure: it is
installed by tools/install-deps.sh.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import STRAIN, check, finish
from soak_support import StrainRun, TargetProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    print("FAIL chromium is not installed: tools/install-deps.sh installs it (Debian package "
          "'chromium'); this test loads every HTML report in it and cannot judge them without.")
    sys.exit(1)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# $STRAIN is <build>/tools/strain/strain: the screenshots stay beside the build.
BUILD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(STRAIN))))
SHOTS = os.path.join(BUILD, "html-report")
os.makedirs(SHOTS, exist_ok=True)
print(f"pages and screenshots: {SHOTS}")

TWELVE_HOURS_S = 43200.0
MAX_TIMELINE_POINTS = 4096  # kMaxTimelinePoints in engine/results/run_result.hpp
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_RENDER_MS = 2000.0
SHOT_MAX_PX = 9000  # taller pages are cut: a screenshot is for looking at


def chromium(*args, timeout_s=90):
    """One headless chromium process with a fresh profile; returns (stdout, stderr)."""
    with tempfile.TemporaryDirectory() as profile:
        argv = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
        env = {**os.environ, "HOME": profile, "XDG_CONFIG_HOME": profile, "XDG_CACHE_HOME": profile}
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return "", f"chromium timed out after {timeout_s} s"
        return p.stdout, p.stderr


def load_page(label, path, shot=None):
    """Loads `path`, checks the page's self-check and the console; returns (charts, render_ms)."""
    out, err = chromium("--window-size=1280,4000", "--dump-dom", "file://" + path)
    selfcheck = re.search(r'data-selfcheck="([^"]*)"', out)
    render_ms = re.search(r'data-render-ms="([0-9.]+)"', out)
    height = re.search(r'data-page-px="([0-9]+)"', out)
    # Chromium logs every console message (errors, uncaught exceptions, logs) as INFO:CONSOLE.
    console = [line for line in err.splitlines() if ":CONSOLE" in line]
    summary = selfcheck.group(1) if selfcheck else None
    print(f"{label}: self-check {summary!r}, drawn {render_ms and render_ms.group(1)} ms after "
          f"navigation start, {os.path.getsize(path):,} bytes")
    if selfcheck is None:
        print("  chromium stderr: " + err.strip()[-1500:])
    check(summary is not None and summary.startswith("ok "),
          f"{label}: the page's self-check ran and passed ({summary})")
    check(not console, f"{label}: no console message ({console[:3]})")
    charts = int(re.match(r"\w+ (\d+) charts", summary).group(1)) if summary else 0
    ms = float(render_ms.group(1)) if render_ms else math.inf
    if shot and height:
        px = min(int(height.group(1)) + 16, SHOT_MAX_PX)
        chromium(f"--window-size=1280,{px}", f"--screenshot={shot}", "file://" + path)
        check(os.path.exists(shot) and os.path.getsize(shot) > 10_000,
              f"{label}: screenshot {shot}")
    return charts, ms


def drawn_charts(path):
    """Ids of the charts the page drew (svg.chart), and of those that said 'no data'."""
    with open(path, encoding="utf-8") as f:
        page = f.read()
    drawn = re.findall(r'<figure class="chart" id="([^"]+)">', page)
    empty = re.findall(r'<figure class="nodata" id="([^"]+)">', page)
    for external in ('src="http', 'href="http', "@import", "url(http"):
        check(external not in page, f"{os.path.basename(path)}: fetches nothing ({external})")
    return drawn, empty


def stretch_to_twelve_hours(real):
    """A 12-hour soak result made from a real one: the same histograms, verdicts and figures,
    its timeline and resource series stretched over 43,200 s (with a slow wave and a spike now
    and then, so the page has peaks to keep)."""
    r = json.loads(json.dumps(real))
    real_s = max(real["summary"]["duration_s"], 1.0)
    scale = TWELVE_HOURS_S / real_s
    r["summary"]["duration_s"] = TWELVE_HOURS_S
    r["config"]["planned_duration_s"] = TWELVE_HOURS_S

    src = real["timeline"]
    length = TWELVE_HOURS_S / MAX_TIMELINE_POINTS
    timeline = []
    for j in range(MAX_TIMELINE_POINTS):
        p = dict(src[j % len(src)])
        k = length / max(p["length_s"], 1e-9)
        wave = 1 + 0.3 * math.sin(2 * math.pi * j / 700)
        p["start_s"], p["length_s"] = j * length, length
        for field in ("responses", "errors", "started", "failed_status"):
            p[field] = int(p.get(field, 0) * k)
        p["errors_by_kind"] = {kind: int(n * k) for kind, n in p.get("errors_by_kind", {}).items()}
        for field in ("p90_ms", "p99_ms", "service_p99_ms"):
            p[field] = p.get(field, 0) * wave
        p["max_ms"] = p["max_ms"] * wave * (25 if j % 997 == 500 else 1)
        timeline.append(p)
    r["timeline"] = timeline

    soak = r["soak"]
    soak["warmup_s"] = soak["warmup_s"] * scale
    soak["sample_rounds"] = int(TWELVE_HOURS_S / soak["sample_every_s"])
    for g in soak.get("gaps", []):
        g["from_s"], g["to_s"] = g["from_s"] * scale, g["to_s"] * scale
    for x in soak.get("restarts", []):
        x["t_s"] *= scale
    # The same rise spread over 12 h is a slower one: the slopes shrink as the time stretches.
    for v in soak.get("verdicts", []):
        for field in ("slope_per_hour", "ci_low", "ci_high"):
            v[field] = v[field] / scale
        if v.get("projection"):
            v["projection"]["hours"] *= scale
    stretched = []
    for i, s in enumerate(soak["samples"]):
        n_real = len(s["t_s"])
        if n_real == 0:
            stretched.append(s)
            continue
        # The first series at one bucket a second, as sampled; the others at the timeline's.
        n = int(TWELVE_HOURS_S) if i == 0 else MAX_TIMELINE_POINTS
        width = TWELVE_HOURS_S / n
        span = max(max(s["max"]) - min(s["min"]), abs(max(s["max"])) * 0.01, 1.0)
        t_s, lo, hi = [], [], []
        for j in range(n):
            at = min(int(j * n_real / n), n_real - 1)
            jitter = span * 0.03 * ((j * 7919) % 101) / 101
            t_s.append(round(j * width, 3))
            lo.append(s["min"][at] + jitter * 0.5)
            hi.append(s["max"][at] + jitter)
        stretched.append({**s, "bucket_s": width, "t_s": t_s, "min": lo, "max": hi})
    soak["samples"] = stretched
    return r


def run_strain(argv, timeout_s):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    if p.returncode not in (0, 3, 4):
        print(f"  {' '.join(argv[1:3])}: exit {p.returncode}; stderr {p.stderr.strip()[-800:]!r}")
    return p.returncode


tmp = tempfile.mkdtemp(prefix="strain-html-")
pages = {}  # label -> (html path, screenshot name or None)
try:
    # The soak runs in the background while the run and the stress search go.
    with TargetProcess("--leak", "16KiB") as leaky, \
            TargetProcess("--error-rate", "503:2%", "--stall-every", "4s", "--stall-for",
                          "300ms") as flaky, \
            TargetProcess("--workers", "4", "--service", "10ms", "--threads", "1") as capped:
        soak_json = os.path.join(tmp, "soak.json")
        soak_html = os.path.join(SHOTS, "soak.html")
        soak = StrainRun([STRAIN, "soak", "--url", leaky.url, "--rate", "300/s", "-d", "50s",
                          "--warmup", "8s", "-t", "1", "--watch-pid", f"target={leaky.pid}",
                          "--out", soak_json, "--html", soak_html], tmp, soak_json)

        run_json = os.path.join(tmp, "run.json")
        run_html = os.path.join(SHOTS, "run.html")
        code = run_strain([STRAIN, "run", "--url", flaky.url, "--rate", "200/s", "-d", "12s",
                           "-c", "20", "-t", "1", "--out", run_json, "--html", run_html], 60)
        check(code in (0, 3, 4), f"run: exit 0, 3 or 4 ({code})")
        check(os.path.exists(run_html), "run: --html wrote the page")
        pages["run"] = (run_html, "report-run.png")

        again = os.path.join(SHOTS, "run-from-report.html")
        code = run_strain([STRAIN, "report", run_json, "--html", again], 60)
        check(code == 0, f"strain report --html: exit 0 ({code})")
        if os.path.exists(again) and os.path.exists(run_html):
            with open(again, "rb") as a, open(run_html, "rb") as b:
                check(a.read() == b.read(),
                      "strain report RESULT.json --html gives the run's own page, byte for byte")
        pages["report"] = (again, None)

        stress_json = os.path.join(tmp, "stress.json")
        stress_html = os.path.join(SHOTS, "stress.html")
        code = run_strain([STRAIN, "stress", "--url", capped.url, "--slo", "p99<100ms",
                           "--start-rate", "50/s", "--step", "4s", "--precision", "15%",
                           "--max-time", "100s", "-t", "1", "--out", stress_json,
                           "--html", stress_html], 150)
        check(code in (0, 4), f"stress: exit 0 or 4 ({code})")
        check(os.path.exists(stress_html), "stress: --html wrote the page")
        pages["stress"] = (stress_html, "report-stress.png")

        code = soak.wait(120)
        check(code in (0, 3, 4), f"soak: exit 0, 3 or 4 ({code}); stderr {soak.stderr()[-300:]!r}")
        check(os.path.exists(soak_html), "soak: --html wrote the page")
        pages["soak"] = (soak_html, "report-soak.png")
        real_soak = soak.result()

    if real_soak and real_soak.get("soak"):
        synth_json = os.path.join(tmp, "soak-12h.json")
        with open(synth_json, "w") as f:
            json.dump(stretch_to_twelve_hours(real_soak), f)
        synth_html = os.path.join(SHOTS, "soak-12h.html")
        code = run_strain([STRAIN, "report", synth_json, "--html", synth_html], 60)
        # `strain report` exits as the run did: 3 for the leak the real soak found.
        check(code in (0, 3), f"12 h soak: strain report --html exit 0 or 3 ({code})")
        pages["soak-12h"] = (synth_html, "soak-12h.png")
    else:
        check(False, "the real soak wrote a result with a soak section")

    # Which charts each kind of page must draw (not just mention): the ones its data feeds.
    must_draw = {
        "run": ["latency-time", "throughput-time", "errors-time", "lag-time", "distribution"],
        "report": ["latency-time", "throughput-time", "errors-time", "lag-time", "distribution"],
        "stress": ["latency-time", "throughput-time", "distribution", "stress-latency",
                   "stress-usl"],
        "soak": ["latency-time", "throughput-time", "distribution", "soak-0"],
        "soak-12h": ["latency-time", "throughput-time", "distribution", "soak-0"],
    }
    figures = {}
    for label, (path, shot_name) in pages.items():
        if not os.path.exists(path):
            continue
        drawn, empty = drawn_charts(path)
        missing = [c for c in must_draw[label] if c not in drawn]
        check(not missing, f"{label}: draws {', '.join(must_draw[label])} (missing {missing}; "
                           f"no data: {empty})")
        shot = os.path.join(SHOTS, shot_name) if shot_name else None
        charts, render_ms = load_page(label, path, shot)
        check(charts == len(drawn), f"{label}: the browser found the {len(drawn)} charts ({charts})")
        figures[label] = (charts, len(empty), render_ms, os.path.getsize(path))

    if "soak-12h" in figures:
        charts, empty, render_ms, size = figures["soak-12h"]
        check(size < MAX_PAGE_BYTES, f"12 h soak: the page is {size / 2**20:.2f} MiB (< 5 MiB)")
        check(render_ms < MAX_RENDER_MS,
              f"12 h soak: drawn {render_ms:.0f} ms after navigation start (< 2 s)")

    print("\npage       charts  no-data  drawn-ms   bytes")
    for label, (charts, empty, render_ms, size) in figures.items():
        print(f"{label:<10} {charts:>6} {empty:>8} {render_ms:>9.0f} {size:>8,}")

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        docs = os.path.join(REPO, "docs", "img")
        os.makedirs(docs, exist_ok=True)
        for name in ("report-run.png", "report-soak.png", "report-stress.png"):
            if os.path.exists(os.path.join(SHOTS, name)):
                shutil.copyfile(os.path.join(SHOTS, name), os.path.join(docs, name))
                print(f"updated docs/img/{name}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

finish()
