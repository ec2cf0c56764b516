#include "engine/transport/url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>

#include "engine/core/error.hpp"

namespace strain::http {
namespace {

[[noreturn]] void bad(std::string_view text, const std::string& problem) {
  throw UsageError("bad URL '" + printable(text) + "': " + problem);
}

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = to_lower(c);
  return out;
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 3986 reg-name without percent-encoding: enough for DNS names and IPv4 addresses.
bool is_host_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::uint16_t parse_port(std::string_view text, std::string_view port) {
  const std::string expected = " (expected a number from 1 to 65535)";
  if (port.empty()) bad(text, "empty port after ':'" + expected);
  unsigned value = 0;
  for (char c : port) {
    if (!is_digit(c)) bad(text, "bad port '" + std::string(port) + "'" + expected);
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 65535) bad(text, "bad port '" + std::string(port) + "'" + expected);
  }
  if (value == 0) bad(text, "bad port '" + std::string(port) + "'" + expected);
  return static_cast<std::uint16_t>(value);
}

bool is_ipv6(std::string_view host, in6_addr& out) {
  std::string s(host);
  return inet_pton(AF_INET6, s.c_str(), &out) == 1;
}

}  // namespace

Url parse_url(std::string_view text) {
  if (text.empty()) bad(text, "empty");
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u == ' ') bad(text, "space at offset " + std::to_string(i) + " (percent-encode it as %20)");
    if (u < 0x20 || u == 0x7f) bad(text, "control character at offset " + std::to_string(i));
    if (u >= 0x80)
      bad(text, "non-ASCII byte at offset " + std::to_string(i) + " (percent-encode it)");
  }

  Url url;
  const auto sep = text.find("://");
  const auto scheme = sep == std::string_view::npos ? std::string_view{} : text.substr(0, sep);
  bool scheme_ok = !scheme.empty() && is_alpha(scheme[0]);
  for (char c : scheme) {
    scheme_ok = scheme_ok && (is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.');
  }
  if (!scheme_ok) bad(text, "missing scheme (expected http://host[:port]/path)");
  url.scheme = lowered(scheme);
  if (url.scheme != "http" && url.scheme != "https") {
    bad(text, "unsupported scheme '" + url.scheme + "' (expected http or https)");
  }
  const std::uint16_t default_port = url.scheme == "http" ? 80 : 443;

  const auto rest = text.substr(sep + 3);
  const auto authority_end = rest.find_first_of("/?#");
  const auto authority = rest.substr(0, authority_end);
  const auto tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    bad(text, "user:password@ is not supported (send an Authorization header instead)");
  }

  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad(text, "IPv6 address without closing ']'");
    host = authority.substr(1, close - 1);
    if (host.empty()) bad(text, "empty host");
    in6_addr addr{};
    if (!is_ipv6(host, addr)) bad(text, "bad IPv6 address '" + std::string(host) + "'");
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') bad(text, "unexpected '" + std::string(after) + "' after IPv6 address");
      port = after.substr(1);
      has_port = true;
    }
    url.is_ipv6_literal = true;
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
      if (port.find(':') != std::string_view::npos) {
        bad(text, "IPv6 address must be in brackets, e.g. http://[::1]:8080/");
      }
    }
    if (host.empty()) bad(text, "empty host");
    for (char c : host) {
      if (!is_host_char(c)) bad(text, std::string("bad character '") + c + "' in host");
    }
  }
  url.host = lowered(host);
  url.port = has_port ? parse_port(text, port) : default_port;

  // The fragment is for the browser; it never goes on the wire.
  const auto target = tail.substr(0, tail.find('#'));
  // Appends, not "/" + std::string(...): GCC 12 at -O3 warns falsely (-Wrestrict) on that.
  if (target.empty() || target[0] != '/') url.target.push_back('/');
  url.target.append(target);

  url.host_header = url.is_ipv6_literal ? "[" + url.host + "]" : url.host;
  if (url.port != default_port) url.host_header.append(":").append(std::to_string(url.port));
  return url;
}

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return false;
  if (host.back() == '.') host.remove_suffix(1);  // "localhost." is the same name, fully qualified
  if (lowered(host) == "localhost") return true;

  const std::string s(host);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    return (reinterpret_cast<const unsigned char*>(&v4.s_addr)[0]) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace strain::http
