// The HTTP/1.1 response parser: bytes as a server might send them. Whatever the bytes, the
// parser reaches the same verdict fed at once or in pieces (a read may end anywhere), the
// observer's body pieces add up to body_bytes(), and it never reads past what it was given.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/transport/response_parser.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace strain::http;

namespace {

struct Counting final : ResponseObserver {
  std::uint64_t body = 0;
  std::uint64_t fields = 0;
  void on_header(std::string_view name, std::string_view value) override {
    FUZZ_CHECK(!name.empty());
    (void)value;
    ++fields;
  }
  void on_body(std::string_view piece) override { body += piece.size(); }
};

struct Verdict {
  std::vector<int> results;  // per response: the Result, then status, keep-alive, error
  std::vector<std::uint64_t> sizes;
  bool operator==(const Verdict&) const = default;
};

// Parses responses one after another (a pipelined connection) until the bytes run out or one
// fails. `piece` > 0 feeds at most that many bytes per call; the parser keeps no copy of them.
Verdict parse(std::string_view bytes, bool head, std::size_t piece, std::uint32_t max_header) {
  Verdict v;
  ParserLimits limits;
  limits.max_header_bytes = max_header;
  limits.max_body_bytes = 1 << 20;
  ResponseParser p(limits);
  Counting seen;
  std::size_t at = 0;
  for (int responses = 0; responses < 64; ++responses) {
    seen = Counting{};
    p.set_observer(&seen);
    p.reset(head);
    ResponseParser::Result r = ResponseParser::Result::need_more;
    while (at < bytes.size()) {
      const std::size_t n = piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at);
      std::size_t consumed = 0;
      r = p.feed(bytes.data() + at, n, consumed);
      if (r == ResponseParser::Result::need_more) {
        at += n;
        continue;
      }
      FUZZ_CHECK(consumed <= n);
      at += consumed;
      break;
    }
    if (r == ResponseParser::Result::need_more) r = p.finish_on_eof();
    v.results.push_back(static_cast<int>(r));
    v.results.push_back(p.status());
    v.results.push_back(static_cast<int>(p.error()));
    if (r == ResponseParser::Result::complete) {
      // Sizes only of a response read whole: where a malformed one is noticed (mid-line fed
      // whole, at the line's end fed byte by byte) moves its header_bytes, not its verdict.
      v.sizes.push_back(p.body_bytes());
      v.sizes.push_back(p.header_bytes());
      v.results.push_back(p.keep_alive() ? 1 : 0);
      FUZZ_CHECK(seen.body == p.body_bytes());
      FUZZ_CHECK(p.status() >= 100 && p.status() <= 999);
      FUZZ_CHECK(p.header_bytes() <= max_header);
      if (head) FUZZ_CHECK(p.body_bytes() == 0);
    } else {
      FUZZ_CHECK(p.error() != ParseError::none);
    }
    if (r != ResponseParser::Result::complete || !p.keep_alive() || at >= bytes.size()) break;
  }
  p.set_observer(nullptr);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte chooses: HEAD or not, a small header limit or the default, the piece size.
  const bool head = (data[0] & 1) != 0;
  const std::uint32_t max_header = (data[0] & 2) != 0 ? 256 : 64 * 1024;
  const std::size_t piece = 1 + static_cast<std::size_t>((data[0] >> 2) & 7);
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const Verdict whole = parse(bytes, head, 0, max_header);
  FUZZ_CHECK(parse(bytes, head, piece, max_header) == whole);
  FUZZ_CHECK(parse(bytes, head, 1, max_header) == whole);
  return 0;
}
