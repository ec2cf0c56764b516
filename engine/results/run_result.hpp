// The results model: what a run measured, as plain data every reporter renders.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/outcome.hpp"
#include "engine/metrics/histogram.hpp"
#include "engine/results/soak_report.hpp"
#include "engine/results/stress_report.hpp"

namespace strain {

// Latency percentiles in milliseconds, derived from a histogram of microseconds.
struct LatencySummary {
  double min = 0;     // fastest, ms
  double mean = 0;    // arithmetic mean, ms
  double p50 = 0;     // median, ms
  double p90 = 0;     // 90th percentile, ms
  double p95 = 0;     // 95th percentile, ms
  double p99 = 0;     // 99th percentile, ms
  double p999 = 0;    // 99.9th percentile, ms
  double max = 0;     // slowest, ms
  double stddev = 0;  // standard deviation, ms
};

LatencySummary summarize_us(const Histogram& histogram_us);

// Everything measured for one request name (or for all of them together). Merges exactly.
struct RequestMetrics {
  std::string name{};                         // stats key; "total" for the whole run
  std::map<std::string, std::string> tags{};  // scenario, group and script tags of this series
  Histogram response_time_us;   // completion − intended start (coordinated-omission correct)
  Histogram service_time_us;    // completion − actual send
  std::uint64_t responses = 0;  // complete HTTP responses, any status
  std::array<std::uint64_t, 6> status_classes{};  // index 1..5 = 1xx..5xx; 0 = outside 100..599
  std::map<int, std::uint64_t> status_codes{};    // exact codes seen (bounded: 0..999)
  // Requests without a response, by kind: transport failures, arrivals dropped, requests
  // abandoned (see ErrorKind).
  std::array<std::uint64_t, error_kind_count> errors_by_kind{};
  std::uint64_t bytes_in = 0;   // response bytes read
  std::uint64_t bytes_out = 0;  // request bytes written

  // Requests that produced no response: every ErrorKind, dropped and abandoned included.
  std::uint64_t transport_errors() const;
  // Open-model arrivals that never started a request (ErrorKind::dropped).
  std::uint64_t dropped() const {
    return errors_by_kind[static_cast<std::size_t>(ErrorKind::dropped)];
  }
  // What errors{rate} divides by: responses plus requests without one.
  std::uint64_t attempts() const { return responses + transport_errors(); }
  // Responses with status 429: the target shed load on purpose. Their own class, not failures.
  std::uint64_t rate_limited() const;
  // Failed requests: those without a response, plus responses with status >= 400 (except 429)
  // or outside 100..599.
  std::uint64_t failed() const;
  // Latencies above the histograms' top (1 h), recorded at the top: a lower bound.
  std::uint64_t saturated() const;
  // Exact merge: counts add, histograms add bucket by bucket.
  void add(const RequestMetrics& other);
};

// One check's tally. Names carry their group path: "::checkout::status is 200".
struct CheckTally {
  std::string name;          // group path and check name
  std::uint64_t passes = 0;  // times the check held
  std::uint64_t fails = 0;   // times it did not (or raised an error)
};

enum class CustomMetricKind : std::uint8_t { counter, rate, trend };
const char* to_string(CustomMetricKind kind) noexcept;

// A metric a script declared (metrics.counter/rate/trend) and fed with add().
struct CustomMetric {
  std::string name;                                   // as declared
  CustomMetricKind kind = CustomMetricKind::counter;  // how it aggregates
  double sum = 0;                                     // sum of the values added
  std::uint64_t count = 0;                            // add() calls
  std::uint64_t nonzero = 0;                          // rate: adds with a true or non-zero value
  Histogram values_milli;                             // trend: value × 1000 (1 .. 3.6e9, 3 digits)

  // Exact merge of the same metric (same name and kind).
  void add(const CustomMetric& other);
};

// A script error, reported once however often it happened. Keyed by its message.
struct ScriptErrorTally {
  std::string message;      // "file:line: what", as Lua raised it
  std::string traceback;    // stack at the first occurrence
  std::uint64_t count = 0;  // iterations it ended
};

// What scripted runs measure beyond requests. Empty for single-URL runs.
struct ScriptStats {
  std::uint64_t iterations = 0;              // iterations that ran to their end
  std::uint64_t iterations_failed = 0;       // iterations ended by a script error
  std::uint64_t iterations_interrupted = 0;  // iterations cut short when their scenario ended
  std::uint64_t untracked_names = 0;  // requests recorded under "(other)": the name cap was reached
  std::vector<CheckTally> checks;     // by name, in first-seen order
  std::vector<CustomMetric> metrics;  // by name, in first-seen order
  std::vector<ScriptErrorTally> errors;  // by message, at most max_distinct_errors
  static constexpr std::size_t max_distinct_errors = 100;  // later distinct ones count as "(more)"

