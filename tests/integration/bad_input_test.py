"""Bad input: one clear line, exit 2, and no traffic (the target serves nothing)."""
from harness import Target, run_strain, check, finish

with Target() as t:
    cases = [
        (["run", "--url", "htp:/nonsense", "-d", "1s"], "url"),
        (["run", "--url", "http://127.0.0.1:abc/", "-d", "1s"], "port"),
        (["run", "--url", t.url, "--frobnicate"], "frobnicate"),
        (["run", "--url", t.url, "-d", "ten seconds"], "--duration"),
        (["run", "--url", t.url, "-d", "10x"], "--duration"),
        (["run", "--url", t.url, "--timeout", "-1s"], "--timeout"),
        (["run", "--url", "http://no-such-host.invalid/", "-d", "1s"], "no-such-host.invalid"),
        (["run", "--url", t.url, "-H", "NoColonHere"], "-H"),
        (["run", "--url", t.url, "--body", "@/nonexistent/file"], "/nonexistent/file"),
        (["run", "-d", "1s"], "--url"),
        (["run", "--url", t.url, "-c", "0"], "vus"),
        (["run", "--url", t.url, "-d", "1s", "--out", "/nonexistent/dir/r.json"], "--out"),
        (["run", "--url", t.url, "-d", "1s", "--body", "@/dev/zero"], "--body"),
        (["run", "--url", t.url, "-d", "1s", "--body", "@/tmp"], "--body"),
        (["run", "--url", t.url, "-d", "1s", "--threshold", "latency{p99}"], "--threshold"),
        (["run", "--url", t.url, "-d", "1s", "--threshold", "latency{rate} < 1%"], "latency{rate}"),
    ]
    for argv, mentions in cases:
        code, out, err, r = run_strain(*argv, timeout_s=30)
        lines = [l for l in err.strip().splitlines() if l]
        check(code == 2, f"{' '.join(argv)!r}: exit 2 (got {code})")
        check(len(lines) >= 1 and mentions.lower() in err.lower(),
              f"{' '.join(argv)!r}: message names {mentions!r}: {lines[:1]}")
        check(r is None, f"{' '.join(argv)!r}: no result written")
    served = t.stop()
    check(served == 0, f"no traffic reached the target (served {served})")

finish()
