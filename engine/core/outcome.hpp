// Why an exchange failed: the vocabulary shared by transports, recorders and results.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace strain {

// Transport-level failures: no complete HTTP response was received. HTTP statuses are not here.
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
};

inline constexpr std::size_t error_kind_count = 10;

inline constexpr std::array<std::string_view, error_kind_count> error_kind_names = {
    "none",    "connect_refused", "connect_timeout", "connect_error", "reset",
    "timeout", "closed",          "bad_response",    "other",         "local_limit",
};

inline constexpr std::string_view to_string(ErrorKind kind) {
  return error_kind_names[static_cast<std::size_t>(kind)];
}

}  // namespace strain
