"""Shared pieces of the soak tests: a strain-target process the test can kill and restart, the
test's own /proc sampler of it (the independent truth), slope fits written here, and a
`strain soak` run whose sidecars stay on disk until the test is done with them.

Every process started here is killed at the end (the `with` blocks), even when a check fails.
"""
import csv
import json
import os
import re
import select
import signal
import subprocess
import threading
import time
import urllib.request

from harness import STRAIN, TARGET, check

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class TargetProcess:
    """strain-target on 127.0.0.1. `binary` may be a symlink with another name (its comm);
    `port` 0 picks a free one. stats() reads GET /__strain/stats while it runs."""

    def __init__(self, *args, binary=TARGET, port=0, prefix=()):
        self.args = list(args)
        self.binary = binary
        # `prefix`: a launcher such as taskset; it execs the target, so the pid stays its own.
        self.proc = subprocess.Popen([*prefix, binary, "--host", "127.0.0.1", "--port", str(port),
                                      *self.args], stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline() if ready else ""
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.kill()
            raise AssertionError(f"strain-target did not start: {line!r}")
        self.port = int(m.group(1))
        self.pid = self.proc.pid
        self.url = f"http://127.0.0.1:{self.port}/"
        self.metrics_url = f"http://127.0.0.1:{self.port}/metrics"

    def stats(self):
        """The target's own counts (GET /__strain/stats, which it does not count)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__strain/stats",
                                    timeout=5) as r:
            return json.load(r)

    def comm(self):
        with open(f"/proc/{self.pid}/comm") as f:
            return f.read().strip()

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def start_target_on(port, *args, binary=TARGET, within_s=5.0):
    """A target on a given port, retrying while the old one's socket is still being released."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return TargetProcess(*args, binary=binary, port=port)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class ProcSampler:
    """Samples a pid's RSS (/proc/PID/statm, resident pages) and open descriptors (entries of
    /proc/PID/fd) every `every_s` in a thread: the test's own truth, independent of strain.
    Times are seconds since `t0` (time.monotonic()). set_pid() follows a restarted process; each
    sample carries its segment number so fits can keep the segments apart."""

    def __init__(self, pid, t0, every_s=0.5):
        self.pid, self.t0, self.every_s = pid, t0, every_s
        self.segment = 0
        self.samples = []  # (t_s, segment, rss_bytes, fds)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def set_pid(self, pid):
        with self._lock:
            self.pid = pid
            self.segment += 1

    def _read(self, pid):
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss = int(f.read().split()[1]) * PAGE_BYTES
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            return rss, fds
        except (OSError, ValueError, IndexError):
            return None

    def _loop(self):
        next_at = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                pid, segment = self.pid, self.segment
            got = self._read(pid)
            if got:
                self.samples.append((time.monotonic() - self.t0, segment, got[0], got[1]))
            next_at += self.every_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def window(self, from_s, to_s):
        return [s for s in self.samples if from_s <= s[0] <= to_s]


def least_squares_slope(points):
    """Slope of y on x by ordinary least squares; points are (x, y)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return sxy / sxx


def theil_sen_slope(points):
    """The median of the pairwise slopes (Theil–Sen); points are (x, y)."""
    slopes = sorted((y2 - y1) / (x2 - x1)
                    for i, (x1, y1) in enumerate(points)
                    for (x2, y2) in points[i + 1:] if x2 != x1)
    n = len(slopes)
    return slopes[n // 2] if n % 2 else (slopes[n // 2 - 1] + slopes[n // 2]) / 2


def pooled_slope(segments):
    """One least-squares slope shared by several segments, each with its own intercept (a
    restart drops the level; the growth rate is what is common): the within-segment fit."""
    sxx = sxy = 0.0
    for points in segments:
        if len(points) < 2:
            continue
        mx = sum(x for x, _ in points) / len(points)
        my = sum(y for _, y in points) / len(points)
        sxx += sum((x - mx) ** 2 for x, _ in points)
        sxy += sum((x - mx) * (y - my) for x, y in points)
    return sxy / sxx


def soak_argv(*args, out=None):
    argv = [STRAIN, "soak", *args]
    if out is not None:
        argv += ["--out", out]
    return argv


class StrainRun:
    """`strain soak ...` started in the background, stdout and stderr to files in `workdir`.
    wait() returns the exit code; result() the parsed --out JSON (or None)."""

    def __init__(self, argv, workdir, out=None):
        self.argv, self.workdir, self.out = argv, workdir, out
        self.t0 = time.monotonic()
        self._stdout = open(os.path.join(workdir, "strain.stdout"), "w")
        self._stderr = open(os.path.join(workdir, "strain.stderr"), "w")
        self.proc = subprocess.Popen(argv, stdout=self._stdout, stderr=self._stderr, text=True)
        self.code = None

    def wait(self, timeout_s):
        try:
            self.code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.code = None
        self._stdout.close()
        self._stderr.close()
        return self.code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stdout(self):
        with open(os.path.join(self.workdir, "strain.stdout")) as f:
            return f.read()

    def stderr(self):
        with open(os.path.join(self.workdir, "strain.stderr")) as f:
            return f.read()

    def result(self):
        if self.out and os.path.exists(self.out):
            with open(self.out) as f:
                return json.load(f)
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        for f in (self._stdout, self._stderr):
            if not f.closed:
                f.close()


def verdicts_of(result, component, resource, source=None):
    """The soak verdicts on (component, resource[, source])."""
    soak = (result or {}).get("soak") or {}
    return [v for v in soak.get("verdicts", [])
            if v.get("component") == component and v.get("resource") == resource
            and (source is None or v.get("source") == source)]


def one_verdict(result, component, resource, source=None):
    """The single verdict on (component, resource), checked to exist exactly once."""
    vs = verdicts_of(result, component, resource, source)
    label = f"({component}, {resource}{', ' + source if source else ''})"
    check(len(vs) == 1, f"exactly one verdict on {label} (found {len(vs)})")
    return vs[0] if vs else None


def describe(v):
    if not v:
        return "none"
    return (f"{v.get('verdict')} slope {v.get('slope_per_hour')} {v.get('unit')}/h "
            f"CI [{v.get('ci_low')}, {v.get('ci_high')}] p={v.get('p_value')} "
            f"n={v.get('samples')} ({v.get('reason')})")


def print_verdicts(result):
    for v in ((result or {}).get("soak") or {}).get("verdicts", []):
        print(f"  verdict {v.get('component')}/{v.get('resource')} [{v.get('source')}]: "
              + describe(v))


def read_samples_csv(path):
    """Rows of result.samples.csv as (t_s, component, resource, value or None, reason)."""
    rows = []
    with open(path, newline="") as f:
        for rec in csv.reader(f):
            # "#series,..." declares a series' unit and kind; "#restart,..." marks a restart.
            if not rec or rec[0] == "t_s" or rec[0].startswith("#"):
                continue
            value = float(rec[3]) if len(rec) > 3 and rec[3] != "" else None
            reason = rec[4] if len(rec) > 4 else ""
            rows.append((float(rec[0]), rec[1], rec[2], value, reason))
    return rows


def read_jsonl(path):
    """Complete lines of a JSON-lines file, and whether a torn (unparsable) last line was seen."""
    lines, torn = [], False
    with open(path) as f:
        text = f.read()
    parts = text.split("\n")
    for i, line in enumerate(parts):
        if not line.strip():
            continue
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(parts) - 1:
                torn = True  # SIGKILL mid-write: only the very last line may be cut
            else:
                raise
    return lines, torn


def sidecar_paths(out):
    """result.json → result.intervals.jsonl, result.hlog, result.samples.csv (the spec)."""
    stem = out[:-5] if out.endswith(".json") else out
    return {"intervals": stem + ".intervals.jsonl", "hlog": stem + ".hlog",
            "samples": stem + ".samples.csv"}
