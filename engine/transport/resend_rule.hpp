// When a request that failed on a kept-alive connection may honestly be sent again: pure.
#pragma once

#include <cstdint>

namespace strain {

// What is known when a request ends in a close or reset.
struct FailedSend {
  bool reused = false;             // it went out on a connection an earlier exchange opened
  bool idempotent = false;         // its method may be repeated (RFC 9110 §9.2.2: not POST)
  bool resent = false;             // it is itself the one resend
  std::uint64_t bytes_in = 0;      // response bytes received before the failure
  std::int64_t sent_ns = 0;        // when its first byte was written
  std::int64_t failed_ns = 0;      // when the close or reset was seen
  std::int64_t round_trip_ns = 0;  // the connection's round trip, timed on its handshake
};

// A resend is honest only when the server closed the connection before it could have processed
// the request: then the failure is the server's keep-alive housekeeping racing our send, and
// browsers and curl resend too. A close the server makes after it has read the request reaches
// us at least one round trip after the send (the request's way there, the close's way back), so
// a close seen later than that may be the server's answer to this request (a hang then a close,
// a crash, a drop under load): it is reported, never hidden. Closes seen before the send are
// not here: the idle probe reconnects before sending. Never for a request that is not
// idempotent, never for one that got any response byte, never twice.
inline bool may_resend(const FailedSend& f) {
  return f.reused && f.idempotent && !f.resent && f.bytes_in == 0 &&
         f.failed_ns - f.sent_ns <= f.round_trip_ns;
}

}  // namespace strain
