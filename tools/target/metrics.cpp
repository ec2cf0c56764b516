#include "tools/target/metrics.hpp"

#include <charconv>
#include <cstdint>

namespace strain::target {
namespace {

void series(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::string_view value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  out += value;
  out += '\n';
}

std::string number(std::uint64_t n) {
  return std::to_string(n);
}

// Shortest text that reads back as the same double: 0.01, not 0.01000000000000000021.
std::string number(double x) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

}  // namespace

std::string format_metrics(const std::optional<ProcessSample>& process,
                           const StatsSnapshot& stats) {
  std::string out;
  out.reserve(2048);
  // Names, types and help as the Prometheus client libraries' process collector has them, so
  // dashboards and judges written for those read these too.
  if (process) {
    const auto& p = *process;
    series(out, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.", number(p.cpu_seconds));
    series(out, "process_open_fds", "gauge", "Number of open file descriptors.",
           number(p.open_fds));
    series(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
           number(p.max_fds));
    series(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           number(p.virtual_bytes));
    series(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           number(p.resident_bytes));
    series(out, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.", number(p.start_time_s));
  }
  series(out, "strain_target_requests_total", "counter",
         "Responses written whole (as served in /__strain/stats; not /metrics or the stats).",
         number(stats.served));
  series(out, "strain_target_leaked_bytes", "gauge", "Memory kept on purpose by --leak.",
         number(stats.leak ? stats.leak->leaked_bytes : 0));
  series(out, "strain_target_leaked_fds", "gauge", "Descriptors kept open on purpose by --fd-leak.",
         number(stats.fd_leak ? stats.fd_leak->leaked_fds : 0));
  series(out, "strain_target_transient_bytes", "gauge",
         "Memory held now by --transient (taken and given back each period).",
         number(stats.transient ? stats.transient->held_bytes : 0));
  return out;
}

}  // namespace strain::target
