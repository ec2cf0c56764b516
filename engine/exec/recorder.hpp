// Turns exchanges into metrics on the worker's hot path: two histogram records and a few adds.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/results/run_result.hpp"
#include "engine/transport/http_client.hpp"

namespace strain {

// An answered request's phases into `m` (µs, truncated as the latency histograms are).
inline void record_phases(PhaseMetrics& m, const ExchangePhases& p) noexcept {
  m.blocked_us.record(p.blocked_ns / 1000);
  m.connecting_us.record(p.connecting_ns / 1000);
  m.tls_handshaking_us.record(p.tls_handshaking_ns / 1000);
  m.waiting_us.record(p.waiting_ns / 1000);
  m.receiving_us.record(p.receiving_ns / 1000);
}

// Worker-owned; not thread-safe. The worker takes the interval's metrics once a second.
class Recorder {
 public:
  Recorder() { interval_.name = "total"; }
  // A series of a scripted run: one request name with its tags.
  Recorder(std::string name, std::map<std::string, std::string> tags);

  // intended_ns: when the iteration was due (closed model: when the VU became ready).
  void record(const Exchange& ex, std::int64_t intended_ns) noexcept {
    interval_.bytes_out += ex.bytes_out;
    interval_.bytes_in += ex.bytes_in;
    if (ex.error != ErrorKind::none) return record_failure(ex, intended_ns);
    // Histograms hold microseconds; sub-microsecond remainders are truncated, never rounded up.
    interval_.response_time_us.record((ex.done_ns - intended_ns) / 1000);
    interval_.service_time_us.record((ex.done_ns - ex.sent_ns) / 1000);
    ++interval_.responses;
    const auto status = static_cast<unsigned>(ex.status);
    // 1xx..5xx by class; anything else (the parser allows up to 999) is class 0, a failure.
    const std::size_t cls = status - 100 < 500 ? status / 100 : 0;
    ++interval_.status_classes[cls];
    ++status_counts_[status < kStatusCodes ? status : 0];
  }

  // An open-model arrival given up before it could start a request: a failed request of kind
  // `dropped`. One that waited (in the backlog, or unseen by a late generator) has that wait,
  // up to `given_up_ns`, recorded as a lower bound on its response time; an overflow, which
  // never waited, is a failure only.
  void record_dropped(std::int64_t intended_ns, std::int64_t given_up_ns, bool waited) noexcept;

  // Moves the interval's metrics into `out` (which must be empty) and starts a new interval.
  // No allocation: `out`'s empty histograms become the new interval's.
  void take_interval(RequestMetrics& out);
  // Nothing was recorded in this interval.
  bool idle() const noexcept {
    return interval_.responses == 0 && interval_.transport_errors() == 0;
  }

 private:
  static constexpr unsigned kStatusCodes = 1000;
  void record_failure(const Exchange& ex, std::int64_t intended_ns) noexcept;

  RequestMetrics interval_;
  // Exact status codes, counted without a map lookup on the hot path.
  std::uint64_t status_counts_[kStatusCodes] = {};
};

}  // namespace strain
