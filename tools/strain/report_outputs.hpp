// The report files a command was asked for: checked before any traffic, rendered from the
// result after it, and the live ones (--hlog, --metrics-listen) fed every interval.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/metrics/hlog_writer.hpp"
#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "reporters/metrics_exporter.hpp"
#include "tools/strain/run_flags.hpp"

namespace strain {

// Reads a saved result. Every problem is bad input (UsageError, exit 2) naming the file: it
// cannot be read, is not JSON, or is not a strain result.
RunResult read_result_file(const std::string& path);

// Throws UsageError naming the flag when a requested file (--out, --html, --junit, --csv,
// --hlog) cannot be written. Leaves no file behind.
void check_report_files(const OutputFlags& output);

// Writes --html, --junit and --csv, each rendered from `result` and renamed into place whole.
// Returns one message per file that could not be written.
std::vector<std::string> write_report_files(const RunResult& result, const OutputFlags& output);

// --hlog and --metrics-listen: fed during the run. Made before any traffic, so a port in use
// is found out before the load starts.
class LiveOutputs {
 public:
  explicit LiveOutputs(const OutputFlags& output);  // throws UsageError
  ~LiveOutputs();
  LiveOutputs(const LiveOutputs&) = delete;
  LiveOutputs& operator=(const LiveOutputs&) = delete;

  // `soak_so_far`: a soak's verdicts so far (empty when none runs or none is judged yet).
  void on_interval(const IntervalSnapshot& snap, const RunResult& so_far,
                   const std::string& stress_state, const std::vector<SoakVerdict>& soak_so_far);
  // The final result; then serves --metrics-listen for --metrics-hold before returning.
  void on_result(const RunResult& result);
  // No load ran: remove what was created for it.
  void discard();
  // Messages about files that could not be written, for the end of the run.
  const std::vector<std::string>& errors() const noexcept { return errors_; }

 private:
  std::string hlog_path_;
  std::FILE* hlog_file_ = nullptr;
  std::optional<HlogWriter> hlog_;
  std::unique_ptr<MetricsExporter> metrics_;
  double metrics_hold_s_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace strain
