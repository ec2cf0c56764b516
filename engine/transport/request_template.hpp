// The exact bytes of one HTTP/1.1 request, prepared once per run and sent as-is every time.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "engine/transport/url.hpp"

namespace strain::http {

// One request header field as the user gave it.
struct Header {
  std::string name;
  std::string value;
};

// Immutable after construction: bytes() is the same buffer for every request of the run.
class RequestTemplate {
 public:
  // Throws strain::UsageError for a bad method, header name or value (CR/LF injection), a
  // Transfer-Encoding header, or a Content-Length header that disagrees with the body.
  // A user Host or User-Agent replaces the default; Content-Length is computed here.
  RequestTemplate(std::string_view method, const Url& url, std::span<const Header> headers = {},
                  std::string_view body = {});

  // Request line, headers, blank line and body; valid as long as this object lives.
  std::string_view bytes() const noexcept { return bytes_; }
  // The response has no body, whatever its headers say; the parser must be told.
  bool is_head() const noexcept { return is_head_; }
  // Safe to send twice (RFC 9110 §9.2.2: GET, HEAD, PUT, DELETE, OPTIONS, TRACE): the
  // transport may resend it once when a stale keep-alive connection swallowed it.
  bool is_idempotent() const noexcept { return idempotent_; }
  // The user sent Connection: close, so every response ends its connection.
  bool expects_close() const noexcept { return expects_close_; }

 private:
  std::string bytes_;
  bool is_head_ = false;
  bool idempotent_ = false;
  bool expects_close_ = false;
};

}  // namespace strain::http
