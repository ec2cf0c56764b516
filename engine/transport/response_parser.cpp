#include "engine/transport/response_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "engine/core/assert.hpp"
#include "engine/transport/response_scan.hpp"

namespace strain::http {

// Header-phase states come first: feed() counts their bytes toward the header limit.
enum class ResponseParser::State : std::uint8_t {
  status_line,       // line_pos_ bytes of "HTTP/1.x NNN" seen
  status_end,        // after the code: SP, CR or LF
  status_rest,       // reason phrase, skipped to LF
  line_start,        // start of a field line or of the blank line
  blank_lf,          // CR of the blank line seen
  field_name,        // line_pos_ bytes of a field name seen
  field_value,       // after the colon, up to LF
  body_length,       // length_ body bytes left
  body_until_close,  // everything until the peer closes
  chunk_size_first,  // first hex digit of a chunk size
  chunk_size,        // more hex digits, or the end of the size
  chunk_ext,         // chunk extensions, skipped to LF
  chunk_size_lf,     // CR after the chunk size seen
  chunk_data,        // length_ chunk bytes left
  chunk_data_cr,     // CRLF after chunk data
  chunk_data_lf,     // CR after chunk data seen
  complete,
  error,
};

// The only fields whose values are inspected; everything else is skipped with memchr.
enum class ResponseParser::Field : std::uint8_t {
  other,
  content_length,
  transfer_encoding,
  connection,
};

namespace {

using namespace scan;

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

inline std::uint8_t saturate(std::size_t n) {
  return static_cast<std::uint8_t>(std::min<std::size_t>(n, 255));
}

// List tokens looked for in Connection and Transfer-Encoding; index is the token_ value.
constexpr std::uint8_t kNoToken = 0;
constexpr std::uint8_t kTokClose = 1;
constexpr std::uint8_t kTokKeepAlive = 2;
constexpr std::uint8_t kTokChunked = 3;
constexpr std::uint8_t kTokDead = 255;
constexpr std::string_view kTokens[] = {"", "close", "keep-alive", "chunked"};

// Content-Length digit states, kept in token_.
constexpr std::uint8_t kLenBefore = 0;
constexpr std::uint8_t kLenDigits = 1;
constexpr std::uint8_t kLenAfter = 2;

}  // namespace

const char* to_string(ParseError error) noexcept {
  switch (error) {
    case ParseError::none:
      return "none";
    case ParseError::bad_status_line:
      return "bad_status_line";
    case ParseError::bad_header:
      return "bad_header";
    case ParseError::header_too_large:
      return "header_too_large";
    case ParseError::bad_content_length:
      return "bad_content_length";
    case ParseError::bad_chunk:
      return "bad_chunk";
    case ParseError::body_too_large:
      return "body_too_large";
    case ParseError::truncated:
      return "truncated";
    case ParseError::no_response:
      return "no_response";
  }
  return "unknown";
}

ResponseParser::ResponseParser(ParserLimits limits) noexcept
    : max_body_bytes_(limits.max_body_bytes),
      max_header_bytes_(limits.max_header_bytes),
      state_(State::status_line),
      field_(Field::other) {}

void ResponseParser::set_observer(ResponseObserver* observer) {
  if (observer == nullptr) {
    hook_.reset();
    return;
  }
  if (!hook_) hook_ = std::make_unique<Hook>();
  hook_->observer = observer;
  hook_->line.clear();
}

void ResponseParser::reset(bool head_request) noexcept {
  length_ = 0;
  body_bytes_ = 0;
  header_bytes_ = 0;
  status_ = 0;
  flags_ = head_request ? kHead : 0;
  state_ = State::status_line;
  error_ = ParseError::none;
  field_ = Field::other;
  line_pos_ = 0;
  token_ = 0;
  token_pos_ = 0;
  if (hook_) hook_->line.clear();
}

ResponseParser::Result ResponseParser::fail(ParseError error) noexcept {
  // Digits of a status line not fully read, or not valid, mean nothing.
  if (error == ParseError::bad_status_line || state_ == State::status_line) status_ = 0;
  state_ = State::error;
  error_ = error;
  flags_ = static_cast<std::uint16_t>(flags_ & ~kKeepAlive);
  return Result::error;
}

ResponseParser::Result ResponseParser::finish_on_eof() noexcept {
  switch (state_) {
    case State::complete:
      return Result::complete;
    case State::error:
      return Result::error;
    case State::body_until_close:
      state_ = State::complete;
      return Result::complete;
    case State::status_line:
      if (header_bytes_ == 0) return fail(ParseError::no_response);
      return fail(ParseError::truncated);
    default:
      return fail(ParseError::truncated);
  }
}

inline bool ResponseParser::status_byte(unsigned pos, char c) noexcept {
  if (pos < 7) return c == "HTTP/1."[pos];
  const unsigned d = static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
  if (pos == 7) {
    if (d > 9) return false;
    if (d == 0) flags_ |= kHttp10;
    return true;
  }
  if (pos == 8) return c == ' ';
  if (d > 9 || (pos == 9 && d == 0)) return false;
  status_ = static_cast<std::uint16_t>(status_ * 10 + d);
  return true;
}

inline ResponseParser::Field ResponseParser::classify(const char* name,
                                                      std::size_t len) const noexcept {
  if ((flags_ & kTrailers) != 0) return Field::other;  // trailers never change framing
  switch (len) {
    case 10:
      return name_is(name, "connection") ? Field::connection : Field::other;
    case 14:
      return name_is(name, "content-length") ? Field::content_length : Field::other;
    case 17:
      return name_is(name, "transfer-encoding") ? Field::transfer_encoding : Field::other;
    default:
      return Field::other;
  }
}

bool ResponseParser::start_field(Field field) noexcept {
  field_ = field;
  flags_ = static_cast<std::uint16_t>(flags_ & ~(kPendingCr | kTokenSpace));
  token_ = 0;
  token_pos_ = 0;
  switch (field) {
    case Field::content_length:
      // Two lengths, equal or not, are how response smuggling starts: refuse both.
      if ((flags_ & kHasLength) != 0) {
        fail(ParseError::bad_content_length);
        return false;
      }
      flags_ |= kHasLength;
      length_ = 0;
      break;
    case Field::transfer_encoding:
      flags_ |= kHasCoding;
      break;
    default:
      break;
  }
  return true;
}

void ResponseParser::token_byte(char c) noexcept {
  if (c == ',') {
    token_end();
    return;
  }
  if (c == ' ' || c == '\t') {
    if (token_pos_ > 0) flags_ |= kTokenSpace;
    return;
  }
  if ((flags_ & kTokenSpace) != 0) {
    token_ = kTokDead;  // "clo se" is not "close"
  } else if (token_pos_ == 0) {
    const char l = lower(c);
    if (field_ == Field::connection) {
      token_ = l == 'c' ? kTokClose : l == 'k' ? kTokKeepAlive : kTokDead;
    } else {
      token_ = l == 'c' ? kTokChunked : kTokDead;
    }
  } else if (token_ != kTokDead) {
    const auto word = kTokens[token_];
    if (token_pos_ >= word.size() || lower(c) != word[token_pos_]) token_ = kTokDead;
  }
  if (token_pos_ < 255) ++token_pos_;
}

void ResponseParser::token_end() noexcept {
  if (token_pos_ > 0) {  // empty list elements ("a,,b") do not count
    const bool match = token_ != kTokDead && token_pos_ == kTokens[token_].size();
    if (field_ == Field::transfer_encoding) {
      // Only the last coding decides: "gzip, chunked" is chunked, "chunked, gzip" is not.
      if (match) {
        flags_ |= kChunked;
      } else {
        flags_ = static_cast<std::uint16_t>(flags_ & ~kChunked);
      }
    } else if (match) {
      flags_ |= token_ == kTokClose ? kClose : kKeepOpen;
    }
  }
  token_ = kNoToken;
  token_pos_ = 0;
  flags_ = static_cast<std::uint16_t>(flags_ & ~kTokenSpace);
}

bool ResponseParser::value_bytes(const char* p, const char* end) noexcept {
  for (; p < end; ++p) {
    const char c = *p;
    if ((flags_ & kPendingCr) != 0) {
      fail(ParseError::bad_header);  // a CR not followed by LF
      return false;
    }
    if (c == '\r') {
      flags_ |= kPendingCr;
      continue;
    }
    if (field_ != Field::content_length) {
      token_byte(c);
      continue;
    }
    const unsigned d = static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
    if (d <= 9) {
      if (token_ == kLenAfter || length_ > (kMax64 - d) / 10) {
        fail(ParseError::bad_content_length);
        return false;
      }
      token_ = kLenDigits;
      length_ = length_ * 10 + d;
    } else if (c == ' ' || c == '\t') {
      if (token_ == kLenDigits) token_ = kLenAfter;
    } else {
      fail(ParseError::bad_content_length);  // "-1", "1e3", "12, 12", ...
      return false;
    }
  }
  return true;
}

inline bool ResponseParser::whole_value(const char* p, const char* lf) noexcept {
  // Shortcut for values like "13", "keep-alive" or "chunked" that fit in this read; anything
  // else (lists, odd bytes, errors) goes byte by byte through value_bytes with the same result.
  std::string_view v(p, static_cast<std::size_t>(lf - p));
  if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  switch (field_) {
    case Field::content_length: {
      if (v.empty() || v.size() > 19) return false;  // 19 digits cannot overflow 64 bits
      std::uint64_t n = 0;
      for (char c : v) {
        const unsigned d = static_cast<unsigned>(static_cast<unsigned char>(c)) - '0';
        if (d > 9) return false;
        n = n * 10 + d;
      }
      length_ = n;
      return true;
    }
    case Field::connection:
      if (value_is(v, "keep-alive")) {
        flags_ |= kKeepOpen;
        return true;
      }
      if (value_is(v, "close")) {
        flags_ |= kClose;
        return true;
      }
      return false;
    case Field::transfer_encoding:
      if (value_is(v, "chunked")) {
        flags_ |= kChunked;
        return true;
      }
      return false;
    case Field::other:
      return true;
  }
  return false;
}

bool ResponseParser::finish_value() noexcept {
  flags_ = static_cast<std::uint16_t>(flags_ & ~kPendingCr);
  if (field_ == Field::content_length) {
    if (token_ == kLenBefore) {
      fail(ParseError::bad_content_length);
      return false;
    }
  } else {
    token_end();
  }
  return true;
}

void ResponseParser::deliver_field(const char* begin, const char* lf) {
  if ((flags_ & kInterim) != 0) return;
  std::string_view line(begin, static_cast<std::size_t>(lf - begin));
  if (!hook_->line.empty()) {  // started in an earlier read
    hook_->line.append(line);
    line = hook_->line;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == ' ' || value.back() == '\t' || value.back() == '\r')) {
      value.remove_suffix(1);
    }
    hook_->observer->on_header(line.substr(0, colon), value);
  }
  hook_->line.clear();
}

