#include "engine/transport/response_parser.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace strain::http;
using Result = ResponseParser::Result;

namespace {

// Collects what an observer sees; body pieces are joined, so any split gives the same text.
class Recorder : public ResponseObserver {
 public:
  void on_header(std::string_view name, std::string_view value) override {
    headers.append(name).append(": ").append(value).append("\n");
  }
  void on_body(std::string_view piece) override { body.append(piece); }
  std::string headers;
  std::string body;
};

struct Outcome {
  Result result = Result::need_more;
  int status = 0;
  std::uint64_t body_bytes = 0;
  bool keep_alive = false;
  ParseError error = ParseError::none;
  std::size_t consumed = 0;        // bytes fed since reset that belonged to this response
  std::uint64_t header_bytes = 0;  // meaningful when complete
  std::string observed;            // observer's headers and body, when observing
};

std::string describe(const Outcome& o) {
  return std::string(o.result == Result::complete ? "complete"
                     : o.result == Result::error  ? "error"
                                                  : "need_more") +
         " status=" + std::to_string(o.status) + " body=" + std::to_string(o.body_bytes) +
         " keep_alive=" + (o.keep_alive ? "1" : "0") + " error=" + to_string(o.error) +
         " consumed=" + std::to_string(o.consumed) +
         " header_bytes=" + std::to_string(o.header_bytes) + " observed=[" + o.observed + "]";
}

// Outcomes as text, so a failed comparison shows both sides.
std::string describe(const std::vector<Outcome>& outcomes) {
  std::string s;
  for (const auto& o : outcomes)
    s += describe(o) + "\n";
  return s;
}

// Feeds `wire` in pieces of the given sizes, parsing one response per entry of `heads`, then
// signals EOF if a response is still open. Error outcomes keep only result, status and error:
// how far an error got before it was noticed legitimately depends on the split.
std::vector<Outcome> run(const std::string& wire, const std::vector<bool>& heads,
                         const std::vector<std::size_t>& sizes, ParserLimits limits, bool observe) {
  ResponseParser parser(limits);
  Recorder recorder;
  if (observe) parser.set_observer(&recorder);
  std::vector<Outcome> out;
  std::size_t index = 0;
  std::size_t consumed = 0;
  parser.reset(heads[0]);
  auto record = [&](Result r) {
    Outcome o;
    o.result = r;
    o.status = parser.status();
    o.error = parser.error();
    if (r == Result::complete) {
      o.body_bytes = parser.body_bytes();
      o.keep_alive = parser.keep_alive();
      o.consumed = consumed;
      o.header_bytes = parser.header_bytes();
      if (observe) o.observed = recorder.headers + "|" + recorder.body;
    } else {
      CHECK_FALSE(parser.keep_alive());
    }
    out.push_back(o);
    recorder = Recorder{};
    consumed = 0;
  };
  std::size_t offset = 0;
  for (std::size_t size : sizes) {
    // Each piece in its own allocation, so a sanitizer sees any read past a read's end.
    const auto piece = std::make_unique<char[]>(size);
    std::copy_n(wire.data() + offset, size, piece.get());
    const char* data = piece.get();
    std::size_t left = size;
    offset += size;
    while (index < heads.size()) {
      std::size_t used = 12345;
      const Result r = parser.feed(data, left, used);
      REQUIRE(used <= left);
      consumed += used;
      if (r == Result::need_more) {
        REQUIRE(used == left);
        break;
      }
      record(r);
      if (r == Result::error) return out;
      data += used;
      left -= used;
      if (++index == heads.size()) break;
      parser.reset(heads[index]);
      if (left == 0) break;
    }
    if (index == heads.size()) break;
  }
  REQUIRE(offset <= wire.size());
  if (index < heads.size()) record(parser.finish_on_eof());
  return out;
}

struct Case {
  std::string name;
  std::string wire;         // what the server sends before closing
  std::vector<bool> heads;  // one entry per response: was it a HEAD request
  std::vector<Outcome> expect;
  ParserLimits limits{};
};

Outcome ok(int status, std::uint64_t body, bool keep_alive, std::size_t consumed,
           std::uint64_t header_bytes) {
  Outcome o;
  o.result = Result::complete;
  o.status = status;
  o.body_bytes = body;
  o.keep_alive = keep_alive;
  o.consumed = consumed;
  o.header_bytes = header_bytes;
  return o;
}

// A response whose header section is everything but the body.
Outcome ok_plain(int status, const std::string& response, std::uint64_t body, bool keep_alive) {
  return ok(status, body, keep_alive, response.size(), response.size() - body);
}

Outcome err(int status, ParseError error) {
  Outcome o;
  o.result = Result::error;
  o.status = status;
  o.error = error;
  return o;
}

Case one(std::string name, const std::string& wire, Outcome expect, bool head = false,
         ParserLimits limits = {}) {
  return Case{std::move(name), wire, {head}, {expect}, limits};
}

std::vector<Case> corpus() {
  std::vector<Case> cases;
  const std::string hello =
      "HTTP/1.1 200 OK\r\nServer: strain-target\r\nContent-Length: 13\r\n"
      "Content-Type: text/plain\r\n\r\nHello, World!";
  cases.push_back(one("content-length", hello, ok_plain(200, hello, 13, true)));
  cases.push_back(
      one("content-length then garbage", hello + "GARBAGE", ok_plain(200, hello, 13, true)));
  const std::string empty = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  cases.push_back(one("content-length 0", empty, ok_plain(200, empty, 0, true)));
  const std::string spaced = "HTTP/1.1 201 Created\r\ncontent-length:  \t5 \t\r\n\r\nabcde";
  cases.push_back(
      one("content-length with whitespace, lower case", spaced, ok_plain(201, spaced, 5, true)));
  const std::string bare_lf = "HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nok";
  cases.push_back(one("bare LF line ends", bare_lf, ok_plain(200, bare_lf, 2, true)));
  const std::string no_reason = "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx";
  cases.push_back(one("no reason phrase", no_reason, ok_plain(200, no_reason, 1, true)));
  const std::string empty_reason = "HTTP/1.1 404 \r\nContent-Length: 1\r\n\r\nx";
  cases.push_back(one("empty reason phrase", empty_reason, ok_plain(404, empty_reason, 1, true)));
  const std::string lookalikes =
      "HTTP/1.1 200 OK\r\nContent-Lengthy: 99\r\nConnection-Foo: close\r\n"
      "Transfer-Encodings: chunked\r\nX-Content-Length: 7\r\nConnectio: close\r\n"
      "A-Very-Long-Header-Name-That-Goes-On-And-On: 1\r\nCONTENT-LENGTH: 3\r\n\r\nabc";
  cases.push_back(one("names that look like the inspected ones", lookalikes,
                      ok_plain(200, lookalikes, 3, true)));
  const std::string max_len = "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nab";
  cases.push_back(
      one("largest content-length, then EOF", max_len, err(200, ParseError::truncated)));

  // Chunked: 5 + 7 + 1 + 26 = 39 body bytes; header_bytes counts the header and trailer sections.
  const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string trailers = "X-Trailer: t\r\nX-Other: u\r\n\r\n";
  const std::string chunked = chunked_head +
                              "5;name=val\r\nHello\r\n"
                              "7 ; a=\"b;c\"\r\n, World\r\n"
                              "1\r\n!\r\n"
                              "001A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                              "0;last\r\n" +
                              trailers;
  cases.push_back(one("chunked with extensions and trailers", chunked,
                      ok(200, 39, true, chunked.size(), chunked_head.size() + trailers.size())));
  const std::string chunked_plain = chunked_head + "3\r\nabc\r\n0\r\n\r\n";
  cases.push_back(one("chunked", chunked_plain,
                      ok(200, 3, true, chunked_plain.size(), chunked_head.size() + 2)));
  const std::string chunked_lf =
      "HTTP/1.1 200 OK\ntransfer-encoding: CHUNKED\n\na\n0123456789\n0\n\n";
  cases.push_back(one("chunked with bare LF, upper-case coding", chunked_lf,
                      ok(200, 10, true, chunked_lf.size(), 45)));
  const std::string codings_head =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: , chunked \r\n\r\n";
  const std::string codings = codings_head + "2\r\nzz\r\n0\r\n\r\n";
  cases.push_back(one("chunked as the last of several codings", codings,
                      ok(200, 2, true, codings.size(), codings_head.size() + 2)));
  const std::string not_last =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nzz\r\n0\r\n\r\n";
  cases.push_back(
      one("chunked not last: read until close", not_last, ok_plain(200, not_last, 12, false)));
  const std::string both_head =
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string both = both_head + "4\r\nabcd\r\n0\r\n\r\n";
  cases.push_back(one("transfer-encoding overrides content-length, no reuse", both,
                      ok(200, 4, false, both.size(), both_head.size() + 2)));

  // No body, whatever the headers say.
  const std::string head_resp = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  cases.push_back(one("HEAD with content-length", head_resp + "HTTP/1.1",
                      ok_plain(200, head_resp, 0, true), true));
  const std::string head_chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  cases.push_back(
      one("HEAD with chunked", head_chunked, ok_plain(200, head_chunked, 0, true), true));
  const std::string no_content = "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n";
  cases.push_back(one("204", no_content + "junk", ok_plain(204, no_content, 0, true)));
  const std::string not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n";
  cases.push_back(
      one("304 with content-length", not_modified, ok_plain(304, not_modified, 0, true)));

  // Interim responses are skipped; their bytes count as header bytes of the final one.
  const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string after = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  cases.push_back(
      one("100-continue then 200", cont + after,
          ok(200, 2, true, cont.size() + after.size(), cont.size() + after.size() - 2)));
  const std::string hints =
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nContent-Length: 9\r\n\r\n"
      "HTTP/1.1 102 Processing\r\n\r\n";
  const std::string final_close =
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc";
  cases.push_back(one(
      "two interim responses then 200 with close", hints + final_close,
      ok(200, 3, false, hints.size() + final_close.size(), hints.size() + final_close.size() - 3)));
  const std::string switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  cases.push_back(one("101 ends HTTP on this connection", switching + "\x81\x05hello",
                      ok_plain(101, switching, 0, false)));

  // Connection reuse.
  const std::string v10_keep =
      "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok";
  cases.push_back(one("HTTP/1.0 keep-alive", v10_keep, ok_plain(200, v10_keep, 2, true)));
  const std::string v10 = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
  cases.push_back(one("HTTP/1.0 without keep-alive", v10, ok_plain(200, v10, 2, false)));
  const std::string v10_close = "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end";
  cases.push_back(one("HTTP/1.0 read until close", v10_close, ok_plain(200, v10_close, 13, false)));
  const std::string close = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
  cases.push_back(one("Connection: close", close, ok_plain(200, close, 2, false)));
  const std::string close_list =
      "HTTP/1.1 200 OK\r\nConnection: Upgrade,  CLOSE \r\nContent-Length: 2\r\n\r\nok";
  cases.push_back(one("close in a list", close_list, ok_plain(200, close_list, 2, false)));
  const std::string not_close =
      "HTTP/1.1 200 OK\r\nConnection: closed, clo se, keep-alive-ish\r\nContent-Length: "
      "2\r\n\r\nok";
  cases.push_back(one("tokens that are not close", not_close, ok_plain(200, not_close, 2, true)));
  const std::string v10_both =
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  cases.push_back(
      one("HTTP/1.0 keep-alive and close", v10_both, ok_plain(200, v10_both, 0, false)));
  const std::string until_close = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nabcdef";
  cases.push_back(one("read until close", until_close, ok_plain(200, until_close, 6, false)));
  const std::string until_close_empty = "HTTP/1.1 500 Oops\r\n\r\n";
  cases.push_back(one("read until close, empty body", until_close_empty,
                      ok_plain(500, until_close_empty, 0, false)));

  // Pipelined responses back to back; the second answers a HEAD.
  const std::string p1 = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none";
  const std::string p2 = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
  const std::string p3_head = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string p3 = p3_head + "5\r\nthree\r\n0\r\n\r\n";
  const std::string p4 = "HTTP/1.1 204 No Content\r\n\r\n";
  const std::string p5 = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nlast";
  cases.push_back(Case{"pipelined",
                       p1 + p2 + p3 + p4 + p5,
                       {false, true, false, false, false},
                       {ok_plain(200, p1, 3, true), ok_plain(200, p2, 0, true),
                        ok(404, 5, true, p3.size(), p3_head.size() + 2), ok_plain(204, p4, 0, true),
                        ok_plain(200, p5, 4, false)}});
  cases.push_back(Case{"pipelined, then an error",
                       p1 + "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                       {false, false},
                       {ok_plain(200, p1, 3, true), err(200, ParseError::bad_content_length)}});

  // Errors.
  const std::string big_header =
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(300, 'a') + "\r\nContent-Length: 0\r\n\r\n";
  cases.push_back(one("header over the limit", big_header, err(200, ParseError::header_too_large),
                      false, ParserLimits{256, ~0ull}));
  const std::string no_lf = "HTTP/1.1 200 OK\r\nX-Endless: " + std::string(300, 'a');
  cases.push_back(one("endless header line", no_lf, err(200, ParseError::header_too_large), false,
                      ParserLimits{256, ~0ull}));
  const std::string endless_status = "HTTP/1.1 200 " + std::string(300, 'a');
  cases.push_back(one("endless status line", endless_status, err(200, ParseError::header_too_large),
                      false, ParserLimits{256, ~0ull}));
  std::string many_interim;
  for (int i = 0; i < 20; ++i)
    many_interim += "HTTP/1.1 100 Continue\r\n\r\n";
  cases.push_back(one("interim responses over the limit", many_interim + after,
                      err(0, ParseError::header_too_large), false, ParserLimits{256, ~0ull}));
  const std::string trailer_flood =
      chunked_head + "1\r\na\r\n0\r\nX-T: " + std::string(300, 't') + "\r\n\r\n";
  cases.push_back(one("trailers over the limit", trailer_flood,
                      err(200, ParseError::header_too_large), false, ParserLimits{256, ~0ull}));

  for (const char* bad :
       {"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 20\r\n\r\n", "HTTP/1.1 200X\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.x 200 OK\r\n\r\n", "garbage\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK"}) {
    const std::string text = bad;
    const bool short_but_valid = text == "HTTP/1.1 200 OK";
    cases.push_back(one(
        "bad status line: " + text, text,
        short_but_valid ? err(200, ParseError::truncated) : err(0, ParseError::bad_status_line)));
  }
  const std::string base = "HTTP/1.1 200 OK\r\n";
  struct Bad {
    const char* headers;
    ParseError error;
  };
  const Bad bad_headers[] = {
      {"X-A: a\r\n  folded\r\nContent-Length: 0\r\n\r\n", ParseError::bad_header},
      {"X-A: a\r\n\tfolded\r\n\r\n", ParseError::bad_header},
      {"Content-Length : 5\r\n\r\nhello", ParseError::bad_header},
      {"NoColon\r\n\r\n", ParseError::bad_header},
      {": empty name\r\n\r\n", ParseError::bad_header},
      {"X(A): 1\r\n\r\n", ParseError::bad_header},
      {"X-A: 1\r\r\n\r\n", ParseError::none},  // bare CR in a skipped value is not inspected
      {"Content-Length: 5\rX\r\n\r\nhello", ParseError::bad_header},
      {"Connection: close\r \r\n\r\n", ParseError::bad_header},
      {"X-A: 1\r\n\rX\r\n", ParseError::bad_header},
      {"Content-Length: -1\r\n\r\n", ParseError::bad_content_length},
      {"Content-Length: 18446744073709551616\r\n\r\n", ParseError::bad_content_length},
      {"Content-Length: 99999999999999999999999\r\n\r\n", ParseError::bad_content_length},
      {"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", ParseError::bad_content_length},
      {"Content-Length: 5\r\ncontent-length: 6\r\n\r\nhello!", ParseError::bad_content_length},
      {"Content-Length: 5, 5\r\n\r\nhello", ParseError::bad_content_length},
      {"Content-Length: 1 2\r\n\r\nhello", ParseError::bad_content_length},
      {"Content-Length:\r\n\r\n", ParseError::bad_content_length},
      {"Content-Length: 0x10\r\n\r\n", ParseError::bad_content_length},
      {"Content-Length: +5\r\n\r\nhello", ParseError::bad_content_length},
  };
  for (const auto& b : bad_headers) {
    const std::string text = base + b.headers;
    if (b.error == ParseError::none) {
      cases.push_back(one("tolerated: " + text, text, ok_plain(200, text, 0, false)));
    } else {
      cases.push_back(one("bad header: " + text, text, err(200, b.error)));
    }
  }
  for (const char* body : {"zz\r\n", "5\r\nHelloXX0\r\n\r\n", "5\r\nHello\r0\r\n\r\n",
                           "1ffffffffffffffff\r\n", ";ext\r\n", " 5\r\nHello\r\n0\r\n\r\n",
                           "5\rX\nHello\r\n0\r\n\r\n", "5\r\nHello\r\n0\r\nBad Trailer\r\n\r\n"}) {
    const std::string text = chunked_head + body;
    const bool trailer = std::string(body).find("Bad Trailer") != std::string::npos;
    cases.push_back(one("bad chunk: " + std::string(body), text,
                        err(200, trailer ? ParseError::bad_header : ParseError::bad_chunk)));
  }
  const std::string short_body = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  cases.push_back(one("truncated body", short_body, err(200, ParseError::truncated)));
  cases.push_back(
      one("truncated chunked", chunked_head + "5\r\nHel", err(200, ParseError::truncated)));
  cases.push_back(one("truncated headers", "HTTP/1.1 200 OK\r\nServer: x\r\n",
                      err(200, ParseError::truncated)));
  cases.push_back(one("truncated status line", "HTTP/1.", err(0, ParseError::truncated)));
  cases.push_back(one("truncated after 100-continue", cont, err(0, ParseError::truncated)));
  cases.push_back(one("nothing at all", "", err(0, ParseError::no_response)));

  const ParserLimits small_body{64 * 1024, 10};
  cases.push_back(one("content-length over the body limit",
                      "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
                      err(200, ParseError::body_too_large), false, small_body));
  const std::string ten = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
  cases.push_back(one("content-length at the body limit", ten, ok_plain(200, ten, 10, true), false,
                      small_body));
  cases.push_back(one("chunks over the body limit",
                      chunked_head + "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n",
                      err(200, ParseError::body_too_large), false, small_body));
  cases.push_back(one("read until close over the body limit", "HTTP/1.1 200 OK\r\n\r\n0123456789A",
                      err(200, ParseError::body_too_large), false, small_body));
  return cases;
}

// Piece sizes: the whole, two pieces at `cut`, one byte each, or random.
std::vector<std::size_t> whole(std::size_t n) {
  return {n};
}
std::vector<std::size_t> two(std::size_t n, std::size_t cut) {
  return {cut, n - cut};
}
std::vector<std::size_t> bytewise(std::size_t n) {
  return std::vector<std::size_t>(n, 1);
}
std::vector<std::size_t> random_pieces(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<std::size_t> size(0, 24);
  std::vector<std::size_t> out;
  while (n > 0) {
    const std::size_t s = std::min(n, size(rng));
    out.push_back(s);
    n -= s;
  }
  return out;
}

void check_case(const Case& c, bool observe) {
  const std::size_t n = c.wire.size();
  const auto reference = run(c.wire, c.heads, whole(n), c.limits, observe);
  {
    INFO("whole");
    std::vector<Outcome> expect = c.expect;
    if (observe) {
      REQUIRE(reference.size() == expect.size());
      for (std::size_t i = 0; i < expect.size(); ++i)
        expect[i].observed = reference[i].observed;
    }
    CHECK(describe(reference) == describe(expect));
  }
  for (std::size_t cut = 0; cut <= n; ++cut) {
    INFO("two pieces, cut at " << cut);
    CHECK(describe(run(c.wire, c.heads, two(n, cut), c.limits, observe)) == describe(reference));
  }
  {
    INFO("one byte at a time");
    CHECK(describe(run(c.wire, c.heads, bytewise(n), c.limits, observe)) == describe(reference));
  }
  std::mt19937 rng(20240601);
  for (int trial = 0; trial < 50; ++trial) {
    INFO("random pieces, trial " << trial);
    CHECK(describe(run(c.wire, c.heads, random_pieces(n, rng), c.limits, observe)) ==
          describe(reference));
  }
}

}  // namespace

