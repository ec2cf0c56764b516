// Target URLs as users type them (--url, script calls): scheme, host, port and request target.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strain::http {

// A parsed absolute http:// or https:// URL.
struct Url {
  std::string scheme;            // "http" or "https", lower case
  std::string host;              // lower case; an IPv6 literal without its brackets
  std::uint16_t port = 0;        // as given, else 80 for http and 443 for https
  std::string target;            // path and query as sent on the request line; at least "/"
  std::string host_header;       // host[:port] as sent in Host (port only when not the default)
  bool is_ipv6_literal = false;  // host was written as [v6 address]
};

// Parses an absolute URL; the fragment is dropped. Throws strain::UsageError with one line naming
// the problem and the text. https is accepted here; which transport serves it is the caller's call.
Url parse_url(std::string_view text);

// True for "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (brackets allowed). No DNS lookup.
bool is_loopback_host(std::string_view host);

}  // namespace strain::http
