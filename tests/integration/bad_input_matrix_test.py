"""The bad-input matrix: every command's flags, strings, scripts and files (issue 15).

Each case runs one strain command against one strain-target and checks: exit 2; stderr holds
one message (one "strain:" line) that names the problem (a flag, a value, file:line); the
target served nothing; every output file the case asked for (-o, --html, --junit, --csv,
--hlog) is absent, so nothing half-written looks whole. The cases are a table: what was typed,
and the words the message must hold.
"""
import json
import os
import subprocess
import tempfile

from harness import STRAIN, Target, check, finish

OUTPUTS = ("out.json", "report.html", "junit.xml", "timeline.csv", "lat.hlog")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


with Target() as t, tempfile.TemporaryDirectory() as tmp:
    url = t.url
    d = lambda name: os.path.join(tmp, name)
    # Files the cases name.
    script = lambda name, body: write(d(name), body)
    ok_script = script("ok.lua", f'function default() http.get("{url}") end\n')
    syntax = script("syntax.lua", "function default()\n  http.get(\n")
    top_error = script("top.lua", "local x = nil\nx.field = 1\nfunction default() end\n")
    no_default = script("nodefault.lua", "function other() end\n")
    bad_options = script("options.lua", 'options = { vus = "many" }\nfunction default() end\n')
    bad_scenario = script("scenario.lua", 'options = { scenarios = { a = { executor = "warp-speed" } } }\n'
                          "function default() end\n")
    bad_exec = script("exec.lua", 'options = { scenarios = { a = { executor = "constant-vus", vus = 1, '
                      'duration = "1s", exec = "missing" } } }\nfunction default() end\n')
    bad_threshold = script("thresholds.lua", 'options = { thresholds = { ["latency{p99}"] = { "fast" } } }\n'
                           "function default() end\n")
    bad_duration = script("duration.lua", 'options = { duration = "forever", vus = 1 }\nfunction default() end\n')
    top_http = script("tophttp.lua", f'http.get("{url}")\nfunction default() end\n')
    csv_bad = write(d("bad.csv"), 'name,name\nann,bob\n')
    csv_script = script("csv.lua", f'local rows = data.csv("bad.csv")\nfunction default() end\n')
    csv_missing = script("csvmissing.lua", 'local rows = data.csv("nope.csv")\nfunction default() end\n')
    not_json = write(d("notjson.json"), "this is not json\n")
    foreign = write(d("foreign.json"), json.dumps({"schema": "someone.else/1", "summary": {}}))
    array = write(d("array.json"), "[1, 2, 3]\n")
    empty = write(d("empty.json"), "")
    fifo = d("fifo")
    os.mkfifo(fifo)  # nothing ever writes it: reading would hang

    run = ["run", "--url", url, "-d", "2s"]
    soak = ["soak", "--url", url, "-d", "2s", "--rate", "10/s"]
    stress = ["stress", "--url", url, "--slo", "p99<100ms", "--max-time", "10s"]
    cases = [
        # --- run: flags and their strings
        (["run", "--url", "ftp://127.0.0.1/"], ["url", "ftp"]),
        (["run", "--url", "http://127.0.0.1:99999/"], ["port"]),
        (["run", "--url", "http://[::1/"], ["url"]),
        (["run", "--url", ""], ["url"]),
        (run + ["-d", "-5s"], ["--duration"]),
        (run + ["-d", "1fortnight"], ["--duration"]),
        (run + ["--connect-timeout", "soon"], ["--connect-timeout"]),
        (run + ["-c", "-3"], ["vus"]),
        (run + ["-t", "5000"], ["threads"]),
        (run + ["-H", ": no name"], ["-H"]),
        (run + ["-H", "X-Bad\nName: v"], ["-H"]),
        (run + ["-m", "GET POST"], ["method"]),
        (run + ["--threshold", "latency{p99} < soon"], ["latency{p99}", "soon"]),
        (run + ["--threshold", "nonsense"], ["--threshold"]),
        (run + ["--threshold", "errors{rate} < 150%"], ["errors{rate}", "150%"]),
        (run + ["--rate", "-5/s"], ["--rate"]),
        (run + ["--rate", "10/fortnight"], ["--rate"]),
        (run + ["--stages", "30s:100,oops"], ["--stages"]),
        (run + ["--rate", "10/s", "--stages", "5s:10"], ["--stages"]),
        (run + ["--segment", "3/2"], ["--segment"]),
        (run + ["--segment", "one/two"], ["--segment"]),
        (run + ["--start-at", "yesterday"], ["--start-at"]),
        (run + ["--start-at", "+48h"], ["--start-at"]),
        (run + ["--transport", "pigeon"], ["--transport"]),
        (run + ["--cacert", d("no-such-ca.pem")], ["no-such-ca.pem"]),
        (run + ["--proxy", "socks9://127.0.0.1:1"], ["--proxy"]),
        (run + ["--resolve", "nonsense"], ["--resolve"]),
        (run + ["--html", d("no/such/dir/r.html")], ["--html"]),
        (run + ["--junit", d("no/such/dir/j.xml")], ["--junit"]),
        (run + ["--metrics-listen", "127.0.0.1:notaport"], ["--metrics-listen"]),
        (run + ["--progress-every", "often"], ["--progress-every"]),
        (["run"], ["--url"]),
        (["run", ok_script, "--url", url], ["url"]),
        (["frobnicate"], ["frobnicate"]),
        # --- scripts: file:line for what the script got wrong
        (["run", d("missing.lua")], ["missing.lua"]),
        (["run", syntax], ["syntax.lua:"]),
        (["run", top_error], ["top.lua:2"]),
        (["run", no_default], ["default"]),
        (["run", bad_options], ["vus"]),
        (["run", bad_scenario], ["executor"]),
        (["run", bad_exec], ["missing"]),
        (["run", bad_threshold], ["latency{p99}"]),
        (["run", bad_duration], ["duration"]),
        (["run", top_http], ["tophttp.lua:1"]),
        (["run", csv_script], ["bad.csv"]),
        (["run", csv_missing], ["nope.csv"]),
        (["run", ok_script, "-e", "NOEQUALS"], ["-e"]),
        # --- soak: watchers, budgets, limits, warm-up
        (soak + ["--watch-pid", "999999999"], ["999999999"]),
        (soak + ["--watch-pid", "target=abc"], ["--watch-pid"]),
        (soak + ["--watch-metrics", "http://metrics.invalid/metrics"], ["loopback"]),
        (soak + ["--watch-path", d("no-such-dir")], ["no-such-dir"]),
        (soak + ["--max-growth", "rss=lots"], ["--max-growth"]),
        (soak + ["--max-growth", "unicorns=1MiB/h"], ["unicorns"]),
        (soak + ["--limit", "rss=-1GiB"], ["--limit"]),
        (soak + ["--warmup", "150%"], ["--warmup"]),
        (soak + ["--sample-every", "0s"], ["--sample-every"]),
        (soak + ["--metric", "bad{label"], ["--metric"]),
        # --- stress: the SLO and the search's numbers
        (["stress", "--url", url], ["--slo"]),
        (stress[:-2] + ["--slo", "p99 fast"], ["--slo"]),
        (stress + ["--growth", "0.5"], ["--growth"]),
        (stress + ["--precision", "200%"], ["--precision"]),
        (stress + ["--start-rate", "0/s"], ["--start-rate"]),
        (stress + ["--step", "0s"], ["--step"]),
        (stress + ["--segment", "1/2"], ["--segment"]),
        # --- files given to report, compare, merge
        (["report", d("absent.json")], ["absent.json"]),
        (["report", not_json], ["notjson.json"]),
        (["report", foreign], ["foreign.json"]),
        (["report", array], ["array.json"]),
        (["report", empty], ["empty.json"]),
        (["report", "/dev/zero"], ["/dev/zero", "not a regular file"]),
        (["report", fifo], ["fifo", "not a regular file"]),
        (["report", tmp], ["not a regular file"]),
        (["compare", not_json, foreign], ["notjson.json"]),
        (["compare", "/dev/zero", foreign], ["/dev/zero"]),
        (["compare", d("absent.json"), d("absent.json")], ["absent.json"]),
        (["merge", not_json, "--out", d("out.json")], ["notjson.json"]),
        (["merge", d("absent.json"), "--out", d("out.json")], ["absent.json"]),
        (["merge", "--out", d("out.json")], ["results"]),
    ]

    for argv, words in cases:
        for name in OUTPUTS:
            if os.path.exists(d(name)):
                os.remove(d(name))
        full = list(argv)
        # Commands that write results get every output flag, to show none is left half-made.
        if full[0] in ("run", "soak", "stress"):
            full += ["-o", d("out.json"), "-q"]
            if "--html" not in full and full[0] != "stress":
                full += ["--csv", d("timeline.csv"), "--hlog", d("lat.hlog")]
        label = " ".join(a.replace(tmp, "") for a in argv)[:90]
        try:
            p = subprocess.run([STRAIN, *full], capture_output=True, text=True, timeout=30, cwd=tmp)
        except subprocess.TimeoutExpired:
            check(False, f"{label!r}: finished within 30 s")
            continue
        said = [l for l in p.stderr.splitlines() if l.startswith("strain:")]
        check(p.returncode == 2, f"{label!r}: exit 2 (got {p.returncode}; {p.stderr.strip()[-200:]!r})")
        check(len(said) == 1, f"{label!r}: one message ({len(said)}: {said[:2]})")
        msg = said[0] if said else ""
        missing = [w for w in words if w.lower() not in msg.lower()]
        check(not missing, f"{label!r}: names {words} ({msg[:160]!r})")
        left = [n for n in OUTPUTS if os.path.exists(d(n))]
        check(not left, f"{label!r}: no output file left ({left})")
    served = t.stop()
    print(f"{len(cases)} cases; the target served {served}")
    check(served == 0, f"no case sent traffic: the target served {served}")

finish()