TEST_CASE("every response parses the same whole, split anywhere, bytewise and randomly") {
  for (const auto& c : corpus()) {
    CAPTURE(c.name);
    check_case(c, false);
  }
}

TEST_CASE("with an observer: the same results, and the same fields and body in every split") {
  for (const auto& c : corpus()) {
    CAPTURE(c.name);
    check_case(c, true);
  }
}

TEST_CASE("field names are RFC 9110 tokens, byte for byte") {
  const std::string tchars = "!#$%&'*+-.^_`|~";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (c == '\n') continue;
    const bool token = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       tchars.find(c) != std::string::npos;
    // Long enough for the wide scan in one read, short pieces for the narrow one.
    const std::string wire = "HTTP/1.1 200 OK\r\nX-" + std::string(1, c) +
                             "-Padding-Name: 1\r\nContent-Length: 0\r\n\r\n";
    const Outcome expect =
        token || c == ':' ? ok_plain(200, wire, 0, true) : err(200, ParseError::bad_header);
    CAPTURE(b);
    for (auto sizes : {whole(wire.size()), bytewise(wire.size()), two(wire.size(), 20)}) {
      CHECK(describe(run(wire, {false}, sizes, {}, false)) == describe(std::vector{expect}));
    }
  }
}

TEST_CASE("the observer sees final fields, trailers and the body without framing") {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\nX-Interim: no\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Empty:\r\nX-Pad: \t a b \t\r\n\r\n"
      "5;x=y\r\nHello\r\n8\r\n, World!\r\n0\r\nX-Trailer: yes\r\n\r\n";
  const std::string expected =
      "Transfer-Encoding: chunked\nX-Empty: \nX-Pad: a b\nX-Trailer: yes\n|Hello, World!";
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    CAPTURE(cut);
    const auto out = run(wire, {false}, two(wire.size(), cut), {}, true);
    REQUIRE(out.size() == 1);
    CHECK(out[0].observed == expected);
  }
  CHECK(run(wire, {false}, bytewise(wire.size()), {}, true)[0].observed == expected);
}

