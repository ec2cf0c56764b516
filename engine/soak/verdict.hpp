// The soak verdict on one series: is a resource leaking (or data on disk growing), is a metric
// drifting, or is it stable, or can the data not say. A pure judgement on plain data.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/soak/drift_series.hpp"
#include "engine/soak/floor_series.hpp"
#include "engine/soak/trend.hpp"

namespace strain::soak {

enum class Verdict { stable, leak, growth, degrading, inconclusive };

// "stable", "leak", "growth", "degrading", "inconclusive".
std::string_view verdict_name(Verdict v);

// What a series measures decides how it is reduced and what a relevant rise is called.
enum class SeriesKind {
  resource,    // memory, fds, threads: fitted on the floor; a relevant rise is a `leak`
  disk,        // bytes on disk: fitted on the floor; a relevant rise is `growth`
  latency,     // a per-interval percentile: fitted on medians; a rise is `degrading`
  error_rate,  // a per-interval fraction (0..1) failed: medians; the level may be 0
};

// How to judge. Times are seconds since the run started; rates are per hour. The defaults are
// the rules explained in verdict.cpp; each is a knob here so a team can be stricter.
struct TrendOptions {
  SeriesKind kind = SeriesKind::resource;  // see SeriesKind
  double warmup_end_s = 0;      // points before are not fitted; their floor/median is the level
  std::optional<double> limit;  // a value the series cannot pass: projected to
  std::optional<double> budget_per_hour;  // a rise past this breaks the budget (and matters)
  // The share of the level a rise must reach per hour to matter: default 0.01 for floors
  // (resource, disk), 0.10 for drift (latency, error_rate).
  std::optional<double> relevant_fraction_per_hour;
  // The same as an absolute rise per hour (the larger of the two counts): default 0, and
  // 0.01 (one percentage point) for error_rate, whose level may be 0.
  std::optional<double> relevant_absolute_per_hour;
  double alpha = 0.01;                 // Mann–Kendall significance level for a rise
  double confidence = 0.95;            // of the reported slope interval
  double window_s = 0;                 // reduction window; 0 chooses auto_window_s()
  std::size_t min_points = 10;         // fewer fitted points than this: inconclusive
  std::size_t stable_min_points = 20;  // a non-significant fit on this many points is stable
  double min_half_ratio = 0.5;         // each half's slope must reach this share of the whole's
  double min_later_ratio = 0.5;        // the later half's slope, this share of the earlier's
  double min_rise_to_scatter = 3;      // the rise over the judged span, in robust standard
                                       // deviations of the points about the line
  double min_rise_to_wander = 8;       // the same when successive residuals are correlated
  // Two lines split at a change point must leave at most this share of one line's squared
  // residuals for the later part alone to be judged.
  double change_point_rss_ratio = 0.25;
  // The fitted rise over the judged span must reach this too (0: no such floor). strain's own
  // memory uses 1 MiB: its start-up growth (pages its allocator and bounded stores take as they
  // fill) is a few pages a minute, steady enough in a one-minute run to pass every other rule.
  double min_rise = 0;
  std::size_t max_points = 512;  // most fitted points (the window widens past it)
  std::string unit;              // "bytes" prints sizes in `reason`; else appended to figures
};

// The judgement of one series, ready for a run's result.
struct TrendVerdict {
  Verdict verdict = Verdict::inconclusive;  // the judgement
  double slope_per_hour = 0;        // Theil–Sen slope of the judged points (0 when too few)
  double ci_low_per_hour = 0;       // lower bound of its `confidence` interval
  double ci_high_per_hour = 0;      // upper bound of the same
  double first_half_per_hour = 0;   // Theil–Sen slope of the earlier half of the judged points
  double second_half_per_hour = 0;  // … and of the later half
  double rise_to_scatter = 0;       // fitted rise over the judged span / robust scatter about it
  double residual_lag1 = 0;         // lag-1 rank autocorrelation of the points about the line
  double p_value = 1;               // Mann–Kendall two-sided p of the judged points
  std::size_t samples = 0;          // raw samples given, warm-up included
  std::size_t points = 0;           // fitted points the slope was judged on
  double window_s = 0;              // width of the reduction windows
  double level = 0;                 // reference: warm-up floor (median of drift), else fitted start
  double relevant_per_hour = 0;     // the rise that matters, from level, thresholds and budget
  std::optional<double> change_point_s;  // the judged part starts here (a change was found)
  std::optional<double> hours_to_limit;  // a rising verdict's projection to options.limit
  bool budget_broken = false;            // a significant rise past options.budget_per_hour
  std::string reason;                    // one line: why
};

// Judges raw samples (any order; one per second or so, a few thousand at most). Reduces them
// to per-window floors (resource, disk) or medians (latency, error_rate) first.
TrendVerdict judge_trend(std::span<const TrendPoint> samples, const TrendOptions& options);

// Judges a long run's bounded series; the same reduction runs over its buckets. A FloorSeries
// is for the floor kinds (resource, disk), a DriftSeries for latency and error_rate.
TrendVerdict judge_trend(const FloorSeries& series, const TrendOptions& options);
TrendVerdict judge_trend(const DriftSeries& series, const TrendOptions& options);

}  // namespace strain::soak
