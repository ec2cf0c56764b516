// Comparing two saved results: per series and figure, base against new, with a verdict that
// tells a regression beyond a limit from a difference the runs' own noise explains.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/results/run_result.hpp"

namespace strain {

// The figures compared for every series.
enum class Figure : std::uint8_t { p50, p90, p95, p99, p999, max, mean, throughput, errors };
inline constexpr std::size_t figure_count = 9;
// "p50", "p90", "p95", "p99", "p99.9", "max", "mean", "throughput", "errors".
const char* to_string(Figure figure) noexcept;

// How far each figure may worsen before it is a regression; a figure without a limit is
// reported but never fails. Latencies: % rise over base; throughput: % drop below base;
// errors: rise of the error rate in percentage points.
struct RegressionLimits {
  std::array<std::optional<double>, figure_count> allowed{};  // by Figure; none = not judged

  std::optional<double> of(Figure figure) const {
    return allowed[static_cast<std::size_t>(figure)];
  }
};

inline constexpr const char* default_regression_limits = "p99=10%,throughput=5%,errors=0.1%";

// Parses "p99=10%,throughput=5%,errors=0.1%": the figures listed are exactly those judged.
// Keys: p50 p90 p95 p99 p999 (or p99.9) max mean throughput errors; values: a non-negative
// number with '%'. Throws UsageError naming `what` and the bad part.
RegressionLimits parse_regression_limits(std::string_view spec,
                                         std::string_view what = "--max-regression");

enum class FigureVerdict : std::uint8_t {
  same,          // no difference beyond the noise and the limit (unjudged: under 0.5%)
  better,        // better, beyond the noise
  within_noise,  // a difference beyond the limit (unjudged: over 0.5%) the noise explains
  worse,         // worse beyond the noise, but within the limit or on a figure without one
  regression,    // worse beyond the noise and beyond the limit: the comparison fails
};
// "same", "better", "within noise", "worse", "regression".
const char* to_string(FigureVerdict verdict) noexcept;

// One figure of one series in both runs. Values: ms for latencies, responses/s for throughput,
// % of attempts for errors. Each run's interval is where the figure lies with ~99% confidence.
struct ComparedFigure {
  Figure figure = Figure::p99;  // which figure
  double base = 0;              // the base run's value
  double next = 0;              // the new run's value
  double base_low = 0;          // base's interval, low end (same unit)
  double base_high = 0;         // base's interval, high end
  double next_low = 0;          // new's interval, low end
  double next_high = 0;         // new's interval, high end
  double change = 0;            // new − base: % of base; percentage points for errors
  std::optional<double> limit;  // allowed worsening, in change's unit; none = not judged
  FigureVerdict verdict = FigureVerdict::same;  // see FigureVerdict
};

// How a series appears in the two runs.
enum class SeriesPresence : std::uint8_t { both, only_base, only_new };

// One series (the whole run, or one request name with its tags) in both runs.
struct SeriesComparison {
  std::string name;                                // "total" or the request name
  std::map<std::string, std::string> tags;         // the series' tags (empty for total)
  SeriesPresence presence = SeriesPresence::both;  // only_* series carry no figures
  std::uint64_t base_responses = 0;                // responses in the base run's series
  std::uint64_t next_responses = 0;                // responses in the new run's series
  std::vector<ComparedFigure> figures;             // in Figure order; latencies absent without data
};

// The whole comparison: plain data every renderer formats.
struct RunComparison {
  std::vector<SeriesComparison> series;  // total first, then by_name in base's order, added last
  std::vector<std::string> notes;        // partial runs, differing set-ups: worth a look
  bool regressed = false;                // some figure's verdict is `regression`
};

// Compares `next` with `base`. Pure; both are assumed to be of the same kind (config.command).
// Noise: order-statistic intervals from each histogram (precision included), widened by the
// spread of the timeline's seconds; per-second rates for throughput; a z-test for errors.
RunComparison compare_results(const RunResult& base, const RunResult& next,
                              const RegressionLimits& limits);

// The comparison as JSON (schema "strain.comparison/1"), for a nightly job's records.
std::string to_json(const RunComparison& comparison, int indent = 2);

}  // namespace strain
