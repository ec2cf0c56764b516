"""Fixtures of the fault matrix (fault_matrix_test.py): faults that must reach strain's client
directly, and an nginx that passes strain-target's faults on as faithfully as a proxy can.

  FaultServer   a small threaded server on 127.0.0.1, plain or TLS (ALPN h2 and/or http/1.1),
                speaking just enough HTTP/1.1 and HTTP/2 to misbehave on purpose: a reset or
                a close in the middle of a response, a request never answered, bytes that are
                not HTTP, a TLS handshake that never ends. It counts what it did (connections,
                requests, faults), the truth strain's counts are checked against.
  NginxFaults   tls_support.NginxTls with /target/ proxied to strain-target on every server
                (https, plain, h2c), unbuffered so a trickle stays a trickle, plus an HTTPS
                server without HTTP/2 ("tls_h1") and HTTP/2 ones that close (GOAWAY) every
                connection after a few requests ("h2_close", "h2c_close"); kill_and_restart()
                SIGKILLs it and starts it again on the same ports, as a crashed server that
                comes back.

Loopback only, bounded: at most MAX_CONNECTIONS connection threads (beyond, a connection is
closed at once), every socket has a timeout, a hang lasts at most hang_s, and stop() (the `with`
block) closes everything and joins the threads.
"""
import os
import random
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time

from tls_support import HOST, NginxTls, _alive, _children, _nginx_binary, free_ports

MAX_CONNECTIONS = 128
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GARBAGE = b"NOT-HTTP garbage\r\n\r\n"

# HTTP/2 frame types and flags (RFC 9113 §6).
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0, 1, 3, 4, 6, 7, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
# HPACK: ":status: 200" (static index 8), then content-length (static name 28) "100" literal.
H2_STATUS_200 = b"\x88"
H2_LENGTH_100 = b"\x0f\x0d\x03100"


def _frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream & 0x7FFFFFFF) + payload


class _Closed(Exception):
    pass


