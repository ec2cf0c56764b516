"""The fault matrix (issue 15): every fault on every transport, in both load models, with and
without a Lua script, each case judged four ways:

  1. the right kind: the failures land in the error kind (or status) the fault must give, and
     nothing else turns up beyond the few a case allows (e.g. `abandoned` at stop);
  2. the run goes on and ends by itself, on time, with a summary and a complete result JSON;
  3. strain's memory stays bounded: its peak RSS (ru_maxrss from wait4, and /proc/PID/status
     sampled every 20 ms) stays under a fixed bound, the healthy runs' peak + MEM_SLACK_MIB,
     which a leak of a few KiB per failure breaks (the storms fail thousands of requests);
  4. the counts reconcile: started = completed + failed + in flight (harness.reconciles), and
     against the server's own counts: strain-target's /__strain/stats, nginx's stub_status, or
     fault_server.FaultServer's counters.

Transports: h1 (native http://), curl (--transport curl, http://), tls (native https://),
curl-tls, h2 (native --http2 over TLS), curl-h2, h2c (native --http2 over http://; libcurl 7.88
refuses h2c, see tls_test). strain-target speaks HTTP/1.1 only, so the TLS and HTTP/2 cases reach
it through nginx (fault_server.NginxFaults), which turns some faults into a 502 (the case says
"via nginx" and expects the 502); faults that must reach the TLS or HTTP/2 client itself come
from fault_server.FaultServer ("TLS server") or nginx itself (handshakes, a killed server).

The cases are data (fault_cases.CASES: transport x fault x model x script), run in a loop, one table
line each: `case | expected | seen | ok/FAIL`, and the table again at the end. Everything is on
127.0.0.1, every process and server is stopped at the end (context managers), every strain run
is killed if it outlives its deadline.

Standalone: STRAIN=... STRAIN_TARGET=... PYTHONPATH=tests/integration python3 fault_matrix_test.py
(FAULT_MATRIX_ONLY=a,b runs the cases whose names contain a or b.)
"""
import contextlib
import dataclasses
import io
import json
import os
import signal
import subprocess
import tempfile
import threading
import time

from fault_cases import CASES, DIRECT, TRANSPORTS
from fault_server import CLOSE_AFTER, FaultServer, NginxFaults, server_context
from harness import STRAIN, check, finish, passed_or_late, reconciles
from soak_support import TargetProcess, start_target_on
from tls_support import free_ports

DURATION_S = 0.8
DURATION = "800ms"
KILL_DURATION_S = 2.0          # the killed-and-restarted cases: up, down 0.3 s, up again
TIMEOUT = "400ms"
CONNECT_TIMEOUT = "300ms"      # only where a handshake never ends (see the cases)
VUS = 4
RATE = 100                     # open model, arrivals per second
MAX_VUS = 64
BIG_HEADER = 1 << 20           # 1 MiB of header fields: over native's 64 KiB and libcurl's 300 KiB
BIG_BODY = 1 << 20             # 1 MiB bodies: never kept by --url runs, kept whole by scripts
BIG_BODY_RATE = 25             # ... at a rate and timeout a debug or ASan build keeps up with
BIG_BODY_TIMEOUT = "2s"
MEM_SLACK_MIB = 40
MiB = 1 << 20
RUN_DEADLINE_S = 40            # a strain run still going after this is killed (and fails)

# ASan's quarantine keeps freed blocks on purpose (up to 256 MiB by default), a floor that rises
# by design: bounded to 16 MiB here so the memory bound means the same under the ASan preset
# (use-after-free is still caught within those 16 MiB). Other builds ignore the variable.
STRAIN_ENV = {**os.environ, "ASAN_OPTIONS": ":".join(
    filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))}

# --- running strain ------------------------------------------------------------------------

def secs(text):
    """'400ms' or '2s' in seconds."""
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1])


def vm_rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclasses.dataclass
class Run:
    code: int
    out: str
    err: str
    result: dict
    seconds: float
    peak_rss: int              # bytes: the larger of ru_maxrss and the samples
    samples: list              # (seconds since start, VmRSS bytes)
    timed_out: bool