TEST_CASE("the default header limit is 64 KiB, counted exactly") {
  const std::string head = "HTTP/1.1 200 OK\r\nX-Big: ";
  const std::string tail = "\r\nContent-Length: 0\r\n\r\n";
  const std::size_t limit = 64 * 1024;
  const std::string at_limit = head + std::string(limit - head.size() - tail.size(), 'a') + tail;
  const std::string over = head + std::string(limit + 1 - head.size() - tail.size(), 'a') + tail;
  REQUIRE(at_limit.size() == limit);
  for (auto sizes : {whole(limit), bytewise(limit), two(limit, limit / 2)}) {
    const auto out = run(at_limit, {false}, sizes, {}, false);
    CHECK(describe(out.at(0)) == describe(ok_plain(200, at_limit, 0, true)));
  }
  for (auto sizes : {whole(limit + 1), bytewise(limit + 1), two(limit + 1, 100)}) {
    const auto out = run(over, {false}, sizes, {}, false);
    CHECK(describe(out.at(0)) == describe(err(200, ParseError::header_too_large)));
  }
  ResponseParser parser;
  parser.reset(false);
  std::string endless = "HTTP/1.1 200 OK\r\nX: " + std::string(1 << 20, 'x');
  std::size_t used = 0;
  CHECK(parser.feed(endless.data(), endless.size(), used) == Result::error);
  CHECK(parser.error() == ParseError::header_too_large);
}

