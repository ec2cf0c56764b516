// Everything a soak keeps while it runs, bounded: per resource a floor/peak series, per watcher
// its gaps and restarts, and the run's latency and error-rate drift. Judged at the end.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/results/run_result.hpp"
#include "engine/soak/drift_series.hpp"
#include "engine/soak/floor_series.hpp"
#include "engine/soak/soak_options.hpp"
#include "engine/watch/watcher.hpp"

namespace strain::soak {

// Who a series belongs to, as the sampler saw it.
struct WatcherInfo {
  std::string component;  // "api", "pid 1234", "strain"
  std::string source;     // "pid", "process", "cgroup", "metrics", "path", "self"
};

// Receives samples on the sampler's thread and intervals on the session's thread (each side's
// state is its own; the sampler's behind a mutex, so the session may ask for a report so far).
// Memory is fixed by the number of watchers and resources (at most kMaxSeries), whatever the run's
// length.
class SoakRecorder {
 public:
  static constexpr std::size_t kMaxSeries = 256;   // resources over all watchers
  static constexpr std::size_t kMaxEvents = 1000;  // gaps and restarts kept (each)

  SoakRecorder(std::vector<WatcherInfo> watchers, SoakOptions options);

  // Sampler thread. `t_s`: seconds since the load started (negative: before it, ignored).
  void on_sample(double t_s, std::size_t watcher, const watch::Sample& sample);
  // Sampler thread: the limits a watcher knows now (memory.max, RLIMIT_NOFILE, ...).
  void on_limits(std::size_t watcher, const std::vector<watch::Limit>& limits);
  // Sampler thread: one more round asked of every watcher; CPU the sampler has used so far.
  void on_round(double sampler_cpu_s);
  // Session thread: one closed interval of the load (draining intervals are not judged).
  void on_interval(double start_s, double length_s, const RequestMetrics& total, bool draining);
  // The same from an interval's figures alone (a rebuild keeps no histograms in memory).
  void on_interval_figures(double start_s, double length_s, std::uint64_t attempts,
                           std::uint64_t failed, std::optional<double> p99_ms, bool draining);

  // After the run: verdicts (when options.judged), gaps, restarts and compact timelines.
  // `planned_s`: the planned load duration (for the default warm-up).
  SoakReport report(double planned_s) const;

  const SoakOptions& options() const noexcept { return options_; }

 private:
  struct Series {
    std::size_t watcher = 0;
    std::string resource;
    std::string unit;
    watch::Kind kind = watch::Kind::gauge;
    FloorSeries values;  // gauges: the value; counters: the rate per second
    // Descriptors ("fds") less the connections strain held open at the same round: a rise of
    // the raw floor that this one does not show is strain's connection pool growing.
    std::optional<FloorSeries> net_of_connections;
    std::optional<double> last_value;  // counters: the previous reading
    double last_t_s = 0;               // … and its time
  };
  struct WatcherState {
    WatcherInfo info;
    std::uint32_t segment = 0;         // bumped by a restart or the end of a gap
    std::optional<SoakGap> open_gap;   // a gap still going on
    std::vector<watch::Limit> limits;  // latest known
    // Its resources' series: a few each, found by a scan that allocates nothing per sample.
    std::vector<std::pair<std::string, std::size_t>> series;
  };

  Series* series_for(std::size_t watcher, const watch::Reading& r);
  void close_gap(WatcherState& w, double t_s);
  SoakVerdict judge_series(const Series& s, double warmup_s) const;
  SoakVerdict judge_drift(const DriftSeries& d, const std::string& resource,
                          const std::string& unit, double warmup_s) const;

  SoakOptions options_;
  // Guards the sampler's side (watchers_ .. last_sample_s_) against a report while sampling.
  mutable std::mutex sampler_mutex_;
  std::vector<WatcherState> watchers_;
  std::vector<std::unique_ptr<Series>> series_;
  std::vector<SoakGap> gaps_;
  std::uint64_t gaps_left_out_ = 0;
  std::vector<SoakRestart> restarts_;
  std::uint64_t rounds_ = 0;
  std::optional<double> connections_;  // strain's open connections, as last sampled
  double sampler_cpu_s_ = 0;
  double last_sample_s_ = 0;
  // Session thread only.
  DriftSeries latency_p99_;
  DriftSeries error_rate_;
  double last_interval_end_s_ = 0;
};

}  // namespace strain::soak
