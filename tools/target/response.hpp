// Response heads and bodies as strain-target writes them: formatted into caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace strain::target {

enum class ConnectionHeader : std::uint8_t { none, keep_alive, close };

struct ResponseHead {
  int status = 200;                  // any 100-599; 1xx, 204 and 304 get no Content-Length
  std::uint64_t content_length = 0;  // body bytes (also for HEAD, where none are sent)
  ConnectionHeader connection = ConnectionHeader::none;
  std::string_view content_type = "text/plain";
  std::string_view extra_field;  // one whole "Name: value" field (up to 64 bytes), or empty
};

// Upper bound of format_head's output.
inline constexpr std::size_t kMaxResponseHeadBytes = 320;

// Writes "HTTP/1.1 ..." through the blank line into `out` (at least kMaxResponseHeadBytes);
// returns the length. `date` is an IMF-fixdate (see http_date), or empty to leave Date out.
std::size_t format_head(const ResponseHead& head, std::string_view date, char* out) noexcept;

// Whether a response with this status carries a body (not 1xx, 204, 304).
bool status_has_body(int status) noexcept;

// "OK", "Service Unavailable", ...; "Status" for codes without a registered phrase.
std::string_view reason_phrase(int status) noexcept;

// Response bodies are prefixes of an endless "hello, strain\n" pattern; this is one stretch
// of it whose length is a whole number of periods, so bodies longer than it are made by
// repeating it. Static storage, valid for the whole process.
std::string_view body_pattern() noexcept;

// ?header_bytes: padding fields "X-Strain-Pad: ppp...\r\n" inserted before the blank line.
inline constexpr std::size_t kPadLineBytes = 1024;    // one whole padding field, CRLF included
inline constexpr std::size_t kMinPadLineBytes = 17;   // "X-Strain-Pad: p\r\n"
inline constexpr std::size_t kMaxPadBytes = 1 << 20;  // header_padding()'s length

// 1 MiB of whole padding fields back to back: any prefix of k * kPadLineBytes bytes is k whole
// fields. Static storage, valid for the whole process.
std::string_view header_padding() noexcept;

// How `bytes` (at most kMaxPadBytes) of padding are made: a prefix of header_padding(), then up
// to two fields formatted by format_pad_field. The total is exactly `bytes`, or
// kMinPadLineBytes when `bytes` is smaller than that (and not 0).
struct PaddingPlan {
  std::size_t whole_bytes = 0;      // from header_padding()
  std::size_t field_bytes[2] = {};  // each 0 or kMinPadLineBytes..kPadLineBytes
  std::size_t total() const noexcept { return whole_bytes + field_bytes[0] + field_bytes[1]; }
};
PaddingPlan plan_padding(std::size_t bytes) noexcept;

// Writes one padding field of exactly `bytes` (kMinPadLineBytes..kPadLineBytes) into `out`.
void format_pad_field(std::size_t bytes, char* out) noexcept;

// An IMF-fixdate for a Date field: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
std::string http_date(std::time_t t);

}  // namespace strain::target
