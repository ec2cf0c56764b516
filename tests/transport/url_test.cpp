#include "engine/transport/url.hpp"

#include <doctest/doctest.h>

#include <string>

#include "engine/core/error.hpp"

using namespace strain;
using namespace strain::http;

TEST_CASE("good URLs split into scheme, host, port, target and Host header") {
  struct Case {
    const char* text;
    const char* scheme;
    const char* host;
    int port;
    const char* target;
    const char* host_header;
    bool ipv6;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8080/x?y=1", "http", "127.0.0.1", 8080, "/x?y=1", "127.0.0.1:8080", false},
      {"http://localhost/", "http", "localhost", 80, "/", "localhost", false},
      {"http://localhost", "http", "localhost", 80, "/", "localhost", false},
      {"http://[::1]:9000/", "http", "::1", 9000, "/", "[::1]:9000", true},
      {"http://[::1]/a", "http", "::1", 80, "/a", "[::1]", true},
      {"https://example.com/", "https", "example.com", 443, "/", "example.com", false},
      {"https://example.com:8443/p", "https", "example.com", 8443, "/p", "example.com:8443", false},
      {"HTTP://Example.COM:80/Path", "http", "example.com", 80, "/Path", "example.com", false},
      {"http://localhost:80/", "http", "localhost", 80, "/", "localhost", false},
      {"https://localhost:80/", "https", "localhost", 80, "/", "localhost:80", false},
      {"http://localhost?q=1", "http", "localhost", 80, "/?q=1", "localhost", false},
      {"http://localhost/p#frag", "http", "localhost", 80, "/p", "localhost", false},
      {"http://localhost#frag", "http", "localhost", 80, "/", "localhost", false},
      {"http://localhost/a/b?c=d&e=%20f#g", "http", "localhost", 80, "/a/b?c=d&e=%20f", "localhost",
       false},
      {"http://localhost:65535/", "http", "localhost", 65535, "/", "localhost:65535", false},
      {"http://localhost:1", "http", "localhost", 1, "/", "localhost:1", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const Url url = parse_url(c.text);
    CHECK(url.scheme == c.scheme);
    CHECK(url.host == c.host);
    CHECK(url.port == c.port);
    CHECK(url.target == c.target);
    CHECK(url.host_header == c.host_header);
    CHECK(url.is_ipv6_literal == c.ipv6);
  }
}

TEST_CASE("bad URLs throw a UsageError that names the problem and the text") {
  struct Case {
    std::string text;
    const char* problem;
  };
  const Case cases[] = {
      {"", "empty"},
      {"localhost:8080/", "missing scheme"},
      {"127.0.0.1/x", "missing scheme"},
      {"://localhost/", "missing scheme"},
      {"http:/h/", "missing scheme"},
      {"1http://localhost/", "missing scheme"},
      {"ftp://localhost/", "unsupported scheme 'ftp'"},
      {"ws://localhost/", "unsupported scheme 'ws'"},
      {"http:///x", "empty host"},
      {"http://", "empty host"},
      {"http://:8080/", "empty host"},
      {"http://[]/", "empty host"},
      {"http://localhost:0/", "bad port '0'"},
      {"http://localhost:65536/", "bad port '65536'"},
      {"http://localhost:99999999999999999999/", "bad port"},
      {"http://localhost:80a/", "bad port '80a'"},
      {"http://localhost:-1/", "bad port '-1'"},
      {"http://localhost:/", "empty port"},
      {"http://localhost/a b", "space at offset 18"},
      {"http://localhost /", "space at offset 16"},
      {"http://localhost/\r\nX: y", "control character at offset 17"},
      {std::string("http://localhost/\0", 18), "control character at offset 17"},
      {"http://localhost/\x7f", "control character"},
      {"http://localhost/caf\xc3\xa9", "non-ASCII byte at offset 20"},
      {"http://localhost:pw@localhost/", "user:password@ is not supported"},
      {"http://localhost@localhost/", "user:password@ is not supported"},
      {"http://::1:80/", "IPv6 address must be in brackets"},
      {"http://[::1/", "without closing ']'"},
      {"http://[::g]/", "bad IPv6 address '::g'"},
      {"http://[fe80::1%25eth0]/", "bad IPv6 address"},
      {"http://[::1]x/", "unexpected 'x' after IPv6 address"},
      {"http://[::1]:0/", "bad port '0'"},
      {"http://127.0.0.*/", "bad character '*' in host"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    try {
      (void)parse_url(c.text);
      FAIL("accepted");
    } catch (const UsageError& e) {
      const std::string message = e.what();
      CAPTURE(message);
      CHECK(e.code() == ExitCode::bad_usage);
      CHECK(message.find(c.problem) != std::string::npos);
      CHECK(message.find("bad URL '") == 0);
      CHECK(message.find('\n') == std::string::npos);  // one line, even for "\r\n" in the URL
    }
  }
}

TEST_CASE("the message quotes the URL with control bytes escaped") {
  try {
    (void)parse_url("http://localhost/\r\nX: y");
    FAIL("accepted");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()) ==
          "bad URL 'http://localhost/\\x0d\\x0aX: y': control character at offset 17");
  }
  try {
    (void)parse_url("gopher://localhost/");
    FAIL("accepted");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()) ==
          "bad URL 'gopher://localhost/': unsupported scheme 'gopher' (expected http or https)");
  }
}

TEST_CASE("loopback hosts") {
  for (auto host : {"localhost", "LocalHost", "localhost.", "127.0.0.1", "127.255.255.254",
                    "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    CAPTURE(host);
    CHECK(is_loopback_host(host));
  }
  for (auto host :
       {"", "example.com", "localhost.example.com", "128.0.0.1", "10.0.0.1", "0.0.0.0", "::", "::2",
        "::ffff:10.0.0.1", "127.0.0", "127.0.0.1.5", "1.127.0.0", "[::1"}) {
    CAPTURE(host);
    CHECK_FALSE(is_loopback_host(host));
  }
  CHECK(is_loopback_host(parse_url("http://[::1]:9000/").host));
}
