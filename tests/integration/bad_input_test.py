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
        # The open model.
        (["run", "--url", t.url, "--rate", "fast"], "--rate"),
        (["run", "--url", t.url, "--rate", "0/s"], "--rate"),
        (["run", "--url", t.url, "--rate", "20000000/s"], "--rate"),
        (["run", "--url", t.url, "--stages", "30s"], "--stages"),
        (["run", "--url", t.url, "--stages", "30s:fast"], "--stages"),
        (["run", "--url", t.url, "--stages", "0s:10"], "--stages"),
        (["run", "--url", t.url, "--stages", "1s:10", "-d", "5s"], "--stages"),
        (["run", "--url", t.url, "--rate", "10/s", "--arrival", "bursty"], "--arrival"),
        (["run", "--url", t.url, "--rate", "10/s", "-c", "10", "--max-vus", "5"], "--max-vus"),
        (["run", "--url", t.url, "--max-vus", "5"], "--rate"),
        (["run", "--url", t.url, "--rate", "10/s", "--max-vus", "10000000"], "max-vus"),
        (["run", "--url", t.url, "--rate", "10/s", "--max-vus", "100000"], "connections"),
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
