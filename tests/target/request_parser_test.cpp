#include "tools/target/request_parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using strain::target::RequestError;
using strain::target::RequestLimits;
using strain::target::RequestParser;
using Event = RequestParser::Event;

namespace {

// What a connection would see of one request.
struct Seen {
  std::string method;
  std::string target;
  bool keep_alive = true;
  bool expect_continue = false;
  std::uint64_t body_bytes = 0;
  bool complete = false;
  friend bool operator==(const Seen&, const Seen&) = default;
};

struct Outcome {
  std::vector<Seen> requests;
  RequestError error = RequestError::none;
};

// Feeds `chunks` the way strain-target's connection does: bytes the parser has not consumed are
// kept and presented again with the next chunk appended.
Outcome run(const std::vector<std::string>& chunks, RequestLimits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  std::string pending;
  for (const auto& chunk : chunks) {
    pending += chunk;
    for (;;) {
      std::size_t used = 0;
      const auto event = parser.feed(pending.data(), pending.size(), used);
      REQUIRE(used <= pending.size());
      if (event == Event::head) {
        const auto& h = parser.head();
        out.requests.push_back(Seen{std::string(h.method), std::string(h.target), h.keep_alive,
                                    h.expect_continue, 0, false});
      }
      pending.erase(0, used);
      if (event == Event::need_more) break;
      if (event == Event::complete) {
        REQUIRE(!out.requests.empty());
        out.requests.back().body_bytes = parser.body_bytes();
        out.requests.back().complete = true;
      }
      if (event == Event::error) {
        out.error = parser.error();
        return out;
      }
    }
  }
  return out;
}

Outcome run_whole(const std::string& bytes, RequestLimits limits = {}) {
  return run({bytes}, limits);
}

Seen seen(std::string method, std::string target, std::uint64_t body = 0, bool keep_alive = true) {
  return Seen{std::move(method), std::move(target), keep_alive, false, body, true};
}

// Four requests back to back: plain, Content-Length body, chunked body with extensions and
// trailers, HEAD with Connection: close.
const std::string kPipeline =
    "GET /a?delay=5ms HTTP/1.1\r\nHost: x\r\n\r\n"
    "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
    "PUT /c?size=1KiB HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=value\r\nhello\r\n"
    "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "0\r\nX-Trailer: yes\r\n\r\n"
    "HEAD /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

const std::vector<Seen> kPipelineSeen = {
    seen("GET", "/a?delay=5ms"),
    seen("POST", "/b", 11),
    seen("PUT", "/c?size=1KiB", 31),
    seen("HEAD", "/d", 0, false),
};

}  // namespace

