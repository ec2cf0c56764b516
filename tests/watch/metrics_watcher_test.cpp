#include "engine/watch/metrics_watcher.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>

#include "engine/core/error.hpp"
#include "tests/watch/go_client_scrape.hpp"
#include "tests/watch/readings.hpp"
#include "tests/watch/tiny_http_server.hpp"

using namespace strain;
using namespace strain::watch;
using strain::watch::test::find;
using strain::watch::test::TinyHttpServer;
using namespace std::chrono_literals;

namespace {

std::vector<SeriesSelector> selectors(std::initializer_list<const char*> texts) {
  std::vector<SeriesSelector> out;
  for (const char* t : texts)
    out.push_back(parse_series_selector(t));
  return out;
}

}  // namespace

TEST_CASE("metrics watcher: the standard process metrics, and extra selectors") {
  TinyHttpServer server(200, std::string(test::go_client_scrape));
  MetricsWatcher w(
      server.url(), "api",
      selectors({"http_requests_total{code=\"500\"}", "http_requests_total{method=\"get\"}",
                 "go_gc_duration_seconds_sum", "http_request_duration_seconds_count",
                 "go_goroutines", "go_memstats_heap_inuse_bytes",
                 "go_gc_duration_seconds{quantile=\"1\"}", "jvm_memory_used_bytes"}));
  CHECK(w.source() == "metrics");
  CHECK(w.limits().empty());  // nothing scraped yet
  const Sample s = w.sample();
  CHECK(s.gap_reason.empty());
  CHECK(server.last_request().find("GET /metrics HTTP/1.1") == 0);
  CHECK(server.last_request().find("Accept: text/plain;version=0.0.4") != std::string::npos);

  REQUIRE(find(s, "rss") != nullptr);
  CHECK(find(s, "rss")->value == 23552000);
  CHECK(find(s, "rss")->unit == "bytes");
  CHECK(find(s, "rss")->kind == Kind::gauge);
  CHECK(find(s, "fds")->value == 17);
  CHECK(find(s, "fds")->unit == "count");
  CHECK(find(s, "cpu")->value == 12.47);
  CHECK(find(s, "cpu")->unit == "seconds");
  CHECK(find(s, "cpu")->kind == Kind::counter);

  const Reading* errors = find(s, "http_requests_total{code=\"500\"}");
  REQUIRE(errors != nullptr);
  CHECK(errors->value == 3);
  CHECK(errors->unit == "count");
  CHECK(errors->kind == Kind::counter);
  CHECK(find(s, "http_requests_total{method=\"get\"}")->value == 1027 + 3);  // summed
  CHECK(find(s, "go_gc_duration_seconds_sum")->unit == "seconds");
  CHECK(find(s, "go_gc_duration_seconds_sum")->kind == Kind::counter);
  CHECK(find(s, "http_request_duration_seconds_count")->unit == "count");
  CHECK(find(s, "http_request_duration_seconds_count")->kind == Kind::counter);
  CHECK(find(s, "go_goroutines")->value == 42);
  CHECK(find(s, "go_goroutines")->kind == Kind::gauge);
  CHECK(find(s, "go_memstats_heap_inuse_bytes")->unit == "bytes");
  CHECK(find(s, "go_gc_duration_seconds{quantile=\"1\"}")->kind == Kind::gauge);
  CHECK(find(s, "go_gc_duration_seconds{quantile=\"1\"}")->unit == "seconds");
  CHECK(find(s, "jvm_memory_used_bytes") == nullptr);  // absent: left out
  CHECK(s.readings.size() == 10);

  const auto limits = w.limits();
  REQUIRE(limits.size() == 1);
  CHECK(limits[0].resource == "fds");
  CHECK(limits[0].value == 1048576);
  CHECK(limits[0].source == "process_max_fds");
}

TEST_CASE("metrics watcher: proxies from the environment are not used for loopback") {
  TinyHttpServer server(200, "process_open_fds 5\n");
  // A proxy that answers nothing (the discard port, closed here): used, the scrape would fail.
  ::setenv("http_proxy", "http://127.0.0.1:9", 1);
  ::setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
  MetricsWatcher w(server.url(), "api", {}, 1000ms);
  const Sample s = w.sample();
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  CHECK(s.gap_reason.empty());
  CHECK(server.requests() == 1);
}

