"""Self-test of tls_support.py with the curl CLI: the certificates are accepted or refused as
meant, HTTP/2 is negotiated, mutual TLS asks for the client certificate, accepts() counts a
client's connections, and the proxy to an upstream works.

Standalone: python3 tests/integration/tls_support_selftest.py (exits 1 on a failed check).
Every curl is bounded (--max-time 5); nginx and the upstream are stopped even on failure.
"""
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time

import tls_support
from tls_support import HELLO, MTLS_OK, BIG_BYTES, NginxTls

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def curl(*args):
    """Runs curl; returns (exit code, body bytes, http code, http version, stderr)."""
    # --noproxy: a proxy from the environment must never see these requests.
    p = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "5",
                        "-w", "\n@@%{http_code} %{http_version}", *args],
                       capture_output=True, timeout=15)
    body, _, tail = p.stdout.rpartition(b"\n@@")
    code, _, version = tail.decode().partition(" ")
    return p.returncode, body, code, version, p.stderr.decode(errors="replace").strip()


def verify_error(err):
    """curl's one-line reason, e.g. 'SSL certificate problem: certificate has expired'."""
    return next((line for line in err.splitlines() if line.startswith("curl: (")), err[:200])


class Upstream:
    """A trivial HTTP/1.1 server on 127.0.0.1:0 in a thread: GET answers "upstream <path>",
    POST answers "echo " + the body."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream keepalive wants

        def _send(self, body):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._send(f"upstream {self.path}\n".encode())

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            self._send(b"echo " + self.rfile.read(n))

        def log_message(self, *args):
            pass

    def __enter__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


start = time.monotonic()
with tempfile.TemporaryDirectory() as d:
    t0 = time.monotonic()
    tls_support.make_certs(d)
    check(time.monotonic() - t0 < 2, f"make_certs took {time.monotonic() - t0:.2f} s")

with NginxTls() as n:
    ca = n.ca
    pid, nginx_dir = n.pid, n.dir
    check(set(n.ports) == set(tls_support.PORT_NAMES), f"ports {n.ports}")

    rc, body, code, version, err = curl("--cacert", ca, n.url("https"))
    check(rc == 0 and code == "200" and body == HELLO,
          f"https with the CA: {rc} {code} {body!r}")

    rc, body, code, version, err = curl(n.url("https"))
    check(rc == 60, f"https without the CA: exit 60 (got {rc}: {verify_error(err)})")

    rc, body, code, version, err = curl("--cacert", ca, n.url("self_signed"))
    check(rc == 60, f"self-signed: exit 60 (got {rc}: {verify_error(err)})")

    rc, body, code, version, err = curl("--cacert", ca, n.url("wrong_host"))
    check(rc in (51, 60), f"wrong host: exit 51 or 60 (got {rc}: {verify_error(err)})")

    rc, body, code, version, err = curl("--cacert", ca, n.url("expired"))
    check(rc == 60, f"expired: exit 60 (got {rc}: {verify_error(err)})")

    # -k: the bad-certificate servers do serve, so a failure above is the certificate's.
    rc, body, code, version, err = curl("-k", n.url("expired"))
    check(rc == 0 and code == "200" and body == HELLO, f"expired with -k: {rc} {code}")

    rc, body, code, version, err = curl("--cacert", ca, "--http2", n.url("https"))
    check(rc == 0 and version == "2" and body == HELLO, f"--http2: HTTP/{version}")
    rc, body, code, version, err = curl("--cacert", ca, "--http1.1", n.url("https"))
    check(rc == 0 and version == "1.1" and body == HELLO, f"--http1.1: HTTP/{version}")

    rc, body, code, version, err = curl("--cacert", ca, n.url("mtls"))
    check(rc == 0 and code == "400" and b"No required SSL certificate" in body,
          f"mtls without a client certificate: 400 (got {rc} {code})")
    rc, body, code, version, err = curl("--cacert", ca, "--cert", n.certs.client.cert,
                                        "--key", n.certs.client.key, n.url("mtls"))
    check(rc == 0 and code == "200" and body == MTLS_OK,
          f"mtls with the client certificate: 200 (got {rc} {code} {body!r})")

    # accepts(): its own status connections are left out, so two reads in a row agree and
    # the "https" and "plain" reads agree (stub_status counts for the whole nginx).
    a0 = n.accepts()
    check(n.accepts() == a0 and n.accepts("plain") == a0,
          f"accepts() leaves out its own status reads ({a0})")
    rc, body, code, version, err = curl("--cacert", ca, *[n.url("https")] * 5)
    a1 = n.accepts()
    check(rc == 0 and body.count(HELLO) == 5, "5 requests on one connection answered")
    check(a1 - a0 == 1, f"accepts() rose by 1 for one curl connection ({a0} -> {a1})")
    rc, body, code, version, err = curl("--cacert", ca, "--http1.1", *[n.url("https")] * 3)
    a2 = n.accepts()
    check(a2 - a1 == 1, f"accepts() rose by 1 for 3 HTTP/1.1 keep-alive requests ({a1} -> {a2})")

    rc, body, code, version, err = curl("--cacert", ca, n.url("https", "/big"))
    check(rc == 0 and code == "200" and len(body) == BIG_BYTES,
          f"/big is 1 MiB over TLS ({len(body)} bytes)")
    rc, body, code, version, err = curl(n.url("plain", "/big"))
    check(rc == 0 and len(body) == BIG_BYTES, f"/big is 1 MiB over plain HTTP ({len(body)})")

    rc, body, code, version, err = curl("--cacert", ca, "-D", "-", n.url("https", "/redirect"))
    check(code == "302" and b"\r\nlocation: /\r\n" in body.lower(), f"/redirect: {code} to /")
    rc, body, code, version, err = curl("--cacert", ca, n.url("https", "/204"))
    check(code == "204" and body == b"", f"/204: {code}")

    rc, body, code, version, err = curl(n.url("plain"))
    check(rc == 0 and code == "200" and version == "1.1" and body == HELLO,
          f"plain HTTP/1.1: {rc} {code} HTTP/{version}")

    # The proxy to an upstream, on a second nginx reusing these certificates.
    with Upstream() as up, NginxTls(upstream_port=up.port, certs=n.certs) as p:
        rc, body, code, version, err = curl("--cacert", ca, p.url("https", "/target/a/b?c=1"))
        check(rc == 0 and code == "200" and body == b"upstream /a/b?c=1\n",
              f"/target/ proxied to the upstream: {body!r}")
        # 100 kB is over nginx's body buffer: it goes through client_body_temp_path.
        payload = "x" * 100000
        rc, body, code, version, err = curl("--cacert", ca, "--http2", "--data-binary", payload,
                                            p.url("https", "/echo"))
        check(rc == 0 and code == "200" and body == b"echo " + payload.encode(),
              f"POST /echo of 100 kB proxied over HTTP/2: {code} ({len(body)} bytes)")
    check(os.path.isfile(n.certs.good.cert), "reused certificates are kept by the second stop")

check(not tls_support._alive(pid), f"nginx master {pid} gone after stop")
check(not os.path.exists(nginx_dir), "temp dir removed")
elapsed = time.monotonic() - start
print(f"self-test took {elapsed:.1f} s")
if failures:
    print(f"{len(failures)} check(s) failed:")
    for f in failures:
        print("  - " + f)
    sys.exit(1)
print("all checks passed")
