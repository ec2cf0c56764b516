// The exact bytes of one HTTP/1.1 request, prepared once per run and sent as-is every time.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "engine/transport/request_view.hpp"
#include "engine/transport/url.hpp"

namespace strain::http {

// One request header field as the user gave it.
struct Header {
  std::string name;
  std::string value;
};

// Appends one request's bytes to `out` (cleared first) and describes it in `view` (whose bytes
// point into `out`). Returns false with `error` set, `out` unspecified, for a bad method, header
// name or value, Transfer-Encoding, or a Content-Length that disagrees with the body. Allocates
// only when `out` must grow, or on error.
bool build_request(std::string& out, std::string_view method, std::string_view target,
                   std::string_view host_header, std::span<const HeaderView> headers,
                   std::string_view body, RequestView& view, std::string& error);

// Points `view`'s bytes, method, target, header_lines and body into `bytes`, a request that
// build_request made with these sizes.
void describe_request(std::string_view bytes, std::size_t method_size, std::size_t target_size,
                      std::size_t body_size, RequestView& view);

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
  // What the transport sends; valid as long as this object lives.
  RequestView view() const noexcept;
  // The response has no body, whatever its headers say; the parser must be told.
  bool is_head() const noexcept { return flags_.head; }
  // Safe to send twice (RFC 9110 §9.2.2: GET, HEAD, PUT, DELETE, OPTIONS, TRACE): the
  // transport may resend it once when a stale keep-alive connection swallowed it.
  bool is_idempotent() const noexcept { return flags_.idempotent; }
  // The user sent Connection: close, so every response ends its connection.
  bool expects_close() const noexcept { return flags_.expects_close; }

 private:
  std::string bytes_;
  RequestView flags_;  // views left empty: a copied template must not point into another
  std::size_t method_size_ = 0;
  std::size_t target_size_ = 0;
  std::size_t body_size_ = 0;
};

}  // namespace strain::http
