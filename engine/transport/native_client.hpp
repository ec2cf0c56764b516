// The native HTTP/1.1 transport: keep-alive connections on a worker's Poller, no per-request
// allocation, one write and one read per request in steady state.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/transport/connect_backoff.hpp"
#include "engine/transport/deadline_list.hpp"
#include "engine/transport/endpoint.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/poller.hpp"
#include "engine/transport/wake_heap.hpp"

namespace strain {

struct NativeClientOptions {
  std::chrono::nanoseconds connect_timeout =
      std::chrono::seconds(5);  // socket() to connected, per address tried
  std::chrono::nanoseconds request_timeout =
      std::chrono::seconds(10);  // first byte sent to response complete
  std::chrono::nanoseconds idle_timeout =
      std::chrono::seconds(10);  // longest silence while awaiting bytes
  std::chrono::nanoseconds connect_backoff_first =
      std::chrono::milliseconds(5);  // longest wait after one failed connect; 0: never wait
  std::chrono::nanoseconds connect_backoff_cap =
      std::chrono::seconds(1);  // longest wait after many failed connects in a row
};

class NativeSession;
class TlsContext;

// One per worker; every session it opens runs on `io`'s thread. Connects try the endpoint's
// addresses in turn, the one that worked last first; after a connect to every address failed,
// that session's next connect waits out a back-off (see connect_backoff.hpp).
class NativeClient final : public HttpClient, private BatchListener {
 public:
  // `tls`: speak TLS (HTTPS) with this context on every connection; null: plain HTTP.
  NativeClient(boost::asio::io_context& io, const Endpoint& endpoint, NativeClientOptions options,
               std::shared_ptr<const TlsContext> tls = nullptr);
  ~NativeClient() override;

  std::unique_ptr<Session> open_session() override;
  std::uint64_t in_flight() const override { return in_flight_; }
  // Closes every session's socket and stops timers; in-flight exchanges are abandoned unreported.
  void shutdown() override;
  // Connect attempts since start (first connects, reconnects, and each address tried).
  std::uint64_t connects() const override { return connects_; }
  // Requests resent once, or reconnected before sending, because the server had closed their
  // idle keep-alive connection before it could have read them.
  std::uint64_t stale_retries() const override { return stale_retries_; }
  // Connects that first waited out a back-off after a failed connect.
  std::uint64_t connect_backoffs() const override { return connect_backoffs_; }

 private:
  friend class NativeSession;
  void tick();
  void on_batch_end() override;
  // Queues `node` to wake after the back-off for `failures` consecutive failed connects.
  void wait_out_backoff(WakeNode& node, std::uint32_t failures, std::int64_t now_ns);
  void arm_backoff_timer();
  void on_backoff_timer();

  boost::asio::io_context& io_;
  Endpoint endpoint_;
  NativeClientOptions options_;
  std::shared_ptr<const TlsContext> tls_;
  BackoffSchedule backoff_;
  Poller poller_;
  boost::asio::steady_timer sweep_timer_;
  DeadlineList connect_deadlines_;
  DeadlineList request_deadlines_;
  DeadlineList idle_deadlines_;
  // Sessions waiting out a back-off, earliest first, with one timer for all of them.
  WakeHeap backoff_waits_;
  boost::asio::steady_timer backoff_timer_;
  std::int64_t backoff_timer_ns_ = INT64_MAX;  // when backoff_timer_ fires; INT64_MAX: not armed
  std::uint64_t jitter_state_ = 0;             // next_random() state for back-off jitter
  std::size_t preferred_address_ = 0;          // index in endpoint_ of the address that worked last
  std::vector<NativeSession*> sessions_;       // live sessions, for shutdown
  // Requests started while a batch of events is being handled, sent when the batch ends.
  // Bounded: a session appears at most once (one exchange at a time).
  std::vector<NativeSession*> deferred_;
  bool in_batch_ = false;
  std::uint64_t in_flight_ = 0;
  std::uint64_t connects_ = 0;
  std::uint64_t stale_retries_ = 0;
  std::uint64_t connect_backoffs_ = 0;
  bool shut_down_ = false;
  // Shared by every connection of this worker: a response is parsed as it is read, so no
  // connection needs a buffer of its own (10,000 connections would otherwise cost 10,000 of these).
  std::array<char, 64 * 1024> read_buffer_{};
};

}  // namespace strain
