#include "reporters/html/figures.hpp"

#include <fmt/format.h>

#include <cmath>

#include "reporters/html/scale.hpp"

namespace strain::html {
namespace {

// Thousands separated by commas: fmt's locale-aware {:L} would make the page depend on the
// process locale, and the page must be the same bytes everywhere.
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string count(std::uint64_t n) {
  return grouped(n);
}

std::string rate(double per_second) {
  if (!std::isfinite(per_second)) return "–";
  if (per_second >= 1000)
    return grouped(static_cast<std::uint64_t>(std::llround(per_second))) + "/s";
  return fmt::format("{:.1f}/s", per_second);
}

std::string ms(double milliseconds) {
  if (!std::isfinite(milliseconds)) return "–";
  // Slopes and interval ends can be negative: the sign is kept, the precision follows the size.
  const double size = std::fabs(milliseconds);
  if (size >= 1000)
    return (milliseconds < 0 ? "-" : "") + grouped(static_cast<std::uint64_t>(std::llround(size))) +
           " ms";
  if (size >= 100) return fmt::format("{:.0f} ms", milliseconds);
  if (size >= 10) return fmt::format("{:.1f} ms", milliseconds);
  if (size >= 1) return fmt::format("{:.2f} ms", milliseconds);
  return fmt::format("{:.3f} ms", milliseconds);
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "–";
  if (seconds < 1) return fmt::format("{:.0f} ms", seconds * 1000);
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 3600) return fmt::format("{}m {:02}s", total / 60, total % 60);
  return fmt::format("{}h {:02}m", total / 3600, (total % 3600) / 60);
}

std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "–";
  const double p = fraction * 100;
  if (p == 0) return "0%";
  if (std::fabs(p) < 1) return fmt::format("{:.2f}%", p);
  if (std::fabs(p) < 100) return fmt::format("{:.1f}%", p);
  return fmt::format("{:.0f}%", p);
}

std::string bytes(double n) {
  return format_value(TickFormat::bytes, n);
}

std::string in_unit(double value, const std::string& unit) {
  if (unit == "bytes") return bytes(value);
  if (unit == "bytes/s") return bytes(value) + "/s";
  if (unit == "ms") return ms(value);
  if (unit == "seconds") return duration(value);
  if (unit == "fraction") return percent(value);
  const std::string figure = format_value(TickFormat::number, value);
  if (unit == "count" || unit.empty()) return figure;
  return figure + " " + unit;
}

}  // namespace strain::html
