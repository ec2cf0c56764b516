// The standard HdrHistogram interval log (.hlog, format 1.3): a writer and a small reader.
#pragma once

#include <cstdio>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/metrics/histogram.hpp"

namespace strain {

// Writes what Java's HistogramLogWriter writes and its HistogramLogReader reads:
//   #[Histogram log format version 1.3]
//   #[StartTime: 1717000000.000 (seconds since epoch), Wed May 29 16:26:40 UTC 2024]
//   #[BaseTime: 1717000000.000 (seconds since epoch)]
//   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//   Tag=items,0.000,1.000,12.345,HISTFAAAA...
// Interval start times are relative to the BaseTime line (= start time), so readers need not
// guess. Each write is flushed. One writer per file, used from one thread.
class HlogWriter {
 public:
  // Writes the header lines at once. `out` must outlive the writer. start_time_s: seconds
  // since the Unix epoch. Interval_Max is max() / max_value_unit_ratio: 1000.0 shows µs
  // values in ms (Java's own default, 1e6, assumes ns). Readers ignore the column.
  HlogWriter(std::ostream& out, double start_time_s, double max_value_unit_ratio = 1000.0);
  HlogWriter(std::FILE* out, double start_time_s, double max_value_unit_ratio = 1000.0);

  // Appends one interval line and flushes. start_s: seconds since start_time_s. The tag is
  // passed through sanitize_tag. Returns false if the line could not be written or flushed.
  bool write_interval(const Histogram& h, double start_s, double length_s,
                      std::string_view tag = {});
  // Appends "#<text>" (newlines in text become spaces) and flushes.
  bool write_comment(std::string_view text);
  // Every write so far succeeded.
  bool good() const noexcept { return good_; }

  // Java rejects tags containing ',', ' ', '\r' or '\n'; we replace them with '_' instead,
  // since tags come from request names. An empty tag means "no Tag= field".
  static std::string sanitize_tag(std::string_view tag);

 private:
  bool write(const std::string& text);

  std::ostream* stream_ = nullptr;  // exactly one of stream_ and file_ is set
  std::FILE* file_ = nullptr;
  double max_value_unit_ratio_;
  bool good_ = true;
};

// One interval line of an .hlog.
struct HlogInterval {
  std::string tag;        // empty when the line has no Tag= field
  double start_s = 0.0;   // StartTimestamp as written (relative to BaseTime when present)
  double length_s = 0.0;  // Interval_Length, seconds
  double max = 0.0;       // Interval_Max as written (in the writer's max-value unit)
  Histogram histogram;    // the decoded Interval_Compressed_Histogram
};

// An .hlog file read back.
struct HlogLog {
  std::optional<double> start_time_s;   // from #[StartTime: ...], seconds since the epoch
  std::optional<double> base_time_s;    // from #[BaseTime: ...], seconds since the epoch
  std::vector<HlogInterval> intervals;  // in file order
};

// Reads an .hlog (ours or Java's). Throws strain::Error naming the line on malformed input.
HlogLog hlog_read(std::istream& in);

}  // namespace strain
