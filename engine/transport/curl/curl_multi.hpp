// The libcurl transport's client, internal to engine/transport/curl: one multi handle per
// worker, its sockets on the worker's Poller and its timer on Asio (curl_multi_socket_action).
// The sessions (curl_session.hpp) call into it; the rest of strain sees make_curl_client only.
#pragma once

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/transport/connect_backoff.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/poller.hpp"
#include "engine/transport/transport_options.hpp"
#include "engine/transport/url.hpp"

namespace strain::curl_internal {

class CurlClient;
class CurlSession;

// One socket libcurl asked us to watch. Owned by the client; a removed one waits in the
// graveyard until the batch of events that may still name it is over.
struct SocketWatch final : PollHandler {
  CurlClient* client = nullptr;
  curl_socket_t fd = CURL_SOCKET_BAD;
  std::uint32_t events = 0;  // what the Poller watches for now
  bool dead = false;
  void on_poll(std::uint32_t ready) override;
};

class CurlClient final : public HttpClient, private BatchListener {
 public:
  CurlClient(boost::asio::io_context& io, const http::Url& origin,
             const NativeClientOptions& timeouts, const TransportOptions& options);
  ~CurlClient() override;

  std::unique_ptr<Session> open_session() override;
  std::uint64_t in_flight() const override { return in_flight_; }
  std::uint64_t connects() const override { return connects_; }
  std::uint64_t connect_backoffs() const override { return connect_backoffs_; }
  void shutdown() override;

  // Used by the sessions and the watches.
  void on_socket(curl_socket_t fd, std::uint32_t ready);
  CURLM* multi() const { return multi_; }
  boost::asio::io_context& io() { return io_; }
  const NativeClientOptions& timeouts() const { return timeouts_; }
  const TransportOptions& options() const { return options_; }
  const std::string& base_url() const { return base_url_; }
  const std::string& default_host() const { return default_host_; }
  curl_slist* resolve_list() const { return resolve_; }
  bool shut_down() const { return shut_down_; }
  void forget(CurlSession* session, CURL* easy);
  void count_start() { ++in_flight_; }
  // The wait before a session's next connect after `failures` failed ones in a row (the native
  // client's schedule: 5 ms doubling to 1 s, jittered); 0 when back-off is off.
  std::int64_t backoff_wait_ns(std::uint32_t failures) {
    return backoff_.enabled() ? backoff_.wait_ns(failures, next_random(jitter_state_)) : 0;
  }
  void count_backoff() { ++connect_backoffs_; }
  void count_end() { --in_flight_; }
  // A socket opened for a connect (the opensocket callback): counted, errno kept for failures.
  curl_socket_t open_socket(curlsocktype purpose, const curl_sockaddr* address);
  void close_socket(curl_socket_t fd);

 private:
  static int socket_callback(CURL* easy, curl_socket_t fd, int what, void* client_ptr,
                             void* watch_ptr);
  static int timer_callback(CURLM* multi, long timeout_ms, void* client_ptr);
  void on_timer();
  // Hands every finished transfer to its session; they may start new ones from inside.
  void reap();
  void on_batch_end() override { graveyard_.clear(); }
  void drop_watch(curl_socket_t fd);

  boost::asio::io_context& io_;
  Poller poller_;  // before multi_: curl_multi_cleanup closes sockets through it
  boost::asio::steady_timer timer_;
  NativeClientOptions timeouts_;
  TransportOptions options_;
  std::string base_url_;      // "https://host:port", to which a request's target is appended
  std::string default_host_;  // the Host the native client would send: not passed to libcurl
  curl_slist* resolve_ = nullptr;
  CURLM* multi_ = nullptr;
  std::unordered_map<curl_socket_t, std::unique_ptr<SocketWatch>> watches_;
  std::vector<std::unique_ptr<SocketWatch>> graveyard_;  // removed during a batch of events
  std::vector<CurlSession*> sessions_;                   // live sessions, for shutdown
  std::vector<std::pair<CURL*, CURLcode>> done_;         // reused by reap()
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::uint64_t in_flight_ = 0;
  std::uint64_t connects_ = 0;
  std::uint64_t connect_backoffs_ = 0;
  BackoffSchedule backoff_;
  std::uint64_t jitter_state_ = 0;                     // next_random() state for back-off jitter
  std::chrono::steady_clock::time_point timer_due_{};  // when timer_ fires; {}: not armed
  bool timeout_posted_ = false;  // libcurl asked for "now": a post is on its way
  bool shut_down_ = false;
  bool reaping_ = false;
};

}  // namespace strain::curl_internal