void ResponseParser::headers_end() noexcept {
  if ((flags_ & kTrailers) != 0) {
    state_ = State::complete;
    return;
  }
  if ((flags_ & kInterim) != 0) {  // 100 Continue and friends: the real response follows
    flags_ &= kHead;
    status_ = 0;
    line_pos_ = 0;
    length_ = 0;
    state_ = State::status_line;
    return;
  }
  bool keep = (flags_ & kClose) == 0 && ((flags_ & kHttp10) == 0 || (flags_ & kKeepOpen) != 0);
  if ((flags_ & kHead) != 0 || status_ == 204 || status_ == 304 || status_ == 101) {
    if (status_ == 101) keep = false;  // the connection now speaks another protocol
    state_ = State::complete;
  } else if ((flags_ & kHasCoding) != 0) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); a message with both may be
    // an attack on an intermediary, so the connection is not reused after it.
    if ((flags_ & kHasLength) != 0) keep = false;
    if ((flags_ & kChunked) != 0) {
      state_ = State::chunk_size_first;
    } else {
      state_ = State::body_until_close;
      keep = false;
    }
  } else if ((flags_ & kHasLength) != 0) {
    if (length_ > max_body_bytes_) {
      fail(ParseError::body_too_large);
      return;
    }
    state_ = length_ == 0 ? State::complete : State::body_length;
  } else {
    state_ = State::body_until_close;
    keep = false;
  }
  if (keep) flags_ |= kKeepAlive;
}

