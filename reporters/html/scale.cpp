#include "reporters/html/scale.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace strain::html {
namespace {

// Steps a reader counts time in: seconds, minutes and hours that divide the next unit evenly.
constexpr std::array<double, 22> kDurationSteps = {
    0.1, 0.2, 0.5, 1,    2,    5,    10,    15,    30,    60,    120,
    300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800};

// The 1-2-5 step that gives about `target` intervals over `span`.
double nice_step(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * magnitude;
}

double duration_step(double span, int target) {
  for (const double step : kDurationSteps)
    if (span / step <= target) return step;
  return nice_step(span, target);
}

// Decimals that show a value on a grid of `step` exactly (1-2-5 steps: one per decade below 1).
int decimals_for(double step) {
  if (!(step > 0)) return 0;
  return std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6);
}

std::string trim_number(double value, int decimals) {
  if (std::fabs(value) < 1e-12) value = 0;  // no "-0"
  return fmt::format("{:.{}f}", value, decimals);
}

// A number on a grid of `step`, with k/M/G once the values get long.
std::string format_number(double value, double step) {
  const double magnitude = std::max(std::fabs(value), step);
  if (magnitude >= 1e9) return trim_number(value / 1e9, decimals_for(step / 1e9)) + "G";
  if (magnitude >= 1e6) return trim_number(value / 1e6, decimals_for(step / 1e6)) + "M";
  if (magnitude >= 1e4) return trim_number(value / 1e3, decimals_for(step / 1e3)) + "k";
  return trim_number(value, decimals_for(step));
}

// Three significant digits, no exponent, k/M/G past ten thousand.
std::string three_digits(double value, bool suffixes) {
  double magnitude = std::fabs(value);
  if (magnitude < 1e-12) return "0";
  const char* suffix = "";
  if (suffixes && magnitude >= 1e9) {
    value /= 1e9;
    suffix = "G";
  } else if (suffixes && magnitude >= 1e6) {
    value /= 1e6;
    suffix = "M";
  } else if (suffixes && magnitude >= 1e4) {
    value /= 1e3;
    suffix = "k";
  }
  magnitude = std::fabs(value);
  const int decimals = std::clamp(2 - static_cast<int>(std::floor(std::log10(magnitude))), 0, 6);
  return trim_number(value, decimals) + suffix;
}

// "1.00" → "1", "0.100" → "0.1", "2.50k" → "2.5k": a log axis' ticks are round already.
std::string trim_zeros(std::string text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos) return text;
  std::size_t end = dot + 1;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9')
    ++end;
  std::size_t cut = end;
  while (cut > dot + 1 && text[cut - 1] == '0')
    --cut;
  if (cut == dot + 1) cut = dot;
  return text.substr(0, cut) + text.substr(end);
}

std::string format_duration(double seconds) {
  if (std::fabs(seconds) < 1e-9) return "0";
  if (seconds < 60) {
    const double rounded = std::round(seconds * 10) / 10;
    return rounded == std::floor(rounded) ? fmt::format("{:.0f}s", rounded)
                                          : fmt::format("{:.1f}s", rounded);
  }
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600;
  const long long m = (total % 3600) / 60;
  const long long s = total % 60;
  if (h > 0) return m > 0 ? fmt::format("{}h{:02}m", h, m) : fmt::format("{}h", h);
  return s > 0 ? fmt::format("{}m{:02}s", m, s) : fmt::format("{}m", m);
}

std::string format_percentile(double inverse_tail) {
  const double tail = 1 / std::max(inverse_tail, 1.0);
  const int decimals =
      std::clamp(static_cast<int>(std::ceil(std::log10(1 / tail) - 2 - 1e-9)), 0, 7);
  return fmt::format("{:.{}f}%", 100 * (1 - tail), decimals);
}

std::string log_label(TickFormat format, double value) {
  return format == TickFormat::number ? trim_zeros(three_digits(value, true))
                                      : format_value(format, value);
}

}  // namespace

