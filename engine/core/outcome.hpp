// Why an exchange failed: the vocabulary shared by transports, recorders and results.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace strain {

// Why a request got no complete HTTP response. HTTP statuses are not here. `dropped` and
// `abandoned` are arrivals and requests the run itself gave up on: failures like the rest,
// since they are exactly the slowest ones (leaving them out would flatter every figure).
enum class ErrorKind : std::uint8_t {
  none = 0,
  connect_refused,  // ECONNREFUSED: nothing listening
  connect_timeout,  // connect did not finish within --connect-timeout
  connect_error,    // any other connect failure (unreachable, refused by a firewall)
  reset,            // ECONNRESET / EPIPE while sending or receiving
  timeout,          // no complete response within --timeout
  closed,           // peer closed the connection before the response was complete
  bad_response,     // the bytes received were not valid HTTP/1.x
  other,            // anything else; should stay at zero
  local_limit,  // strain ran out of descriptors or ports: the generator's limit, not the target's
  dropped,      // open model: an arrival never started (backlog full, or still waiting at stop)
  abandoned,    // sent, but unanswered when the run gave up on it (drain over, graceful stop)
  dns,          // the host name did not resolve
  // TLS: the kind says why the handshake or the certificate check failed.
  tls_unknown_ca,  // the certificate's issuer is not trusted (self-signed, no --cacert)
  tls_expired,     // the certificate is expired or not yet valid
  tls_wrong_host,  // the certificate does not name the host connected to
  tls_handshake,   // any other TLS failure: no shared protocol or cipher, bad client cert
  protocol,        // the HTTP/2 or HTTP/3 framing failed, or too many redirects
};

inline constexpr std::size_t error_kind_count = 18;

inline constexpr std::array<std::string_view, error_kind_count> error_kind_names = {
    "none",   "connect_refused", "connect_timeout", "connect_error",  "reset",         "timeout",
    "closed", "bad_response",    "other",           "local_limit",    "dropped",       "abandoned",
    "dns",    "tls_unknown_ca",  "tls_expired",     "tls_wrong_host", "tls_handshake", "protocol",
};

// True for the four TLS kinds.
inline constexpr bool is_tls_error(ErrorKind kind) {
  return kind >= ErrorKind::tls_unknown_ca && kind <= ErrorKind::tls_handshake;
}

inline constexpr std::string_view to_string(ErrorKind kind) {
  return error_kind_names[static_cast<std::size_t>(kind)];
}

}  // namespace strain
