#include "tools/target/stats.hpp"

namespace strain::target {

void StatsSnapshot::add(const WorkerCounters& counters) {
  served += counters.served.load(std::memory_order_relaxed);
  for (std::size_t status = 0; status < counters.by_status.size(); ++status) {
    const auto n = counters.by_status[status].load(std::memory_order_relaxed);
    if (n != 0) by_status[static_cast<int>(status)] += n;
  }
}

std::string format_stats_line(const StatsSnapshot& stats) {
  std::string out = "strain-target served=" + std::to_string(stats.served) + " by_status=";
  bool first = true;
  for (const auto& [status, n] : stats.by_status) {
    if (!first) out += ',';
    first = false;
    out += std::to_string(status) + ':' + std::to_string(n);
  }
  out += " connections=" + std::to_string(stats.connections);
  return out;
}

std::string format_stats_json(const StatsSnapshot& stats) {
  std::string out = "{\"served\":" + std::to_string(stats.served) + ",\"by_status\":{";
  bool first = true;
  for (const auto& [status, n] : stats.by_status) {
    if (!first) out += ',';
    first = false;
    out += '"' + std::to_string(status) + "\":" + std::to_string(n);
  }
  out += "},\"connections\":" + std::to_string(stats.connections);
  out += ",\"open_connections\":" + std::to_string(stats.open_connections);
  out += ",\"rejected_connections\":" + std::to_string(stats.rejected_connections);
  out += ",\"uptime_ms\":" + std::to_string(stats.uptime_ms) + '}';
  return out;
}

}  // namespace strain::target