TEST_CASE("metrics watcher: a server that never answers is a gap within the timeout") {
  TinyHttpServer server(200, "", TinyHttpServer::Mode::silent);
  MetricsWatcher w(server.url(), "api", {}, 200ms);
  const auto start = std::chrono::steady_clock::now();
  const Sample s = w.sample();
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(s.readings.empty());
  CHECK(s.gap_reason == "could not scrape " + server.url() + ": timed out after 200 ms");
  CHECK(took >= 150ms);
  CHECK(took < 2s);
}

TEST_CASE("metrics watcher: failed scrapes are gaps with their reason") {
  SUBCASE("HTTP 404") {
    TinyHttpServer server(404, "not found\n");
    MetricsWatcher w(server.url("/nope"), "api");
    CHECK(w.sample().gap_reason == "could not scrape " + server.url("/nope") + ": HTTP 404");
  }
  SUBCASE("a redirect is not followed") {
    TinyHttpServer server(302, "");
    MetricsWatcher w(server.url(), "api");
    CHECK(w.sample().gap_reason == "could not scrape " + server.url() + ": HTTP 302");
  }
  SUBCASE("connection refused") {
    const std::string url = "http://127.0.0.1:" + std::to_string(test::refused_port()) + "/m";
    MetricsWatcher w(url, "api");
    CHECK(w.sample().gap_reason == "could not scrape " + url + ": connection refused");
  }
  SUBCASE("a body past 8 MiB, with or without Content-Length") {
    for (const bool length : {true, false}) {
      TinyHttpServer server(200, std::string((8 << 20) + 10, '#'), TinyHttpServer::Mode::answer,
                            length);
      MetricsWatcher w(server.url(), "api");
      CHECK(w.sample().gap_reason ==
            "could not scrape " + server.url() + ": response larger than 8 MiB");
    }
  }
}

TEST_CASE("metrics watcher: a scrape without the selected series is a gap") {
  SUBCASE("other series only") {
    TinyHttpServer server(200, "# TYPE up gauge\nup 1\nprocess_max_fds 1024\n");
    MetricsWatcher w(server.url(), "api");
    const Sample s = w.sample();
    CHECK(s.readings.empty());
    CHECK(s.gap_reason == "no selected series in the scrape");
    CHECK(w.limits().size() == 1);
  }
  SUBCASE("nothing parses: the first malformed line is named") {
    TinyHttpServer server(200, "# a comment\n<html>\n<body/>\n");
    MetricsWatcher w(server.url(), "api");
    CHECK(w.sample().gap_reason == "nothing parsed in the scrape (first malformed line: 2)");
  }
}

TEST_CASE("metrics watcher: only http:// to loopback") {
  CHECK_NOTHROW(MetricsWatcher("http://localhost:9100/metrics", "x"));
  CHECK_NOTHROW(MetricsWatcher("http://[::1]:9100/metrics", "x"));
  CHECK_NOTHROW(MetricsWatcher("http://127.0.0.2:9100/metrics", "x"));
  // A private-network address, built from its octets: its refusal is the point, nothing is sent.
  std::string remote = "http://";
  for (const int octet : {10, 0, 0, 7})
    remote += std::to_string(octet) + (octet == 7 ? ":9100/metrics" : ".");
  CHECK_THROWS_WITH_AS(MetricsWatcher(remote, "x"),
                       doctest::Contains("strain only scrapes loopback"), UsageError);
  CHECK_THROWS_WITH_AS(MetricsWatcher("http://example.com/metrics", "x"),
                       doctest::Contains("strain only scrapes loopback"), UsageError);
  CHECK_THROWS_WITH_AS(MetricsWatcher("http://[::2]/metrics", "x"),
                       doctest::Contains("strain only scrapes loopback"), UsageError);
  CHECK_THROWS_WITH_AS(MetricsWatcher("https://127.0.0.1/metrics", "x"),
                       doctest::Contains("not an http:// URL"), UsageError);
  CHECK_THROWS_WITH_AS(MetricsWatcher("ftp://127.0.0.1/metrics", "x"),
                       doctest::Contains("not an http:// URL"), UsageError);
  CHECK_THROWS_AS(MetricsWatcher("127.0.0.1:9100", "x"), UsageError);

  const LoopbackUrl u = parse_loopback_url("http://LOCALHOST/metrics");
  CHECK(u.host == "localhost");
  CHECK(u.port == "80");
  CHECK(parse_loopback_url("http://[::1]:9100/").host == "[::1]");
}
