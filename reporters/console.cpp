#include "reporters/console.hpp"

#include <fmt/format.h>

#include <chrono>

#include "engine/core/units.hpp"

namespace strain {
namespace {

std::string ms(double value_ms) {
  return format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(value_ms * 1e6)));
}

std::string latency_row(const char* label, const Histogram& h) {
  const LatencySummary s = summarize_us(h);
  return fmt::format("  {:<15}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}\n", label, ms(s.min),
                     ms(s.mean), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p999), ms(s.max),
                     ms(s.stddev));
}

}  // namespace

std::string render_summary(const RunResult& r) {
  const auto& t = r.total;
  std::string out;
  out += fmt::format(
      "\nstrain {} {} — {} VUs ({}) on {} thread{} for {}{}\n\n", r.config.command, r.config.url,
      r.config.vus, r.config.executor, r.config.threads, r.config.threads == 1 ? "" : "s",
      format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(r.duration_s * 1e9))),
      r.partial ? " (interrupted: partial result)" : "");
  const double seconds = r.duration_s > 0 ? r.duration_s : 1.0;
  out +=
      fmt::format("  {:<15}{} completed, {:.1f}/s\n", "requests", t.responses, r.throughput_rps());
  const std::uint64_t failed = t.failed();
  const std::uint64_t attempts = t.responses + t.transport_errors();
  out += fmt::format(
      "  {:<15}{} ({:.2f}%)", "failed", failed,
      attempts > 0 ? 100.0 * static_cast<double>(failed) / static_cast<double>(attempts) : 0.0);
  std::string kinds;
  for (std::size_t i = 1; i < t.errors_by_kind.size(); ++i) {
    if (t.errors_by_kind[i] == 0) continue;
    kinds +=
        fmt::format("{}{} {}", kinds.empty() ? "" : ", ", error_kind_names[i], t.errors_by_kind[i]);
  }
  if (t.status_classes[4] + t.status_classes[5] > 0) {
    kinds += fmt::format("{}HTTP 4xx {}, 5xx {}", kinds.empty() ? "" : ", ", t.status_classes[4],
                         t.status_classes[5]);
  }
  out += kinds.empty() ? "\n" : fmt::format("   [{}]\n", kinds);
  std::string classes;
  const char* class_names[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < t.status_classes.size(); ++i) {
    if (t.status_classes[i] == 0) continue;
    classes +=
        fmt::format("{}{} {}", classes.empty() ? "" : ", ", class_names[i], t.status_classes[i]);
  }
  std::string codes;
  for (const auto& [code, count] : t.status_codes) {
    codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", code, count);
  }
  out += fmt::format("  {:<15}{}{}\n", "status", classes.empty() ? "-" : classes,
                     codes.empty() ? "" : fmt::format("   [{}]", codes));
  out += fmt::format(
      "  {:<15}in {} ({}/s), out {} ({}/s)\n\n", "data", format_size(t.bytes_in),
      format_size(static_cast<std::uint64_t>(static_cast<double>(t.bytes_in) / seconds)),
      format_size(t.bytes_out),
      format_size(static_cast<std::uint64_t>(static_cast<double>(t.bytes_out) / seconds)));
  out += fmt::format("  {:<15}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}\n", "latency", "min", "mean",
                     "p50", "p90", "p99", "p99.9", "max", "stdev");
  out += latency_row("response time", t.response_time_us);
  out += latency_row("service time", t.service_time_us);
  if (!r.thresholds.empty()) {
    out += fmt::format("\n  {:<15}\n", "thresholds");
    for (const auto& v : r.thresholds) {
      const std::string observed =
          v.observed ? fmt::format("observed {:.4g}", *v.observed) : v.note;
      out += fmt::format("  {} {} {}   ({})\n", v.passed ? "  pass" : "  FAIL", v.expression,
                         v.condition, observed);
    }
  }
  const auto& g = r.generator;
  const double cpu = g.cpu_user_s + g.cpu_system_s;
  out += fmt::format(
      "\n  {:<15}cpu {:.2f}s ({:.2f} cores, {:.0f} req per cpu-second), peak rss {}, {} connects, "
      "{} in flight at stop\n",
      "generator", cpu, cpu / seconds, cpu > 0 ? static_cast<double>(t.responses) / cpu : 0.0,
      format_size(g.peak_rss_bytes), g.connects, g.in_flight_at_stop);
  if (g.stale_retries > 0) {
    out +=
        fmt::format("  {:<15}{} requests resent once after the server closed an idle connection\n",
                    "", g.stale_retries);
  }
  if (g.generator_bound) out += "  GENERATOR-BOUND: strain could not keep its schedule\n";
  for (const auto& note : g.notes)
    out += fmt::format("  note: {}\n", note);
  return out;
}

std::string render_progress(double elapsed_s, double planned_s, const IntervalPoint& iv,
                            std::uint64_t failed_total, std::uint32_t vus) {
  const double rate = iv.length_s > 0 ? static_cast<double>(iv.responses) / iv.length_s : 0.0;
  return fmt::format("[{:>5.0f}s/{:.0f}s] {:>9} req/s  p50 {:>8}  p99 {:>8}  failed {:<8} {} VUs",
                     elapsed_s, planned_s, format_count(rate), ms(iv.p50_ms), ms(iv.p99_ms),
                     failed_total, vus);
}

}  // namespace strain
