// A request as the transport sends it: its bytes and the few facts the transport must know.
#pragma once

#include <string_view>

namespace strain::http {

// Plain view; the bytes belong to the caller and must outlive the exchange they are sent in.
struct RequestView {
  std::string_view bytes;      // request line, headers, blank line and body
  bool head = false;           // a response to HEAD has no body, whatever its headers say
  bool idempotent = false;     // safe to resend once after a stale keep-alive (RFC 9110 §9.2.2)
  bool expects_close = false;  // the request said Connection: close
};

}  // namespace strain::http
