// One VU's session on the libcurl transport, internal to engine/transport/curl: an easy handle
// whose transfers run in the client's multi handle (so sessions share its connection pool),
// the request's options set only where they changed, the response's header lines kept for a
// script's observer, and the native client's connect back-off after failed connects.
#pragma once

#include <curl/curl.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/transport/http_client.hpp"
#include "engine/transport/request_view.hpp"
#include "engine/transport/response_observer.hpp"

namespace strain::curl_internal {

class CurlClient;

class CurlSession final : public Session {
 public:
  explicit CurlSession(CurlClient& client);
  ~CurlSession() override;

  // The client goes first (shutdown at the end of a run): nothing in flight, no more calls.
  void detach();

  using Session::start;
  void start(const http::RequestView& request, ExchangeObserver& observer,
             std::int64_t now) override;
  void set_response_observer(http::ResponseObserver* observer) override;
  bool busy() const override { return observer_ != nullptr; }
  void abandon(std::int64_t now) override;
  void close() override;

  // The transfer ended (called by the client's reap, outside libcurl's callbacks).
  void finish(CURLcode code, std::int64_t now);

 private:
  // The header lines of the response being read: a new status line starts a new block (1xx
  // and redirects come first); handed to the observer before the first body byte.
  struct HeaderBlock {
    std::string lines;
    bool truncated = false;
    void clear_block() {
      lines.clear();
      truncated = false;
    }
  };

  // Per-session options that never change; the request's own are set by prepare().
  void configure();
  // The request's URL, method, headers and body. Unchanged parts keep their libcurl copies.
  void prepare(const http::RequestView& r);
  void add_to_multi();
  void stop_backoff();
  void leave_multi();
  // A failure inside start() is reported from the event loop, as the native client does, so a
  // VU that retries at once goes round the io_context rather than down the stack.
  void post_failure(ErrorKind kind);
  void report();
  void deliver_headers();

  // libcurl's callbacks.
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self_ptr);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self_ptr);
  static curl_socket_t open_socket(void* self_ptr, curlsocktype purpose, curl_sockaddr* address);
  // The connection is up (TLS included) and the request goes out now.
  static int on_prereq(void* self_ptr, char*, char*, int, int);
  static int close_socket(void* client_ptr, curl_socket_t fd);

  CurlClient* client_;
  CURL* easy_ = nullptr;
  ExchangeObserver* observer_ = nullptr;
  http::ResponseObserver* response_observer_ = nullptr;
  Exchange exchange_;
  std::int64_t started_ns_ = 0;
  std::int64_t socket_opened_ns_ = 0;  // this exchange's last new socket; 0: none opened
  curl_slist* headers_ = nullptr;
  std::string header_lines_;  // what headers_ was made from
  std::string target_;        // what url_ was made from
  std::string url_;
  std::string method_;  // CURLOPT_CUSTOMREQUEST's string; empty: libcurl's own method
  HeaderBlock block_;
  bool in_multi_ = false;
  bool failure_posted_ = false;
  bool backing_off_ = false;           // waiting out backoff_timer_ before add_to_multi()
  std::uint32_t failed_connects_ = 0;  // in a row; a transfer that sent its request resets it
  std::uint64_t backoff_round_ = 0;    // which wait a timer callback belongs to
  boost::asio::steady_timer backoff_timer_;
  bool body_seen_ = false;
  bool has_body_ = false;       // this request has a body (POSTFIELDS)
  std::size_t body_bytes_ = 0;  // and its size
  std::array<char, CURL_ERROR_SIZE> error_text_{};
};

}  // namespace strain::curl_internal
