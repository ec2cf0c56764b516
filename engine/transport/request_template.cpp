#include "engine/transport/request_template.hpp"

#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/transport/response_scan.hpp"

namespace strain::http {
namespace {

constexpr std::string_view kUserAgent = "strain/0.1";

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!scan::is_tchar(c)) return false;  // RFC 9110 token characters
  }
  return true;
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
const char* bad_value(std::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') return "value contains CR or LF";
    if ((u < 0x20 && c != '\t') || u == 0x7f) return "value contains a control character";
  }
  return nullptr;
}

void append_decimal(std::string& out, std::size_t n) {
  char digits[24];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (len > 0)
    out += digits[--len];
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

bool build_request(std::string& out, std::string_view method, std::string_view target,
                   std::string_view host_header, std::span<const HeaderView> headers,
                   std::string_view body, RequestView& view, std::string& error) {
  if (!is_token(method)) {
    error = "bad HTTP method '" + printable(method) + "' (expected e.g. GET, POST)";
    return false;
  }
  view = RequestView{};
  view.head = method == "HEAD";
  view.idempotent = method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
                    method == "OPTIONS" || method == "TRACE";

  const HeaderView* host = nullptr;
  bool has_user_agent = false;
  for (const auto& h : headers) {
    if (!is_token(h.name)) {
      error = "bad header name '" + printable(h.name) + "'";
      return false;
    }
    if (const char* why = bad_value(h.value)) {
      error = "header '" + printable(h.name) + "': " + why;
      return false;
    }
    const auto value = trim(h.value);
    if (iequals(h.name, "host")) {
      if (host != nullptr) {
        error = "header 'Host' given twice";
        return false;
      }
      if (value.empty()) {
        error = "header 'Host' is empty";
        return false;
      }
      host = &h;
    } else if (iequals(h.name, "user-agent")) {
      has_user_agent = true;
    } else if (iequals(h.name, "connection")) {
      view.expects_close = view.expects_close || lists_close(value);
    } else if (iequals(h.name, "transfer-encoding")) {
      error = "header 'Transfer-Encoding' is not supported (bodies are sent whole)";
      return false;
    } else if (iequals(h.name, "content-length")) {
      if (value != std::to_string(body.size())) {
        error = "header 'Content-Length: " + printable(value) + "' disagrees with the " +
                std::to_string(body.size()) + "-byte body (leave it out)";
        return false;
      }
    }
  }

  // Host first (RFC 9112 §3.2); Content-Length last so it is computed in one place.
  out.clear();
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  out.append("Host: ").append(host ? trim(host->value) : host_header).append("\r\n");
  if (!has_user_agent) out.append("User-Agent: ").append(kUserAgent).append("\r\n");
  for (const auto& h : headers) {
    if (&h == host || iequals(h.name, "content-length")) continue;
    out.append(h.name).append(": ").append(trim(h.value)).append("\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("Content-Length: ");
    append_decimal(out, body.size());
    out.append("\r\n");
  }
  out.append("\r\n").append(body);
  describe_request(out, method.size(), target.size(), body.size(), view);
  return true;
}

void describe_request(std::string_view bytes, std::size_t method_size, std::size_t target_size,
                      std::size_t body_size, RequestView& view) {
  view.bytes = bytes;
  view.method = bytes.substr(0, method_size);
  view.target = bytes.substr(method_size + 1, target_size);
  // After "METHOD TARGET HTTP/1.1\r\n", up to the blank line before the body.
  const std::size_t lines_begin = method_size + 1 + target_size + 11;
  const std::size_t head_end = bytes.size() - body_size;  // just after the blank line
  view.header_lines = bytes.substr(lines_begin, head_end - 2 - lines_begin);
  view.body = bytes.substr(head_end);
}

RequestTemplate::RequestTemplate(std::string_view method, const Url& url,
                                 std::span<const Header> headers, std::string_view body) {
  std::vector<HeaderView> views;
  views.reserve(headers.size());
  for (const auto& h : headers)
    views.push_back(HeaderView{h.name, h.value});
  std::string error;
  if (!build_request(bytes_, method, url.target, url.host_header, views, body, flags_, error)) {
    throw UsageError(error);
  }
  method_size_ = method.size();
  target_size_ = url.target.size();
  body_size_ = body.size();
  flags_.bytes = flags_.method = flags_.target = flags_.header_lines = flags_.body = {};
}

RequestView RequestTemplate::view() const noexcept {
  RequestView v = flags_;
  describe_request(bytes_, method_size_, target_size_, body_size_, v);
  return v;
}

}  // namespace strain::http