def run_strain_measured(argv, during=None):
    """strain ARGV --out FILE, its RSS sampled every 20 ms; `during(t0)` runs in a thread.
    Reaped with os.wait4 for its ru_maxrss. Killed after RUN_DEADLINE_S."""
    with tempfile.TemporaryDirectory(prefix="strain-fault-matrix.") as tmp:
        out_path = os.path.join(tmp, "result.json")
        with open(os.path.join(tmp, "stdout"), "w+") as so, \
                open(os.path.join(tmp, "stderr"), "w+") as se:
            t0 = time.monotonic()
            proc = subprocess.Popen([STRAIN, *argv, "--out", out_path], stdout=so, stderr=se,
                                    stdin=subprocess.DEVNULL, env=STRAIN_ENV)
            helper = None
            if during:
                helper = threading.Thread(target=during, args=(t0,), daemon=True)
                helper.start()
            samples, timed_out, status, usage = [], False, None, None
            while True:
                pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    status, usage = st, ru
                    break
                rss = vm_rss(proc.pid)
                if rss:
                    samples.append((time.monotonic() - t0, rss))
                if time.monotonic() - t0 > RUN_DEADLINE_S and not timed_out:
                    timed_out = True
                    proc.send_signal(signal.SIGKILL)
                time.sleep(0.02)
            seconds = time.monotonic() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            if helper:
                helper.join(timeout=10)
            so.seek(0)
            se.seek(0)
            out, err = so.read(), se.read()
        result = None
        if os.path.exists(out_path):
            with open(out_path) as f:
                text = f.read()
            try:
                result = json.loads(text)
            except ValueError:  # cut short (a crash): judged as no result
                err += f"\n[--out is not JSON: {len(text)} bytes]"
    peak = max([usage.ru_maxrss * 1024] + [rss for _, rss in samples])
    return Run(proc.returncode, out, err, result, seconds, peak, samples, timed_out)


SCRIPT = """\
-- One GET per iteration{open_note}.
{options}
local params = {{ headers = {{ {headers} }} }}
function default()
  http.get(env.URL, params)
end
"""


def script_text(model, headers, rate):
    options = ""
    if model == "open":
        options = (f'options = {{ scenarios = {{ open = {{ executor = "constant-arrival-rate", '
                   f'rate = {rate}, time_unit = "1s", duration = "{{duration}}", '
                   f'preallocated_vus = {VUS}, max_vus = {MAX_VUS}, exec = "default" }} }} }}')
    hs = ", ".join(f'["{k}"] = "{v}"' for k, v in headers)
    return SCRIPT.format(open_note=" at a constant arrival rate" if options else "",
                         options=options, headers=hs)


def strain_argv(case, setup, scripts_dir):
    flags, _ = TRANSPORTS[case.transport]
    duration = f"{setup.duration_s:g}s" if setup.duration_s != DURATION_S else DURATION
    common = ["-q", "-t", "1", "--timeout", setup.timeout, *flags, *setup.flags]
    if case.script:
        path = os.path.join(scripts_dir, f"{abs(hash(case.name))}.lua")
        with open(path, "w") as f:
            f.write(script_text(case.model, setup.headers, setup.rate)
                    .replace("{duration}", duration))
        argv = ["run", path, "-e", f"URL={setup.url}", *common]
        if case.model == "closed":
            argv += ["-c", str(VUS), "-d", duration]
        return argv
    argv = ["run", "--url", setup.url, *common]
    for k, v in setup.headers:
        argv += ["-H", f"{k}: {v}"]
    if case.model == "closed":
        return argv + ["-c", str(VUS), "-d", duration]
    return argv + ["--rate", f"{setup.rate}/s", "-d", duration, "-c", str(VUS), "--max-vus",
                   str(MAX_VUS)]


# --- the servers' own counts --------------------------------------------------------------

def target_counts(target):
    s = target.stats()
    return {"served": s["served"], "connections": s["connections"], **s["faults"]}


def nginx_counts(nginx):
    """requests and accepts of nginx so far, less this fixture's own status reads (one request
    and one connection each)."""
    s = nginx.status("https")
    return {"requests": s["requests"], "accepts": s["accepts"] - nginx._own_connections,
            "_reads": 1}


def diff(before, after, own_reads=0):
    d = {k: after[k] - before[k] for k in after if not k.startswith("_")}
    if "requests" in d:
        d["requests"] -= 1      # the read that took `after` is itself a request
    if "connections" in d:
        d["connections"] -= 1   # strain-target: the /__strain/stats read that took `after`
    return d


