// Units as users type them: durations ("500ms", "2m30s"), sizes ("10KiB"), rates ("2000/s").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace strain {

// A request rate in events per second.
struct Rate {
  double per_second = 0.0;
  friend bool operator==(const Rate&, const Rate&) = default;
};

// Parses "250us", "500ms", "30s", "2m", "1h", "1h30m", "1.5s". A bare number is seconds.
// Throws UsageError naming `what` (e.g. "--duration") on anything else or a negative value.
std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what);

// Parses "512", "512B", "10KiB", "4MiB", "1GiB", "10KB" (1000-based), "1.5MB".
// Throws UsageError naming `what` on bad input.
std::uint64_t parse_size_bytes(std::string_view text, std::string_view what);

// Parses "2000/s", "2000", "120/m", "3/ms", "10k/s". Throws UsageError naming `what`.
Rate parse_rate(std::string_view text, std::string_view what);

// "1.23s", "45.6ms", "789us", "2m30s": three significant digits, unit chosen by magnitude.
std::string format_duration(std::chrono::nanoseconds d);
// The same for a figure in milliseconds, as the histogram summaries give them.
std::string format_duration_ms(double value_ms);
// "1.23 KiB", "512 B".
std::string format_size(std::uint64_t bytes);
// "12.3k", "456", "1.23M": for counts and rates in tables.
std::string format_count(double n);

}  // namespace strain
