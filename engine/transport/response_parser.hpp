// Streaming HTTP/1.1 response parser: no buffer of its own, no allocation, ~70 bytes of state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "engine/transport/response_observer.hpp"

namespace strain::http {

// Why a response could not be parsed. Runtime outcomes: counted, never thrown.
enum class ParseError : std::uint8_t {
  none,
  bad_status_line,     // not "HTTP/1.x NNN[ reason]"
  bad_header,          // no colon, bad name character, space before colon, obs-fold, bare CR
  header_too_large,    // status lines, fields and trailers together exceed the limit
  bad_content_length,  // not a decimal number, overflows 64 bits, duplicated
  bad_chunk,           // bad chunk-size line, or chunk data not followed by CRLF
  body_too_large,      // body exceeds the limit
  truncated,           // the connection closed in the middle of a response
  no_response,         // the connection closed before the first byte of a response
};

// A short stable name, e.g. "bad_chunk", for counters and reports.
const char* to_string(ParseError error) noexcept;

struct ParserLimits {
  // Status lines, header fields and trailers of one response (1xx responses included).
  std::uint32_t max_header_bytes = 64 * 1024;
  // Body bytes of one response; unlimited by default (the body is never stored).
  std::uint64_t max_body_bytes = std::numeric_limits<std::uint64_t>::max();
};

// Parses one response at a time from bytes as they arrive; one per connection, one thread.
class ResponseParser {
 public:
  enum class Result : std::uint8_t { need_more, complete, error };

  explicit ResponseParser(ParserLimits limits = {}) noexcept;

  // Reports fields and body pieces to `observer` (not owned; null stops); call between
  // responses. Allocates a line buffer, used only for a field split across two reads.
  void set_observer(ResponseObserver* observer);

  // Before each response. A response to HEAD has no body whatever its headers say.
  void reset(bool head_request) noexcept;

  // Consumes bytes of the current response. need_more: all `len` bytes were taken. complete:
  // the first `consumed` bytes finished the response; the rest belongs to whatever follows.
  // error: see error(). After complete or error, returns the same with consumed = 0 until reset.
  Result feed(const char* data, std::size_t len, std::size_t& consumed);

  // The peer closed the connection: completes a body delimited by close, otherwise an error
  // (no_response when no byte of this response had arrived, else truncated).
  Result finish_on_eof() noexcept;

  // The final status code (1xx interim responses are skipped); 0 until the status line is read.
  int status() const noexcept { return (flags_ & kInterim) != 0 ? 0 : status_; }
  // The connection may carry another request: false after Connection: close, HTTP/1.0 without
  // keep-alive, a body delimited by close, 101, or an error. Meaningful once complete.
  bool keep_alive() const noexcept { return (flags_ & kKeepAlive) != 0; }
  // Body bytes so far, without chunk framing.
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  // Status lines, fields and blank lines so far, including 1xx responses and trailers.
  std::uint64_t header_bytes() const noexcept { return header_bytes_; }
  ParseError error() const noexcept { return error_; }

 private:
  enum class State : std::uint8_t;
  enum class Field : std::uint8_t;
  struct Hook {
    ResponseObserver* observer = nullptr;
    std::string line;  // a field that spans reads, bounded by max_header_bytes
  };

  static constexpr std::uint16_t kHead = 1 << 0;         // response to HEAD
  static constexpr std::uint16_t kHttp10 = 1 << 1;       // status line said HTTP/1.0
  static constexpr std::uint16_t kInterim = 1 << 2;      // 1xx other than 101: skip, then reparse
  static constexpr std::uint16_t kHasLength = 1 << 3;    // Content-Length seen
  static constexpr std::uint16_t kHasCoding = 1 << 4;    // Transfer-Encoding seen
  static constexpr std::uint16_t kChunked = 1 << 5;      // last transfer coding is chunked
  static constexpr std::uint16_t kClose = 1 << 6;        // Connection lists close
  static constexpr std::uint16_t kKeepOpen = 1 << 7;     // Connection lists keep-alive
  static constexpr std::uint16_t kKeepAlive = 1 << 8;    // result: connection reusable
  static constexpr std::uint16_t kTrailers = 1 << 9;     // parsing the trailer section
  static constexpr std::uint16_t kPendingCr = 1 << 10;   // inspected value ended with CR
  static constexpr std::uint16_t kTokenSpace = 1 << 11;  // whitespace after a list token
  static constexpr std::size_t kNameCarry = 17;          // longest inspected name

  Result fail(ParseError error) noexcept;
  bool status_byte(unsigned pos, char c) noexcept;
  Field classify(const char* name, std::size_t len) const noexcept;
  bool start_field(Field field) noexcept;
  bool whole_value(const char* p, const char* lf) noexcept;
  bool value_bytes(const char* p, const char* end) noexcept;
  bool finish_value() noexcept;
  void token_byte(char c) noexcept;
  void token_end() noexcept;
  void headers_end() noexcept;
  bool chunk_size_end() noexcept;
  void deliver_field(const char* begin, const char* lf);

  std::unique_ptr<Hook> hook_;      // null unless an observer is set
  std::uint64_t length_ = 0;        // Content-Length value, then body or chunk bytes left
  std::uint64_t body_bytes_ = 0;    // body bytes so far
  std::uint64_t max_body_bytes_;    // ParserLimits::max_body_bytes
  std::uint32_t header_bytes_ = 0;  // see header_bytes(); never above max_header_bytes_
  std::uint32_t max_header_bytes_;  // ParserLimits::max_header_bytes
  std::uint16_t status_ = 0;        // status code, built digit by digit
  std::uint16_t flags_ = 0;         // k* bits above
  State state_;                     // where the next byte goes
  ParseError error_ = ParseError::none;
  Field field_;                       // which inspected field the current value belongs to
  std::uint8_t line_pos_ = 0;         // bytes seen of the status line or field name (saturates)
  std::uint8_t token_ = 0;            // list token candidate, or Content-Length digit state
  std::uint8_t token_pos_ = 0;        // bytes seen of the current list token (saturates)
  char name_carry_[kNameCarry] = {};  // start of a field name split across reads
};

}  // namespace strain::http