@dataclasses.dataclass
class Setup:
    url: str
    flags: list = dataclasses.field(default_factory=list)
    headers: list = dataclasses.field(default_factory=list)   # (name, value) on every request
    duration_s: float = DURATION_S
    rate: int = RATE                                          # open model
    timeout: str = TIMEOUT
    truths: dict = dataclasses.field(default_factory=dict)    # name -> () -> counts
    reconcile: object = None                                  # (r, diffs, extra) -> [(ok, msg)]
    during: object = None                                     # (t0) -> None, in a thread
    extra: dict = dataclasses.field(default_factory=dict)


def closed_port():
    return free_ports(1)[0]


class World:
    """The long-lived servers: strain-target, nginx in front of it, the test certificates."""

    def __init__(self, stack):
        self.target = stack.enter_context(TargetProcess("--threads", "1"))
        self.nginx = stack.enter_context(NginxFaults(upstream_port=self.target.port))
        self.certs = self.nginx.certs
        self.ca = self.nginx.ca


def tls_flags(case, world):
    return ["--cacert", world.ca] if TRANSPORTS[case.transport][1] else []


def nginx_server_for(case):
    return {"h2c": "h2c"}.get(case.transport, "https") if TRANSPORTS[case.transport][1] or \
        case.transport == "h2c" else None


def target_url(case, world, query=""):
    """strain-target's URL for this transport: direct, or through nginx's /target/."""
    if case.transport in DIRECT:
        return world.target.url + query
    return world.nginx.url(nginx_server_for(case), "/target/" + query)


def responses(r):
    return sum(r["total"]["status_codes"].values())


def errors(r):
    return {k: v for k, v in r["total"]["errors"].items() if v}


def eq(label, got, want, tol=0):
    return (abs(got - want) <= tol,
            f"{label}: {got} vs {want}" + (f" (within {tol})" if tol else ""))


