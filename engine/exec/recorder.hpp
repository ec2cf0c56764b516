// Turns exchanges into metrics on the worker's hot path: two histogram records and a few adds.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "engine/results/run_result.hpp"
#include "engine/transport/http_client.hpp"

namespace strain {

// Worker-owned; not thread-safe. The controller takes the interval's metrics once a second.
class Recorder {
 public:
  Recorder() { interval_.name = "total"; }
  // A series of a scripted run: one request name with its tags.
  Recorder(std::string name, std::map<std::string, std::string> tags) {
    interval_.name = std::move(name);
    interval_.tags = std::move(tags);
  }

  // intended_ns: when the iteration was due (closed model: when the VU became ready).
  void record(const Exchange& ex, std::int64_t intended_ns) {
    if (ex.error != ErrorKind::none) {
      ++interval_.errors_by_kind[static_cast<std::size_t>(ex.error)];
      // A timed-out request took at least this long: leaving it out would flatter the
      // percentiles exactly when the target is struggling. Other failures are no latency.
      if (ex.error == ErrorKind::timeout) {
        interval_.response_time_us.record((ex.done_ns - intended_ns) / 1000);
        interval_.service_time_us.record((ex.done_ns - ex.sent_ns) / 1000);
      }
      interval_.bytes_out += ex.bytes_out;
      interval_.bytes_in += ex.bytes_in;
      return;
    }
    // Histograms hold microseconds; sub-microsecond remainders are truncated, never rounded up.
    interval_.response_time_us.record((ex.done_ns - intended_ns) / 1000);
    interval_.service_time_us.record((ex.done_ns - ex.sent_ns) / 1000);
    ++interval_.responses;
    const int status = ex.status;
    const auto cls = (status >= 100 && status < 600) ? static_cast<std::size_t>(status / 100) : 0;
    ++interval_.status_classes[cls];
    ++status_counts_[(status >= 0 && status < 600) ? status : 0];
    interval_.bytes_in += ex.bytes_in;
    interval_.bytes_out += ex.bytes_out;
  }

  // Moves the interval's metrics into `out` (which must be empty) and starts a new interval.
  void take_interval(RequestMetrics& out) {
    for (int code = 0; code < 600; ++code) {
      if (status_counts_[code] != 0) interval_.status_codes[code] += status_counts_[code];
      status_counts_[code] = 0;
    }
    std::swap(out, interval_);
    interval_.name = out.name;
    interval_.tags = out.tags;
  }

 private:
  RequestMetrics interval_;
  // Exact status codes, counted without a map lookup on the hot path.
  std::uint64_t status_counts_[600] = {};
};

}  // namespace strain
