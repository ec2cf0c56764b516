"""TLS fixtures for strain's integration tests: a throwaway test CA and server/client certificates
made with the openssl CLI, and a private nginx serving HTTPS (HTTP/1.1 and HTTP/2), mutual TLS,
deliberately bad certificates and plain HTTP, all on 127.0.0.1.

Everything is bounded in time; nginx is stopped (SIGTERM, then SIGKILL) and its temporary
directory removed at the end (the `with` block), even when a check fails. Standard library only,
so it can be imported without strain's environment (unlike harness.py).
"""
import atexit
import dataclasses
import grp
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
HELLO = b"hello, strain\n"
MTLS_OK = b"mtls ok\n"
BIG_BYTES = 1 << 20

# Each server block NginxTls starts; "plain" alone is without TLS.
# h2_goaway's connections close after this many requests each (nginx's keepalive_requests).
GOAWAY_AFTER = 50
PORT_NAMES = ("https", "mtls", "self_signed", "wrong_host", "expired", "plain", "h2c",
              "h2_goaway")


@dataclasses.dataclass(frozen=True)
class Pair:
    """A certificate and its private key, both PEM files."""
    cert: str
    key: str


@dataclasses.dataclass(frozen=True)
class Certs:
    """The paths make_certs() wrote. certs.good.cert, or certs["good"].cert."""
    dir: str
    ca: str               # the test CA's certificate: what clients trust (--cacert)
    ca_key: str
    good: Pair            # from the CA; SAN DNS:localhost, IP:127.0.0.1
    wrong_host: Pair      # from the CA; SAN IP:127.0.0.2 only, so 127.0.0.1 is a host mismatch
    expired: Pair         # from the CA; right names, validity wholly in 2020
    self_signed: Pair     # its own issuer, not the CA; right names
    client: Pair          # from the CA; extendedKeyUsage clientAuth, for mutual TLS

    def __getitem__(self, name):
        return getattr(self, name)