@contextlib.contextmanager
def prepare(case, world):
    """The server side of one case; yields its Setup. Per-case servers stop on leaving."""
    f, t = case.fault, case.transport
    tls = TRANSPORTS[t][1]
    through_nginx = t not in DIRECT
    truths = {"target": lambda: target_counts(world.target)}
    if through_nginx:
        truths["nginx"] = lambda: nginx_counts(world.nginx)

    nginx_truth = {"nginx": lambda: nginx_counts(world.nginx)}

    def on_target(query, rec):
        return Setup(target_url(case, world, query), tls_flags(case, world), truths=truths,
                     reconcile=rec)

    if f == "none":
        def rec(r, d, x):
            out = [eq("target served = responses", d["target"]["served"], responses(r))]
            if through_nginx:
                out.append(eq("nginx requests = responses", d["nginx"]["requests"],
                              responses(r)))
            return out
        yield on_target("", rec)
    elif f == "refused":
        port = closed_port()
        scheme = "https" if tls else "http"
        def rec(r, d, x):
            g = r["generator"]
            # Each failed connect waits out a back-off (5 ms doubling to 1 s): a refused port
            # gets a few connects per VU per second, not a storm.
            vus = MAX_VUS if case.model == "open" else VUS
            bound = int(vus * 12 * x["duration_s"]) + vus
            return [(0 < g["connects"] <= bound,
                     f"connects {g['connects']} backed off (<= {bound})")]
        yield Setup(f"{scheme}://127.0.0.1:{port}/", tls_flags(case, world), reconcile=rec)
    elif f == "reset":
        def rec(r, d, x):
            kind = case.want
            got = r["total"]["status_codes"].get("502", 0) if kind == "502" else \
                r["total"]["errors"].get("reset", 0)
            return [eq(f"target resets = strain's {kind}", d["target"]["reset"], got)]
        yield on_target("?reset=1", rec)
    elif f in ("reset@server", "garbage@server", "truncate@server"):
        mode = f.split("@")[0]
        ctx = server_context(world.certs, ["h2", "http/1.1"]) if tls else None
        with FaultServer(mode, tls=ctx) as srv:
            def rec(r, d, x, srv=srv):
                c = srv.snapshot()
                got = r["total"]["errors"].get(case.want, 0)
                if t.startswith("h2") or t == "curl-h2":
                    # A connection's fault fails every stream in flight on it.
                    got += sum(r["total"]["errors"].get(k, 0) for k in case.allow)
                    return [(c["faults"] <= got <= c["faults"] * (MAX_VUS + 1),
                             f"server faults {c['faults']} <= strain's "
                             f"{'+'.join((case.want, *case.allow))} {got}"),
                            eq("server connections = strain connects", c["connections"],
                               r["generator"]["connects"])]
                return [eq(f"server faults = strain's {case.want}", c["faults"], got),
                        eq("server connections = strain connects", c["connections"],
                           r["generator"]["connects"])]
            yield Setup(srv.url(), tls_flags(case, world), reconcile=rec)
    elif f == "hang":
        def rec(r, d, x):
            e = r["total"]["errors"]
            return [eq("target hangs = timeouts + abandoned", d["target"]["hung"],
                       e["timeout"] + e["abandoned"])]
        yield on_target("?hang=2s", rec)
    elif f == "trickle-ok":
        def rec(r, d, x):
            return [eq("target trickled = responses", d["target"]["trickled"], responses(r))]
        yield on_target("?trickle=100/10ms&size=500", rec)
    elif f == "trickle-slow":
        def rec(r, d, x):
            e = r["total"]["errors"]
            out = [eq("target served (none completes) = responses", d["target"]["served"],
                      responses(r))]
            if through_nginx:
                out.append(eq("nginx requests = timeouts + abandoned", d["nginx"]["requests"],
                              e["timeout"] + e["abandoned"]))
            else:
                out.append(eq("target connections = strain connects",
                              d["target"]["connections"], r["generator"]["connects"]))
            return out
        yield on_target("?trickle=10/100ms&size=100", rec)
    elif f == "garbage":
        def rec(r, d, x):
            got = r["total"]["errors"].get(case.want, 0)
            return [eq(f"target garbage = strain's {case.want}", d["target"]["garbage"], got)]
        yield on_target("?garbage=1", rec)
    elif f == "big-header":
        def rec(r, d, x):
            if through_nginx:
                # nginx gives up mid-head (a 502) and closes its connection to the target, one
                # per request, so the target may not finish writing: its connections are the
                # truth.
                return [eq("target connections = 502s", d["target"]["connections"],
                           r["total"]["status_codes"].get("502", 0))]
            # strain gives up mid-head and closes, so the target may not finish writing:
            # its connections are the truth.
            return [eq("target connections = strain connects", d["target"]["connections"],
                       r["generator"]["connects"]),
                    (d["target"]["served"] <= r["total"]["errors"].get("bad_response", 0),
                     f"target served {d['target']['served']} <= bad responses")]
        yield on_target(f"?header_bytes={BIG_HEADER}", rec)
    elif f == "big-body":
        def rec(r, d, x):
            n = responses(r)
            return [eq("target served = responses", d["target"]["served"], n),
                    (n > 0 and r["total"]["bytes_in"] >= n * BIG_BODY,
                     f"bytes in {r['total']['bytes_in'] >> 20} MiB >= {n} x "
                     f"{BIG_BODY >> 20} MiB")]
        s = on_target(f"?size={BIG_BODY}", rec)
        s.rate, s.timeout = BIG_BODY_RATE, BIG_BODY_TIMEOUT
        yield s
    elif f == "close":
        if t in ("h2", "curl-h2", "h2c"):
            name = "h2c_close" if t == "h2c" else "h2_close"
            def rec(r, d, x):
                n, g = responses(r), r["generator"]
                lost = r["total"]["errors"].get("reset", 0)
                # nginx counts every request it read, resent ones included.
                return [(n <= d["nginx"]["requests"] <= n + g["stale_retries"] + lost + VUS,
                         f"nginx requests {d['nginx']['requests']} = responses {n} + resent "
                         f"{g['stale_retries']} + reset {lost}"),
                        eq("nginx accepts = strain connects", d["nginx"]["accepts"],
                           g["connects"]),
                        (g["connects"] * CLOSE_AFTER >= n,
                         f"{g['connects']} connections x {CLOSE_AFTER} >= {n} responses")]
            yield Setup(world.nginx.url(name, "/"), tls_flags(case, world),
                        truths=nginx_truth, reconcile=rec)
        elif t == "curl":
            def rec(r, d, x):
                g = r["generator"]
                return [eq("target served = responses", d["target"]["served"], responses(r)),
                        eq("target connections = strain connects", d["target"]["connections"],
                           g["connects"]),
                        eq("one connection per response", g["connects"], responses(r),
                           g["in_flight_at_stop"])]
            yield on_target("?close_every=1", rec)
        else:
            def rec(r, d, x):
                g, n = r["generator"], responses(r)
                if through_nginx:
                    out = [eq("nginx accepts = strain connects", d["nginx"]["accepts"],
                              g["connects"]),
                           eq("nginx requests = responses", d["nginx"]["requests"], n)]
                else:
                    out = [eq("target connections = strain connects",
                              d["target"]["connections"], g["connects"]),
                           eq("target served = responses", d["target"]["served"], n)]
                return out + [eq("one connection per response", g["connects"], n,
                                 g["in_flight_at_stop"])]
            s = on_target("", rec)
            s.headers = [("Connection", "close")]
            yield s
    elif f in ("wrong-ca", "no-h2-alpn"):
        name = "tls_h1" if f == "no-h2-alpn" else "https"
        flags = ["--cacert", world.certs.self_signed.cert] if f == "wrong-ca" else \
            tls_flags(case, world)
        def rec(r, d, x):
            if f == "no-h2-alpn" and case.transport.startswith("curl"):
                # libcurl cannot refuse HTTP/1.1 in the handshake: it gets the answer, and
                # strain counts it as the handshake's failure (nginx served each one).
                refused = r["total"]["errors"].get("tls_handshake", 0)
                return [eq("nginx requests = answers refused as not h2", d["nginx"]["requests"],
                           refused, r["generator"]["in_flight_at_stop"]),
                        eq("no response counted", responses(r), 0)]
            return [eq("nginx accepts = strain connects", d["nginx"]["accepts"],
                       r["generator"]["connects"]),
                    eq("nginx requests = responses", d["nginx"]["requests"], responses(r))]
        yield Setup(world.nginx.url(name, "/"), flags, truths=nginx_truth,
                    reconcile=rec)
    elif f == "not-tls":
        def rec(r, d, x):
            return [eq("nginx accepts = strain connects", d["nginx"]["accepts"],
                       r["generator"]["connects"])]
        yield Setup(world.nginx.url("plain", "/").replace("http://", "https://"),
                    tls_flags(case, world), truths=nginx_truth, reconcile=rec)
    elif f == "handshake-hang":
        with FaultServer("silent", hang_s=5.0) as srv:
            def rec(r, d, x, srv=srv):
                return [eq("server connections = strain connects", srv.snapshot()["connections"],
                           r["generator"]["connects"])]
            yield Setup(srv.url(scheme="https"),
                        [*tls_flags(case, world), "--connect-timeout", CONNECT_TIMEOUT],
                        reconcile=rec)
    elif f == "http-to-tls":
        def rec(r, d, x):
            return [eq("nginx requests = responses", d["nginx"]["requests"], responses(r)),
                    eq("nginx accepts = strain connects", d["nginx"]["accepts"],
                       r["generator"]["connects"])]
        yield Setup(world.nginx.url("https", "/").replace("https://", "http://"),
                    truths=nginx_truth, reconcile=rec)
    elif f == "h2c-to-h1":
        def rec(r, d, x):
            # The target takes the preface for a request it cannot serve and answers it.
            return [eq("target connections = strain connects", d["target"]["connections"],
                       r["generator"]["connects"]),
                    (responses(r) == 0, f"no response counted ({responses(r)})")]
        yield Setup(world.target.url, truths={"target": truths["target"]}, reconcile=rec)
    elif f == "killed":
        yield from killed(case, world)
    else:
        raise AssertionError(f"no such fault {f!r}")


