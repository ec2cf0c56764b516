#include "tools/target/request_parser.hpp"

#include <algorithm>
#include <cstring>

namespace strain::target {
namespace {

constexpr std::uint64_t kMaxChunkSize = 1ull << 59;  // so size * 16 + digit cannot overflow

bool is_token_char(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((static_cast<unsigned char>(a[i]) | 0x20) != (static_cast<unsigned char>(b[i]) | 0x20)) {
      return false;
    }
  }
  return true;
}

// Calls f(token) for each comma-separated, trimmed, non-empty element of a field value.
template <typename F>
void for_each_token(std::string_view value, F&& f) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    const auto token = trim(value.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = static_cast<char>(c | 0x20);
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

}  // namespace

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

const char* to_string(RequestError error) noexcept {
  switch (error) {
    case RequestError::none:
      return "none";
    case RequestError::bad_request_line:
      return "bad_request_line";
    case RequestError::bad_version:
      return "bad_version";
    case RequestError::bad_header:
      return "bad_header";
    case RequestError::head_too_large:
      return "head_too_large";
    case RequestError::bad_content_length:
      return "bad_content_length";
    case RequestError::bad_transfer_encoding:
      return "bad_transfer_encoding";
    case RequestError::bad_chunk:
      return "bad_chunk";
  }
  return "unknown";
}

int status_for(RequestError error) noexcept {
  switch (error) {
    case RequestError::head_too_large:
      return 431;
    case RequestError::bad_version:
      return 505;
    default:
      return 400;
  }
}

std::string_view RequestHead::query() const noexcept {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

RequestParser::Event RequestParser::fail(RequestError error, std::size_t& consumed) noexcept {
  state_ = State::failed;
  error_ = error;
  consumed = 0;
  return Event::error;
}

RequestParser::Event RequestParser::feed(const char* data, std::size_t len, std::size_t& consumed) {
  consumed = 0;
  switch (state_) {
    case State::failed:
      return Event::error;
    case State::done:
      return complete();
    case State::head:
      break;
    case State::fixed_body: {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, len));
      if (sink_ != nullptr) keep(data, take);
      consumed = take;
      remaining_ -= take;
      body_bytes_ += take;
      if (remaining_ > 0) return Event::need_more;
      return complete();
    }
    default: {
      consumed = feed_chunked(data, len);
      if (state_ == State::failed) return fail(RequestError::bad_chunk, consumed);
      if (state_ != State::done) return Event::need_more;
      return complete();
    }
  }

  // A new request: RFC 9112 §2.2 asks servers to ignore empty lines before the request line.
  if (scanned_ == 0) {
    while (consumed < len && (data[consumed] == '\r' || data[consumed] == '\n'))
      ++consumed;
    data += consumed;
    len -= consumed;
  }
  // Look for the blank line that ends the head, from where the previous call stopped.
  std::size_t head_len = 0;
  std::size_t i = scanned_;
  while (i < len && head_len == 0) {
    const auto* nl = static_cast<const char*>(std::memchr(data + i, '\n', len - i));
    if (nl == nullptr) {
      i = len;
      break;
    }
    const auto pos = static_cast<std::size_t>(nl - data);
    std::size_t line_len = pos - line_start_;
    if (line_len > 0 && data[pos - 1] == '\r') --line_len;
    if (line_len == 0 && line_start_ > 0) head_len = pos + 1;
    line_start_ = pos + 1;
    i = pos + 1;
  }
  scanned_ = i;
  if (head_len == 0) {
    if (len >= limits_.max_head_bytes) return fail(RequestError::head_too_large, consumed);
    return Event::need_more;
  }
  if (head_len > limits_.max_head_bytes) return fail(RequestError::head_too_large, consumed);
  scanned_ = 0;
  line_start_ = 0;
  body_bytes_ = 0;
  if (const auto error = parse_head(data, head_len); error != RequestError::none) {
    return fail(error, consumed);
  }
  consumed += head_len;
  return Event::head;
}

RequestParser::Event RequestParser::complete() noexcept {
  state_ = State::head;
  sink_ = nullptr;  // the caller may free it now
  return Event::complete;
}

void RequestParser::keep(const char* data, std::size_t len) {
  const auto take = std::min(len, sink_room_);
  sink_->append(data, take);
  sink_room_ -= take;
  if (take < len) body_truncated_ = true;
}