# One config for every openssl call (OPENSSL_CONF too), so the system's openssl.cnf and its
# default extensions never leak into the certificates.
_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = strain test

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[good_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[wrong_host_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# `openssl ca` only for the expired certificate: in OpenSSL 3.0 `x509 -req` cannot set a
# notBefore in the past, `ca -startdate/-enddate` can.
[ca]
default_ca = test_ca
[test_ca]
database = {dir}/ca-index.txt
serial = {dir}/ca-serial
new_certs_dir = {dir}/ca-issued
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
"""

# P-256: key generation takes milliseconds, unlike RSA.
_NEWKEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(cnf, *args):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=20,
                       env={**os.environ, "OPENSSL_CONF": cnf})
    if p.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args[:2])} failed ({p.returncode}): "
                             f"{p.stderr.strip()}")


def make_certs(dir):
    """Writes the test CA and the server/client certificates into `dir` (which must exist);
    returns their paths as a Certs. About ten openssl runs, a fraction of a second."""
    dir = os.path.abspath(dir)
    cnf = os.path.join(dir, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(_OPENSSL_CNF.replace("{dir}", dir))
    os.makedirs(os.path.join(dir, "ca-issued"), exist_ok=True)
    open(os.path.join(dir, "ca-index.txt"), "w").close()
    with open(os.path.join(dir, "ca-serial"), "w") as f:
        f.write("1000\n")

    def path(name):
        return Pair(os.path.join(dir, name + ".pem"), os.path.join(dir, name + ".key"))

    ca = path("ca")
    _openssl(cnf, "req", "-x509", *_NEWKEY, "-keyout", ca.key, "-out", ca.cert, "-days", "2",
             "-subj", "/CN=strain test CA", "-config", cnf, "-extensions", "ca_ext")

    def csr(name):
        p = path(name)
        _openssl(cnf, "req", "-new", *_NEWKEY, "-keyout", p.key, "-out", p.cert + ".csr",
                 "-subj", f"/CN=strain {name}", "-config", cnf)
        return p

    def sign(name, ext, serial):
        p = csr(name)
        _openssl(cnf, "x509", "-req", "-in", p.cert + ".csr", "-CA", ca.cert, "-CAkey", ca.key,
                 "-set_serial", str(serial), "-days", "2", "-sha256", "-out", p.cert,
                 "-extfile", cnf, "-extensions", ext)
        return p

    good = sign("good", "good_ext", 1)
    wrong_host = sign("wrong_host", "wrong_host_ext", 2)
    client = sign("client", "client_ext", 3)

    expired = csr("expired")
    _openssl(cnf, "ca", "-batch", "-notext", "-config", cnf, "-in", expired.cert + ".csr",
             "-out", expired.cert, "-cert", ca.cert, "-keyfile", ca.key,
             "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
             "-extfile", cnf, "-extensions", "good_ext")

    self_signed = path("self_signed")
    _openssl(cnf, "req", "-x509", *_NEWKEY, "-keyout", self_signed.key, "-out", self_signed.cert,
             "-days", "2", "-subj", "/CN=strain self-signed", "-config", cnf,
             "-extensions", "good_ext")
    return Certs(dir=dir, ca=ca.cert, ca_key=ca.key, good=good, wrong_host=wrong_host,
                 expired=expired, self_signed=self_signed, client=client)


def free_ports(n):
    """n distinct ports free on 127.0.0.1 a moment ago (all bound at once, then closed);
    someone may take one before nginx binds it, so NginxTls retries on "Address in use"."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _nginx_binary():
    # Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if not found:
        raise AssertionError("nginx is not installed")
    return found


def _alive(pid):
    """True while pid runs; a zombie (daemonized nginx is reaped by init, maybe late) is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _children(pid):
    """The pids whose parent is pid (nginx's workers)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            kids.append(int(entry))
    return kids


class NginxTls:
    """One private nginx on 127.0.0.1 with a server per name in PORT_NAMES, each on its own
    ephemeral port (self.ports[name]):

      https        certs.good, HTTP/1.1 and HTTP/2 (ALPN): / "hello, strain\\n", /status
                   (stub_status), /big (1 MiB), /redirect (302 to /), /204; with upstream_port
                   also /target/... proxied to 127.0.0.1:upstream_port/... and POST /echo
                   proxied to its /echo (body up to 10 MiB)
      mtls         certs.good, client certificate required (from the CA): 200 "mtls ok\\n";
                   without one nginx answers 400
      self_signed, wrong_host, expired
                   that certificate: 200 "hello, strain\\n" to any path
      plain        no TLS: the same locations as https (not /target/, /echo)
      h2c          no TLS, HTTP/2 with prior knowledge only: the same locations as plain
      h2_goaway    certs.good, HTTP/2: / as https, but each connection closes (GOAWAY) after
                   GOAWAY_AFTER requests

    `certs`: a Certs to reuse (not removed at stop); by default new ones in the temp dir.
    Use as a context manager; stop() is idempotent.
    """

    def __init__(self, upstream_port=None, certs=None, worker_connections=4096):
        self.dir = tempfile.mkdtemp(prefix="strain-tls-nginx.")
        self.upstream_port = upstream_port
        self.pid = None
        self._workers = []
        # Connections this object made itself (readiness probes, status reads): accepts()
        # leaves them out.
        self._own_connections = 0
        self._stopped = False
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        self.pid_file = os.path.join(self.dir, "nginx.pid")
        self.ports = {}
        atexit.register(self.stop)  # a script that dies outside `with` still stops nginx
        # SIGTERM (a harness stopping the test) would skip atexit and leave a daemon nginx:
        # turn it into an exit, which runs the cleanup.
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            try:
                signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
            except ValueError:  # not the main thread
                pass
        try:
            self.certs = certs or make_certs(self._mkdir("certs"))
            self.ca = self.certs.ca
            with open(os.path.join(self.dir, "big.bin"), "wb") as f:
                f.write((b"strain big body " * (BIG_BYTES // 16 + 1))[:BIG_BYTES])
            self._mkdir("tmp")
            self._start(worker_connections)
        except BaseException:
            self.stop()
            raise

    def _mkdir(self, name):
        path = os.path.join(self.dir, name)
        os.makedirs(path, exist_ok=True)
        return path

    # --- configuration ------------------------------------------------------------------

    def _common_locations(self):
        big = os.path.join(self.dir, "big.bin")
        return f"""
    location = / {{ return 200 "hello, strain\\n"; }}
    location = /status {{ stub_status; }}
    location = /big {{ alias {big}; default_type application/octet-stream; }}
    location = /redirect {{ return 302 /; }}
    location = /204 {{ return 204; }}"""

    def _config(self, worker_connections):
        d, c, p = self.dir, self.certs, self.ports
        tmp = os.path.join(d, "tmp")
        # As root the workers would drop to "nobody" and could not read the 0700 temp dir
        # (/big, request body and proxy temp files): keep them as whoever runs the test.
        user = ""
        if os.geteuid() == 0:
            user = (f"user {pwd.getpwuid(os.geteuid()).pw_name} "
                    f"{grp.getgrgid(os.getegid()).gr_name};")

        def bad_cert_server(name):
            pair = c[name]
            return f"""
  server {{
    listen {HOST}:{p[name]} ssl;
    ssl_certificate {pair.cert};
    ssl_certificate_key {pair.key};
    location / {{ return 200 "hello, strain\\n"; }}
  }}"""

        upstream = proxied = ""
        if self.upstream_port is not None:
            # Straight to strain-target's address: nginx opens an upstream connection per
            # request, which the tests here (delays, hangs) do not mind.
            target = f"{HOST}:{self.upstream_port}"
            proxied = f"""
    location /target/ {{
      proxy_pass http://{target}/;
    }}
    location = /echo {{
      client_max_body_size 10m;
      proxy_pass http://{target};
    }}"""
        return f"""\
worker_processes 1;
daemon on;
{user}
pid {self.pid_file};
error_log {self.error_log} warn;
worker_rlimit_nofile {2 * worker_connections + 64};
events {{ worker_connections {worker_connections}; }}
http {{
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  # A relative Location ("/"), never one built from a host name.
  absolute_redirect off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;{upstream}
  server {{
    # nginx 1.22 syntax; 1.25 moved http2 to its own directive.
    listen {HOST}:{p["https"]} ssl http2;
    ssl_certificate {c.good.cert};
    ssl_certificate_key {c.good.key};{self._common_locations()}{proxied}
  }}
  server {{
    listen {HOST}:{p["mtls"]} ssl;
    ssl_certificate {c.good.cert};
    ssl_certificate_key {c.good.key};
    ssl_verify_client on;
    ssl_client_certificate {c.ca};
    location / {{ return 200 "mtls ok\\n"; }}
  }}{bad_cert_server("self_signed")}{bad_cert_server("wrong_host")}{bad_cert_server("expired")}
  server {{
    listen {HOST}:{p["plain"]};{self._common_locations()}
  }}
  server {{
    listen {HOST}:{p["h2c"]} http2;{self._common_locations()}
  }}
  server {{
    listen {HOST}:{p["h2_goaway"]} ssl http2;
    ssl_certificate {c.good.cert};
    ssl_certificate_key {c.good.key};
    keepalive_requests {GOAWAY_AFTER};
    location / {{ return 200 "hello, strain\n"; }}
  }}
}}
"""

    # --- start and stop -------------------------------------------------------------------

    def _start(self, worker_connections):
        for attempt in range(5):
            self.ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES))))
            with open(self.conf, "w") as f:
                f.write(self._config(worker_connections))
            for stale in (self.error_log, self.pid_file):
                if os.path.exists(stale):
                    os.remove(stale)
            # stdout/stderr to files, not pipes: the daemon would inherit a pipe and keep it open.
            with open(os.path.join(self.dir, "nginx.out"), "w") as out:
                # nginx retries a busy port for ~2.5 s before giving up.
                rc = subprocess.run([_nginx_binary(), "-c", self.conf, "-p", self.dir,
                                     "-e", self.error_log],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    timeout=20).returncode
            if rc == 0:
                break
            if "Address already in use" not in self._log() or attempt == 4:
                raise AssertionError(f"nginx did not start (exit {rc}):\n{self._log()}")
        self._wait_ready(5.0)

    def _log(self):
        text = ""
        for name in ("nginx.out", "error.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def _read_pid(self, wait_s):
        # The daemon writes its pid file just after the nginx command has returned.
        deadline = time.monotonic() + wait_s
        while True:
            try:
                with open(self.pid_file) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.02)

    def _wait_ready(self, timeout_s):
        """Until the pid file exists and every port accepts a TCP connection, then one /status
        answered on "plain" (the worker serves, not just the listen backlog)."""
        deadline = time.monotonic() + timeout_s
        self.pid = self._read_pid(timeout_s)
        pending = dict(self.ports)
        while pending and self.pid:
            for name, port in list(pending.items()):
                try:
                    with socket.create_connection((HOST, port), timeout=0.5):
                        self._own_connections += 1
                    del pending[name]
                except OSError:
                    pass
            if not pending or time.monotonic() >= deadline or not _alive(self.pid):
                break
            time.sleep(0.05)
        if not self.pid or pending:
            raise AssertionError(f"nginx not ready in {timeout_s:.0f} s (pid {self.pid}, "
                                 f"ports not accepting: {sorted(pending)}):\n{self._log()}")
        try:
            self.status("plain")
        except OSError as e:
            raise AssertionError(f"nginx does not answer /status: {e}\n{self._log()}")
        self._workers = _children(self.pid)

    def stop(self):
        """SIGTERM nginx (fast shutdown), SIGKILL master and workers still there after 3 s,
        wait until they are gone, remove the temp dir."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        pid = self.pid or (self._read_pid(2.0) if os.path.exists(self.conf) else None)
        if pid and _alive(pid) and self._is_ours(pid):
            procs = [pid, *set(self._workers) | set(_children(pid))]
            self._signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + 3.0
            while any(map(_alive, procs)) and time.monotonic() < deadline:
                time.sleep(0.02)
            for p in procs:
                if _alive(p):
                    self._signal(p, signal.SIGKILL)
            deadline = time.monotonic() + 3.0
            while any(map(_alive, procs)) and time.monotonic() < deadline:
                time.sleep(0.02)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _is_ours(self, pid):
        """The pid file's process is this nginx (its command line names our config), never a
        reused pid."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return self.conf.encode() in f.read()
        except OSError:
            return False

    @staticmethod
    def _signal(pid, sig):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- use --------------------------------------------------------------------------

    def url(self, name="https", path="/"):
        """e.g. https://127.0.0.1:P/ ("http://" for "plain")."""
        scheme = "http" if name in ("plain", "h2c") else "https"
        return f"{scheme}://{HOST}:{self.ports[name]}{path}"

    def client_context(self):
        """An ssl.SSLContext trusting the test CA (hostname checked: 127.0.0.1 is in SAN)."""
        return ssl.create_default_context(cafile=self.ca)

    def status(self, name="https"):
        """nginx's stub_status as read now, raw: {active, accepts, handled, requests, reading,
        writing, waiting}. Over HTTPS (trusting the CA) for "https", plain HTTP for "plain".
        Each call is one new connection, so it is itself in accepts/handled/requests."""
        if name == "plain":
            conn = http.client.HTTPConnection(HOST, self.ports["plain"], timeout=5)
        elif name == "https":
            conn = http.client.HTTPSConnection(HOST, self.ports["https"], timeout=5,
                                               context=self.client_context())
        else:
            raise ValueError(f"no /status on {name!r}: use 'https' or 'plain'")
        self._own_connections += 1
        try:
            conn.request("GET", "/status", headers={"Connection": "close"})
            resp = conn.getresponse()
            text = resp.read().decode()
        finally:
            conn.close()
        if resp.status != 200:
            raise AssertionError(f"/status answered {resp.status}: {text!r}")
        m = re.search(r"Active connections:\s*(\d+).*?(\d+)\s+(\d+)\s+(\d+)\s*Reading:\s*(\d+)"
                      r"\s*Writing:\s*(\d+)\s*Waiting:\s*(\d+)", text, re.S)
        if not m:
            raise AssertionError(f"unexpected stub_status: {text!r}")
        keys = ("active", "accepts", "handled", "requests", "reading", "writing", "waiting")
        return dict(zip(keys, map(int, m.groups())))

    def accepts(self, port_name="https"):
        """Connections nginx has accepted, less the ones this object made itself: the readiness
        probes at start and every status read, this one included. So it is 0 just after start
        and a client's new connections are the difference between two calls.

        stub_status counts for the whole nginx (its single worker), across all its servers,
        not per port; `port_name` ("https" or "plain") only picks where /status is read.
        A connection counts once nginx has accept()ed it: read this after the client is done
        (a connection still in the listen backlog is not counted yet)."""
        return self.status(port_name)["accepts"] - self._own_connections
