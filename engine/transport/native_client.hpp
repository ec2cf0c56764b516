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

#include "engine/transport/deadline_list.hpp"
#include "engine/transport/endpoint.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/poller.hpp"

namespace strain {

struct NativeClientOptions {
  std::chrono::nanoseconds connect_timeout =
      std::chrono::seconds(5);  // socket() to connected, per address tried
  std::chrono::nanoseconds request_timeout =
      std::chrono::seconds(10);  // first byte sent to response complete
  std::chrono::nanoseconds idle_timeout =
      std::chrono::seconds(10);  // longest silence while awaiting bytes
};

class NativeSession;

// One per worker; every session it opens runs on `io`'s thread. Connects try the endpoint's
// addresses in turn, the one that worked last first.
class NativeClient final : public HttpClient, private BatchListener {
 public:
  NativeClient(boost::asio::io_context& io, const Endpoint& endpoint, NativeClientOptions options);
  ~NativeClient() override;

  std::unique_ptr<Session> open_session() override;
  std::uint64_t in_flight() const override { return in_flight_; }
  // Closes every session's socket and stops timers; in-flight exchanges are abandoned unreported.
  void shutdown() override;
  // Connect attempts since start (first connects, reconnects, and each address tried).
  std::uint64_t connects() const override { return connects_; }
  // Requests resent once because their idle keep-alive connection had been closed by the peer.
  std::uint64_t stale_retries() const override { return stale_retries_; }

 private:
  friend class NativeSession;
  void tick();
  void on_batch_end() override;

  boost::asio::io_context& io_;
  Endpoint endpoint_;
  NativeClientOptions options_;
  Poller poller_;
  boost::asio::steady_timer sweep_timer_;
  DeadlineList connect_deadlines_;
  DeadlineList request_deadlines_;
  DeadlineList idle_deadlines_;
  std::size_t preferred_address_ = 0;     // index in endpoint_ of the address that worked last
  std::vector<NativeSession*> sessions_;  // live sessions, for shutdown
  // Requests started while a batch of events is being handled, sent when the batch ends.
  // Bounded: a session appears at most once (one exchange at a time).
  std::vector<NativeSession*> deferred_;
  bool in_batch_ = false;
  std::uint64_t in_flight_ = 0;
  std::uint64_t connects_ = 0;
  std::uint64_t stale_retries_ = 0;
  bool shut_down_ = false;
  // Shared by every connection of this worker: a response is parsed as it is read, so no
  // connection needs a buffer of its own (10,000 connections would otherwise cost 10,000 of these).
  std::array<char, 64 * 1024> read_buffer_{};
};

}  // namespace strain