RequestError RequestParser::parse_head(const char* data, std::size_t len) noexcept {
  head_ = RequestHead{};
  body_truncated_ = false;
  std::string_view rest(data, len);
  auto next_line = [&rest]() {
    const auto nl = rest.find('\n');
    auto line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };

  // Request line: method SP request-target SP HTTP-version.
  auto line = next_line();
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return RequestError::bad_request_line;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return RequestError::bad_request_line;
  head_.method = line.substr(0, sp1);
  head_.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(head_.method) || head_.target.empty()) return RequestError::bad_request_line;
  for (char c : head_.target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return RequestError::bad_request_line;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return RequestError::bad_request_line;
  }
  if (version[5] != '1') return RequestError::bad_version;
  head_.version_minor = version[7] == '0' ? 0 : 1;

  bool close = false;
  bool keep_alive = false;
  bool expect = false;
  bool chunked = false;
  bool has_te = false;
  bool has_length = false;
  std::uint64_t length = 0;
  for (line = next_line(); !line.empty(); line = next_line()) {
    if (line.front() == ' ' || line.front() == '\t') return RequestError::bad_header;  // obs-fold
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return RequestError::bad_header;
    const auto name = line.substr(0, colon);
    if (!is_token(name)) return RequestError::bad_header;
    const auto value = trim(line.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return RequestError::bad_header;
    }
    switch (name.size()) {
      case 6:
        if (iequals(name, "expect")) expect = iequals(value, "100-continue");
        break;
      case 10:
        if (iequals(name, "connection")) {
          for_each_token(value, [&](std::string_view token) {
            if (iequals(token, "close"))
              close = true;
            else if (iequals(token, "keep-alive"))
              keep_alive = true;
          });
        }
        break;
      case 13:
        if (iequals(name, "authorization")) head_.authorization = value;
        break;
      case 14:
        if (iequals(name, "content-length")) {
          if (value.empty() || value.size() > 18) return RequestError::bad_content_length;
          std::uint64_t n = 0;
          for (char c : value) {
            if (c < '0' || c > '9') return RequestError::bad_content_length;
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
          }
          if (has_length && n != length) return RequestError::bad_content_length;
          has_length = true;
          length = n;
        }
        break;
      case 17:
        if (iequals(name, "transfer-encoding")) {
          // Only the final coding frames the message; the body is discarded, so "gzip, chunked"
          // is as good as "chunked".
          has_te = true;
          chunked = false;
          for_each_token(value,
                         [&](std::string_view token) { chunked = iequals(token, "chunked"); });
          if (!chunked) return RequestError::bad_transfer_encoding;
        }
        break;
      default:
        break;
    }
  }
  // Both framings at once is how request smuggling starts: refuse rather than pick one.
  if (has_te && has_length) return RequestError::bad_transfer_encoding;

  head_.keep_alive = head_.version_minor >= 1 ? !close : keep_alive && !close;
  head_.has_body = chunked || length > 0;
  head_.content_length = length;
  head_.expect_continue = expect && head_.version_minor >= 1 && head_.has_body;
  if (chunked) {
    state_ = State::chunk_size;
    remaining_ = 0;
    line_bytes_ = 0;
    chunk_digits_ = false;
  } else if (length > 0) {
    state_ = State::fixed_body;
    remaining_ = length;
  } else {
    state_ = State::done;
  }
  return RequestError::none;
}

std::size_t RequestParser::feed_chunked(const char* data, std::size_t len) {
  std::size_t i = 0;
  auto end_size_line = [this]() {
    line_bytes_ = 0;
    chunk_digits_ = false;
    state_ = remaining_ == 0 ? State::trailer_line_start : State::chunk_data;
  };
  while (i < len && state_ != State::done && state_ != State::failed) {
    const char c = data[i];
    switch (state_) {
      case State::chunk_size: {
        const int digit = hex_value(c);
        if (digit >= 0) {
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(digit);
          if (remaining_ > kMaxChunkSize) {
            state_ = State::failed;
            break;
          }
          chunk_digits_ = true;
        } else if (!chunk_digits_) {
          state_ = State::failed;
          break;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::chunk_ext;
        } else if (c == '\r') {
          state_ = State::chunk_size_lf;
        } else if (c == '\n') {
          end_size_line();
        } else {
          state_ = State::failed;
          break;
        }
        ++i;
        break;
      }
      case State::chunk_ext:
        if (c == '\r')
          state_ = State::chunk_size_lf;
        else if (c == '\n')
          end_size_line();
        else if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
          state_ = State::failed;
        ++i;
        break;
      case State::chunk_size_lf:
        if (c != '\n') {
          state_ = State::failed;
          break;
        }
        end_size_line();
        ++i;
        break;
      case State::chunk_data: {
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, len - i));
        if (sink_ != nullptr) keep(data + i, take);
        i += take;
        remaining_ -= take;
        body_bytes_ += take;
        if (remaining_ == 0) state_ = State::chunk_data_cr;
        continue;  // not a line byte
      }
      case State::chunk_data_cr:
        if (c == '\r')
          state_ = State::chunk_data_lf;
        else if (c == '\n')
          state_ = State::chunk_size;
        else
          state_ = State::failed;
        ++i;
        continue;
      case State::chunk_data_lf:
        state_ = c == '\n' ? State::chunk_size : State::failed;
        ++i;
        continue;
      case State::trailer_line_start:
        if (c == '\r')
          state_ = State::trailer_end_lf;
        else if (c == '\n')
          state_ = State::done;
        else
          state_ = State::trailer_line;
        ++i;
        break;
      case State::trailer_line: {
        const auto* nl = static_cast<const char*>(std::memchr(data + i, '\n', len - i));
        const auto end = nl == nullptr ? len : static_cast<std::size_t>(nl - data) + 1;
        line_bytes_ += static_cast<std::uint32_t>(std::min<std::size_t>(end - i, 1u << 30));
        i = end;
        if (nl != nullptr) state_ = State::trailer_line_start;
        if (line_bytes_ > limits_.max_head_bytes) state_ = State::failed;
        continue;
      }
      case State::trailer_end_lf:
        state_ = c == '\n' ? State::done : State::failed;
        ++i;
        break;
      default:
        state_ = State::failed;
        break;
    }
    // Chunk-size lines and trailers are bounded; chunk data is not a line.
    ++line_bytes_;
    const bool in_trailers = state_ == State::trailer_line_start || state_ == State::trailer_line ||
                             state_ == State::trailer_end_lf;
    if (line_bytes_ > (in_trailers ? limits_.max_head_bytes : limits_.max_chunk_line_bytes)) {
      state_ = State::failed;
    }
  }
  return i;
}

}  // namespace strain::target
