// One loopback URL fetched over plain HTTP with libcurl's easy interface, bounded in time and size.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace strain::watch {

// An http:// URL whose host is loopback, split for naming.
struct LoopbackUrl {
  std::string url;   // as given
  std::string host;  // "127.0.0.1", "localhost", "[::1]"
  std::string port;  // "9100"; "80" when the URL has none
};

// Throws UsageError unless `url` is http:// to 127.0.0.0/8, ::1 or localhost: strain only
// scrapes loopback, so a soak run never sends traffic where the user did not point it.
LoopbackUrl parse_loopback_url(const std::string& url);

// What one GET returned.
struct ScrapeResult {
  bool ok = false;    // a 200 response, read in full
  std::string body;   // the body when ok
  std::string error;  // when not ok: "connection refused", "timed out after 200 ms", "HTTP 404",
                      // "response larger than 8 MiB"
};

// A reusable connection to one URL. Not thread-safe: one thread calls get() at a time.
class HttpScraper {
 public:
  static constexpr std::size_t max_body_bytes = std::size_t{8} << 20;

  // `url` must have passed parse_loopback_url. Proxies from the environment are ignored.
  HttpScraper(std::string url, std::chrono::milliseconds timeout);
  ~HttpScraper();
  HttpScraper(const HttpScraper&) = delete;
  HttpScraper& operator=(const HttpScraper&) = delete;

  // Blocks at most about `timeout` (connect included). Never throws except std::bad_alloc.
  ScrapeResult get();

  const std::string& url() const { return url_; }

 private:
  struct Impl;
  std::string url_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strain::watch
