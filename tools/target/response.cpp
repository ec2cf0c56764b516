#include "tools/target/response.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace strain::target {
namespace {

constexpr std::string_view kPeriod = "hello, strain\n";
constexpr std::size_t kPatternBytes = kPeriod.size() * 4681;  // just under 64 KiB

std::array<char, kPatternBytes> make_pattern() {
  std::array<char, kPatternBytes> out{};
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = kPeriod[i % kPeriod.size()];
  return out;
}

char* append(char* out, std::string_view s) noexcept {
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

}  // namespace

bool status_has_body(int status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    default:
      return "Status";
  }
}

std::size_t format_head(const ResponseHead& head, std::string_view date, char* out) noexcept {
  char* p = append(out, "HTTP/1.1 ");
  // Callers keep status within 100-599, so it is always three digits.
  *p++ = static_cast<char>('0' + head.status / 100 % 10);
  *p++ = static_cast<char>('0' + head.status / 10 % 10);
  *p++ = static_cast<char>('0' + head.status % 10);
  *p++ = ' ';
  p = append(p, reason_phrase(head.status));
  p = append(p, "\r\n");
  if (!date.empty()) {
    p = append(p, "Date: ");
    p = append(p, date.substr(0, 40));
    p = append(p, "\r\n");
  }
  if (head.status >= 200) {
    if (!head.content_type.empty()) {
      p = append(p, "Content-Type: ");
      p = append(p, head.content_type.substr(0, 40));
      p = append(p, "\r\n");
    }
    if (head.status != 204 && head.status != 304) {
      p = append(p, "Content-Length: ");
      p = std::to_chars(p, p + 20, head.content_length).ptr;
      p = append(p, "\r\n");
    }
    if (!head.extra_field.empty()) {
      p = append(p, head.extra_field.substr(0, 64));
      p = append(p, "\r\n");
    }
    if (head.connection == ConnectionHeader::close)
      p = append(p, "Connection: close\r\n");
    else if (head.connection == ConnectionHeader::keep_alive) {
      p = append(p, "Connection: keep-alive\r\n");
    }
  }
  p = append(p, "\r\n");
  return static_cast<std::size_t>(p - out);
}

std::string_view body_pattern() noexcept {
  static const std::array<char, kPatternBytes> pattern = make_pattern();
  return {pattern.data(), pattern.size()};
}

void format_pad_field(std::size_t bytes, char* out) noexcept {
  constexpr std::string_view name = "X-Strain-Pad: ";
  std::memcpy(out, name.data(), name.size());
  std::memset(out + name.size(), 'p', bytes - name.size() - 2);
  out[bytes - 2] = '\r';
  out[bytes - 1] = '\n';
}

std::string_view header_padding() noexcept {
  // Filled in place on first use: 1 MiB is too much to build on a worker's stack.
  static char padding[kMaxPadBytes];
  static const bool filled = [] {
    for (std::size_t at = 0; at < kMaxPadBytes; at += kPadLineBytes)
      format_pad_field(kPadLineBytes, padding + at);
    return true;
  }();
  static_cast<void>(filled);
  return {padding, kMaxPadBytes};
}

PaddingPlan plan_padding(std::size_t bytes) noexcept {
  PaddingPlan plan;
  if (bytes == 0) return plan;
  if (bytes < kMinPadLineBytes) {
    plan.field_bytes[0] = kMinPadLineBytes;
    return plan;
  }
  const std::size_t whole = bytes / kPadLineBytes;
  const std::size_t rest = bytes % kPadLineBytes;
  plan.whole_bytes = whole * kPadLineBytes;
  if (rest == 0) return plan;
  if (rest >= kMinPadLineBytes) {
    plan.field_bytes[0] = rest;
    return plan;
  }
  // Too little left for a field of its own: the last whole field and the rest become two.
  plan.whole_bytes -= kPadLineBytes;
  plan.field_bytes[0] = kPadLineBytes / 2;
  plan.field_bytes[1] = kPadLineBytes / 2 + rest;
  return plan;
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  const auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

}  // namespace strain::target
