// Streaming HTTP/1.1 request parser for strain-target: frames requests; keeps bodies on request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace strain::target {

// s without leading and trailing spaces and tabs (header values, phase specs).
std::string_view trim(std::string_view s) noexcept;

// Why a request could not be parsed. Each maps to a response status and a closed connection.
enum class RequestError : std::uint8_t {
  none,
  bad_request_line,       // not "METHOD SP target SP HTTP/d.d"
  bad_version,            // HTTP/2 and beyond over this framing (505)
  bad_header,             // no colon, bad name, space before colon, obs-fold, bare CR
  head_too_large,         // request line and fields exceed the limit (431)
  bad_content_length,     // not a decimal number, overflow, conflicting duplicates
  bad_transfer_encoding,  // final coding is not chunked, or both Content-Length and chunked
  bad_chunk,              // bad chunk-size line or missing CRLF after chunk data
};

// A short stable name, e.g. "head_too_large".
const char* to_string(RequestError error) noexcept;
// The status strain-target answers with: 400, 431 or 505.
int status_for(RequestError error) noexcept;

// The head of one request. Views point into the caller's bytes and are valid only until the
// caller drops or moves the bytes that feed() reported as consumed with Event::head.
struct RequestHead {
  std::string_view method;           // e.g. "GET"
  std::string_view target;           // e.g. "/a?delay=5ms"
  int version_minor = 1;             // HTTP/1.0 or HTTP/1.1
  bool keep_alive = true;            // the connection may carry another request after this one
  bool expect_continue = false;      // "Expect: 100-continue" on an HTTP/1.1 request with a body
  bool has_body = false;             // Content-Length > 0 or chunked
  std::uint64_t content_length = 0;  // Content-Length; 0 when absent or chunked
  std::string_view authorization;    // the Authorization field's value; empty when absent

  bool is_head() const noexcept { return method == "HEAD"; }
  // The path without the query, and the query without '?' (empty when absent).
  std::string_view path() const noexcept { return target.substr(0, target.find('?')); }
  std::string_view query() const noexcept;
};

struct RequestLimits {
  // Request line and header fields, including the blank line; also bounds chunk trailers.
  std::uint32_t max_head_bytes = 64 * 1024;
  // One chunk-size line including extensions.
  std::uint32_t max_chunk_line_bytes = 4096;
};

// Parses requests one at a time from one connection's bytes; one thread. Keeps no copy of the
// head: the caller buffers it (see feed). Bodies are counted and dropped unless keep_body asks
// for the current one.
class RequestParser {
 public:
  enum class Event : std::uint8_t {
    need_more,  // give more bytes
    head,       // head() is ready; the body (if any) follows
    complete,   // the whole request, body included, has been read
    error,      // see error(); the connection must answer status_for(error()) and close
  };

  explicit RequestParser(RequestLimits limits = {}) noexcept : limits_(limits) {}

  // Consumes bytes. While the head is incomplete it returns need_more with consumed = 0: keep
  // the bytes and call again with them at the front, more appended (earlier bytes are not
  // rescanned). In a body, need_more consumes everything. After head, call again (even with no
  // bytes) to read the body; after complete the next call starts the next request.
  Event feed(const char* data, std::size_t len, std::size_t& consumed);

  // After Event::head: append the current request's body (chunk framing removed) to `*sink`,
  // at most `max_bytes` of it; body_truncated() tells if there was more. Ends with the request
  // (a failed parse never touches the sink again).
  void keep_body(std::string* sink, std::size_t max_bytes) noexcept {
    sink_ = sink;
    sink_room_ = max_bytes;
  }
  bool body_truncated() const noexcept { return body_truncated_; }

  const RequestHead& head() const noexcept { return head_; }
  RequestError error() const noexcept { return error_; }
  // Body bytes of the current request so far, without chunk framing.
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }

 private:
  enum class State : std::uint8_t {
    head,
    fixed_body,
    chunk_size,
    chunk_ext,
    chunk_size_lf,
    chunk_data,
    chunk_data_cr,
    chunk_data_lf,
    trailer_line_start,
    trailer_line,
    trailer_end_lf,
    done,
    failed,
  };

  Event fail(RequestError error, std::size_t& consumed) noexcept;
  // Parses a complete head of `len` bytes (blank line included) into head_.
  RequestError parse_head(const char* data, std::size_t len) noexcept;
  Event complete() noexcept;
  std::size_t feed_chunked(const char* data, std::size_t len);
  void keep(const char* data, std::size_t len);

  RequestLimits limits_;
  RequestHead head_;
  State state_ = State::head;
  RequestError error_ = RequestError::none;
  std::size_t scanned_ = 0;      // head bytes already searched for the blank line
  std::size_t line_start_ = 0;   // start of the head line being scanned
  std::uint64_t remaining_ = 0;  // bytes left in a fixed body or chunk
  std::uint64_t body_bytes_ = 0;
  std::uint32_t line_bytes_ = 0;  // chunk-size line or trailer bytes so far
  bool chunk_digits_ = false;     // the chunk-size line has at least one hex digit
  bool body_truncated_ = false;   // the kept body reached sink_room_ and more followed
  std::string* sink_ = nullptr;   // where body bytes go (keep_body); null: dropped
  std::size_t sink_room_ = 0;     // body bytes sink_ may still take
};

}  // namespace strain::target