KILL_AT_S, DOWN_S = 0.6, 0.3


def killed(case, world):
    """A server of its own, SIGKILLed at KILL_AT_S and started again DOWN_S later on the same
    port(s). The counts: what it had served just before the kill (read then) plus what the new
    one served must be what strain received, give or take the requests in flight at the kill."""
    state = {}
    if case.transport in DIRECT:
        with contextlib.ExitStack() as stack:
            first = TargetProcess("--threads", "1", "--latency", "1ms")
            stack.callback(lambda: state.get("second", first).kill())
            stack.callback(first.kill)

            def during(t0):
                time.sleep(max(0.0, KILL_AT_S - (time.monotonic() - t0)))
                state["before"] = first.stats()["served"]
                first.kill(signal.SIGKILL)
                time.sleep(DOWN_S)
                state["second"] = start_target_on(first.port, "--threads", "1", "--latency",
                                                  "1ms")

            def rec(r, d, x):
                second = state.get("second")
                if second is None:
                    return [(False, "the target was not restarted")]
                served = state["before"] + second.stats()["served"]
                return [eq("served before the kill + after the restart = responses",
                           served, responses(r), 2 * MAX_VUS if case.model == "open" else
                           2 * VUS),
                        (second.stats()["served"] > 0, "the restarted target served again")]
            yield Setup(first.url, duration_s=KILL_DURATION_S, during=during, reconcile=rec)
        return
    with NginxFaults(upstream_port=world.target.port, certs=world.certs) as ng:
        name = "h2c" if case.transport == "h2c" else "https"

        def during(t0):
            time.sleep(max(0.0, KILL_AT_S - (time.monotonic() - t0)))

            def last_read():
                state["before"] = nginx_counts(ng)["requests"] - 1  # less this read
            ng.kill_and_restart(DOWN_S, just_before=last_read)
            state["restarted"] = True

        def rec(r, d, x):
            if "restarted" not in state:
                return [(False, "nginx was not restarted")]
            # The new nginx counts from 0: less its readiness read and this one.
            after = nginx_counts(ng)["requests"] - 2
            return [eq("nginx requests before the kill + after the restart = responses",
                       state["before"] + after, responses(r),
                       2 * MAX_VUS if case.model == "open" else 2 * VUS),
                    (after > 0, f"the restarted nginx served again ({after})")]
        # Through to strain-target delayed 2 ms: a few hundred requests a second, so the last
        # status read before the kill is within a few requests of nginx's final count.
        yield Setup(ng.url(name, "/target/?delay=2ms"), tls_flags(case, world),
                    duration_s=KILL_DURATION_S, during=during, reconcile=rec)


