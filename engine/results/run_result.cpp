#include "engine/results/run_result.hpp"

namespace strain {

LatencySummary summarize_us(const Histogram& h) {
  LatencySummary s;
  if (h.total_count() == 0) return s;
  auto ms = [](double us) { return us / 1000.0; };
  s.min = ms(static_cast<double>(h.min()));
  s.mean = ms(h.mean());
  s.p50 = ms(static_cast<double>(h.value_at_percentile(50.0)));
  s.p90 = ms(static_cast<double>(h.value_at_percentile(90.0)));
  s.p95 = ms(static_cast<double>(h.value_at_percentile(95.0)));
  s.p99 = ms(static_cast<double>(h.value_at_percentile(99.0)));
  s.p999 = ms(static_cast<double>(h.value_at_percentile(99.9)));
  s.max = ms(static_cast<double>(h.max()));
  s.stddev = ms(h.stddev());
  return s;
}

std::uint64_t RequestMetrics::transport_errors() const {
  std::uint64_t n = 0;
  for (std::size_t i = 1; i < errors_by_kind.size(); ++i)
    n += errors_by_kind[i];
  return n;
}

std::uint64_t RequestMetrics::failed() const {
  return transport_errors() + status_classes[4] + status_classes[5];
}

void RequestMetrics::add(const RequestMetrics& other) {
  response_time_us.add(other.response_time_us);
  service_time_us.add(other.service_time_us);
  responses += other.responses;
  for (std::size_t i = 0; i < status_classes.size(); ++i)
    status_classes[i] += other.status_classes[i];
  for (const auto& [code, count] : other.status_codes)
    status_codes[code] += count;
  for (std::size_t i = 0; i < errors_by_kind.size(); ++i)
    errors_by_kind[i] += other.errors_by_kind[i];
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
}

}  // namespace strain
