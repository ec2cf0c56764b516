#include "reporters/csv_timeline.hpp"

#include <fmt/format.h>

#include <iterator>
#include <vector>

namespace strain {

std::string render_csv_timeline(const RunResult& result) {
  // Only the error kinds that occur get a column: 17 columns of zeros help no one.
  std::vector<std::size_t> kinds;
  for (std::size_t k = 1; k < error_kind_count; ++k) {
    for (const IntervalPoint& p : result.timeline) {
      if (p.errors_by_kind[k] > 0) {
        kinds.push_back(k);
        break;
      }
    }
  }
  std::string out =
      "start_s,length_s,responses,throughput_rps,errors,failed_status,p50_ms,p90_ms,p99_ms,"
      "max_ms,service_p50_ms,service_p99_ms,active_vus,started,schedule_lag_p99_ms";
  for (std::size_t k : kinds)
    fmt::format_to(std::back_inserter(out), ",errors_{}", error_kind_names[k]);
  out += '\n';
  for (const IntervalPoint& p : result.timeline) {
    const double rps = p.length_s > 0 ? static_cast<double>(p.responses) / p.length_s : 0.0;
    fmt::format_to(std::back_inserter(out),
                   "{:.3f},{:.3f},{},{:.3f},{},{},{},{},{},{},{},{},{},{},{}", p.start_s,
                   p.length_s, p.responses, rps, p.errors, p.failed_status, p.p50_ms, p.p90_ms,
                   p.p99_ms, p.max_ms, p.service_p50_ms, p.service_p99_ms, p.active_vus, p.started,
                   p.schedule_lag_p99_ms);
    for (std::size_t k : kinds)
      fmt::format_to(std::back_inserter(out), ",{}", p.errors_by_kind[k]);
    out += '\n';
  }
  return out;
}

}  // namespace strain
