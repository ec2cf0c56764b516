// What a soak judged: per-resource verdicts, gaps, restarts and compact timelines. Plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strain {

// Where a rising series is headed: the limit it reaches, and when.
struct SoakProjection {
  double limit = 0;          // in the series' unit
  std::string limit_source;  // "memory.max", "RLIMIT_NOFILE", "--limit"
  double hours = 0;          // from the end of the run until the fitted line reaches the limit
};

// The judgement of one series of one component.
struct SoakVerdict {
  std::string component;      // "api", "pid 1234", "strain"; "run" for latency/error drift
  std::string resource;       // "rss", "fds", "memory.current", "disk_bytes", "latency_p99"
  std::string source;         // "pid", "process", "cgroup", "metrics", "path", "self", "run"
  std::string verdict;        // "leak", "growth", "degrading", "stable" or "inconclusive"
  double slope_per_hour = 0;  // Theil–Sen slope, in `unit` per hour
  std::string unit;           // "bytes", "count", "seconds", "ms" or "fraction"
  double ci_low = 0;          // 95% confidence interval of the slope, per hour
  double ci_high = 0;         // (same)
  double p_value = 1;         // Mann–Kendall two-sided p of the fitted points
  std::uint64_t samples = 0;  // raw samples taken, warm-up included
  std::uint64_t points = 0;   // fitted points (window floors or medians) after the warm-up
  double level = 0;           // the warm-up's floor (or median): what the slope is judged against
  std::optional<SoakProjection> projection;  // a rising series with a known limit
  std::optional<double> budget_per_hour;     // --max-growth for this resource, if any
  bool budget_broken = false;                // a significant rise past the budget
  bool fails_run = false;  // exits 3: a leak on a target's memory or fds, or a broken budget
  std::string reason;      // one line: why this verdict
};

// A stretch with no readings from one watcher.
struct SoakGap {
  std::string component;      // the watcher's component
  double from_s = 0;          // first sample without readings, seconds since the load started
  double to_s = 0;            // first sample with readings again (or the last sample taken)
  std::uint64_t samples = 0;  // samples missed
  std::string reason;         // the first failure's reason: "pid 1234 exited", "scrape timed out"
};

// A watched process replaced by a new one (--watch-process).
struct SoakRestart {
  std::string component;  // the watcher's component
  double t_s = 0;         // when the new process was first read
  std::int64_t pid = 0;   // the new process
};

// One resource's timeline, reduced for charts: per bucket, the floor and the peak.
struct SoakSeries {
  std::string component;    // as in SoakVerdict
  std::string resource;     // as in SoakVerdict; counters are charted as "<name>_per_s"
  std::string unit;         // of min and max
  double bucket_s = 0;      // width of each bucket, seconds
  std::vector<double> t_s;  // bucket times (of the floor), seconds since the load started
  std::vector<double> min;  // floor per bucket
  std::vector<double> max;  // peak per bucket
};

// Where the durable timeline went (appended every interval; see engine/soak/timeline_files).
struct SoakFiles {
  std::string intervals;  // one JSON line per interval
  std::string hlog;       // interval histograms, HdrHistogram log format
  std::string samples;    // t_s,component,resource,value[,gap reason]
};

// The soak part of a result: present when watchers ran.
struct SoakReport {
  bool judged = false;              // verdicts were asked for (strain soak, or --max-growth on run)
  double sample_every_s = 1;        // sampling period
  double warmup_s = 0;              // samples before this are not fitted
  std::uint64_t sample_rounds = 0;  // times every watcher was asked
  double sampler_cpu_s = 0;         // CPU the sampler thread used in all
  std::vector<SoakVerdict> verdicts;  // one per judged gauge and drift series
  std::vector<SoakGap> gaps;          // at most 1000, in time order
  std::uint64_t gaps_left_out = 0;    // gaps past that bound
  std::vector<SoakRestart> restarts;  // at most 1000
  std::vector<SoakSeries> series;     // every resource's compact timeline
  SoakFiles files;                    // empty names when no --out was given

  // A verdict that exits 3 (see SoakVerdict::fails_run).
  bool failed() const {
    for (const SoakVerdict& v : verdicts)
      if (v.fails_run) return true;
    return false;
  }
};

}  // namespace strain
