// GET /metrics: the process and strain-target's own counts in the Prometheus text format 0.0.4.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tools/target/process_sample.hpp"
#include "tools/target/stats.hpp"

namespace strain::target {

inline constexpr std::string_view kMetricsPath = "/metrics";
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4";

// The exposition text, every series with its # HELP and # TYPE lines: process_* from `process`
// (left out when it is nullopt), then strain_target_requests_total (served),
// strain_target_leaked_bytes, strain_target_leaked_fds and strain_target_transient_bytes (what
// --leak, --fd-leak and --transient hold now; 0 when off). Ends with a newline.
std::string format_metrics(const std::optional<ProcessSample>& process, const StatsSnapshot& stats);

}  // namespace strain::target
