// What a stress search found: the steps, the breaking point, what broke and how. Plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strain {

// One resource of one watched component over a step's judged window.
struct StressResource {
  std::string component;  // "api", "pid 1234", "strain"
  std::string resource;   // "cpu", "rss", "fds", "threads", "memory.current", "read_bytes", …
  double value = 0;       // cpu: cores in use; counters: per second; gauges: the level at the end
  std::string unit;       // "cores", "bytes", "count", "bytes/s"
  std::optional<double> limit;        // what it cannot pass: cores it may use, memory.max, …
  std::string limit_source;           // "cpus", "memory.max", "RLIMIT_NOFILE", "--limit"
  std::optional<double> utilisation;  // value / limit, when a limit is known
  // When the reading was taken (seconds from the load's start): the watcher's latest at the
  // step's end, up to a sampling period old; a step cut short ends earlier than its window.
  std::optional<double> read_at_s;
};

struct StressStep {
  std::uint32_t index = 0;
  double start_s = 0;       // from the load's start
  double offered_rps = 0;   // the rate asked for (--vus-search: none, 0)
  std::uint32_t vus = 0;    // --vus-search: the VUs asked for (a rate search: 0)
  double achieved_rps = 0;  // responses per second over the judged window (any status)
  double ok_rps = 0;        // successful responses per second over the window
  double p50_ms = 0;        // over the window
  double p99_ms = 0;
  double error_rate = 0;         // failed / attempts over the window
  double concurrency = 0;        // Little's law: achieved_rps x mean response time
  double steady_after_s = 0;     // into the step when its window began
  double judged_s = 0;           // the window's length
  bool steady = false;           // steady state was seen (not only the warm-up cap)
  bool bisecting = false;        // a bisection step
  bool ok = false;               // held the SLO and the throughput
  bool generator_bound = false;  // strain could not offer the rate on time
  bool ended_by_governor = false;
  std::string broke;  // the first thing that broke, when !ok
  std::vector<std::pair<std::string, std::uint64_t>> errors;  // by kind or status, over the window
  std::vector<StressResource> resources;                      // watched components, over the window
};

// The first signal that broke, at the first step that broke.
struct StressFailure {
  std::string signal;  // "latency{p99}", "errors{rate}", "throughput"
  double value = 0;    // observed, in the threshold's unit
  double limit = 0;    // the SLO's limit (throughput: 97% of offered)
  std::uint32_t step = 0;
  std::string detail;  // one line: "p99 340 ms > 100 ms at 800/s"; errors by status/kind
};

struct StressSaturation {
  std::string component;
  std::string resource;
  double utilisation = 0;  // value / limit at the breaking step
  double value = 0;
  double limit = 0;
  std::string unit;
};

struct StressUsl {
  double sigma = 0;
  double kappa = 0;
  double lambda = 0;
  double r2 = 0;
  std::optional<double> peak_concurrency;
  double peak_rps = 0;
};

struct StressHeadroom {
  double expected_peak_rps = 0;                    // a rate search's --expected-peak (else 0)
  std::optional<std::uint32_t> expected_peak_vus;  // --vus-search's, in VUs
  double share_of_sustainable = 0;                 // expected / max sustainable (1.2: 20% over)
  bool exceeds = false;                            // the expected peak is above what was sustained
};

struct StressReport {
  std::string slo;                            // as given: "p99<250ms,errors<1%"
  std::string end;                            // precise, max_rate, max_time, generator_bound,
                                              // below_start, interrupted
  bool vus_search = false;                    // --vus-search: steps are VUs, not rates
  std::optional<double> max_sustainable_rps;  // the highest step that held (--vus-search: its
                                              // achieved throughput)
  std::optional<double> first_bad_rps;        // the lowest step that broke (rate search)
  std::optional<std::uint32_t> max_sustainable_vus;  // --vus-search: the most VUs that held
  std::optional<std::uint32_t> first_bad_vus;        // … and the fewest that broke
  std::optional<double> precision;                   // (bad - good) / good
  std::optional<double> knee_rps;                    // where latency turns upward
  std::optional<StressFailure> first_failure;
  std::optional<StressSaturation> saturated;
  std::string failure_mode;  // "sheds", "queues", "collapses" or "" when nothing broke
  std::string failure_mode_reason;
  std::optional<StressUsl> usl;
  std::string usl_note;  // why no fit, when none
  std::optional<StressHeadroom> headroom;
  std::vector<StressStep> steps;
  std::string verdict;  // the paragraph a manager reads

  // Exit 3: the expected peak is above the sustainable rate.
  bool failed() const noexcept { return headroom && headroom->exceeds; }
  // Exit 4: strain could not offer the load that would have decided.
  bool generator_limited() const noexcept { return end == "generator_bound"; }
};

}  // namespace strain