double Scale::to_px(double value) const {
  double t = 0;
  if (kind == ScaleKind::log) {
    const double v = value > 0 ? value : lo;
    t = (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  } else {
    t = (value - lo) / (hi - lo);
  }
  return px_lo + t * (px_hi - px_lo);
}

double bytes_divisor(double max_bytes, const char** unit) {
  static constexpr std::array<const char*, 6> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double divisor = 1;
  std::size_t i = 0;
  while (i + 1 < kUnits.size() && std::fabs(max_bytes) >= divisor * 1024) {
    divisor *= 1024;
    ++i;
  }
  if (unit != nullptr) *unit = kUnits[i];
  return divisor;
}

void nice_domain(ScaleKind kind, TickFormat format, bool from_zero, double& data_lo,
                 double& data_hi) {
  if (!std::isfinite(data_lo) || !std::isfinite(data_hi) || data_lo > data_hi) {
    data_lo = kind == ScaleKind::log ? 1 : 0;
    data_hi = kind == ScaleKind::log ? 10 : 1;
    return;
  }
  if (kind == ScaleKind::log) {
    if (!(data_hi > 0)) {
      data_lo = 1;
      data_hi = 10;
      return;
    }
    if (!(data_lo > 0)) data_lo = data_hi / 10;
    data_lo = std::pow(10.0, std::floor(std::log10(data_lo) + 1e-9));
    data_hi = std::pow(10.0, std::ceil(std::log10(data_hi) - 1e-9));
    if (data_hi <= data_lo) data_hi = data_lo * 10;
    return;
  }
  if (from_zero) data_lo = std::min(data_lo, 0.0);
  if (data_hi == data_lo) {
    // One value: put it mid-chart rather than on an edge.
    const double pad = data_hi == 0 ? 1 : std::fabs(data_hi) * 0.5;
    data_hi += pad;
    if (!from_zero || data_lo != 0) data_lo -= pad;
    if (from_zero) data_lo = std::min(std::max(data_lo, 0.0), 0.0);
  }
  if (format == TickFormat::duration) return;
  double divisor = 1;
  if (format == TickFormat::bytes)
    divisor = bytes_divisor(std::max(std::fabs(data_lo), std::fabs(data_hi)), nullptr);
  const double step = nice_step((data_hi - data_lo) / divisor, 5) * divisor;
  data_lo = std::floor(data_lo / step + 1e-9) * step;
  data_hi = std::ceil(data_hi / step - 1e-9) * step;
}

std::vector<Tick> make_ticks(ScaleKind kind, TickFormat format, double lo, double hi, int target) {
  std::vector<Tick> ticks;
  if (!(hi > lo)) return ticks;
  if (kind == ScaleKind::log) {
    const int first = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
    const int last = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
    const int decades = last - first;
    // Few decades: 2 and 5 between the powers, so the axis is not bare.
    const bool minor = decades <= 2 && format != TickFormat::percentile;
    for (int e = first; e <= last; ++e) {
      const double base = std::pow(10.0, e);
      ticks.push_back({base, log_label(format, base)});
      if (minor && e < last) {
        for (const double m : {2.0, 5.0})
          ticks.push_back({base * m, log_label(format, base * m)});
      }
    }
    // The median is the landmark a reader looks for first.
    if (format == TickFormat::percentile && lo <= 2 && hi > 2 && decades <= 6)
      ticks.insert(ticks.begin() + 1, {2, format_value(format, 2)});
    return ticks;
  }
  double divisor = 1;
  const char* unit = "";
  if (format == TickFormat::bytes)
    divisor = bytes_divisor(std::max(std::fabs(lo), std::fabs(hi)), &unit);
  const double step = format == TickFormat::duration
                          ? duration_step(hi - lo, target)
                          : nice_step((hi - lo) / divisor, target) * divisor;
  const auto first = static_cast<long long>(std::ceil(lo / step - 1e-9));
  const auto last = static_cast<long long>(std::floor(hi / step + 1e-9));
  for (long long i = first; i <= last; ++i) {
    const double v = static_cast<double>(i) * step;
    std::string label;
    switch (format) {
      case TickFormat::duration:
        label = format_duration(v);
        break;
      case TickFormat::bytes:
        label = trim_number(v / divisor, decimals_for(step / divisor)) + " " + unit;
        break;
      case TickFormat::percentile:
        label = format_percentile(v);
        break;
      case TickFormat::number:
        label = format_number(v, step);
        break;
    }
    ticks.push_back({v, std::move(label)});
  }
  return ticks;
}

std::string format_value(TickFormat format, double value) {
  switch (format) {
    case TickFormat::duration:
      return format_duration(value);
    case TickFormat::percentile:
      return format_percentile(value);
    case TickFormat::bytes: {
      const char* unit = "";
      const double divisor = bytes_divisor(value, &unit);
      return three_digits(value / divisor, false) + " " + unit;
    }
    case TickFormat::number:
      break;
  }
  return three_digits(value, true);
}

}  // namespace strain::html
