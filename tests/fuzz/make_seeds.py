#!/usr/bin/env python3
"""Regenerates the fuzz targets' seed corpora (tests/fuzz/corpus/NAME/) from real inputs: raw
responses of strain-target and nginx, the examples' scripts and data, results, an .hlog and
Prometheus scrapes of a short strain run against strain-target. Loopback only, a few seconds.

usage: tests/fuzz/make_seeds.py BUILD_DIR   (e.g. build/dev; needs strain and strain-target)
The seeds are committed; run this again when a format changes.
"""
import base64
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "dev"))
STRAIN = os.path.join(BUILD, "tools", "strain", "strain")
TARGET = os.path.join(BUILD, "tools", "target", "strain-target")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def raw_exchange(port, request):
    """Sends `request` to 127.0.0.1:port and returns every byte until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def get(port, target, head=False, extra=b""):
    method = b"HEAD" if head else b"GET"
    return raw_exchange(port, method + b" " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + extra + b"Connection: close\r\n\r\n")


def start_target(*args):
    p = subprocess.Popen([TARGET, "--host", "127.0.0.1", "--port", "0", *args],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))
    return p, port


def seeds_from_target(tmp):
    p, port = start_target()
    try:
        # The parser target's first byte: bit 0 HEAD, bit 1 small header limit, bits 2-4 piece.
        cases = [("plain", "/", False), ("sized", "/?size=3000", False), ("empty", "/?size=0", False),
                 ("404", "/?status=404", False), ("head", "/?size=100", True),
                 ("stats", "/__strain/stats", False), ("metrics", "/metrics", False)]
        for i, (name, path, head) in enumerate(cases):
            raw = get(port, path, head)
            put("http_response", f"target-{name}", bytes([(1 if head else 0) | (i << 2)]) + raw)
        put("http_response", "target-pipelined", b"\x04" + get(port, "/?size=10") * 3)
        stats = urllib.request.urlopen(f"http://127.0.0.1:{port}/__strain/stats", timeout=5).read()
        put("lua_json", "target-stats.json", stats)
        put("prometheus", "target-metrics", urllib.request.urlopen(
            f"http://127.0.0.1:{port}/metrics", timeout=5).read())
        login = raw_exchange(port, b'POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                             b'Content-Type: application/json\r\nContent-Length: 30\r\n'
                             b'Connection: close\r\n\r\n{"user":"ann","pass":"pw-ann"}')
        put("http_response", "target-api-login", b"\x00" + login)
        put("lua_json", "target-api-login.json", login.split(b"\r\n\r\n", 1)[1])

        # A short run with every output a parser reads back: result JSON, .hlog, a scrape.
        out = os.path.join(tmp, "run.json")
        hlog = os.path.join(tmp, "run.hlog")
        mport = free_port()
        run = subprocess.Popen([STRAIN, "run", "--url", f"http://127.0.0.1:{port}/?size=200",
                                "--rate", "50/s", "-d", "3s", "-o", out, "--hlog", hlog,
                                "--metrics-listen", f"127.0.0.1:{mport}", "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        put("prometheus", "strain-metrics-listen", urllib.request.urlopen(
            f"http://127.0.0.1:{mport}/metrics", timeout=5).read())
        run.wait(30)
        with open(out, "rb") as f:
            result = f.read()
        put("result_json", "run.json", result)
        put("lua_json", "run-result.json", result)
        with open(hlog, "rb") as f:
            log = f.read()
        put("hlog", "run.hlog", log)
        seeds_from_hlog(log)

        soak = os.path.join(tmp, "soak.json")
        subprocess.run([STRAIN, "soak", "--url", f"http://127.0.0.1:{port}/", "--rate", "20/s",
                        "-d", "4s", "--watch-pid", f"target={p.pid}", "-o", soak, "-q"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        with open(soak, "rb") as f:
            put("result_json", "soak.json", f.read())
    finally:
        p.terminate()
        p.wait()


def seeds_from_hlog(log):
    """The .hlog's compressed histograms, and the plain V2 bytes inside them, for hdr_codec."""
    n = 0
    for line in log.decode().splitlines():
        fields = line.split(",")
        if line.startswith("#") or line.startswith('"') or len(fields) < 4:
            continue
        compressed = base64.b64decode(fields[-1])
        put("hdr_codec", f"compressed-{n}", b"\x01" + compressed)
        put("hdr_codec", f"plain-{n}", b"\x00" + zlib.decompress(compressed[8:]))
        n += 1
        if n == 3:
            break


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seeds_from_nginx(tmp):
    if not shutil.which("nginx"):
        print("make_seeds: no nginx; its responses are left as they are", file=sys.stderr)
        return
    port = free_port()
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "page.html"), "w") as f:
        f.write("<html>" + "strain " * 400 + "</html>\n")
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon on; pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};
  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  gzip on; gzip_min_length 1;
  server {{ listen 127.0.0.1:{port}; root {www};
    location /hello {{ return 200 "hello, strain\\n"; }} }} }}