TEST_CASE("after complete or error, feed takes nothing until reset") {
  ResponseParser parser;
  parser.reset(false);
  const std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1";
  std::size_t used = 0;
  REQUIRE(parser.feed(r.data(), r.size(), used) == Result::complete);
  CHECK(used == r.size() - 8);
  CHECK(parser.feed(r.data(), r.size(), used) == Result::complete);
  CHECK(used == 0);
  CHECK(parser.finish_on_eof() == Result::complete);

  parser.reset(false);
  REQUIRE(parser.feed("XTTP", 4, used) == Result::error);
  CHECK(parser.feed(r.data(), r.size(), used) == Result::error);
  CHECK(used == 0);
  CHECK(parser.error() == ParseError::bad_status_line);
  CHECK_FALSE(parser.keep_alive());

  parser.reset(false);  // reusable after an error
  REQUIRE(parser.feed(r.data(), r.size(), used) == Result::complete);
  CHECK(parser.status() == 200);
  CHECK(parser.error() == ParseError::none);
  CHECK(parser.feed(nullptr, 0, used) == Result::complete);
}

TEST_CASE("an empty read changes nothing") {
  ResponseParser parser;
  parser.reset(false);
  std::size_t used = 99;
  CHECK(parser.feed("", 0, used) == Result::need_more);
  CHECK(used == 0);
  CHECK(parser.finish_on_eof() == Result::error);
  CHECK(parser.error() == ParseError::no_response);
}

