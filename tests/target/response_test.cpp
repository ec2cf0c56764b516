#include "tools/target/response.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace strain::target;

namespace {

std::string head(const ResponseHead& h, std::string_view date = "") {
  char buf[kMaxResponseHeadBytes];
  return std::string(buf, format_head(h, date, buf));
}

}  // namespace

TEST_CASE("response heads") {
  ResponseHead h;
  h.status = 200;
  h.content_length = 13;
  CHECK(head(h) == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n");

  h.status = 503;
  h.content_length = 0;
  h.connection = ConnectionHeader::close;
  h.content_type = "application/json";
  CHECK(head(h, "Sun, 06 Nov 1994 08:49:37 GMT") ==
        "HTTP/1.1 503 Service Unavailable\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Content-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

  h = ResponseHead{};
  h.status = 299;
  h.content_length = 18446744073709551615ull;
  h.connection = ConnectionHeader::keep_alive;
  CHECK(head(h) ==
        "HTTP/1.1 299 Status\r\nContent-Type: text/plain\r\n"
        "Content-Length: 18446744073709551615\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("204 and 304 carry no Content-Length; 100 Continue is a bare status line") {
  ResponseHead h;
  h.status = 204;
  h.content_length = 100;
  CHECK(head(h).find("Content-Length") == std::string::npos);
  CHECK_FALSE(status_has_body(204));
  CHECK_FALSE(status_has_body(304));
  CHECK(status_has_body(200));
  CHECK(status_has_body(503));
  h.status = 100;
  CHECK(head(h, "Sun, 06 Nov 1994 08:49:37 GMT").find("HTTP/1.1 100 Continue\r\n") == 0);
}

TEST_CASE("the longest head fits the bound") {
  ResponseHead h;
  h.status = 431;  // the longest reason phrase
  h.content_length = ~0ull;
  h.connection = ConnectionHeader::keep_alive;
  h.content_type = std::string_view("application/json-with-a-long-subtype-name-that-is-cut");
  h.extra_field = std::string_view(
      "WWW-Authenticate: Bearer realm=\"a realm name long enough to be cut at 64 bytes\"");
  CHECK(head(h, "Wed, 31 Dec 9999 23:59:59 GMT").size() < kMaxResponseHeadBytes);
}

TEST_CASE("an extra field goes after the length; 507 has its phrase") {
  ResponseHead h;
  h.status = 405;
  h.content_length = 2;
  h.content_type = "application/json";
  h.extra_field = "Allow: GET, POST";
  CHECK(head(h) ==
        "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nAllow: GET, POST\r\n\r\n");
  CHECK(reason_phrase(507) == "Insufficient Storage");
  CHECK(reason_phrase(413) == "Content Too Large");
}

TEST_CASE("the body pattern is whole periods of 'hello, strain\\n'") {
  const auto p = body_pattern();
  REQUIRE(p.size() % 14 == 0);
  CHECK(p.substr(0, 13) == "hello, strain");
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != "hello, strain\n"[i % 14]) FAIL("pattern breaks at " << i);
  }
}

TEST_CASE("http_date is an IMF-fixdate") {
  CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_CASE("header padding: whole fields, and a plan that adds up to the bytes asked for") {
  const auto pad = header_padding();
  REQUIRE(pad.size() == kMaxPadBytes);
  for (std::size_t at = 0; at < pad.size(); at += kPadLineBytes) {
    const auto field = pad.substr(at, kPadLineBytes);
    REQUIRE(field.rfind("X-Strain-Pad: ppp", 0) == 0);
    REQUIRE(field.substr(kPadLineBytes - 2) == "\r\n");
    REQUIRE(field.find('\r') == kPadLineBytes - 2);
  }
  char buf[kPadLineBytes];
  format_pad_field(kMinPadLineBytes, buf);
  CHECK(std::string(buf, kMinPadLineBytes) == "X-Strain-Pad: p\r\n");

  CHECK(plan_padding(0).total() == 0);
  for (std::size_t n = 1; n < kMinPadLineBytes; ++n)
    CHECK(plan_padding(n).total() == kMinPadLineBytes);
  for (std::size_t n : {17ul, 18ul, 1023ul, 1024ul, 1025ul, 1040ul, 1041ul, 2048ul, 2050ul,
                        100000ul, 1048575ul, 1048576ul}) {
    CAPTURE(n);
    const auto plan = plan_padding(n);
    CHECK(plan.total() == n);
    CHECK(plan.whole_bytes % kPadLineBytes == 0);
    CHECK(plan.whole_bytes <= kMaxPadBytes);
    for (const auto f : plan.field_bytes)
      CHECK((f == 0 || (f >= kMinPadLineBytes && f <= kPadLineBytes)));
  }
}