bool ResponseParser::chunk_size_end() noexcept {
  if (length_ == 0) {  // last chunk: trailer section, ended by a blank line
    flags_ |= kTrailers;
    line_pos_ = 0;
    state_ = State::line_start;
    return true;
  }
  if (length_ > max_body_bytes_ - body_bytes_) {
    fail(ParseError::body_too_large);
    return false;
  }
  state_ = State::chunk_data;
  return true;
}

ResponseParser::Result ResponseParser::feed(const char* data, std::size_t len,
                                            std::size_t& consumed) {
  consumed = 0;
  if (state_ == State::complete) return Result::complete;
  if (state_ == State::error) return Result::error;

  const char* p = data;
  const char* const data_end = data + len;
  // Start of the current status, field or blank line within this read. Lines are counted
  // toward the header limit as they end, and a partial line when the read ends.
  const char* line = data;
  // The header states see no byte past the limit: whatever error lies beyond it, the limit
  // is what the response broke first, however the bytes were split into reads.
  const char* end = data_end;
  auto header_window = [&] {
    const std::uint64_t room = max_header_bytes_ - header_bytes_;
    const auto avail = static_cast<std::uint64_t>(data_end - line);
    return room < avail ? line + room : data_end;
  };
  auto count_line = [&](const char* upto) {
    const std::uint64_t total = header_bytes_ + static_cast<std::uint64_t>(upto - line);
    line = upto;
    if (total > max_header_bytes_) return false;
    header_bytes_ = static_cast<std::uint32_t>(total);
    return true;
  };
  auto stop = [&](Result r) {
    consumed = static_cast<std::size_t>(p - data);
    return r;
  };

  while (p < data_end) {
    end = state_ <= State::field_value ? header_window() : data_end;
    if (p == end) return stop(fail(ParseError::header_too_large));
    switch (state_) {
      case State::status_line: {
        if (line_pos_ == 0 && end - p >= 12) {  // the whole "HTTP/1.x NNN" is here
          const unsigned minor = static_cast<unsigned char>(p[7]) - unsigned{'0'};
          const unsigned d0 = static_cast<unsigned char>(p[9]) - unsigned{'0'};
          const unsigned d1 = static_cast<unsigned char>(p[10]) - unsigned{'0'};
          const unsigned d2 = static_cast<unsigned char>(p[11]) - unsigned{'0'};
          if (std::memcmp(p, "HTTP/1.", 7) != 0 || minor > 9 || p[8] != ' ' || d0 - 1 > 8 ||
              d1 > 9 || d2 > 9) {
            return stop(fail(ParseError::bad_status_line));
          }
          if (minor == 0) flags_ |= kHttp10;
          status_ = static_cast<std::uint16_t>(d0 * 100 + d1 * 10 + d2);
          p += 12;
        } else {
          for (; p < end && line_pos_ < 12; ++p, ++line_pos_) {
            if (!status_byte(line_pos_, *p)) return stop(fail(ParseError::bad_status_line));
          }
          if (line_pos_ < 12) break;
        }
        if (status_ < 200 && status_ != 101) flags_ |= kInterim;
        state_ = State::status_end;
        break;
      }
      case State::status_end: {
        const char c = *p++;
        if (c == '\n') {
          if (!count_line(p)) return stop(fail(ParseError::header_too_large));
          state_ = State::line_start;
        } else if (c == ' ' || c == '\r') {
          state_ = State::status_rest;
        } else {
          return stop(fail(ParseError::bad_status_line));
        }
        break;
      }
      case State::status_rest: {
        const char* lf = find_lf(p, end);
        if (lf == nullptr) {
          p = end;
          break;
        }
        p = lf + 1;
        if (!count_line(p)) return stop(fail(ParseError::header_too_large));
        state_ = State::line_start;
        break;
      }
      case State::line_start: {
        // Whole lines, the usual case, are taken in this loop; a line that goes on in the next
        // read is left to field_name and field_value, which carry what they need.
        for (;;) {
          const char c = *p;
          if (c == '\r') {
            ++p;
            state_ = State::blank_lf;
            break;
          }
          if (c == '\n') {
            ++p;
            if (!count_line(p)) return stop(fail(ParseError::header_too_large));
            headers_end();
            break;
          }
          if (c == ' ' || c == '\t') return stop(fail(ParseError::bad_header));  // obs-fold
          const char* lf = find_lf(p, end);
          if (lf == nullptr) {
            line_pos_ = 0;
            state_ = State::field_name;
            break;
          }
          const char* q = skip_tchars(p, end);  // stops at the LF at the latest
          if (*q != ':' || q == p) return stop(fail(ParseError::bad_header));
          const Field field = classify(p, static_cast<std::size_t>(q - p));
          if (field != Field::other) {
            if (!start_field(field)) return stop(Result::error);
            if (!whole_value(q + 1, lf)) {
              p = q + 1;
              state_ = State::field_value;
              break;
            }
          }
          if (hook_) deliver_field(line, lf);
          p = lf + 1;
          if (!count_line(p)) return stop(fail(ParseError::header_too_large));
          if (p == end) break;
        }
        break;
      }
      case State::field_name: {
        const char* q = p;
        while (q < end && is_tchar(*q))
          ++q;
        const auto n = static_cast<std::size_t>(q - p);
        const std::size_t name_len = line_pos_ + n;
        if (q == end) {  // the name goes on in the next read: keep what classifying needs
          if (name_len <= kNameCarry) std::memcpy(name_carry_ + line_pos_, p, n);
          line_pos_ = saturate(name_len);
          p = end;
          break;
        }
        if (*q != ':' || name_len == 0) return stop(fail(ParseError::bad_header));
        Field field = Field::other;
        if (line_pos_ == 0) {
          field = classify(p, n);
        } else if (name_len <= kNameCarry) {
          std::memcpy(name_carry_ + line_pos_, p, n);
          field = classify(name_carry_, name_len);
        }
        if (!start_field(field)) return stop(Result::error);
        p = q + 1;
        state_ = State::field_value;
        if (p == end) break;
        [[fallthrough]];
      }
      case State::field_value: {
        const char* lf = find_lf(p, end);
        if (field_ != Field::other && !value_bytes(p, lf != nullptr ? lf : end)) {
          return stop(Result::error);
        }
        if (lf == nullptr) {
          p = end;
          break;
        }
        if (field_ != Field::other && !finish_value()) return stop(Result::error);
        if (hook_) deliver_field(line, lf);
        p = lf + 1;
        if (!count_line(p)) return stop(fail(ParseError::header_too_large));
        state_ = State::line_start;
        break;
      }
      case State::blank_lf: {
        if (*p != '\n') return stop(fail(ParseError::bad_header));
        ++p;
        if (!count_line(p)) return stop(fail(ParseError::header_too_large));
        headers_end();
        break;
      }
      case State::body_length:
      case State::chunk_data: {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(length_, static_cast<std::uint64_t>(end - p)));
        if (hook_) hook_->observer->on_body({p, n});
        p += n;
        body_bytes_ += n;
        length_ -= n;
        if (length_ == 0) {
          state_ = state_ == State::body_length ? State::complete : State::chunk_data_cr;
        }
        break;
      }
      case State::body_until_close: {
        const auto n = static_cast<std::size_t>(end - p);
        if (n > max_body_bytes_ - body_bytes_) return stop(fail(ParseError::body_too_large));
        if (hook_) hook_->observer->on_body({p, n});
        p = end;
        body_bytes_ += n;
        break;
      }
      case State::chunk_size_first: {
        const int d = hex_value(*p);
        if (d < 0) return stop(fail(ParseError::bad_chunk));
        ++p;
        length_ = static_cast<std::uint64_t>(d);
        state_ = State::chunk_size;
        break;
      }
      case State::chunk_size: {
        for (; p < end; ++p) {
          const int d = hex_value(*p);
          if (d < 0) break;
          if (length_ > (kMax64 >> 4)) return stop(fail(ParseError::bad_chunk));
          length_ = (length_ << 4) | static_cast<std::uint64_t>(d);
        }
        if (p == end) break;
        const char c = *p++;
        if (c == '\n') {
          if (!chunk_size_end()) return stop(Result::error);
          line = p;
        } else if (c == '\r') {
          state_ = State::chunk_size_lf;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::chunk_ext;
        } else {
          return stop(fail(ParseError::bad_chunk));
        }
        break;
      }
      case State::chunk_ext: {
        const char* lf = find_lf(p, end);
        if (lf == nullptr) {
          p = end;
          break;
        }
        p = lf + 1;
        if (!chunk_size_end()) return stop(Result::error);
        line = p;
        break;
      }
      case State::chunk_size_lf: {
        if (*p++ != '\n') return stop(fail(ParseError::bad_chunk));
        if (!chunk_size_end()) return stop(Result::error);
        line = p;
        break;
      }
      case State::chunk_data_cr: {
        const char c = *p++;
        if (c == '\r') {
          state_ = State::chunk_data_lf;
        } else if (c == '\n') {
          state_ = State::chunk_size_first;
        } else {
          return stop(fail(ParseError::bad_chunk));
        }
        break;
      }
      case State::chunk_data_lf: {
        if (*p++ != '\n') return stop(fail(ParseError::bad_chunk));
        state_ = State::chunk_size_first;
        break;
      }
      case State::complete:
      case State::error:
        STRAIN_ASSERT(false);
        break;
    }
    if (state_ == State::complete) return stop(Result::complete);
    if (state_ == State::error) return stop(Result::error);
  }

  if (state_ <= State::field_value) {  // the read ended inside the header section
    const char* begin = line;
    end = data_end;
    if (!count_line(end)) return stop(fail(ParseError::header_too_large));
    if (hook_ && (flags_ & kInterim) == 0 &&
        (state_ == State::field_name || state_ == State::field_value)) {
      hook_->line.append(begin, static_cast<std::size_t>(end - begin));
    }
  }
  consumed = len;
  return Result::need_more;
}

}  // namespace strain::http