TEST_CASE("error names") {
  CHECK(std::string(to_string(ParseError::none)) == "none");
  CHECK(std::string(to_string(ParseError::bad_status_line)) == "bad_status_line");
  CHECK(std::string(to_string(ParseError::bad_header)) == "bad_header");
  CHECK(std::string(to_string(ParseError::header_too_large)) == "header_too_large");
  CHECK(std::string(to_string(ParseError::bad_content_length)) == "bad_content_length");
  CHECK(std::string(to_string(ParseError::bad_chunk)) == "bad_chunk");
  CHECK(std::string(to_string(ParseError::body_too_large)) == "body_too_large");
  CHECK(std::string(to_string(ParseError::truncated)) == "truncated");
  CHECK(std::string(to_string(ParseError::no_response)) == "no_response");
}

TEST_CASE("the per-connection state is small") {
  // 10,000 connections must fit in well under 40 MiB; the parser is the per-connection state.
  static_assert(sizeof(ResponseParser) <= 96);
  MESSAGE("sizeof(ResponseParser) = " << sizeof(ResponseParser));
}

// Not a pass/fail timing test: run with --no-skip -tc="*throughput*" on a Release build.
TEST_CASE("throughput sanity" * doctest::skip()) {
  const std::string r =
      "HTTP/1.1 200 OK\r\n"
      "Server: nginx/1.22.1\r\n"
      "Date: Mon, 03 Jun 2024 10:00:00 GMT\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Length: 13\r\n"
      "Last-Modified: Mon, 03 Jun 2024 09:00:00 GMT\r\n"
      "Connection: keep-alive\r\n"
      "ETag: \"665d8470-d\"\r\n"
      "Accept-Ranges: bytes\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Request-Id: 4f1c2a9e-7b3d-4e5f-9a8b-1c2d3e4f5a6b\r\n"
      "\r\n"
      "Hello, World!";
  ResponseParser parser;
  const int n = 1'000'000;
  double best_ns = 1e9;  // the least disturbed of several rounds
  for (int round = 0; round < 7; ++round) {
    std::uint64_t sum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      parser.reset(false);
      std::size_t used = 0;
      const Result res = parser.feed(r.data(), r.size(), used);
      sum += used + parser.body_bytes() + static_cast<std::uint64_t>(res);
    }
    const std::chrono::duration<double, std::nano> ns = std::chrono::steady_clock::now() - start;
    CHECK(sum == static_cast<std::uint64_t>(n) * (r.size() + 13 + 1));
    best_ns = std::min(best_ns, ns.count() / n);
  }
  MESSAGE(r.size() << "-byte response, 11 fields: " << best_ns << " ns per response");
}
