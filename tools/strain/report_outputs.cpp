#include "tools/strain/report_outputs.hpp"

#include <chrono>
#include <thread>

#include "engine/core/error.hpp"
#include "engine/core/read_file.hpp"
#include "engine/core/units.hpp"
#include "engine/results/json.hpp"
#include "reporters/csv_timeline.hpp"
#include "reporters/html/html_report.hpp"
#include "reporters/junit.hpp"
#include "reporters/report_files.hpp"

namespace strain {
namespace {

constexpr std::uint64_t kMaxResultFileBytes = std::uint64_t{1} << 30;  // 1 GiB

void check(const std::string& path, const char* flag) {
  if (path.empty()) return;
  const std::string why = check_writable(path);
  if (!why.empty()) throw UsageError(std::string(flag) + ": " + why);
}

}  // namespace

RunResult read_result_file(const std::string& path) {
  // A result is a few MiB (its timeline is bounded, its histograms compressed); anything near the
  // limit is not one, and a FIFO or a device is refused before it is read.
  const std::string text = read_regular_file(path, kMaxResultFileBytes);
  try {
    return run_result_from_json(text);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError("'" + path + "' is not a strain result: " + e.what());
  }
}

void check_report_files(const OutputFlags& output) {
  check(output.out, "--out");
  check(output.html, "--html");
  check(output.junit, "--junit");
  check(output.csv, "--csv");
  check(output.hlog, "--hlog");
}

std::vector<std::string> write_report_files(const RunResult& result, const OutputFlags& output) {
  std::vector<std::string> errors;
  const auto write = [&errors](const std::string& path, const char* flag, auto render) {
    if (path.empty()) return;
    const std::string why = write_file_atomically(path, render());
    if (!why.empty()) errors.push_back(std::string(flag) + ": " + why);
  };
  write(output.html, "--html", [&] { return render_html_report(result); });
  write(output.junit, "--junit", [&] { return render_junit(result); });
  write(output.csv, "--csv", [&] { return render_csv_timeline(result); });
  return errors;
}

LiveOutputs::LiveOutputs(const OutputFlags& output) : hlog_path_(output.hlog) {
  if (!output.metrics_hold.empty()) {
    metrics_hold_s_ =
        std::chrono::duration<double>(parse_duration(output.metrics_hold, "--metrics-hold"))
            .count();
  }
  if (!output.metrics_listen.empty()) metrics_ = MetricsExporter::start(output.metrics_listen);
  if (!hlog_path_.empty()) {
    // Streamed, each line flushed: a killed run leaves a log of every interval so far.
    hlog_file_ = std::fopen(hlog_path_.c_str(), "wb");
    if (hlog_file_ == nullptr) throw UsageError("--hlog: cannot write '" + hlog_path_ + "'");
  }
}

LiveOutputs::~LiveOutputs() {
  if (hlog_file_ != nullptr) std::fclose(hlog_file_);
}

void LiveOutputs::on_interval(const IntervalSnapshot& snap, const RunResult& so_far,
                              const std::string& stress_state,
                              const std::vector<SoakVerdict>& soak_so_far) {
  if (hlog_file_ != nullptr) {
    if (!hlog_) hlog_.emplace(hlog_file_, so_far.started_at_unix_ms / 1000.0);
    if (!hlog_->write_interval(snap.total.response_time_us, snap.start_s, snap.length_s) &&
        errors_.empty())
      errors_.push_back("--hlog: cannot write '" + hlog_path_ + "' (disk full?)");
  }
  if (metrics_) {
    if (!soak_so_far.empty()) metrics_->on_soak_verdicts(soak_so_far);
    metrics_->on_interval(snap, so_far, stress_state);
  }
}

void LiveOutputs::on_result(const RunResult& result) {
  if (hlog_file_ != nullptr) {
    if (!hlog_) hlog_.emplace(hlog_file_, result.started_at_unix_ms / 1000.0);
    std::fclose(hlog_file_);
    hlog_file_ = nullptr;
  }
  if (metrics_) {
    metrics_->on_result(result);
    if (metrics_hold_s_ > 0)
      std::this_thread::sleep_for(std::chrono::duration<double>(metrics_hold_s_));
  }
}

void LiveOutputs::discard() {
  if (hlog_file_ != nullptr) {
    std::fclose(hlog_file_);
    hlog_file_ = nullptr;
    std::remove(hlog_path_.c_str());
  }
}

}  // namespace strain
