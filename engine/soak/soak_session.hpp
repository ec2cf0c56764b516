// A run's watchers, sampler, durable timeline and judgement, wired to a command's session:
// built before any traffic (every --watch-* and file checked), started with the load, judged
// into the result before its exit code is decided.
#pragma once

#include <memory>
#include <string>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "engine/soak/sampler.hpp"
#include "engine/soak/soak_options.hpp"
#include "engine/soak/soak_recorder.hpp"
#include "engine/soak/timeline_files.hpp"
#include "engine/watch/watch_spec.hpp"

namespace strain::soak {

struct SoakSetup {
  watch::WatchSpecs watch;  // --watch-* flags (strain itself is always watched)
  SoakOptions options;      // sampling, warm-up, budgets, limits, judged or not
  std::string out_path;     // --out: sidecars go next to it; empty: no durable timeline
  double planned_s = 0;     // the planned load duration, for the default warm-up
};

// Calls come from the session's thread; the sampler has its own.
class SoakSession {
 public:
  // Builds the watchers and opens the sidecar files. Throws UsageError naming the flag and the
  // value (no such process, a metrics URL that cannot be scraped, a file that cannot be written).
  explicit SoakSession(SoakSetup setup);
  ~SoakSession();

  // Before on_load_start(): every sample also goes to `tap` (see SampleTap).
  void set_tap(SampleTap tap) { sampler_->set_tap(std::move(tap)); }
  // Sampling, warm-up, budgets and the known limits (--limit) this session was set up with.
  const SoakOptions& options() const noexcept { return setup_.options; }
  void on_load_start();  // the sampler starts: sample times count from now
  void on_interval(const IntervalSnapshot& snap, const RunResult& so_far);
  // Stops the sampler and puts the soak's report into `result`.
  void on_result(RunResult& result);
  // The verdicts so far, judged every 10 s of the load (empty before the first): for the live
  // console and --metrics-listen. A judgement mid-run, not the report's.
  const std::vector<SoakVerdict>& verdicts_so_far() const noexcept { return so_far_; }

 private:
  SoakSetup setup_;
  SoakFiles files_;
  std::unique_ptr<SoakRecorder> recorder_;
  std::unique_ptr<SampleLog> sample_log_;
  std::unique_ptr<IntervalLog> interval_log_;
  std::unique_ptr<Sampler> sampler_;
  std::vector<SoakVerdict> so_far_;
  double next_judged_s_ = 10;  // load time of the next judgement so far
};

}  // namespace strain::soak
