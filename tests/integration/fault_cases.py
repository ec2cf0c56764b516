"""The fault matrix's cases as data: transport x fault x model x script, what each must give.
Run by fault_matrix_test.py (its docstring says how each case is judged)."""
import dataclasses

from fault_server import CLOSE_AFTER


# transport: strain's flags, whether the URL is https://, and where strain-target is reached.
TRANSPORTS = {
    "h1": (["--transport", "native"], False),
    "curl": (["--transport", "curl"], False),
    "tls": (["--transport", "native"], True),
    "curl-tls": (["--transport", "curl"], True),
    "h2": (["--transport", "native", "--http2"], True),
    "curl-h2": (["--transport", "curl", "--http2"], True),
    "h2c": (["--transport", "native", "--http2"], False),
}
DIRECT = ("h1", "curl")        # straight to strain-target; the others through nginx


@dataclasses.dataclass
class Case:
    transport: str
    fault: str
    model: str                 # "closed" (-c N -d) or "open" (--rate R -d)
    script: bool               # a Lua script doing one GET per iteration, or --url
    want: str                  # the error kind or status every failure (or answer) must be
    allow: tuple = ()          # other kinds/statuses that may appear beside it
    note: str = ""             # what the case name says about how the fault arrives

    @property
    def name(self):
        lua = "+lua" if self.script else ""
        note = f" {self.note}" if self.note else ""
        return f"{self.transport} {self.fault}{note} {self.model}{lua}"


def C(transport, fault, model, script, want, allow=(), note=""):
    return Case(transport, fault, model, script, want, tuple(allow), note)


O, S = "open", True            # shorthands for the table below
CL, U = "closed", False
END = ("abandoned",)           # a request still out when the run stops is abandoned, honestly
# Killing a server: in-flight requests die (reset or closed), connects are refused while it is
# down (one racing the kill or the restart may fail otherwise), a TLS handshake under way
# fails; an HTTP/2 VU waiting for the dead connection's replacement may time out.
KILLED = ("reset", "closed", "connect_refused", "connect_error", "tls_handshake", "timeout",
          "abandoned")

