"""Signals on every command (issue 15): run, soak, stress and merge, SIGINT and SIGTERM.

One signal: the load stops and drains, every requested output (-o, --html, --junit, --csv,
--hlog) is written whole and marked partial, exit 130, within a few seconds. Two signals 0.3 s
apart against a target that answers in 3 s: strain stops at once (under 2 s) with requests still
in flight, exit 130, and every file on disk is whole (each is written to a temporary name and
renamed: there is no half-written file to find). Merge has no load to drain: a merge of many
results signalled mid-way exits 130 and leaves either no output or a whole one.
"""
import json
import os
import signal
import subprocess
import tempfile
import time

from harness import STRAIN, Target, check, finish

SIGNALS = (("SIGINT", signal.SIGINT), ("SIGTERM", signal.SIGTERM))


def outputs(tmp, tag, command):
    files = {"json": f"{tag}.json", "html": f"{tag}.html", "junit": f"{tag}.xml",
             "csv": f"{tag}.csv", "hlog": f"{tag}.hlog"}
    files = {k: os.path.join(tmp, v) for k, v in files.items()}
    argv = ["-o", files["json"], "--html", files["html"], "--junit", files["junit"],
            "--csv", files["csv"], "--hlog", files["hlog"], "-q"]
    return files, argv


def whole(kind, path):
    """True when the file is a complete one of its kind; None when it is absent."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    try:
        if kind == "json":
            return isinstance(json.loads(data), dict)
        if kind == "html":
            return data.rstrip().endswith(b"</html>")
        if kind == "junit":
            return subprocess.run(["xmllint", "--noout", path], capture_output=True).returncode == 0
        if kind == "csv":
            lines = data.decode().splitlines()
            return len(lines) >= 1 and all(l.count(",") == lines[0].count(",") for l in lines)
        if kind == "hlog":
            return data.startswith(b"#[")
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def catches(pid, sig):
    """Whether the process has a handler for sig yet (SigCgt in /proc/PID/status)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return (int(line.split()[1], 16) >> (int(sig) - 1)) & 1 == 1
    except OSError:
        pass
    return False


def signalled(argv, sig, twice, settle_s):
    p = subprocess.Popen([STRAIN, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # settle_s from the moment strain catches the signal: before, the signal would kill any
    # program (a sanitizer build takes longer than 0.1 s just to start).
    deadline = time.monotonic() + 10
    while not catches(p.pid, sig) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(settle_s)
    p.send_signal(sig)
    if twice:
        time.sleep(0.3)
        p.send_signal(sig)
    start = time.monotonic()
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    return p.returncode, time.monotonic() - start, err


with tempfile.TemporaryDirectory() as tmp:
    for cmd in ("run", "soak", "stress"):
        for name, sig in SIGNALS:
            for twice in (False, True):
                tag = f"{cmd}-{name}-{'twice' if twice else 'once'}"
                # Once: a quick target, so the drain is short. Twice: answers take 3 s, so the
                # second signal finds requests in flight and must not wait for them.
                with Target("--latency", "3s" if twice else "2ms") as t:
                    files, out_argv = outputs(tmp, tag, cmd)
                    if cmd == "run":
                        argv = ["run", "--url", t.url, "-c", "4", "-d", "60s"]
                    elif cmd == "soak":
                        argv = ["soak", "--url", t.url, "--rate", "20/s", "-d", "60s"]
                    else:
                        argv = ["stress", "--url", t.url, "--slo", "p99<5s", "--start-rate", "20/s",
                                "--step", "20s", "--max-time", "2m"]
                    code, took, err = signalled(argv + out_argv, sig, twice, 2.5)
                    t.stop()
                check(code == 130, f"{tag}: exit 130 (got {code}; {err.strip()[-200:]!r})")
                check(took < (2.0 if twice else 15.0), f"{tag}: stopped in {took:.2f} s")
                states = {k: whole(k, f) for k, f in files.items()}
                if twice:
                    bad = [k for k, v in states.items() if v is False]
                    check(not bad, f"{tag}: every file on disk is whole ({states})")
                else:
                    bad = [k for k, v in states.items() if v is not True]
                    check(not bad, f"{tag}: every output written whole ({states})")
                if states["json"]:
                    with open(files["json"]) as f:
                        r = json.load(f)
                    check(r.get("partial") is True, f"{tag}: the result is marked partial")

    # merge: 400 segment results (one real, 399 copies naming the other segments). SIGINT or
    # SIGTERM 0.1 s in: what was read is merged, written whole and marked partial, exit 130.
    N = 400
    with Target() as t:
        first = os.path.join(tmp, "seg-0.json")
        subprocess.run([STRAIN, "run", "--url", t.url, "--rate", f"{N}/s", "-d", "1s",
                        "--segment", f"1/{N}", "-q", "-o", first], capture_output=True, timeout=60)
    with open(first) as f:
        base = json.load(f)
    parts = [first]
    for i in range(1, N):
        base["config"]["segments"] = [i]
        parts.append(os.path.join(tmp, f"seg-{i}.json"))
        with open(parts[-1], "w") as f:
            json.dump(base, f)
    for name, sig in SIGNALS:
        out = os.path.join(tmp, f"merged-{name}.json")
        html = os.path.join(tmp, f"merged-{name}.html")
        code, took, err = signalled(["merge", *parts, "--out", out, "--html", html], sig, False, 0.1)
        note = next((l for l in err.splitlines() if "merge interrupted after" in l), "")
        print(f"merge {name}: exit {code} in {took:.2f} s after the signal; {note}")
        check(code == 130, f"merge {name}: exit 130 (got {code}; {err.strip()[-200:]!r})")
        check(whole("json", out) is True and whole("html", html) is True,
              f"merge {name}: the merged files are whole ({whole('json', out)}, {whole('html', html)})")
        if whole("json", out):
            with open(out) as f:
                m = json.load(f)
            check(m.get("partial") is True, f"merge {name}: the merged result is marked partial")
            check(any("merge interrupted after" in n for n in m["generator"]["notes"]),
                  f"merge {name}: its notes say how many results were read")
        check(not [f for f in os.listdir(tmp) if "tmp" in f.lower()],
              f"merge {name}: no temporary file left")

finish()