class FaultServer:
    """Modes, one per server (every request gets it):
      ok       a 200 with a 6-byte body, keep-alive
      reset    the status line and part of the head (HTTP/2: HEADERS and 10 of 100 body
               bytes), then a TCP reset (SO_LINGER 0)
      hang     the request is read and never answered; the connection is held until the
               client closes it, hang_s passes, or the server stops
      garbage  bytes that are not HTTP (nor an HTTP/2 frame), then a close (a FIN)
      truncate the head and 10 of 100 body bytes, then a plain close (a FIN; over TLS no
               close_notify): a server that dies mid-response without a reset
      silent   the connection is accepted and held, nothing read or sent: a TLS handshake
               that never completes (held as a hang is)
    `tls`: an ssl.SSLContext (server side) or None; `alpn`: protocols offered by ALPN.
    Plain connections starting with the HTTP/2 preface are spoken to in HTTP/2 (h2c)."""

    def __init__(self, mode, tls=None, hang_s=3.0):
        assert mode in ("ok", "reset", "hang", "garbage", "silent", "truncate")
        self.mode, self.tls, self.hang_s = mode, tls, hang_s
        self.counts = {"connections": 0, "handshake_failures": 0, "requests": 0, "faults": 0,
                       "answered": 0, "rejected": 0}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._threads = []
        self._socks = set()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(128)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def url(self, path="/", scheme=None):
        return f"{scheme or ('https' if self.tls else 'http')}://{HOST}:{self.port}{path}"

    def _bump(self, key, n=1):
        with self._lock:
            self.counts[key] += n

    def snapshot(self):
        with self._lock:
            return dict(self.counts)

    # --- connections ---------------------------------------------------------------------

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._bump("connections")
            if not self._slots.acquire(blocking=False):
                self._bump("rejected")
                conn.close()
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._threads = [x for x in self._threads if x.is_alive()]
                self._threads.append(t)
            t.start()

    def _serve(self, raw):
        sock = raw
        with self._lock:
            self._socks.add(raw)
        try:
            raw.settimeout(0.1)
            if self.mode == "silent":
                self._bump("faults")
                return self._hold(raw)
            if self.tls:
                raw.settimeout(2.0)
                try:
                    sock = self.tls.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError):
                    self._bump("handshake_failures")
                    return
                sock.settimeout(0.1)
                h2 = sock.selected_alpn_protocol() == "h2"
            else:
                h2 = self._recv_exact(sock, 0, peek=True).startswith(b"PRI")
            (self._serve_h2 if h2 else self._serve_h1)(sock)
        except (_Closed, OSError, ssl.SSLError):
            pass
        finally:
            with self._lock:
                self._socks.discard(raw)
            try:
                sock.close()
            except OSError:
                pass
            self._slots.release()

    def _recv(self, sock, deadline=None):
        """Some bytes; b"" never (a close raises _Closed). Waits while the server runs and
        until `deadline` (monotonic), then raises _Closed."""
        while not self._stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                data = sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            if not data:
                break
            return data
        raise _Closed()

    def _recv_exact(self, sock, n, peek=False):
        """At least n bytes (all that came); peek: the first bytes of a plain socket, left
        in place."""
        if peek:
            deadline = time.monotonic() + 2.0
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    data = sock.recv(3, socket.MSG_PEEK)
                except socket.timeout:
                    continue
                if len(data) >= 3 or not data:
                    return data
                time.sleep(0.005)
            raise _Closed()
        buf = b""
        while len(buf) < n:
            buf += self._recv(sock, time.monotonic() + 5.0)
        return buf

    def _reset(self, sock):
        """A TCP reset: SO_LINGER on, 0 s, then close (no close_notify on TLS)."""
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        raise _Closed()

    def _close(self, sock):
        """A plain close (FIN) after what was sent: the client's bytes still coming are read
        and dropped until it closes (at most 1 s), so the close never turns into a reset that
        could destroy what was sent before it reached the client."""
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 1.0
            while True:
                self._recv(sock, deadline)
        except (_Closed, OSError, ValueError):
            pass
        raise _Closed()

    def _fault(self, sock, data, end):
        """One fault: `data` (a part of a response, or garbage), counted, then `end(sock)`
        (a reset, a close or a hang)."""
        if data:
            sock.sendall(data)
        self._bump("faults")
        end(sock)

    def _hold(self, sock):
        """A hang: read and discard until the client closes, hang_s passes or stop."""
        deadline = time.monotonic() + self.hang_s
        while True:
            self._recv(sock, deadline)

    # --- HTTP/1.1 ------------------------------------------------------------------------

    def _serve_h1(self, sock):
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                if len(buf) > 65536:
                    raise _Closed()
                buf += self._recv(sock)
            _, _, buf = buf.partition(b"\r\n\r\n")  # GETs only: no request body
            self._bump("requests")
            if self.mode == "ok":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
                self._bump("answered")
            elif self.mode == "reset":
                self._fault(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Fill: ",
                            self._reset)
            elif self.mode == "hang":
                self._fault(sock, b"", self._hold)
            elif self.mode == "truncate":
                self._fault(sock, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10,
                            self._close)
            else:
                self._fault(sock, GARBAGE + random.randbytes(256), self._close)

    # --- HTTP/2 --------------------------------------------------------------------------

    def _serve_h2(self, sock):
        buf = self._recv_exact(sock, len(H2_PREFACE))
        if not buf.startswith(H2_PREFACE):
            raise _Closed()
        buf = buf[len(H2_PREFACE):]
        sock.sendall(_frame(SETTINGS, 0, 0))
        while True:
            while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
                buf += self._recv(sock)
            length = int.from_bytes(buf[:3], "big")
            ftype, flags = buf[3], buf[4]
            stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload, buf = buf[9:9 + length], buf[9 + length:]
            if ftype == SETTINGS and not flags & ACK:
                sock.sendall(_frame(SETTINGS, ACK, 0))
            elif ftype == PING and not flags & ACK:
                sock.sendall(_frame(PING, ACK, 0, payload))
            elif ftype == GOAWAY:
                raise _Closed()
            elif ftype == HEADERS:
                self._bump("requests")
                self._h2_answer(sock, stream)

    def _h2_answer(self, sock, stream):
        if self.mode == "ok":
            sock.sendall(_frame(HEADERS, END_HEADERS, stream, H2_STATUS_200) +
                         _frame(DATA, END_STREAM, stream, b"hello\n"))
            self._bump("answered")
        elif self.mode in ("reset", "truncate"):
            head = H2_STATUS_200 + H2_LENGTH_100
            head_and_10_of_100 = (_frame(HEADERS, END_HEADERS, stream, head) +
                                  _frame(DATA, 0, stream, b"x" * 10))
            self._fault(sock, head_and_10_of_100,
                        self._reset if self.mode == "reset" else self._close)
        elif self.mode == "hang":
            self._bump("faults")  # this stream is never answered; later ones neither
        else:
            self._fault(sock, GARBAGE + random.randbytes(256), self._close)

    # --- stop ----------------------------------------------------------------------------

    def stop(self):
        if self._stop.is_set():
            return
        self._stop.set()
        try:
            self.listener.close()
        except OSError:
            pass
        self._acceptor.join(timeout=5)
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def server_context(certs, alpn):
    """A server-side SSLContext with certs.good and these ALPN protocols."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.good.cert, certs.good.key)
    ctx.set_alpn_protocols(list(alpn))
    return ctx


# ------------------------------------------------------------------------------------------

CLOSE_AFTER = 5  # h2_close: GOAWAY after this many requests on a connection


class NginxFaults(NginxTls):
    """NginxTls with strain-target behind /target/ on "https", "plain" and "h2c", and three
    more servers: "tls_h1" (HTTPS without HTTP/2), "h2_close" and "h2c_close" (HTTP/2 over TLS
    and cleartext, GOAWAY after CLOSE_AFTER requests per connection). The proxy is unbuffered
    and never retries, so a trickle reaches the client as a trickle and a fault is seen once;
    what nginx cannot pass on it answers with a 502 (an upstream reset, garbage, an oversized
    head, a dead upstream)."""

    EXTRA_PORTS = ("tls_h1", "h2_close", "h2c_close")

    def __init__(self, upstream_port, certs=None):
        self._fault_upstream = upstream_port
        super().__init__(upstream_port=None, certs=certs)

    def _proxied(self):
        return f"""
    location /target/ {{
      proxy_pass http://{HOST}:{self._fault_upstream}/;
      proxy_buffering off;
      proxy_next_upstream off;
      proxy_read_timeout 20s;
      proxy_connect_timeout 2s;
    }}"""

    def _common_locations(self):
        return super()._common_locations() + self._proxied()

    def _config(self, worker_connections):
        for name in self.EXTRA_PORTS:
            if name not in self.ports:
                self.ports[name] = free_ports(1)[0]
        c, p = self.certs, self.ports
        base = super()._config(worker_connections).rstrip()
        assert base.endswith("}")
        extra = f"""
  server {{
    listen {HOST}:{p["tls_h1"]} ssl;
    ssl_certificate {c.good.cert};
    ssl_certificate_key {c.good.key};{self._common_locations()}
  }}
  server {{
    listen {HOST}:{p["h2_close"]} ssl http2;
    ssl_certificate {c.good.cert};
    ssl_certificate_key {c.good.key};
    keepalive_requests {CLOSE_AFTER};{self._common_locations()}
  }}
  server {{
    listen {HOST}:{p["h2c_close"]} http2;
    keepalive_requests {CLOSE_AFTER};{self._common_locations()}
  }}
"""
        return base[:-1] + extra + "}\n"

    def url(self, name="https", path="/"):
        scheme = "http" if name in ("plain", "h2c", "h2c_close") else "https"
        return f"{scheme}://{HOST}:{self.ports[name]}{path}"

    def kill_and_restart(self, down_s, just_before=None):
        """SIGKILL the master and its workers (connections die with them, unanswered), wait
        `down_s`, start nginx again with the same configuration and ports. `just_before()`
        runs right before the kill (e.g. a last status read)."""
        procs = [self.pid, *set(self._workers) | set(_children(self.pid))]
        if just_before:
            just_before()
        for pid in procs:
            self._signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 3.0
        while any(map(_alive, procs)) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(down_s)
        if os.path.exists(self.pid_file):
            os.remove(self.pid_file)
        with open(os.path.join(self.dir, "nginx.out"), "a") as out:
            rc = subprocess.run([_nginx_binary(), "-c", self.conf, "-p", self.dir,
                                 "-e", self.error_log], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, timeout=20).returncode
        if rc != 0:
            raise AssertionError(f"nginx did not restart (exit {rc}):\n{self._log()}")
        self._wait_ready(5.0)
