// The durable timeline of a long run, appended every interval next to --out: a run killed at
// hour 7 leaves files from which its result is rebuilt up to the last interval (rebuild.hpp).
#pragma once

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "engine/metrics/hlog_writer.hpp"
#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "engine/results/soak_report.hpp"
#include "engine/watch/watcher.hpp"

namespace strain::soak {

// "out/result.json" → "out/result.intervals.jsonl", ".hlog", ".samples.csv".
SoakFiles sidecar_names(const std::string& out_path);

// Owns a FILE*; closes it.
struct FileCloser {
  void operator()(std::FILE* f) const noexcept {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Opens `path` for writing (truncated). Throws UsageError naming `flag` when it cannot.
FilePtr open_for_writing(const std::string& path, const std::string& flag);

// One JSON line per interval (the first line a header with the run's identity), and the
// interval's histograms in an .hlog. Session thread only. A failed write is remembered and
// reported (good()); it never stops the load.
class IntervalLog {
 public:
  // `header_extra` is merged into the header line (the soak's options, for a rebuild).
  IntervalLog(FilePtr intervals, FilePtr hlog, std::string header_extra_json = "{}");
  // Appends `snap` and flushes both files. `so_far` supplies the header on the first call.
  void append(const IntervalSnapshot& snap, const RunResult& so_far);
  bool good() const noexcept { return good_; }

 private:
  FilePtr intervals_;
  FilePtr hlog_file_;
  std::unique_ptr<HlogWriter> hlog_;
  std::string header_extra_json_;
  bool header_written_ = false;
  bool good_ = true;
};

// The watchers' samples as CSV rows "t_s,component,resource,value,reason" (a gap: no resource
// and no value, the reason), with "#series,component,resource,unit,kind,source" the first time
// a series appears and "#restart,t_s,component,pid". Sampler thread only; flushed per round.
class SampleLog {
 public:
  explicit SampleLog(FilePtr file);
  void write(double t_s, const std::string& component, const std::string& source,
             const watch::Sample& sample);
  void flush();
  bool good() const noexcept { return good_; }

 private:
  FilePtr file_;
  std::set<std::pair<std::string, std::string>> declared_;  // bounded by the watchers' resources
  bool good_ = true;
};

}  // namespace strain::soak