# --- judging one case ----------------------------------------------------------------------

def seen_of(r):
    """'reset=812 200=3': every error kind and status that occurred, most first."""
    if r is None:
        return "no result"
    got = {**errors(r), **r["total"]["status_codes"]}
    return " ".join(f"{k}={v}" for k, v in sorted(got.items(), key=lambda kv: -kv[1])) or "-"


def judge(case, setup, run, diffs, mem_bound):
    """[(ok, what)] for one finished run."""
    r, out = run.result, []
    out.append((not run.timed_out, f"ended by itself within {RUN_DEADLINE_S}s"))
    if r is None:
        return out + [(False, f"a result JSON (exit {run.code}; {run.err.strip()[-300:]!r})")]
    # 1. the right kind, and nothing else beyond what the case allows
    got = {**errors(r), **r["total"]["status_codes"]}
    out.append((got.get(case.want, 0) > 0, f"{case.want} counted ({got.get(case.want, 0)})"))
    stray = {k: v for k, v in got.items() if k != case.want and k not in case.allow}
    out.append((not stray, f"no other kind or status: {stray or 'none'}"))
    # 2. on time, by itself, with a summary and a complete result
    no_answer = responses(r) == 0 and not (r.get("script") or {}).get("iterations")
    want_code = 1 if no_answer else 0
    late = io.StringIO()
    with contextlib.redirect_stdout(late):  # its note, printed under the case's line instead
        late_ok = run.code == 4 and passed_or_late(4, r)
    if late_ok:
        setup.extra["late"] = True
    out.append((run.code == want_code or late_ok,
                f"exit {run.code} (want {want_code}; {run.err.strip()[-200:]!r})"))
    limit = setup.duration_s + secs(setup.timeout) + 4.0
    out.append((run.seconds <= limit, f"took {run.seconds:.1f}s (<= {limit:.1f}s)"))
    # A --url run stops starting requests on time; a script's iteration under way may finish
    # (graceful stop), and its request takes at most the timeout, or the connect back-off
    # (at most 1 s) and a connect.
    dur = r["summary"]["duration_s"]
    on_time = setup.duration_s + (1.0 + secs(setup.timeout) if case.script else 0.25)
    out.append((dur <= on_time, f"load phase {dur:.2f}s (<= {on_time:.2f}s)"))
    out.append(("requests" in run.out and "failed" in run.out and "generator" in run.out,
                "summary printed"))
    missing = [k for k in ("config", "summary", "total", "generator", "timeline", "phases_ms")
               if k not in r]
    out.append((not missing and r["partial"] is False and r["timeline"],
                f"complete result (missing {missing}, partial {r.get('partial')})"))
    if case.model == "open":
        sched = r.get("schedule") or {}
        due = int(setup.rate * setup.duration_s)
        dropped = r["total"]["errors"].get("dropped", 0)
        out.append((sched.get("due") == due and sched.get("started", 0) + dropped == due,
                    f"schedule: due {sched.get('due')} (want {due}), started "
                    f"{sched.get('started')} + dropped {dropped}"))
    # 3. memory
    out.append((run.peak_rss <= mem_bound,
                f"peak RSS {run.peak_rss / MiB:.1f} MiB <= {mem_bound / MiB:.1f} MiB"))
    # 4. counts
    out.append((reconciles(r), "started = completed + failed + in flight "
                f"({r['generator']['started']} = {r['summary']['requests']} + "
                f"{r['summary']['transport_errors']} - dropped; in flight "
                f"{r['generator']['in_flight_at_stop']})"))
    if setup.reconcile:
        out.extend(setup.reconcile(r, diffs, {"duration_s": setup.duration_s}))
    return out