""")
    subprocess.run(["nginx", "-c", conf, "-p", tmp, "-e", f"{tmp}/error.log"], check=True)
    try:
        for _ in range(50):
            try:
                get(port, "/hello")
                break
            except OSError:
                time.sleep(0.1)
        put("http_response", "nginx-hello", b"\x00" + get(port, "/hello"))
        put("http_response", "nginx-static", b"\x08" + get(port, "/page.html"))
        put("http_response", "nginx-gzip-chunked",
            b"\x10" + get(port, "/page.html", extra=b"Accept-Encoding: gzip\r\n"))
        put("http_response", "nginx-404", b"\x0c" + get(port, "/missing"))
        put("http_response", "nginx-head", b"\x01" + get(port, "/page.html", head=True))
        put("http_response", "nginx-bad-request", b"\x02" + raw_exchange(port, b"BREW / HTCPCP\r\n\r\n"))
    finally:
        with open(f"{tmp}/nginx.pid") as f:
            os.kill(int(f.read().strip()), 15)


def seeds_from_examples():
    for path in glob.glob(os.path.join(ROOT, "examples", "*.csv")):
        with open(path, "rb") as f:
            put("csv", os.path.basename(path), f.read())
    put("csv", "quoted.csv", 'name,note\r\n"Smith, J","said ""hi"""\r\nann,\r\n')
    # option strings: selector byte (0 duration, 1 size, 2 rate, 3 threshold key\ncondition,
    # 4 SLO, 5 budgets, 6 limits, 7 warm-up, 8 series selector, 9 URL), as the README writes them.
    strings = [(0, "1h30m"), (0, "250us"), (0, "1.5s"), (1, "10KiB"), (1, "1.5MB"),
               (2, "2000/s"), (2, "120/m"), (2, "10k/s"),
               (3, "latency{name:login,p95}\n< 400ms"), (3, "errors{rate}\n< 1%"),
               (3, "checks{passes}\n> 0.99"), (3, "requests{count}\n> 900"),
               (4, "p99<250ms,errors<1%"), (4, "p(99.9) < 1s"),
               (5, "rss=20MiB/h,fds=10/h,disk=1GiB/h"), (6, "rss=2GiB,fds=1000"),
               (7, "10%"), (7, "2m"), (8, 'jvm_memory_used_bytes{area="heap"}'),
               (9, "http://127.0.0.1:8080/api/items?page=2"), (9, "https://[::1]:8443/"),
               (9, "http://localhost/a#frag")]
    for i, (which, text) in enumerate(strings):
        put("option_strings", f"s{i:02d}", bytes([which]) + text.encode())
    # Scripts carry thresholds and options in Lua; their JSON-looking parts seed lua_json.
    put("lua_json", "nested.json", json.dumps({"a": [1, 2.5, -3e300, None, True, {"b": "\u00e9\n"}],
                                               "empty": [], "obj": {}}))


if __name__ == "__main__":
    for name in ("http_response", "lua_json", "prometheus", "result_json", "hlog", "hdr_codec"):
        shutil.rmtree(os.path.join(CORPUS, name), ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        seeds_from_target(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        seeds_from_nginx(tmp)
    seeds_from_examples()
    for d in sorted(os.listdir(CORPUS)):
        print(f"{d}: {len(os.listdir(os.path.join(CORPUS, d)))} seeds")
