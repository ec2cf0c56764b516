// Figures as the page prints them in text and tables: counts, rates, times, sizes.
#pragma once

#include <cstdint>
#include <string>

namespace strain::html {

std::string count(std::uint64_t n);    // 1,234,567
std::string rate(double per_second);   // 1,234.5/s
std::string ms(double milliseconds);   // 0.412 ms, 12.3 ms, 1,204 ms
std::string duration(double seconds);  // 850 ms, 42.0 s, 5m 03s, 12h 00m
std::string percent(double fraction);  // 0.12%, 3.4%, 12.5%, 100%
std::string bytes(double n);           // 512 B, 1.50 MiB
// A value in a soak/stress unit ("bytes", "count", "ms", "cores", "bytes/s", …).
std::string in_unit(double value, const std::string& unit);

}  // namespace strain::html
