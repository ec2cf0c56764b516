"""Broken scripts: load-time mistakes stop before any traffic (exit 2, naming file:line or the
option), errors inside iterations are tallied and the run goes on, an endless loop is cut
off, and a failing setup() stops the run (exit 1) with only setup()'s own traffic served."""
import re

from harness import Target, check, finish
from script_support import Scripts, run_script, target_stats


def no_traffic(label, t):
    served = target_stats(t)["served"]
    check(served == 0, f"{label}: the target served nothing ({served})")


with Scripts() as scripts:
    # A syntax error: exit 2, Lua's "file.lua:LINE:" message, no request sent.
    syntax = scripts.write("syntax.lua", """local base = env.BASE_URL

function default()
  http.get(base .. "/"
end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(syntax, t, "-i", "5")
        check(code == 2, f"syntax: exit 2 (got {code})")
        check(re.search(r"syntax\.lua:5:", err) is not None,
              f"syntax: the message names syntax.lua:5: ({err.strip()!r})")
        no_traffic("syntax", t)

    # An error in one iteration of every three: tallied once with its count and traceback;
    # the other iterations and the run go on. Each iteration makes its one request first.
    flaky = scripts.write("flaky.lua", """
options = {
  scenarios = { flaky = { executor = "per-vu-iterations", vus = 3, iterations = 9 } },
}
local function explode(n)
  error("boom on iteration " .. n % 3)
end
function flaky()
  http.get(env.BASE_URL .. "/")
  if vu.iteration % 3 == 2 then
    explode(vu.iteration)
  end
end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(flaky, t, "-t", "2")
        served = t.stop()
        check(code == 0, f"flaky: script errors do not fail the run: exit 0 (got {code}; "
                         f"{err.strip()[-300:]!r})")
        check(served == 27, f"flaky: 3 VUs x 9 iterations, one request each: served 27 ({served})")
        if r is not None:
            s = r["script"]
            check(s["iterations_failed"] == 9, f"flaky: 9 iterations failed ({s['iterations_failed']})")
            check(s["iterations"] == 18, f"flaky: 18 completed ({s['iterations']})")
            check(s["iterations"] + s["iterations_failed"] == served,
                  "flaky: completed + failed iterations = requests the target served")
            check(len(s["errors"]) == 1 and s["errors"][0]["count"] == 9,
                  f"flaky: one distinct error, counted 9 times ({s['errors']})")
            if s["errors"]:
                e = s["errors"][0]
                check(re.fullmatch(r".*flaky\.lua:6: boom on iteration 2", e["message"]) is not None,
                      f"flaky: the message has file:line ({e['message']!r})")
                check("stack traceback" in e["traceback"] and "explode" in e["traceback"]
                      and "flaky.lua:11" in e["traceback"],
                      f"flaky: the traceback names the caller ({e['traceback']!r})")
        check(out.count("boom on iteration") == 1, "flaky: the summary shows the error once")
        check("×9" in out, "flaky: with its count ×9")
        check("stack traceback" in out, "flaky: and its traceback")
        check("9 iterations ended by a script error" in out, "flaky: and the failed iterations")

    # An endless loop in one iteration: the watchdog stops it (the message says so), the VU
    # carries on with a fresh coroutine, and the run ends by itself on time.
    loop = scripts.write("loop.lua", """
options = {
  scenarios = { spin = { executor = "constant-vus", vus = 2, duration = "3s" } },
  max_run_without_yield = "500ms",
}
function spin()
  http.get(env.BASE_URL .. "/")
  if vu.id == 1 and vu.iteration == 3 then
    while true do end
  end
  sleep(0.05)
end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(loop, t, "-t", "2", timeout_s=60)
        served = t.stop()
        check(code == 0, f"loop: exit 0 (got {code}; {err.strip()[-300:]!r})")
        check(secs < 8, f"loop: a 3 s run ended by itself in {secs:.1f}s")
        check("without yielding" in out, "loop: the summary says the loop ran without yielding")
        if r is not None:
            s = r["script"]
            check(s["iterations_failed"] == 1, f"loop: one iteration stopped ({s['iterations_failed']})")
            check(any("loop.lua:9:" in e["message"] and "without yielding" in e["message"]
                      for e in s["errors"]),
                  f"loop: the error names loop.lua:9 ({[e['message'] for e in s['errors']]})")
            check(s["iterations"] > 40,
                  f"loop: both VUs kept iterating around it ({s['iterations']})")
            check(s["iterations"] + s["iterations_failed"] + s["iterations_interrupted"]
                  >= served - r["generator"]["in_flight_at_stop"],
                  "loop: every request served belongs to an iteration strain counted")

    # The same with the default limit (2 s) and no option: still stopped, run still bounded.
    loop2 = scripts.write("loop2.lua", """
function default()
  http.get(env.BASE_URL .. "/")
  if vu.iteration == 1 then while true do end end
end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(loop2, t, "-c", "1", "-d", "1s", "-t", "1",
                                             timeout_s=60)
        t.stop()
        check(code == 0, f"loop (default limit): exit 0 (got {code})")
        check("without yielding" in out and "2s" in out,
              "loop (default limit): stopped after 2s without yielding")
        check(secs < 8, f"loop (default limit): ended in {secs:.1f}s")

    # The scenario's exec function is missing: exit 2, naming it, no traffic.
    missing = scripts.write("missing.lua", """
options = { scenarios = { shop = { executor = "shared-iterations", iterations = 3,
                                   exec = "checkout_flow" } } }
function browse() http.get(env.BASE_URL .. "/") end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(missing, t)
        check(code == 2, f"missing exec: exit 2 (got {code})")
        check("checkout_flow" in err and "shop" in err,
              f"missing exec: names the function and scenario ({err.strip()!r})")
        no_traffic("missing exec", t)

    # No default() and no scenarios: exit 2 with advice.
    nodefault = scripts.write("nodefault.lua", "function other() end\n")
    with Target() as t:
        code, out, err, r, _ = run_script(nodefault, t)
        check(code == 2 and "default" in err, f"no default(): exit 2 naming it ({code}, {err!r})")

    # Unknown options keys: exit 2 naming the full option path.
    for label, text, path in (
            ("top-level", 'options = { vus = 2, duratoin = "1s" }\n', "options.duratoin"),
            ("scenario", 'options = { scenarios = { a = { executor = "constant-vus", vus = 1, '
                         'duration = "1s", vu = 3 } } }\nfunction a() end\n',
             "options.scenarios.a.vu"),
            ("executor", 'options = { scenarios = { a = { executor = "open-loop" } } }'
                         '\nfunction a() end\n', "options.scenarios.a.executor"),
            ("threshold", 'options = { thresholds = { ["latency{p95}"] = { { threshold = "< 1s",'
                          ' abort = true } } } }\n', "options.thresholds.latency{p95}[1].abort")):
        bad = scripts.write("badopt.lua", text + 'function default() http.get(env.BASE_URL) end\n')
        with Target() as t:
            code, out, err, r, _ = run_script(bad, t)
            check(code == 2, f"bad option ({label}): exit 2 (got {code})")
            check(path in err, f"bad option ({label}): names {path} ({err.strip()!r})")
            no_traffic(f"bad option ({label})", t)

    # A bad threshold expression in options: exit 2 naming it.
    badthr = scripts.write("badthr.lua", """
options = { thresholds = { ["latency{p95,rate}"] = "< 1s" } }
function default() http.get(env.BASE_URL) end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(badthr, t)
        check(code == 2 and "latency{p95,rate}" in err,
              f"bad threshold: exit 2 naming it ({code}, {err.strip()!r})")
        no_traffic("bad threshold", t)

    # A request at the top level of the script: exit 2 while loading, no traffic.
    toplevel = scripts.write("toplevel.lua", """local base = env.BASE_URL
local r = http.get(base .. "/")
function default() end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(toplevel, t)
        check(code == 2, f"top-level request: exit 2 (got {code})")
        check("toplevel.lua:2:" in err and "inside a VU function" in err,
              f"top-level request: names toplevel.lua:2 and says where it may go ({err.strip()!r})")
        no_traffic("top-level request", t)

    # A runtime error at the top level: exit 2, file:line.
    toperr = scripts.write("toperr.lua", """local x = nil
local y = x.field
function default() end
""")
    with Target() as t:
        code, out, err, r, _ = run_script(toperr, t)
        check(code == 2 and "toperr.lua:2:" in err,
              f"top-level error: exit 2 naming toperr.lua:2 ({code}, {err.strip()!r})")

    # setup() fails after one request: exit 1 with file:line, and only that request served.
    badsetup = scripts.write("badsetup.lua", """
options = { scenarios = { load = { executor = "constant-vus", vus = 2, duration = "2s" } } }
function setup()
  local r = http.get(env.BASE_URL .. "/?status=503")
  if r.status ~= 200 then
    error("service not ready: " .. r.status)
  end
  return {}
end
function load() http.get(env.BASE_URL .. "/") end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(badsetup, t, timeout_s=30)
        stats = target_stats(t)
        check(code == 1, f"setup error: exit 1 (got {code})")
        check("badsetup.lua:6:" in err and "service not ready: 503" in err,
              f"setup error: the message names badsetup.lua:6 ({err.strip()!r})")
        check("setup()" in err, "setup error: says setup() failed")
        check(stats["served"] == 1 and stats["by_status"] == {"503": 1},
              f"setup error: only setup()'s one request served ({stats['served']}, "
              f"{stats['by_status']})")
        check(secs < 5, f"setup error: no load phase ran ({secs:.1f}s)")

    # setup() stuck in a loop: stopped by the same guard, exit 1, no load.
    loopsetup = scripts.write("loopsetup.lua", """
options = { max_run_without_yield = "300ms" }
function setup() while true do end end
function default() http.get(env.BASE_URL .. "/") end
""")
    with Target() as t:
        code, out, err, r, secs = run_script(loopsetup, t, "-c", "1", "-d", "1s", timeout_s=30)
        check(code == 1 and "without yielding" in err,
              f"setup loop: exit 1, stopped without yielding ({code}, {err.strip()!r})")
        check(secs < 5, f"setup loop: bounded ({secs:.1f}s)")
        no_traffic("setup loop", t)

finish()
