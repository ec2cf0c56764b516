#include "engine/transport/request_template.hpp"

#include <string>

#include "engine/core/error.hpp"

namespace strain::http {
namespace {

constexpr std::string_view kUserAgent = "strain/0.1";

// RFC 9110 §5.6.2 token characters: what method and field names may contain.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
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

// Quoted in a one-line message: control bytes escaped.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// Field values may hold visible ASCII, obs-text, spaces and tabs; never CR, LF, NUL or other
// controls, which would let a value end the header early (request smuggling).
void check_value(const Header& h) {
  for (char c : h.value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') {
      throw UsageError("header '" + printable(h.name) + "': value contains CR or LF");
    }
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      throw UsageError("header '" + printable(h.name) + "': value contains a control character");
    }
  }
}

// True when a comma-separated Connection value lists the "close" option.
bool lists_close(std::string_view value) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), "close")) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

RequestTemplate::RequestTemplate(std::string_view method, const Url& url,
                                 std::span<const Header> headers, std::string_view body) {
  if (!is_token(method)) {
    throw UsageError("bad HTTP method '" + printable(method) + "' (expected e.g. GET, POST)");
  }
  is_head_ = method == "HEAD";
  idempotent_ = method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
                method == "OPTIONS" || method == "TRACE";

  const Header* host = nullptr;
  bool has_user_agent = false;
  for (const auto& h : headers) {
    if (!is_token(h.name)) throw UsageError("bad header name '" + printable(h.name) + "'");
    check_value(h);
    const auto value = trim(h.value);
    if (iequals(h.name, "host")) {
      if (host != nullptr) throw UsageError("header 'Host' given twice");
      if (value.empty()) throw UsageError("header 'Host' is empty");
      host = &h;
    } else if (iequals(h.name, "user-agent")) {
      has_user_agent = true;
    } else if (iequals(h.name, "connection")) {
      expects_close_ = expects_close_ || lists_close(value);
    } else if (iequals(h.name, "transfer-encoding")) {
      throw UsageError("header 'Transfer-Encoding' is not supported (bodies are sent whole)");
    } else if (iequals(h.name, "content-length")) {
      if (value != std::to_string(body.size())) {
        throw UsageError("header 'Content-Length: " + printable(value) + "' disagrees with the " +
                         std::to_string(body.size()) + "-byte body (leave it out)");
      }
    }
  }

  // Host first (RFC 9112 §3.2); Content-Length last so it is computed in one place.
  bytes_.reserve(64 + url.target.size() + url.host_header.size() + body.size());
  bytes_.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\n");
  bytes_.append("Host: ").append(host ? trim(host->value) : url.host_header).append("\r\n");
  if (!has_user_agent) bytes_.append("User-Agent: ").append(kUserAgent).append("\r\n");
  for (const auto& h : headers) {
    if (&h == host || iequals(h.name, "content-length")) continue;
    bytes_.append(h.name).append(": ").append(trim(h.value)).append("\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    bytes_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  bytes_.append("\r\n").append(body);
}

}  // namespace strain::http
