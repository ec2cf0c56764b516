"""Helpers for the Lua script tests: scripts written to a temporary directory, strain-target's
own counts (its /__strain/stats JSON), and lookups in a result's by_name series.

Everything here talks to 127.0.0.1 only and is bounded in time.
"""
import json
import os
import tempfile
import time
import urllib.request

from harness import run_strain

EXAMPLES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                         "examples"))


def target_stats(target):
    """strain-target's own counts, read from its /__strain/stats (not counted as served)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{target.port}/__strain/stats", timeout=5) as r:
        return json.loads(r.read())


def base_url(target):
    """The target's URL without the trailing slash, as scripts want BASE_URL."""
    return target.url.rstrip("/")


class Scripts:
    """A temporary directory of Lua scripts; write() returns a script's path."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="strain-script-test-")
        self.dir = self._tmp.name

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()


def run_script(script, target, *args, timeout_s=60):
    """strain run SCRIPT -e BASE_URL=... -q ARGS; returns (code, out, err, result, seconds)."""
    started = time.monotonic()
    code, out, err, result = run_strain("run", script, "-e", f"BASE_URL={base_url(target)}", "-q",
                                        *args, timeout_s=timeout_s)
    return code, out, err, result, time.monotonic() - started


def series(result, name):
    """The by_name series called `name` (several when scenarios, groups or tags differ)."""
    return [m for m in result["by_name"] if m["name"] == name]


def responses_named(result, name):
    """Responses strain recorded under request name `name`, over every series of that name."""
    return sum(m["responses"] for m in series(result, name))


def check_named(result, name):
    """The check tally whose full name (group path included) is `name`, or None."""
    for c in result["script"]["checks"]:
        if c["name"] == name:
            return c
    return None


def failed_thresholds(result):
    return [f"{t['expression']} {t['condition']} ({t['note'] or t['observed']})"
            for t in result["thresholds"] if not t["passed"]]
