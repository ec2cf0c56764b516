#include "engine/core/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "engine/core/error.hpp"

namespace strain {
namespace {

[[noreturn]] void bad(std::string_view what, std::string_view text, std::string_view expected) {
  throw UsageError(std::string(what) + ": '" + std::string(text) + "' is not " +
                   std::string(expected));
}

// Reads a non-negative decimal number at the front of `s`, advancing it.
bool take_number(std::string_view& s, double& out) {
  std::size_t i = 0;
  bool digits = false;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0 || s[i] == '.')) {
    digits = digits || s[i] != '.';
    ++i;
  }
  if (!digits) return false;
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + i, value);
  if (ec != std::errc() || ptr != s.data() + i) return false;
  out = value;
  s.remove_prefix(i);
  return true;
}

std::string_view take_unit(std::string_view& s) {
  std::size_t i = 0;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])) != 0)
    ++i;
  auto unit = s.substr(0, i);
  s.remove_prefix(i);
  return unit;
}

}  // namespace

std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "a duration (e.g. 500ms, 30s, 2m, 1h, 1h30m)";
  std::string_view s = text;
  if (s.empty()) bad(what, text, expected);
  double total_ns = 0;
  bool first = true;
  while (!s.empty()) {
    double value = 0;
    if (!take_number(s, value)) bad(what, text, expected);
    auto unit = take_unit(s);
    double scale = 0;
    if (unit.empty() || unit == "s")
      scale = 1e9;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "us" || unit == "µs")
      scale = 1e3;
    else if (unit == "ns")
      scale = 1;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else if (unit == "d")
      scale = 86400e9;
    else
      bad(what, text, expected);
    // A bare number means seconds only when it is the whole text ("10"), never a tail ("5s5").
    if (unit.empty() && !(first && s.empty())) bad(what, text, expected);
    first = false;
    total_ns += value * scale;
  }
  if (!std::isfinite(total_ns) || total_ns > 9.2e18) bad(what, text, expected);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total_ns)));
}

std::uint64_t parse_size_bytes(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "a size (e.g. 512, 10KiB, 4MiB, 1GB)";
  std::string_view s = text;
  double value = 0;
  if (!take_number(s, value)) bad(what, text, expected);
  auto unit = take_unit(s);
  if (!s.empty()) bad(what, text, expected);
  double scale = 0;
  if (unit.empty() || unit == "B" || unit == "b")
    scale = 1;
  else if (unit == "KiB" || unit == "k" || unit == "K")
    scale = 1024.0;
  else if (unit == "MiB" || unit == "M")
    scale = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB")
    scale = 1e3;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "GB")
    scale = 1e9;
  else
    bad(what, text, expected);
  double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes > 1.8e19) bad(what, text, expected);
  return static_cast<std::uint64_t>(std::llround(bytes));
}

Rate parse_rate(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "a rate (e.g. 2000/s, 120/m, 10k/s)";
  std::string_view s = text;
  double value = 0;
  if (!take_number(s, value)) bad(what, text, expected);
  if (!s.empty() && (s.front() == 'k' || s.front() == 'K')) {
    value *= 1e3;
    s.remove_prefix(1);
  }
  double per = 1;  // seconds per unit
  if (!s.empty()) {
    if (s.front() != '/') bad(what, text, expected);
    s.remove_prefix(1);
    auto unit = take_unit(s);
    if (!s.empty()) bad(what, text, expected);
    if (unit == "s")
      per = 1;
    else if (unit == "ms")
      per = 1e-3;
    else if (unit == "m")
      per = 60;
    else if (unit == "h")
      per = 3600;
    else
      bad(what, text, expected);
  }
  double rate = value / per;
  if (!std::isfinite(rate) || rate <= 0) bad(what, text, expected);
  return Rate{rate};
}

std::string format_duration(std::chrono::nanoseconds d) {
  char buf[48];
  const double ns = static_cast<double>(d.count());
  const double abs_ns = std::fabs(ns);
  // Each unit ends at 999.5 of itself: "%.3g" would print 999.6ms as "1e+03ms".
  if (abs_ns < 999.5)
    std::snprintf(buf, sizeof buf, "%.0fns", ns);
  else if (abs_ns < 999.5e3)
    std::snprintf(buf, sizeof buf, "%.3gus", ns / 1e3);
  else if (abs_ns < 999.5e6)
    std::snprintf(buf, sizeof buf, "%.3gms", ns / 1e6);
  else if (abs_ns < 60e9)
    std::snprintf(buf, sizeof buf, "%.3gs", ns / 1e9);
  else {
    const auto total_s = static_cast<long long>(abs_ns / 1e9);
    if (total_s < 3600)
      std::snprintf(buf, sizeof buf, "%lldm%02llds", total_s / 60, total_s % 60);
    else
      std::snprintf(buf, sizeof buf, "%lldh%02lldm", total_s / 3600, (total_s % 3600) / 60);
  }
  return buf;
}

std::string format_duration_ms(double value_ms) {
  return format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(value_ms * 1e6)));
}

std::string format_size(std::uint64_t bytes) {
  char buf[48];
  const double b = static_cast<double>(bytes);
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  else if (b < 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f KiB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f MiB", b / 1024 / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1024 / 1024 / 1024);
  return buf;
}

std::string format_count(double n) {
  char buf[48];
  const double a = std::fabs(n);
  if (a < 1e4)
    std::snprintf(buf, sizeof buf, "%.0f", n);
  else if (a < 1e6)
    std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else if (a < 1e9)
    std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  return buf;
}

}  // namespace strain