  bool empty() const noexcept;
  // Exact merge: tallies and metrics with the same name add up; new names are appended.
  void add(const ScriptStats& other);
};

// One second (or one interval) of the run, for the timeline.
struct IntervalPoint {
  double start_s = 0;           // seconds since the run started
  double length_s = 0;          // interval length, seconds
  std::uint64_t responses = 0;  // responses completed in the interval
  std::uint64_t errors = 0;     // failed requests in the interval
  double p50_ms = 0;            // median response time in the interval
  double p99_ms = 0;            // p99 response time in the interval
  double max_ms = 0;            // slowest response in the interval
  // Open model: arrivals that began an iteration in the interval, and their schedule lag p99.
  std::uint64_t started = 0;
  double schedule_lag_p99_ms = 0;
  // For charts (absent in files written before them: read as 0).
  double p90_ms = 0;                // p90 response time in the interval
  double service_p50_ms = 0;        // median service time (completion − actual send)
  double service_p99_ms = 0;        // p99 service time
  std::uint32_t active_vus = 0;     // VUs in an iteration when the interval ended
  std::uint64_t failed_status = 0;  // responses that failed by status (>= 400 but 429)
  std::array<std::uint64_t, error_kind_count> errors_by_kind{};  // requests without a response
};

// A run's timeline stays at most this long in memory (and in the result file): past it, pairs
// of neighbours merge, so a 12-hour soak keeps a whole-run timeline at coarser steps. Every
// interval at full resolution goes to the soak's interval log instead.
inline constexpr std::size_t kMaxTimelinePoints = 4096;
// Appends `point`, merging neighbours pairwise first when the timeline is full. A merged
// point's counts add; its p50 is the response-weighted mean, its p99, max and lag the larger
// (a peak is never hidden by merging).
void append_point(std::vector<IntervalPoint>& timeline, const IntervalPoint& point,
                  std::size_t max_points = kMaxTimelinePoints);

// The verdict on one threshold (see thresholds.hpp).
struct ThresholdVerdict {
  std::string expression;          // the key as written, e.g. "latency{p99}"
  std::string condition;           // the condition as written, e.g. "< 250ms"
  std::optional<double> observed;  // the metric's value in the limit's unit; none if absent
  bool passed = false;             // observed satisfies the condition
  std::string note;                // why it could not be judged, when observed is empty
};

// Open-model runs: how well strain kept its arrival schedule, for an interval or a whole run.
// Every arrival due in the load phase is started, overflowed, or waiting at stop:
// due = started + overflow + unstarted_at_stop. The overflowed and unstarted ones are also
// failed requests of kind `dropped`.
struct ScheduleStats {
  std::uint64_t due = 0;                // arrivals whose intended start fell in the load phase
  std::uint64_t started = 0;            // arrivals that began an iteration
  std::uint64_t waited = 0;             // of those, how many waited in the backlog for a VU
  std::uint64_t overflow = 0;           // dropped: the backlog was full
  std::uint64_t unstarted_at_stop = 0;  // still waiting for a VU when the load phase ended
  std::uint64_t peak_backlog = 0;       // most arrivals waiting at once (workers' peaks, summed)
  std::uint64_t peak_vus = 0;           // most VUs busy at once (workers' peaks, summed)
  Histogram schedule_lag_us;            // actual start − intended start, µs, every start
  Histogram dispatch_lag_us;            // strain's own lateness: seen due − intended, µs