TEST_CASE("a simple GET") {
  const auto out = run_whole("GET /x?y=1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
  CHECK(out.error == RequestError::none);
  REQUIRE(out.requests.size() == 1);
  CHECK(out.requests[0] == seen("GET", "/x?y=1"));
}

TEST_CASE("head fields: path, query, HEAD, version") {
  RequestParser parser;
  const std::string bytes = "HEAD /p/q?delay=1ms&size=2 HTTP/1.0\r\n\r\n";
  std::size_t used = 0;
  REQUIRE(parser.feed(bytes.data(), bytes.size(), used) == Event::head);
  CHECK(used == bytes.size());
  const auto& h = parser.head();
  CHECK(h.is_head());
  CHECK(h.path() == "/p/q");
  CHECK(h.query() == "delay=1ms&size=2");
  CHECK(h.version_minor == 0);
  CHECK_FALSE(h.keep_alive);
  CHECK_FALSE(h.has_body);
  REQUIRE(parser.feed(bytes.data() + used, 0, used) == Event::complete);
  CHECK(used == 0);
}

TEST_CASE("no query and a bare '?'") {
  RequestParser parser;
  std::size_t used = 0;
  std::string bytes = "GET / HTTP/1.1\r\n\r\n";
  REQUIRE(parser.feed(bytes.data(), bytes.size(), used) == Event::head);
  CHECK(parser.head().path() == "/");
  CHECK(parser.head().query().empty());
  REQUIRE(parser.feed(nullptr, 0, used) == Event::complete);
  bytes = "GET /?  HTTP/1.1\r\n\r\n";
  CHECK(parser.feed(bytes.data(), bytes.size(), used) == Event::error);
}

TEST_CASE("keep-alive rules for HTTP/1.1 and HTTP/1.0") {
  auto ka = [](const std::string& head) {
    const auto out = run_whole(head + "\r\n");
    REQUIRE(out.error == RequestError::none);
    REQUIRE(out.requests.size() == 1);
    return out.requests[0].keep_alive;
  };
  CHECK(ka("GET / HTTP/1.1\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.1\r\nConnection: close\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.0\r\n"));
  CHECK(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"));
  CHECK(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n"));
}

TEST_CASE("Expect: 100-continue is reported only for an HTTP/1.1 request with a body") {
  auto expect = [](const std::string& head) {
    const auto out = run_whole(head);
    REQUIRE(out.requests.size() == 1);
    return out.requests[0].expect_continue;
  };
  CHECK(expect("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"));
  CHECK_FALSE(expect("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
  CHECK_FALSE(expect("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"));
}

TEST_CASE("pipelined requests in one piece") {
  const auto out = run_whole(kPipeline);
  CHECK(out.error == RequestError::none);
  CHECK(out.requests == kPipelineSeen);
}

TEST_CASE("pipelined requests split at every byte boundary") {
  for (std::size_t cut = 0; cut <= kPipeline.size(); ++cut) {
    CAPTURE(cut);
    const auto out = run({kPipeline.substr(0, cut), kPipeline.substr(cut)});
    REQUIRE(out.error == RequestError::none);
    REQUIRE(out.requests == kPipelineSeen);
  }
}

TEST_CASE("pipelined requests split at every pair of boundaries") {
  // Two cuts catch states a single cut cannot (e.g. CR and LF of one line in three pieces).
  for (std::size_t a = 0; a <= kPipeline.size(); a += 3) {
    for (std::size_t b = a; b <= kPipeline.size(); ++b) {
      const auto out =
          run({kPipeline.substr(0, a), kPipeline.substr(a, b - a), kPipeline.substr(b)});
      if (out.error != RequestError::none || out.requests != kPipelineSeen) {
        CAPTURE(a);
        CAPTURE(b);
        FAIL("wrong parse");
      }
    }
  }
}

TEST_CASE("pipelined requests arriving one byte at a time") {
  std::vector<std::string> bytes;
  for (char c : kPipeline)
    bytes.emplace_back(1, c);
  const auto out = run(bytes);
  CHECK(out.error == RequestError::none);
  CHECK(out.requests == kPipelineSeen);
}

TEST_CASE("bare LF line endings and leading empty lines are accepted") {
  const auto out = run_whole("\r\n\nGET /a HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\r\n\r\n");
  CHECK(out.error == RequestError::none);
  CHECK(out.requests == std::vector<Seen>{seen("GET", "/a"), seen("GET", "/b")});
}

TEST_CASE("chunked bodies: sizes, extensions, trailers, bare LF") {
  const std::string big(100000, 'z');
  std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
  chunked += "186a0\r\n" + big + "\r\n";   // 100000 bytes
  chunked += "3 ; a=b ; c\r\nabc\r\n";     // extensions with spaces
  chunked += "0001\nx\n";                  // leading zeros, bare LF
  chunked += "0\r\nA: 1\r\nB: 2\r\n\r\n";  // trailers
  chunked += "GET /next HTTP/1.1\r\n\r\n";
  const auto out = run_whole(chunked);
  CHECK(out.error == RequestError::none);
  CHECK(out.requests == std::vector<Seen>{seen("POST", "/", 100004), seen("GET", "/next")});
}

TEST_CASE("a body split across many reads is consumed as it arrives") {
  RequestParser parser;
  const std::string head = "POST / HTTP/1.1\r\nContent-Length: 10000\r\n\r\n";
  std::size_t used = 0;
  REQUIRE(parser.feed(head.data(), head.size(), used) == Event::head);
  const std::string piece(999, 'b');
  std::uint64_t total = 0;
  while (total + piece.size() < 10000) {
    REQUIRE(parser.feed(piece.data(), piece.size(), used) == Event::need_more);
    CHECK(used == piece.size());
    total += used;
  }
  REQUIRE(parser.feed(piece.data(), piece.size(), used) == Event::complete);
  CHECK(used == 10000 - total);
  CHECK(parser.body_bytes() == 10000);
}

TEST_CASE("malformed chunked bodies") {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string body :
       {"x\r\n", "\r\n", "5\r\nhelloX", "5\r\nhello\rX", "3\r\nabc\r\n0\r\n\rX",
        "1000000000000000\r\n", ";ext\r\n", "5\x01\r\n"}) {
    CAPTURE(body);
    CHECK(run_whole(head + body).error == RequestError::bad_chunk);
  }
  // A chunk-size line with endless extensions is bounded.
  RequestLimits limits;
  limits.max_chunk_line_bytes = 64;
  CHECK(run_whole(head + "5;" + std::string(100, 'e') + "\r\n", limits).error ==
        RequestError::bad_chunk);
  CHECK(run_whole(head + "5;" + std::string(50, 'e') + "\r\nhello\r\n0\r\n\r\n", limits).error ==
        RequestError::none);
  // Trailers are bounded like a head.
  limits.max_head_bytes = 128;
  CHECK(run_whole(head.substr(0, 0) + "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" +
                      "T: " + std::string(200, 't') + "\r\n\r\n",
                  limits)
            .error == RequestError::bad_chunk);
}

TEST_CASE("bad request lines and fields") {
  struct Case {
    const char* bytes;
    RequestError error;
  };
  const Case cases[] = {
      {"GET\r\n\r\n", RequestError::bad_request_line},
      {"GET /\r\n\r\n", RequestError::bad_request_line},
      {"GET / HTTP/1.1 extra\r\n\r\n", RequestError::bad_request_line},
      {"GET / http/1.1\r\n\r\n", RequestError::bad_request_line},
      {"GET / HTTP/11\r\n\r\n", RequestError::bad_request_line},
      {"G(T / HTTP/1.1\r\n\r\n", RequestError::bad_request_line},
      {"GET  / HTTP/1.1\r\n\r\n", RequestError::bad_request_line},
      {"GET /a\x01 HTTP/1.1\r\n\r\n", RequestError::bad_request_line},
      {"GET / HTTP/2.0\r\n\r\n", RequestError::bad_version},
      {"GET / HTTP/0.9\r\n\r\n", RequestError::bad_version},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", RequestError::bad_header},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", RequestError::bad_header},
      {"GET / HTTP/1.1\r\n: x\r\n\r\n", RequestError::bad_header},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", RequestError::bad_header},
      {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", RequestError::bad_header},
      {"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", RequestError::bad_content_length},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", RequestError::bad_content_length},
      {"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", RequestError::bad_content_length},
      {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
       RequestError::bad_content_length},
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       RequestError::bad_content_length},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", RequestError::bad_transfer_encoding},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       RequestError::bad_transfer_encoding},
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes);
    CHECK(run_whole(c.bytes).error == c.error);
  }
  // Equal duplicates are fine.
  CHECK(run_whole("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab").error ==
        RequestError::none);
}

TEST_CASE("errors map to statuses") {
  using strain::target::status_for;
  CHECK(status_for(RequestError::head_too_large) == 431);
  CHECK(status_for(RequestError::bad_version) == 505);
  CHECK(status_for(RequestError::bad_header) == 400);
  CHECK(std::string(to_string(RequestError::bad_chunk)) == "bad_chunk");
}

TEST_CASE("head size limit: exactly at the limit passes, one byte over fails") {
  RequestLimits limits;
  limits.max_head_bytes = 1024;
  const std::string start = "GET / HTTP/1.1\r\nX: ";
  const std::string end = "\r\n\r\n";
  const std::string at_limit = start + std::string(1024 - start.size() - end.size(), 'v') + end;
  REQUIRE(at_limit.size() == 1024);
  CHECK(run_whole(at_limit, limits).error == RequestError::none);
  const std::string over = start + std::string(1025 - start.size() - end.size(), 'v') + end;
  CHECK(run_whole(over, limits).error == RequestError::head_too_large);
}

TEST_CASE("an endless head fails once the limit is buffered, however it arrives") {
  RequestLimits limits;
  limits.max_head_bytes = 4096;
  std::vector<std::string> chunks = {"GET / HTTP/1.1\r\n"};
  for (int i = 0; i < 1000; ++i)
    chunks.push_back("X-Filler: 0123456789\r\n");
  const auto out = run(chunks, limits);
  CHECK(out.error == RequestError::head_too_large);
  // The parser asks for no more than the limit before failing: the caller's buffer is bounded.
  RequestParser parser(limits);
  std::string pending;
  for (const auto& c : chunks) {
    pending += c;
    std::size_t used = 0;
    const auto event = parser.feed(pending.data(), pending.size(), used);
    pending.erase(0, used);
    if (event == Event::error) break;
    REQUIRE(event == Event::need_more);
    REQUIRE(pending.size() < 4096);
  }
  CHECK(parser.error() == RequestError::head_too_large);
}

TEST_CASE("after an error the parser stays failed") {
  RequestParser parser;
  std::size_t used = 0;
  const std::string bad = "BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  CHECK(parser.feed(bad.data(), bad.size(), used) == Event::error);
  CHECK(used == 0);
  CHECK(parser.feed(bad.data(), bad.size(), used) == Event::error);
}

TEST_CASE("head fields for the API: Authorization and Content-Length") {
  RequestParser parser;
  std::size_t used = 0;
  std::string bytes =
      "POST /api/items HTTP/1.1\r\nauthorization:  Bearer u.a.0123 \r\nContent-Length: 7\r\n\r\n";
  REQUIRE(parser.feed(bytes.data(), bytes.size(), used) == Event::head);
  CHECK(parser.head().authorization == "Bearer u.a.0123");
  CHECK(parser.head().content_length == 7);

  RequestParser chunked;
  bytes = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  REQUIRE(chunked.feed(bytes.data(), bytes.size(), used) == Event::head);
  CHECK(chunked.head().has_body);
  CHECK(chunked.head().content_length == 0);
  CHECK(chunked.head().authorization.empty());
}

namespace {

// Feeds `chunks`, keeping the body of every request whose target starts with /keep, up to
// `max_bytes`; returns each request's kept body and whether it was cut.
std::vector<std::pair<std::string, bool>> kept_bodies(const std::vector<std::string>& chunks,
                                                      std::size_t max_bytes) {
  RequestParser parser;
  std::vector<std::pair<std::string, bool>> out;
  std::vector<std::string> sinks;
  sinks.reserve(64);
  std::string pending;
  for (const auto& chunk : chunks) {
    pending += chunk;
    for (;;) {
      std::size_t used = 0;
      const auto event = parser.feed(pending.data(), pending.size(), used);
      if (event == Event::head) {
        out.emplace_back("<dropped>", false);
        if (parser.head().target.rfind("/keep", 0) == 0) {
          sinks.emplace_back();
          parser.keep_body(&sinks.back(), max_bytes);
          out.back().first.clear();
        }
      }
      pending.erase(0, used);
      if (event == Event::need_more) break;
      REQUIRE(event != Event::error);
      if (event == Event::complete && out.back().first != "<dropped>") {
        out.back() = {sinks.back(), parser.body_truncated()};
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("keep_body: fixed and chunked bodies, split anywhere, capped") {
  const std::string bytes =
      "POST /keep HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world"
      "POST /drop HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "PUT /keep HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;x=y\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\n"
      "GET /keep HTTP/1.1\r\n\r\n";
  const std::vector<std::pair<std::string, bool>> want = {
      {"hello world", false},
      {"<dropped>", false},
      {"helloabcdefghijklmnopqrstuvwxyz", false},
      {"", false},
  };
  CHECK(kept_bodies({bytes}, 1000) == want);
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    REQUIRE(kept_bodies({bytes.substr(0, cut), bytes.substr(cut)}, 1000) == want);
  }
  std::vector<std::string> bytewise;
  for (char c : bytes)
    bytewise.emplace_back(1, c);
  CHECK(kept_bodies(bytewise, 1000) == want);

  const std::vector<std::pair<std::string, bool>> capped = {
      {"hello", true},
      {"<dropped>", false},
      {"hello", true},
      {"", false},
  };
  CHECK(kept_bodies({bytes}, 5) == capped);
  CHECK(kept_bodies(bytewise, 5) == capped);
  // A cut body does not mark the next request, kept or not, as cut.
  const std::string after_cut =
      "POST /keep HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world"
      "GET /keep HTTP/1.1\r\n\r\n";
  CHECK(kept_bodies({after_cut}, 5) ==
        std::vector<std::pair<std::string, bool>>{{"hello", true}, {"", false}});
  // Exactly at the cap is not truncated.
  CHECK(kept_bodies({bytes}, 11).front() == std::make_pair(std::string("hello world"), false));
}
