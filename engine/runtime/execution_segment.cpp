#include "engine/runtime/execution_segment.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain {
namespace {

constexpr double kMsPerDay = 86'400'000.0;
// Clocks of machines started "together" differ a little, and so does a process's start: an
// instant this recent still counts as now.
constexpr double kPastSlackMs = 1000.0;

std::string quoted(std::string_view what, std::string_view text) {
  return std::string(what) + " '" + std::string(text) + "'";
}

// A whole decimal number of at most 9 digits (no sign, no spaces); nullopt otherwise.
std::optional<std::uint32_t> small_number(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  std::uint32_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return n;
}

// `digits` decimal digits at text[at...], advancing `at`; nullopt when they are not there.
std::optional<int> digits_at(std::string_view text, std::size_t& at, std::size_t digits) {
  if (at + digits > text.size()) return std::nullopt;
  int n = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  at += digits;
  return n;
}

bool take(std::string_view text, std::size_t& at, std::string_view any_of) {
  if (at >= text.size() || any_of.find(text[at]) == std::string_view::npos) return false;
  ++at;
  return true;
}

// RFC 3339's date-time → ms since 1970; nullopt when it is not one.
std::optional<double> rfc3339_unix_ms(std::string_view t) {
  std::size_t at = 0;
  const auto year = digits_at(t, at, 4);
  if (!year || !take(t, at, "-")) return std::nullopt;
  const auto month = digits_at(t, at, 2);
  if (!month || !take(t, at, "-")) return std::nullopt;
  const auto day = digits_at(t, at, 2);
  if (!day || !take(t, at, "Tt ")) return std::nullopt;
  const auto hour = digits_at(t, at, 2);
  if (!hour || !take(t, at, ":")) return std::nullopt;
  const auto minute = digits_at(t, at, 2);
  if (!minute || !take(t, at, ":")) return std::nullopt;
  const auto second = digits_at(t, at, 2);
  if (!second) return std::nullopt;
  double fraction = 0;
  if (take(t, at, ".")) {
    double scale = 0.1;
    const std::size_t from = at;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
      fraction += (t[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == from) return std::nullopt;
  }
  int offset_min = 0;
  if (!take(t, at, "Zz")) {
    if (at >= t.size() || (t[at] != '+' && t[at] != '-')) return std::nullopt;
    const int sign = t[at++] == '-' ? -1 : 1;
    const auto oh = digits_at(t, at, 2);
    if (!oh || !take(t, at, ":")) return std::nullopt;
    const auto om = digits_at(t, at, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset_min = sign * (*oh * 60 + *om);
  }
  if (at != t.size()) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  const double days = static_cast<double>(std::chrono::sys_days(date).time_since_epoch().count());
  const double local_s = *hour * 3600.0 + *minute * 60.0 + *second + fraction;
  // The offset says how far local time is ahead of UTC: UTC is local minus the offset.
  return days * kMsPerDay + (local_s - offset_min * 60.0) * 1000.0;
}

}  // namespace

Share parse_segment(std::string_view text, std::string_view what) {
  const auto slash = text.find('/');
  const auto i =
      slash == std::string_view::npos ? std::nullopt : small_number(text.substr(0, slash));
  const auto n =
      slash == std::string_view::npos ? std::nullopt : small_number(text.substr(slash + 1));
  if (!i || !n) {
    throw UsageError(quoted(what, text) + ": not I/N (e.g. 2/4: the second of four segments)");
  }
  if (*n == 0) throw UsageError(quoted(what, text) + ": N must be at least 1");
  if (*n > kMaxSegments) {
    throw UsageError(quoted(what, text) + ": at most " + std::to_string(kMaxSegments) +
                     " segments");
  }
  if (*i == 0 || *i > *n) {
    throw UsageError(quoted(what, text) + ": I counts from 1 to N (here 1/" + std::to_string(*n) +
                     " to " + std::to_string(*n) + "/" + std::to_string(*n) + ")");
  }
  return Share{*i - 1, *n};
}

Share choose_segment(const SegmentSources& s) {
  std::optional<Share> chosen;
  if (!s.flag.empty()) {
    chosen = parse_segment(s.flag, "--segment");
  } else if (s.strain_env) {
    chosen = parse_segment(*s.strain_env, "STRAIN_SEGMENT");
  }
  if (chosen) {
    // --segments is only for JOB_COMPLETION_INDEX; given as well, it must agree.
    if (s.segments != 0 && s.segments != chosen->count) {
      throw UsageError(
          "--segments " + std::to_string(s.segments) + " disagrees with " +
          (s.flag.empty() ? "STRAIN_SEGMENT='" + *s.strain_env + "'" : "--segment " + s.flag));
    }
    return *chosen;
  }
  if (s.job_index_env) {
    if (s.segments == 0) {
      throw UsageError(
          "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but --segments is not: add "
          "--segments N (the Job's completions), or --segment 1/1 to run the whole test in each "
          "pod");
    }
    if (s.segments > kMaxSegments) {
      throw UsageError("--segments " + std::to_string(s.segments) + ": at most " +
                       std::to_string(kMaxSegments));
    }
    const auto index = small_number(*s.job_index_env);
    if (!index) {
      throw UsageError(quoted("JOB_COMPLETION_INDEX", *s.job_index_env) + ": not a whole number");
    }
    if (*index >= s.segments) {
      throw UsageError(quoted("JOB_COMPLETION_INDEX", *s.job_index_env) + " with --segments " +
                       std::to_string(s.segments) +
                       ": the index counts from 0, so it must be below " +
                       std::to_string(s.segments));
    }
    return Share{*index, s.segments};
  }
  if (s.segments != 0) {
    throw UsageError("--segments " + std::to_string(s.segments) +
                     " needs JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job); elsewhere "
                     "use --segment I/N");
  }
  return Share::whole();
}

double parse_start_at(std::string_view text, double now_unix_ms) {
  double at = 0;
  if (!text.empty() && text.front() == '+') {
    const auto wait = parse_duration(text.substr(1), "--start-at");
    at = now_unix_ms + std::chrono::duration<double, std::milli>(wait).count();
  } else if (const auto parsed = rfc3339_unix_ms(text)) {
    at = *parsed;
  } else {
    throw UsageError(quoted("--start-at", text) +
                     ": not an RFC 3339 time (2026-12-06T04:00:00Z, 2026-12-06T05:00:00+01:00) "
                     "or +DURATION (+30s)");
  }
  if (at < now_unix_ms - kPastSlackMs) {
    char ago[32];
    std::snprintf(ago, sizeof ago, "%.1f", (now_unix_ms - at) / 1000.0);
    throw UsageError(quoted("--start-at", text) + ": that instant has passed (" + ago + " s ago)");
  }
  if (at > now_unix_ms + kMsPerDay) {
    throw UsageError(quoted("--start-at", text) + ": more than 24 h ahead");
  }
  return at;
}

std::string format_unix_ms(double unix_ms) {
  const auto ms = static_cast<std::int64_t>(std::llround(unix_ms));
  const std::int64_t days = (ms >= 0 ? ms : ms - 86'399'999) / 86'400'000;
  const std::int64_t in_day = ms - days * 86'400'000;
  const std::chrono::year_month_day date{
      std::chrono::sys_days(std::chrono::days(static_cast<int>(days)))};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(in_day / 3'600'000),
                static_cast<int>(in_day / 60'000 % 60), static_cast<int>(in_day / 1000 % 60),
                static_cast<int>(in_day % 1000));
  return buf;
}

}  // namespace strain