CASES = [
    # --- no fault: the control rows, and the healthy peak RSS the bound is built on
    C("h1", "none", CL, U, "200"),
    C("curl", "none", O, S, "200"),
    C("tls", "none", O, U, "200"),
    C("curl-tls", "none", CL, S, "200"),
    C("h2", "none", CL, S, "200"),
    C("curl-h2", "none", O, U, "200"),
    C("h2c", "none", O, S, "200"),
    # --- connection refused: nothing listens on the port. Every transport backs off between
    # failed connects (README: a refused target gets a few connects per VU per second, not a
    # storm), checked against a bound
    # A request still waiting out its back-off when the run stops is abandoned.
    C("h1", "refused", O, S, "connect_refused", END),
    C("curl", "refused", CL, U, "connect_refused", END),
    C("tls", "refused", CL, S, "connect_refused", END),
    C("curl-tls", "refused", O, U, "connect_refused", END),
    # An HTTP/2 VU waits for the shared connection; the back-off between refused connects can
    # outlast its request timeout (counted from the VU's start, README: Protocols).
    C("h2", "refused", O, U, "connect_refused", ("timeout",)),
    C("curl-h2", "refused", CL, S, "connect_refused", END),
    C("h2c", "refused", CL, U, "connect_refused", ("timeout",)),
    # --- reset in the middle of a response
    C("h1", "reset", CL, S, "reset"),
    C("curl", "reset", O, U, "reset"),
    C("tls", "reset", O, S, "502", note="via nginx"),
    C("h2", "reset", CL, U, "502", note="via nginx"),
    C("h2c", "reset", O, U, "502", note="via nginx"),
    C("tls", "reset@server", CL, U, "reset", note="TLS server"),
    C("curl-tls", "reset@server", O, S, "reset", note="TLS server"),
    C("h2", "reset@server", O, S, "reset", note="TLS server"),
    # libcurl ends the other streams of the reset connection as empty replies (closed); native
    # HTTP/2 fails them all as reset
    C("curl-h2", "reset@server", CL, U, "reset", ("closed",), "TLS server"),
    C("h2c", "reset@server", CL, S, "reset", note="h2c server"),
    # --- closed mid-response without a reset (over TLS without close_notify, as a crash does)
    C("tls", "truncate@server", O, S, "closed", note="TLS server"),
    C("h2", "truncate@server", CL, U, "closed", note="TLS server"),
    # --- hang past --timeout: the request is read and never answered
    C("h1", "hang", O, U, "timeout", END),
    C("curl", "hang", CL, S, "timeout", END),
    C("tls", "hang", CL, U, "timeout", END, "via nginx"),
    C("curl-tls", "hang", O, S, "timeout", END, "via nginx"),
    C("h2", "hang", O, U, "timeout", END, "via nginx"),
    C("curl-h2", "hang", CL, U, "timeout", END, "via nginx"),
    C("h2c", "hang", CL, S, "timeout", END, "via nginx"),
    # --- trickle within the timeout (100 B every 10 ms, 500 B): answered
    C("h1", "trickle-ok", CL, U, "200"),
    C("curl", "trickle-ok", O, S, "200"),
    C("tls", "trickle-ok", O, U, "200", note="via nginx"),
    C("curl-tls", "trickle-ok", CL, U, "200", note="via nginx"),
    C("h2", "trickle-ok", CL, S, "200", note="via nginx"),
    C("curl-h2", "trickle-ok", O, S, "200", note="via nginx"),
    C("h2c", "trickle-ok", O, U, "200", note="via nginx"),
    # --- trickle past it (10 B every 100 ms, 100 B = 1 s): bytes keep coming, so the read-idle
    # timeout never fires; the request timeout must
    C("h1", "trickle-slow", O, S, "timeout", END),
    C("curl", "trickle-slow", CL, U, "timeout", END),
    C("tls", "trickle-slow", CL, S, "timeout", END, "via nginx"),
    C("curl-tls", "trickle-slow", O, U, "timeout", END, "via nginx"),
    C("h2", "trickle-slow", O, S, "timeout", END, "via nginx"),
    C("curl-h2", "trickle-slow", CL, S, "timeout", END, "via nginx"),
    C("h2c", "trickle-slow", CL, U, "timeout", END, "via nginx"),
    # --- garbage: bytes that are not HTTP, then a close
    C("h1", "garbage", O, U, "bad_response"),
    C("curl", "garbage", CL, S, "bad_response"),
    # nginx passes the garbage on as an HTTP/0.9 body: over HTTP/1.1 a response with no status
    # line, over HTTP/2 a ":status: 000" (nghttp2 rejects the stream: protocol; libcurl hands
    # over status 0: bad_response)
    C("tls", "garbage", CL, S, "bad_response", note="via nginx: HTTP/0.9"),
    C("h2", "garbage", O, U, "protocol", note="via nginx: :status 000"),
    C("curl-h2", "garbage", CL, U, "bad_response", note="via nginx: :status 000"),
    C("h2c", "garbage", CL, S, "protocol", note="via nginx: :status 000"),
    C("curl-tls", "garbage@server", O, U, "bad_response", note="TLS server"),
    C("h2", "garbage@server", CL, S, "protocol", END, note="TLS server: not a frame"),
    # --- oversized headers (1 MiB of fields)
    C("h1", "big-header", CL, U, "bad_response"),
    C("curl", "big-header", O, U, "bad_response"),
    C("tls", "big-header", O, S, "502", note="via nginx"),
    C("curl-tls", "big-header", CL, S, "502", note="via nginx"),
    C("h2", "big-header", CL, U, "502", note="via nginx"),
    C("curl-h2", "big-header", O, S, "502", note="via nginx"),
    C("h2c", "big-header", O, U, "502", note="via nginx"),
    # --- oversized body (2 MiB each): answered, never kept by a --url run, memory flat
    C("h1", "big-body", O, S, "200"),
    C("curl", "big-body", CL, U, "200"),
    C("tls", "big-body", CL, U, "200", note="via nginx"),
    C("curl-tls", "big-body", O, S, "200", note="via nginx"),
    C("h2", "big-body", O, U, "200", note="via nginx"),
    C("curl-h2", "big-body", CL, S, "200", note="via nginx"),
    C("h2c", "big-body", CL, U, "200", note="via nginx"),
    # --- Connection: close storms: a new connection for every request (HTTP/2: a GOAWAY every
    # CLOSE_AFTER requests, the streams nginx refused sent again)
    C("h1", "close", CL, S, "200", note="Connection: close"),
    C("curl", "close", O, U, "200", note="server closes"),
    C("tls", "close", O, U, "200", note="Connection: close"),
    C("curl-tls", "close", CL, S, "200", note="Connection: close"),
    C("h2", "close", CL, U, "200", note=f"GOAWAY/{CLOSE_AFTER}"),
    # libcurl 7.88 fails some streams of a GOAWAY as reset (README: Protocols)
    C("curl-h2", "close", O, S, "200", ("reset",), note=f"GOAWAY/{CLOSE_AFTER}"),
    C("h2c", "close", O, S, "200", note=f"GOAWAY/{CLOSE_AFTER}"),
    # --- TLS handshake failures
    # Handshakes that fail are failed connects: the next waits out a back-off, and one still
    # waiting when the run stops is abandoned.
    C("tls", "wrong-ca", O, U, "tls_unknown_ca", END),
    C("curl-tls", "wrong-ca", CL, U, "tls_unknown_ca", END),
    # HTTP/2 VUs waiting for the connection that keeps failing may time out (as refused)
    C("h2", "wrong-ca", CL, S, "tls_unknown_ca", END + ("timeout",)),
    C("curl-h2", "wrong-ca", O, S, "tls_unknown_ca", END),
    C("tls", "not-tls", CL, U, "tls_handshake", END, note="plain HTTP server"),
    C("curl-tls", "not-tls", O, S, "tls_handshake", END, note="plain HTTP server"),
    C("h2", "not-tls", O, U, "tls_handshake", END + ("timeout",), note="plain HTTP server"),
    C("curl-h2", "not-tls", CL, S, "tls_handshake", END, note="plain HTTP server"),
    C("h2", "no-h2-alpn", O, S, "tls_handshake", END + ("timeout",)),
    # README: a server that does not choose h2 fails the handshake (tls_handshake)
    C("curl-h2", "no-h2-alpn", CL, U, "tls_handshake", END),
    C("tls", "handshake-hang", O, S, "connect_timeout", END, "silent server"),
    C("curl-tls", "handshake-hang", CL, U, "connect_timeout", END, "silent server"),
    C("h2", "handshake-hang", CL, U, "connect_timeout", END + ("timeout",), "silent server"),
    # The plain transports' counterparts: http:// to a TLS port (nginx answers 400), and h2c
    # prior knowledge to an HTTP/1.1-only server (its answer is not HTTP/2 framing: protocol)
    C("h1", "http-to-tls", O, U, "400"),
    C("curl", "http-to-tls", CL, S, "400"),
    C("h2c", "h2c-to-h1", O, U, "protocol", END, note="strain-target answers in HTTP/1.1"),
    # --- the server killed (SIGKILL) mid-run and started again on the same port
    C("h1", "killed", CL, U, "200", KILLED),
    C("curl", "killed", O, S, "200", KILLED),
    C("tls", "killed", O, U, "200", KILLED, "nginx"),
    C("curl-tls", "killed", CL, U, "200", KILLED, "nginx"),
    C("h2", "killed", CL, S, "200", KILLED, "nginx"),
    C("curl-h2", "killed", O, U, "200", KILLED, "nginx"),
    C("h2c", "killed", O, S, "200", KILLED, "nginx"),
]
