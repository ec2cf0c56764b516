// A request as a transport sends it: method, target, header fields and body, plus the prepared
// HTTP/1.1 bytes the native client writes as-is. Every view points into one buffer (the bytes).
#pragma once

#include <cstddef>
#include <string_view>

namespace strain::http {

// A header field borrowed from the caller (a script's table, say): no copy, no allocation.
struct HeaderView {
  std::string_view name;
  std::string_view value;
};

// Plain view; the bytes belong to the caller and must outlive the exchange they are sent in.
// The structured fields are views into `bytes`, checked when it was built (no CR/LF injection).
struct RequestView {
  std::string_view bytes;         // request line, headers, blank line and body (HTTP/1.1)
  std::string_view method;        // "GET", "POST", ...
  std::string_view target;        // path and query, e.g. "/a?b=1"
  std::string_view header_lines;  // "Name: value\r\n" per field, Host first, Content-Length last
  std::string_view body;          // may be empty
  bool head = false;              // a response to HEAD has no body, whatever its headers say
  bool idempotent = false;        // safe to resend once after a stale keep-alive (RFC 9110 §9.2.2)
  bool expects_close = false;     // the request said Connection: close
};

// ASCII case-insensitive equality, as field names compare (RFC 9110 §5.1).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x | 0x20);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y | 0x20);
    if (x != y) return false;
  }
  return true;
}

// Calls fn(HeaderView) for each field of `lines` ("Name: value\r\n" each, as RequestView holds).
template <typename Fn>
void for_each_header(std::string_view lines, Fn&& fn) {
  while (!lines.empty()) {
    const std::size_t eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      fn(HeaderView{line.substr(0, colon), value});
    }
    if (eol == std::string_view::npos) break;
    lines.remove_prefix(eol + 2);
  }
}

}  // namespace strain::http
