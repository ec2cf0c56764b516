#include "engine/exec/recorder.hpp"

#include <algorithm>
#include <utility>

namespace strain {

Recorder::Recorder(std::string name, std::map<std::string, std::string> tags) {
  interval_.name = std::move(name);
  interval_.tags = std::move(tags);
}

void Recorder::record_failure(const Exchange& ex, std::int64_t intended_ns) noexcept {
  ++interval_.errors_by_kind[static_cast<std::size_t>(ex.error)];
  // A timed-out or abandoned request took at least this long: leaving it out would flatter
  // the percentiles exactly when the target is struggling. Other failures are no latency.
  if (ex.error == ErrorKind::timeout || ex.error == ErrorKind::abandoned) {
    interval_.response_time_us.record((ex.done_ns - intended_ns) / 1000);
    interval_.service_time_us.record((ex.done_ns - ex.sent_ns) / 1000);
  }
}

void Recorder::record_dropped(std::int64_t intended_ns, std::int64_t given_up_ns,
                              bool waited) noexcept {
  ++interval_.errors_by_kind[static_cast<std::size_t>(ErrorKind::dropped)];
  if (waited) {
    interval_.response_time_us.record(std::max<std::int64_t>(0, given_up_ns - intended_ns) / 1000);
  }
}

void Recorder::take_interval(RequestMetrics& out) {
  for (unsigned code = 0; code < kStatusCodes; ++code) {
    if (status_counts_[code] != 0)
      interval_.status_codes[static_cast<int>(code)] += status_counts_[code];
    status_counts_[code] = 0;
  }
  std::swap(out, interval_);
  interval_.name = out.name;
  interval_.tags = out.tags;
}

}  // namespace strain
