// The Prometheus text exposition format (0.0.4): a scrape parsed into series, and series selectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strain::watch {

// Label names and unescaped values, in the order written.
using Labels = std::vector<std::pair<std::string, std::string>>;

// One sample line: `name{label="value",...} value [timestamp]`.
struct Series {
  std::string name;                          // as exposed: "go_gc_duration_seconds_count"
  Labels labels;                             // values unescaped (\\, \", \n)
  double value = 0;                          // NaN, +Inf and -Inf as written
  std::optional<std::int64_t> timestamp_ms;  // when the line carries one
};

// What one scrape said. Malformed lines are skipped and counted, never fatal.
struct Exposition {
  std::vector<Series> series;                // every sample line that parsed, in order
  std::map<std::string, std::string> types;  // metric family → "counter", "gauge", "histogram",
                                             // "summary" or "untyped", from # TYPE lines
  std::size_t lines = 0;                     // lines read, blank and comment lines included
  std::size_t bad_lines = 0;                 // lines skipped as malformed
  std::size_t first_bad_line = 0;            // 1-based number of the first of them; 0 if none

  // The # TYPE that covers a series name: its own, or for a _bucket, _sum or _count series its
  // histogram or summary family's; "untyped" when none does.
  std::string_view type_of(std::string_view series_name) const;
};

// Parses a scrape body. Accepts CRLF line ends.
Exposition parse_prometheus_text(std::string_view text);

// A series chosen by name and a subset of its labels: `jvm_memory_used_bytes{area="heap"}`.
struct SeriesSelector {
  std::string text;  // as written, blanks trimmed: the name of the reading it makes
  std::string name;  // metric name, matched exactly
  Labels labels;     // each must be present with this value; "" also matches an absent label

  bool matches(const Series& series) const;
};

// Parses `name` or `name{label="value",...}`. Throws UsageError naming the text and the column.
SeriesSelector parse_series_selector(std::string_view text);

}  // namespace strain::watch
