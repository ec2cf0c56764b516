// The sampler thread: asks every watcher once a period, hands the samples to the recorder and
// the sample log. Never stops the load: a failing watcher is a gap.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/soak/soak_recorder.hpp"
#include "engine/soak/timeline_files.hpp"
#include "engine/watch/watcher.hpp"

namespace strain::soak {

// Another reader of every sample (the stress session's per-step resources), on the sampler's
// thread: it must be quick and guard its own state. `limits` is non-null on the rounds that
// read them (the first, then every minute or so).
using SampleTap =
    std::function<void(double t_s, std::size_t watcher, const watch::Watcher& w,
                       const watch::Sample& sample, const std::vector<watch::Limit>* limits)>;

// Lifecycle: construct, start(origin) when the load starts, stop() (also the destructor).
class Sampler {
 public:
  // `recorder` and `log` (may be null) must outlive the sampler; the watchers are its own.
  Sampler(std::vector<std::unique_ptr<watch::Watcher>> watchers, std::chrono::nanoseconds every,
          SoakRecorder& recorder, SampleLog* log);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Starts the thread; sample times count from `origin_ns` (now_ns() clock). The first round
  // is taken at once, so a run has its starting level.
  void start(std::int64_t origin_ns);
  // Before start(): every sample also goes to `tap`.
  void set_tap(SampleTap tap) { tap_ = std::move(tap); }
  // Stops the thread and joins it. No last round: the session stops the sampler after the
  // workers are gone, and a sample of strain then (its load freed) would bias its own floor down.
  void stop();

 private:
  void run();
  void round(std::int64_t now_ns);

  std::vector<std::unique_ptr<watch::Watcher>> watchers_;
  std::chrono::nanoseconds every_;
  SoakRecorder& recorder_;
  SampleLog* log_;
  SampleTap tap_;
  std::int64_t origin_ns_ = 0;
  std::uint64_t rounds_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace strain::soak
