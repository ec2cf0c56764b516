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

// An IMF-fixdate for a Date field: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
std::string http_date(std::time_t t);

}  // namespace strain::target
