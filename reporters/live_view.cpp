#include "reporters/live_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/core/units.hpp"

namespace strain {

namespace {

std::string clock(double seconds) {
  const auto s = static_cast<std::int64_t>(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

// Cuts a line of plain ASCII (the view writes no other) to the terminal's width.
std::string fit(std::string line, std::size_t width) {
  if (width > 0 && line.size() > width) line.resize(width);
  return line;
}

std::string rates(const LiveFigures& f) {
  std::string s = fmt::format("{} req/s", format_count(f.rate_rps));
  if (f.offered_rps) s += fmt::format(" (offered {}/s)", format_count(*f.offered_rps));
  return s;
}

std::string errors(const LiveFigures& f) {
  const double whole = static_cast<double>(f.requests + f.failed);
  const double share = whole > 0 ? 100.0 * static_cast<double>(f.failed) / whole : 0.0;
  return fmt::format("failed {} ({:.2f}%, last {:.2f}%)", f.failed, share,
                     100.0 * f.interval_error_rate);
}

}  // namespace

LiveFigures live_figures(const IntervalSnapshot& snap, const RunResult& so_far) {
  LiveFigures f;
  const IntervalPoint& p = snap.point;
  f.elapsed_s = p.start_s + p.length_s;
  f.planned_s = snap.planned_s;
  f.rate_rps = p.length_s > 0 ? static_cast<double>(p.responses) / p.length_s : 0.0;
  if (snap.schedule.due > 0 && p.length_s > 0)
    f.offered_rps = static_cast<double>(snap.schedule.due) / p.length_s;
  f.p50_ms = p.p50_ms;
  f.p99_ms = p.p99_ms;
  f.requests = so_far.total.responses;
  f.failed = so_far.total.failed();
  const std::uint64_t attempts = snap.total.attempts();
  f.interval_error_rate =
      attempts > 0 ? static_cast<double>(snap.total.failed()) / static_cast<double>(attempts) : 0;
  f.active_vus = snap.active_vus;
  f.draining = snap.draining;
  return f;
}

std::vector<std::string> render_live_view(const LiveFigures& f, std::size_t width) {
  std::vector<std::string> lines;
  // Line 1: the bar, elapsed and remaining time.
  const double share = f.planned_s > 0 ? std::clamp(f.elapsed_s / f.planned_s, 0.0, 1.0) : 0.0;
  constexpr std::size_t bar_width = 30;
  const auto filled = static_cast<std::size_t>(std::lround(share * bar_width));
  std::string bar(filled, '=');
  if (filled < bar_width) bar += '>' + std::string(bar_width - filled - 1, ' ');
  std::string timing =
      f.planned_s > 0 ? fmt::format("{} of {}, {} left", clock(f.elapsed_s), clock(f.planned_s),
                                    clock(f.planned_s - std::floor(f.elapsed_s)))
                      : fmt::format("{} elapsed", clock(f.elapsed_s));
  if (f.draining) timing += ", draining";
  lines.push_back(fit(fmt::format("[{}] {:3.0f}%  {}", bar, share * 100, timing), width));
  // Line 2: the last interval.
  lines.push_back(
      fit(fmt::format("  {}  p50 {}  p99 {}  {}  {} VUs", rates(f), format_duration_ms(f.p50_ms),
                      format_duration_ms(f.p99_ms), errors(f), f.active_vus),
          width));
  if (!f.mode.empty()) lines.push_back(fit("  " + f.mode, width));
  return lines;
}

std::string render_live_line(const LiveFigures& f) {
  std::string line = f.planned_s > 0
                         ? fmt::format("[{:>6}/{}]", clock(f.elapsed_s), clock(f.planned_s))
                         : fmt::format("[{:>6}]", clock(f.elapsed_s));
  line += fmt::format("  {}  p50 {}  p99 {}  {}  {} VUs", rates(f), format_duration_ms(f.p50_ms),
                      format_duration_ms(f.p99_ms), errors(f), f.active_vus);
  if (f.draining) line += "  draining";
  if (!f.mode.empty()) line += "  " + f.mode;
  return line;
}

}  // namespace strain
