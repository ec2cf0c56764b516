// A transport for runtime tests: answers every request 200 after a fixed delay, on the worker's
// own loop, and counts what it saw (thread-safe: workers run on their own threads).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "engine/core/clock.hpp"
#include "engine/transport/client_factory.hpp"
#include "engine/transport/http_client.hpp"

namespace strain::testing {

struct FakeCounts {
  std::atomic<std::uint64_t> sessions{0};  // sessions opened (a VU's connection)
  std::atomic<std::uint64_t> requests{0};  // requests started
  std::atomic<std::uint64_t> answered{0};  // responses delivered
};

class FakeSession final : public Session {
 public:
  FakeSession(boost::asio::io_context& io, FakeCounts& counts, std::chrono::nanoseconds delay,
              std::uint64_t& in_flight)
      : timer_(io), counts_(counts), delay_(delay), in_flight_(in_flight) {}
  ~FakeSession() override { close(); }

  void start(const http::RequestView& request, ExchangeObserver& observer,
             std::int64_t now) override {
    observer_ = &observer;
    sent_ns_ = now;
    bytes_out_ = request.bytes.size();
    ++in_flight_;
    ++counts_.requests;
    timer_.expires_after(delay_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || observer_ == nullptr) return;
      Exchange ex;
      ex.status = 200;
      ex.sent_ns = sent_ns_;
      ex.done_ns = now_ns();
      ex.bytes_out = bytes_out_;
      ex.bytes_in = 100;
      ++counts_.answered;
      finish(ex);
    });
  }
  void set_response_observer(http::ResponseObserver*) override {}
  bool busy() const override { return observer_ != nullptr; }
  void abandon(std::int64_t now) override {
    if (observer_ == nullptr) return;
    timer_.cancel();
    Exchange ex;
    ex.error = ErrorKind::abandoned;
    ex.sent_ns = sent_ns_;
    ex.done_ns = now;
    finish(ex);
  }
  void close() override {
    if (observer_ == nullptr) return;
    timer_.cancel();
    observer_ = nullptr;
    --in_flight_;
  }

 private:
  void finish(const Exchange& ex) {
    ExchangeObserver* o = observer_;
    observer_ = nullptr;
    --in_flight_;
    o->on_exchange(ex);
  }

  boost::asio::steady_timer timer_;
  FakeCounts& counts_;
  std::chrono::nanoseconds delay_;
  std::uint64_t& in_flight_;
  ExchangeObserver* observer_ = nullptr;
  std::int64_t sent_ns_ = 0;
  std::size_t bytes_out_ = 0;
};

class FakeClient final : public HttpClient {
 public:
  FakeClient(boost::asio::io_context& io, FakeCounts& counts, std::chrono::nanoseconds delay)
      : io_(io), counts_(counts), delay_(delay) {}
  std::unique_ptr<Session> open_session() override {
    ++counts_.sessions;
    return std::make_unique<FakeSession>(io_, counts_, delay_, in_flight_);
  }
  std::uint64_t in_flight() const override { return in_flight_; }

 private:
  boost::asio::io_context& io_;
  FakeCounts& counts_;
  std::chrono::nanoseconds delay_;
  std::uint64_t in_flight_ = 0;
};

// A ClientFactory making FakeClients that answer after `delay`; `counts` outlives the run.
inline ClientFactory fake_factory(FakeCounts& counts, std::chrono::nanoseconds delay) {
  return [&counts, delay](boost::asio::io_context& io, const http::Url&) {
    return std::make_unique<FakeClient>(io, counts, delay);
  };
}

}  // namespace strain::testing