def main():
    only = [o for o in os.environ.get("FAULT_MATRIX_ONLY", "").split(",") if o]
    cases = [c for c in CASES if not only or any(o in c.name for o in only)]
    covered = {(c.transport, c.fault.split("@")[0]) for c in CASES}
    faults = {c.fault.split("@")[0] for c in CASES}
    print(f"{len(cases)} cases; faults {sorted(faults)}; transports {list(TRANSPORTS)}")
    missing = [(t, f) for t in TRANSPORTS
               for f in ("none", "refused", "reset", "hang", "trickle-ok", "trickle-slow",
                         "garbage", "big-header", "big-body", "close", "killed")
               if (t, f) not in covered]
    # The handshake row of a plain transport is its counterpart: http:// to a TLS port, h2c
    # to an HTTP/1.1 server.
    handshake = {"wrong-ca", "not-tls", "no-h2-alpn", "handshake-hang", "http-to-tls",
                 "h2c-to-h1"}
    missing += [(t, "a handshake failure") for t in TRANSPORTS
                if not any((t, f) in covered for f in handshake)]
    check(not missing, f"every fault on every transport (missing: {missing or 'none'})")
    for t in TRANSPORTS:
        mine = [c for c in CASES if c.transport == t]
        check({c.model for c in mine} == {"open", "closed"} and
              {c.script for c in mine} == {True, False},
              f"{t}: both models, with and without a script")
    started = time.monotonic()
    rows, mem_bound = [], None
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as scripts_dir:
        world = World(stack)
        for case in cases:
            with prepare(case, world) as setup:
                before = {k: fn() for k, fn in setup.truths.items()}
                run = run_strain_measured(strain_argv(case, setup, scripts_dir), setup.during)
                after = {k: fn() for k, fn in setup.truths.items()}
                diffs = {k: diff(before[k], after[k]) for k in before}
                if case.fault == "none" and run.result is not None:
                    # The bound is fixed by the healthy runs (the first rows).
                    mem_bound = max(mem_bound or 0, run.peak_rss + MEM_SLACK_MIB * MiB)
                verdicts = judge(case, setup, run, diffs, mem_bound or (1 << 40))
            ok = all(v for v, _ in verdicts)
            row = f"{case.name} | {case.want} | {seen_of(run.result)} | {'ok' if ok else 'FAIL'}"
            rows.append(row)
            late = ", exit 4: strain judged itself late" if setup.extra.get("late") else ""
            print(row + f"   [{run.seconds:.1f}s, peak {run.peak_rss / MiB:.0f} MiB{late}]",
                  flush=True)
            for v, what in verdicts:
                if not v:
                    check(False, f"{case.name}: {what}")
    elapsed = time.monotonic() - started
    print("\ncase | expected | seen | ok/FAIL")
    print("\n".join(rows))
    print(f"\n{len(rows)} cases in {elapsed:.0f}s; memory bound {(mem_bound or 0) / MiB:.0f} MiB "
          f"(healthy peak + {MEM_SLACK_MIB} MiB)")
    check(sum(r.endswith("| ok") for r in rows) == len(rows),
          f"{sum(r.endswith('| ok') for r in rows)} of {len(rows)} cases ok")
    finish()


main()