  bool empty() const noexcept { return due == 0 && started == 0; }
  // The same interval on another worker: counters, peaks and histograms add.
  void add(const ScheduleStats& other);
  // A later interval: counters and histograms add, peaks keep the larger.
  void accumulate(const ScheduleStats& later);
};

// What strain itself spent, and whether it could keep up.
struct GeneratorStats {
  double cpu_user_s = 0;               // strain's user CPU time over the run
  double cpu_system_s = 0;             // strain's system CPU time over the run
  std::uint64_t peak_rss_bytes = 0;    // strain's peak resident set size
  std::uint64_t connects = 0;          // TCP connections opened (first connects + reconnects)
  std::uint64_t stale_retries = 0;     // idle keep-alives found closed by the server and replaced
  std::uint64_t connect_backoffs = 0;  // connects that first waited out a back-off after a failure
  // Requests started; always = responses + transport errors − dropped arrivals (which never
  // started one). Abandoned requests are among the transport errors.
  std::uint64_t started = 0;
  std::uint64_t in_flight_at_stop = 0;  // requests abandoned when the drain gave up on them
  bool generator_bound = false;         // strain, not the target, limited the run
  double busy_fraction = 0;             // workers' mean CPU busy fraction over the load phase
  Histogram loop_lag_us;                // event-loop lag: a 10 ms probe timer's lateness, µs
  std::vector<std::string> notes;       // human-readable warnings about the generator
};

// One scenario of a run: when it ran and, for an arrival-rate one, what it offered.
struct ScenarioResult {
  std::string name;                     // as declared ("default" for --url runs)
  std::string executor;                 // its load model, e.g. "constant-arrival-rate"
  double start_s = 0;                   // when it started, seconds from the run's start
  double active_s = 0;                  // how long it started iterations (to its end or the stop)
  std::optional<double> offered_rps;    // arrival-rate: arrivals due / active_s; closed: none
  std::uint64_t iterations = 0;         // iterations that ran to their end
  std::uint64_t iterations_failed = 0;  // ended by an error in the body (a script error)
  std::uint64_t iterations_interrupted = 0;  // cut short by the stop or the graceful stop
  ScheduleStats schedule;                    // arrival-rate: arrivals, backlog and lag
};

// How the run was configured, as far as a report needs to say.
struct RunConfig {
  std::string command = "run";            // run | stress | soak
  std::string executor = "constant-vus";  // load model
  std::string url;                        // target URL (single-URL runs)
  std::string script;                     // script path (scripted runs)
  std::vector<std::string> scenarios;     // scenario names (scripted runs)
  std::string method = "GET";             // HTTP method (single-URL runs)
  std::uint32_t vus = 0;                  // virtual users / connections
  std::uint32_t threads = 0;              // worker threads
  double planned_duration_s = 0;          // -d as given
  // Execution segments (--segment I/N): which parts of one whole load this result holds. A
  // single run holds {0} of 1; a merged result the segments merged, in order.
  std::uint32_t segment_count = 1;
  std::vector<std::uint32_t> segments{0};  // 0-based indices, ascending, no repeats
  // What makes results of one test mergeable: a hash of the script's text and of every option
  // that shapes the load (not --segment, --out or report paths). Empty in older files.
  std::string fingerprint;
  std::optional<double> start_at_unix_ms;  // --start-at: the instant the schedule counted from
};

inline constexpr const char* result_schema = "strain.result/1";

// The complete outcome of a run: rendered by reporters, saved with --out, merged by `strain merge`.
// Where the time of the answered requests went, in k6's phases (µs; see ExchangePhases in
// engine/transport/http_client.hpp). For the run as a whole only: five histograms per series
// would cost about a megabyte each.
struct PhaseMetrics {
  Histogram blocked_us;          // waiting for a connection or stream, name lookup included
  Histogram connecting_us;       // TCP connect; 0 on a reused connection
  Histogram tls_handshaking_us;  // TLS handshake; 0 when reused or plain
  Histogram waiting_us;          // request sent to first response byte
  Histogram receiving_us;        // first byte to last
  // Exact merge.
  void add(const PhaseMetrics& other);
};

struct RunResult {
  std::string schema = result_schema;   // format version of the saved file
  bool partial = false;                 // stopped early (interrupt, abort): figures cover what ran
  std::string started_at;               // wall-clock start, ISO 8601 UTC
  double started_at_unix_ms = 0;        // the same, ms since 1970: schedules count from it
  double duration_s = 0;                // measured load duration, seconds (excludes the drain)
  double drain_s = 0;                   // time spent waiting for in-flight requests at the end
  std::uint64_t drained_responses = 0;  // responses that completed during the drain
  std::string aborted_reason;   // why the run ended itself early (a worker failed); empty if not
  std::string threshold_abort;  // the abort_on_fail threshold that stopped the run; empty if none
  // Open model: arrivals due / the time arrival-rate scenarios were active; closed: none.
  std::optional<double> offered_rps;
  ScheduleStats schedule;                    // open model: every scenario's arrivals together
  std::vector<ScenarioResult> scenarios;     // each scenario, in the plan's order
  RunConfig config;                          // what was asked for
  RequestMetrics total;                      // all requests together
  std::vector<RequestMetrics> by_name;       // per request name and tags (scripted runs only)
  ScriptStats script;                        // checks, custom metrics, iterations, script errors
  std::vector<IntervalPoint> timeline;       // one point per reporting interval
  std::vector<ThresholdVerdict> thresholds;  // judged at the end; any failure exits 3
  GeneratorStats generator;                  // strain's own costs and health
  std::optional<SoakReport> soak;            // watchers' samples and verdicts, when any ran
  std::optional<StressReport> stress;        // strain stress: the search's steps and verdict
  std::optional<PhaseMetrics> phases;        // answered requests' phases (absent in old files)

  // Responses per second of the load phase; those that completed in the drain are left out.
  double throughput_rps() const {
    return duration_s > 0 ? static_cast<double>(total.responses - drained_responses) / duration_s
                          : 0.0;
  }
};

}  // namespace strain
