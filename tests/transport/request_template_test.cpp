#include "engine/transport/request_template.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/core/error.hpp"

using namespace strain;
using namespace strain::http;

TEST_CASE("a GET has Host and User-Agent and nothing else") {
  const RequestTemplate t("GET", parse_url("http://127.0.0.1:8080/x?y=1"));
  CHECK(t.bytes() ==
        "GET /x?y=1 HTTP/1.1\r\n"
        "Host: 127.0.0.1:8080\r\n"
        "User-Agent: strain/0.1\r\n"
        "\r\n");
  CHECK_FALSE(t.is_head());
  CHECK_FALSE(t.expects_close());
}

TEST_CASE("the default port is left out of Host; IPv6 keeps its brackets") {
  CHECK(RequestTemplate("GET", parse_url("http://localhost/")).bytes() ==
        "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\n\r\n");
  CHECK(RequestTemplate("GET", parse_url("http://[::1]:9000/a")).bytes() ==
        "GET /a HTTP/1.1\r\nHost: [::1]:9000\r\nUser-Agent: strain/0.1\r\n\r\n");
}

TEST_CASE("user headers follow in order; a body gets Content-Length") {
  const std::vector<Header> headers = {{"Accept", "application/json"},
                                       {"X-Trace", "  abc 123  "},
                                       {"content-type", "application/json"}};
  const RequestTemplate t("POST", parse_url("http://127.0.0.1:3000/items"), headers, R"({"a":1})");
  CHECK(t.bytes() ==
        "POST /items HTTP/1.1\r\n"
        "Host: 127.0.0.1:3000\r\n"
        "User-Agent: strain/0.1\r\n"
        "Accept: application/json\r\n"
        "X-Trace: abc 123\r\n"
        "content-type: application/json\r\n"
        "Content-Length: 7\r\n"
        "\r\n"
        R"({"a":1})");
}

TEST_CASE("POST, PUT and PATCH without a body send Content-Length: 0; GET and DELETE do not") {
  const Url url = parse_url("http://localhost/");
  for (auto method : {"POST", "PUT", "PATCH"}) {
    CAPTURE(method);
    CHECK(RequestTemplate(method, url).bytes() ==
          std::string(method) +
              " / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\nContent-Length: 0\r\n\r\n");
  }
  CHECK(RequestTemplate("DELETE", url).bytes() ==
        "DELETE / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\n\r\n");
  CHECK(RequestTemplate("GET", url, {}, "q").bytes() ==
        "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\nContent-Length: 1\r\n\r\nq");
}

TEST_CASE("HEAD is flagged for the parser") {
  const RequestTemplate t("HEAD", parse_url("http://localhost/"));
  CHECK(t.is_head());
  CHECK(t.bytes() == "HEAD / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\n\r\n");
  CHECK_FALSE(RequestTemplate("GET", parse_url("http://localhost/")).is_head());
}

TEST_CASE("user Host and User-Agent replace the defaults; Host stays first") {
  const std::vector<Header> headers = {
      {"X-A", "1"}, {"user-agent", "bench/2"}, {"HOST", "virtual.example"}};
  CHECK(RequestTemplate("GET", parse_url("http://127.0.0.1:8080/"), headers).bytes() ==
        "GET / HTTP/1.1\r\n"
        "Host: virtual.example\r\n"
        "X-A: 1\r\n"
        "user-agent: bench/2\r\n"
        "\r\n");
}

TEST_CASE("Connection: close is honoured and reported; keep-alive is not added") {
  const std::vector<Header> close = {{"Connection", "close"}};
  const RequestTemplate t("GET", parse_url("http://localhost/"), close);
  CHECK(t.expects_close());
  CHECK(t.bytes() ==
        "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\nConnection: close\r\n\r\n");
  const std::vector<Header> listed = {{"connection", "Upgrade, CLOSE"}};
  CHECK(RequestTemplate("GET", parse_url("http://localhost/"), listed).expects_close());
  const std::vector<Header> keep = {{"Connection", "keep-alive"}};
  CHECK_FALSE(RequestTemplate("GET", parse_url("http://localhost/"), keep).expects_close());
  const std::vector<Header> closed_word = {{"Connection", "closed"}};
  CHECK_FALSE(RequestTemplate("GET", parse_url("http://localhost/"), closed_word).expects_close());
}

TEST_CASE("a user Content-Length must agree with the body and is not sent twice") {
  const std::vector<Header> ok = {{"Content-Length", "5"}};
  CHECK(RequestTemplate("PUT", parse_url("http://localhost/k"), ok, "hello").bytes() ==
        "PUT /k HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\nContent-Length: 5\r\n\r\nhello");
  const std::vector<Header> wrong = {{"Content-Length", "4"}};
  CHECK_THROWS_WITH_AS(RequestTemplate("PUT", parse_url("http://localhost/k"), wrong, "hello"),
                       doctest::Contains("disagrees with the 5-byte body"), UsageError);
}

TEST_CASE("injection and bad names are refused with a UsageError") {
  const Url url = parse_url("http://localhost/");
  struct Case {
    std::string method;
    std::vector<Header> headers;
    const char* problem;
  };
  const Case cases[] = {
      {"GET", {{"X-A", "1\r\nX-Evil: 1"}}, "value contains CR or LF"},
      {"GET", {{"X-A", "1\nX-Evil: 1"}}, "value contains CR or LF"},
      {"GET", {{"X-A", "1\r"}}, "value contains CR or LF"},
      {"GET", {{"X-A", std::string("a\0b", 3)}}, "control character"},
      {"GET", {{"X-A", "a\x7f"}}, "control character"},
      {"GET", {{"X A", "1"}}, "bad header name 'X A'"},
      {"GET", {{"X-A:", "1"}}, "bad header name"},
      {"GET", {{"", "1"}}, "bad header name ''"},
      {"GET", {{"X\r\nEvil", "1"}}, "bad header name"},
      {"GET", {{"Host", "a"}, {"host", "b"}}, "'Host' given twice"},
      {"GET", {{"Host", " "}}, "'Host' is empty"},
      {"GET", {{"Transfer-Encoding", "chunked"}}, "'Transfer-Encoding' is not supported"},
      {"", {}, "bad HTTP method ''"},
      {"GE T", {}, "bad HTTP method 'GE T'"},
      {"GET /evil HTTP/1.1\r\n", {}, "bad HTTP method"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.problem);
    try {
      RequestTemplate t(c.method, url, c.headers);
      FAIL("accepted: " << t.bytes());
    } catch (const UsageError& e) {
      CHECK(std::string(e.what()).find(c.problem) != std::string::npos);
      CHECK(e.code() == ExitCode::bad_usage);
    }
  }
  // Tabs and obs-text are legal in values.
  const std::vector<Header> legal = {{"X-A", "a\tb \xc3\xa9"}};
  CHECK(RequestTemplate("GET", url, legal).bytes() ==
        "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: strain/0.1\r\nX-A: a\tb \xc3\xa9\r\n\r\n");
}

TEST_CASE("bytes() is one stable buffer") {
  const RequestTemplate t("GET", parse_url("http://localhost/"));
  CHECK(t.bytes().data() == t.bytes().data());
}
