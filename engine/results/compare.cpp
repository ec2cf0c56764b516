#include "engine/results/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "engine/core/error.hpp"

namespace strain {
namespace {

// Two-sided 99%: the normal quantile used for every interval and test below, so a nightly job
// comparing a dozen figures sees a false alarm from sampling alone about once in a hundred runs
// (fewer for latencies, whose test asks the two intervals not to overlap at all).
constexpr double z99 = 2.576;
// Throughput differences are judged against this many combined standard errors (~99.7%).
constexpr double throughput_sigmas = 3.0;

constexpr std::array<const char*, figure_count> figure_names = {
    "p50", "p90", "p95", "p99", "p99.9", "max", "mean", "throughput", "errors"};

bool is_latency(Figure f) {
  return f != Figure::throughput && f != Figure::errors;
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::optional<Figure> figure_named(std::string_view key) {
  if (key == "p999") return Figure::p999;
  for (std::size_t i = 0; i < figure_count; ++i) {
    if (key == figure_names[i]) return static_cast<Figure>(i);
  }
  return std::nullopt;
}

// A figure's estimate and the interval it lies in with ~99% confidence, in the figure's unit.
struct Estimate {
  double value = 0;
  double low = 0;
  double high = 0;
};

// The bucket holding the `rank`-th smallest value (1-based), as [lowest, highest] equivalent:
// an interval read from a histogram can be no narrower than the buckets it ends in.
std::pair<std::int64_t, std::int64_t> bucket_at_rank(const Histogram& h, std::int64_t rank) {
  std::int64_t seen = 0;
  std::pair<std::int64_t, std::int64_t> found{h.max(), h.max()};
  bool done = false;
  h.for_each_recorded([&](std::int64_t value, std::int64_t count) {
    if (done) return;
    seen += count;
    if (seen >= rank) {
      found = {h.lowest_equivalent_value(value), h.highest_equivalent_value(value)};
      done = true;
    }
  });
  return found;
}

// A distribution-free interval for the q-quantile: the number of samples below the true
// quantile is Binomial(n, q), so the order statistics at ranks n·q ± z·sqrt(n·q·(1−q)) bracket
// it with ~99% confidence whatever the latency distribution's shape. Few samples give wide
// intervals by themselves, which is what makes "within noise" honest for short runs.
Estimate quantile_estimate(const Histogram& h, double q, std::int64_t point_us) {
  const double n = static_cast<double>(h.total_count());
  const double half = z99 * std::sqrt(n * q * (1.0 - q));
  const auto total = h.total_count();
  const auto low_rank =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(n * q - half)), 1, total);
  const auto high_rank =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(n * q + half)), 1, total);
  const double low = static_cast<double>(bucket_at_rank(h, low_rank).first);
  const double high = static_cast<double>(bucket_at_rank(h, high_rank).second);
  const double point = static_cast<double>(point_us);
  return {point / 1000.0, std::min(low, point) / 1000.0, std::max(high, point) / 1000.0};
}

Estimate latency_estimate(const Histogram& h, Figure f) {
  switch (f) {
    case Figure::p50:
      return quantile_estimate(h, 0.50, h.value_at_percentile(50.0));
    case Figure::p90:
      return quantile_estimate(h, 0.90, h.value_at_percentile(90.0));
    case Figure::p95:
      return quantile_estimate(h, 0.95, h.value_at_percentile(95.0));
    case Figure::p99:
      return quantile_estimate(h, 0.99, h.value_at_percentile(99.0));
    case Figure::p999:
      return quantile_estimate(h, 0.999, h.value_at_percentile(99.9));
    case Figure::max: {
      // The maximum has no interval of its own (rank n is a single sample); the top
      // 1 − 1/n quantile's interval spans the few largest samples, which is how noisy it is.
      const double n = static_cast<double>(h.total_count());
      return quantile_estimate(h, 1.0 - 1.0 / n, h.max());
    }
    case Figure::mean: {
      // Central limit: mean ± z·σ/√n, widened by the histogram's relative precision because
      // the mean is taken over bucket midpoints.
      const double n = static_cast<double>(h.total_count());
      const double half = z99 * h.stddev() / std::sqrt(n);
      const double precision = std::pow(10.0, -h.significant_digits());
      return {h.mean() / 1000.0, (h.mean() - half) * (1.0 - precision) / 1000.0,
              (h.mean() + half) * (1.0 + precision) / 1000.0};
    }
    case Figure::throughput:
    case Figure::errors:
      break;
  }
  return {};
}

// Throughput's standard error. Counting noise (√N responses) is the floor: a closed loop is
// more regular than Poisson, so it errs on the side of "within noise". The whole run also
// varies from second to second (a slow disk, a noisy neighbour), so where the timeline has at
// least two steady intervals (the first and last are ramp and drain, left out), the standard
// error of their mean rate is taken when larger.
double throughput_se(double responses, double duration_s, const std::vector<IntervalPoint>* line) {
  if (duration_s <= 0) return 0;
  double se = std::sqrt(responses) / duration_s;
  if (line == nullptr || line->size() < 4) return se;
  std::vector<double> rates;
  for (std::size_t i = 1; i + 1 < line->size(); ++i) {
    const IntervalPoint& p = (*line)[i];
    if (p.length_s > 0) rates.push_back(static_cast<double>(p.responses) / p.length_s);
  }
  if (rates.size() < 2) return se;
  double mean = 0;
  for (double r : rates)
    mean += r;
  mean /= static_cast<double>(rates.size());
  double ss = 0;
  for (double r : rates)
    ss += (r - mean) * (r - mean);
  const double k = static_cast<double>(rates.size());
  return std::max(se, std::sqrt(ss / (k - 1.0)) / std::sqrt(k));
}

// What one run contributes to a series' comparison.
struct SeriesSide {
  const RequestMetrics* metrics = nullptr;
  double throughput_rps = 0;
  double duration_s = 0;
  const std::vector<IntervalPoint>* timeline = nullptr;  // the total's only
};

double relative_change(double base, double next) {
  // A figure that was zero has no scale: any rise counts as doubling, enough to be judged.
  if (base <= 0) return next > 0 ? 100.0 : 0.0;
  return 100.0 * (next - base) / base;
}

// A figure without a limit still gets a word, but not for a change this small (in the change's
// unit): about the histograms' bucket width (0.1% each side) plus the table's rounding.
constexpr double unjudged_relative_pct = 0.5;
constexpr double unjudged_errors_pp = 0.01;

FigureVerdict judge(double worse_by, bool significant, std::optional<double> limit,
                    double unjudged_tolerance) {
  if (!limit && std::fabs(worse_by) <= unjudged_tolerance) return FigureVerdict::same;
  if (significant) {
    if (worse_by > 0)
      return limit && worse_by > *limit ? FigureVerdict::regression : FigureVerdict::worse;
    return worse_by < 0 ? FigureVerdict::better : FigureVerdict::same;
  }
  return std::fabs(worse_by) > limit.value_or(0.0) ? FigureVerdict::within_noise
                                                   : FigureVerdict::same;
}

// The order-statistic interval treats a run's requests as independent. They are not quite:
// a stall (a busy neighbour, a descheduled VM, a GC pause) slows every request in flight at
// once, so two runs of one set-up differ by more than independent samples would. Where the
// timeline has it (p50, p90 and p99 of the whole run), the seconds of the run say how much:
// batch means, the usual remedy for correlated output, widen the interval to the run's value
// ± z·sd/√k over the k intervals with enough responses to hold the percentile. z rather than
// Student's t: with the few seconds of a short run t would leave nothing judgeable; this is a
// guard against correlated stalls, not an exact interval.
void widen_by_timeline(Estimate& e, Figure f, const std::vector<IntervalPoint>* line) {
  if (line == nullptr) return;
  constexpr std::uint64_t min_responses = 100;  // p99 of fewer is the interval's maximum
  std::vector<double> values;
  for (const IntervalPoint& p : *line) {
    if (p.responses < min_responses) continue;
    values.push_back(f == Figure::p50 ? p.p50_ms : f == Figure::p90 ? p.p90_ms : p.p99_ms);
  }
  if (values.size() < 3) return;
  const double k = static_cast<double>(values.size());
  double mean = 0;
  for (double v : values)
    mean += v / k;
  double ss = 0;
  for (double v : values)
    ss += (v - mean) * (v - mean);
  const double half = z99 * std::sqrt(ss / (k - 1.0)) / std::sqrt(k);
  e.low = std::min(e.low, std::max(0.0, e.value - half));
  e.high = std::max(e.high, e.value + half);
}

ComparedFigure compare_latency(Figure f, const SeriesSide& base_side, const SeriesSide& next_side,
                               std::optional<double> limit) {
  const Histogram& base = base_side.metrics->response_time_us;
  const Histogram& next = next_side.metrics->response_time_us;
  Estimate b = latency_estimate(base, f);
  Estimate n = latency_estimate(next, f);
  if (f == Figure::p50 || f == Figure::p90 || f == Figure::p99) {
    widen_by_timeline(b, f, base_side.timeline);
    widen_by_timeline(n, f, next_side.timeline);
  }
  ComparedFigure c{.figure = f,
                   .base = b.value,
                   .next = n.value,
                   .base_low = b.low,
                   .base_high = b.high,
                   .next_low = n.low,
                   .next_high = n.high,
                   .change = relative_change(b.value, n.value),
                   .limit = limit};
  // Overlapping intervals mean a value both runs could share: no evidence of a change.
  const bool significant = n.low > b.high || n.high < b.low;
  c.verdict = judge(c.change, significant, limit, unjudged_relative_pct);
  return c;
}

ComparedFigure compare_throughput(const SeriesSide& base, const SeriesSide& next,
                                  std::optional<double> limit) {
  const double b_se =
      throughput_se(static_cast<double>(base.metrics->responses), base.duration_s, base.timeline);
  const double n_se =
      throughput_se(static_cast<double>(next.metrics->responses), next.duration_s, next.timeline);
  ComparedFigure c{.figure = Figure::throughput,
                   .base = base.throughput_rps,
                   .next = next.throughput_rps,
                   .base_low = std::max(0.0, base.throughput_rps - z99 * b_se),
                   .base_high = base.throughput_rps + z99 * b_se,
                   .next_low = std::max(0.0, next.throughput_rps - z99 * n_se),
                   .next_high = next.throughput_rps + z99 * n_se,
                   .change = relative_change(base.throughput_rps, next.throughput_rps),
                   .limit = limit};
  const bool significant = std::fabs(next.throughput_rps - base.throughput_rps) >
                           throughput_sigmas * std::hypot(b_se, n_se);
  c.verdict = judge(-c.change, significant, limit, unjudged_relative_pct);
  return c;
}

// Error rate in % with a Wald interval for display; the verdict uses a pooled two-proportion
// z-test, the textbook test of "did the failure probability change".
ComparedFigure compare_errors(const RequestMetrics& base, const RequestMetrics& next,
                              std::optional<double> limit) {
  const double bn = static_cast<double>(base.attempts());
  const double nn = static_cast<double>(next.attempts());
  const double bp = bn > 0 ? static_cast<double>(base.failed()) / bn : 0.0;
  const double np = nn > 0 ? static_cast<double>(next.failed()) / nn : 0.0;
  auto wald = [](double p, double n) { return n > 0 ? z99 * std::sqrt(p * (1 - p) / n) : 0.0; };
  ComparedFigure c{.figure = Figure::errors,
                   .base = 100.0 * bp,
                   .next = 100.0 * np,
                   .base_low = 100.0 * std::max(0.0, bp - wald(bp, bn)),
                   .base_high = 100.0 * std::min(1.0, bp + wald(bp, bn)),
                   .next_low = 100.0 * std::max(0.0, np - wald(np, nn)),
                   .next_high = 100.0 * std::min(1.0, np + wald(np, nn)),
                   .change = 100.0 * (np - bp),
                   .limit = limit};
  bool significant = false;
  if (bn > 0 && nn > 0) {
    const double pooled = (bp * bn + np * nn) / (bn + nn);
    const double se = std::sqrt(pooled * (1 - pooled) * (1 / bn + 1 / nn));
    significant = se > 0 && std::fabs(np - bp) > z99 * se;
  }
  c.verdict = judge(c.change, significant, limit, unjudged_errors_pp);
  return c;
}

SeriesComparison compare_series(const SeriesSide& base, const SeriesSide& next,
                                const RegressionLimits& limits) {
  SeriesComparison s{.name = base.metrics->name,
                     .tags = base.metrics->tags,
                     .presence = SeriesPresence::both,
                     .base_responses = base.metrics->responses,
                     .next_responses = next.metrics->responses,
                     .figures = {}};
  const Histogram& bh = base.metrics->response_time_us;
  const Histogram& nh = next.metrics->response_time_us;
  if (bh.total_count() > 0 && nh.total_count() > 0) {
    for (Figure f : {Figure::p50, Figure::p90, Figure::p95, Figure::p99, Figure::p999, Figure::max,
                     Figure::mean})
      s.figures.push_back(compare_latency(f, base, next, limits.of(f)));
  }
  s.figures.push_back(compare_throughput(base, next, limits.of(Figure::throughput)));
  s.figures.push_back(compare_errors(*base.metrics, *next.metrics, limits.of(Figure::errors)));
  return s;
}

std::string series_key(const RequestMetrics& m) {
  std::string key = m.name;
  for (const auto& [tag, value] : m.tags)
    key += '\x1f' + tag + '=' + value;
  return key;
}

SeriesSide side_of(const RequestMetrics& m, const RunResult& r) {
  return {&m, r.duration_s > 0 ? static_cast<double>(m.responses) / r.duration_s : 0.0,
          r.duration_s, nullptr};
}

template <class T>
void note_difference(std::vector<std::string>& out, const char* what, const T& base,
                     const T& next) {
  if (base == next) return;
  if constexpr (std::is_same_v<T, std::string>) {
    out.push_back(std::string(what) + " '" + base + "' -> '" + next + "'");
  } else {
    std::string b = std::to_string(base), n = std::to_string(next);
    out.push_back(std::string(what) + " " + b + " -> " + n);
  }
}

std::vector<std::string> setup_notes(const RunResult& base, const RunResult& next) {
  std::vector<std::string> notes;
  if (base.partial) notes.push_back("the base run is partial (stopped early)");
  if (next.partial) notes.push_back("the new run is partial (stopped early)");
  std::vector<std::string> diffs;
  const RunConfig& b = base.config;
  const RunConfig& n = next.config;
  note_difference(diffs, "url", b.url, n.url);
  note_difference(diffs, "script", b.script, n.script);
  note_difference(diffs, "executor", b.executor, n.executor);
  note_difference(diffs, "method", b.method, n.method);
  note_difference(diffs, "vus", b.vus, n.vus);
  note_difference(diffs, "threads", b.threads, n.threads);
  if (std::fabs(b.planned_duration_s - n.planned_duration_s) > 1e-9) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "duration %gs -> %gs", b.planned_duration_s,
                  n.planned_duration_s);
    diffs.push_back(buf);
  }
  if (!diffs.empty()) {
    std::string line = "the set-ups differ:";
    for (std::size_t i = 0; i < diffs.size(); ++i)
      line += (i == 0 ? " " : "; ") + diffs[i];
    notes.push_back(line);
  }
  return notes;
}

}  // namespace

const char* to_string(Figure figure) noexcept {
  return figure_names[static_cast<std::size_t>(figure)];
}

const char* to_string(FigureVerdict verdict) noexcept {
  switch (verdict) {
    case FigureVerdict::same:
      return "same";
    case FigureVerdict::better:
      return "better";
    case FigureVerdict::within_noise:
      return "within noise";
    case FigureVerdict::worse:
      return "worse";
    case FigureVerdict::regression:
      return "regression";
  }
  return "same";
}

RegressionLimits parse_regression_limits(std::string_view spec, std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  if (trim_blanks(spec).empty())
    throw UsageError(prefix + "empty; e.g. " + default_regression_limits);
  RegressionLimits limits;
  std::set<Figure> seen;
  for (bool more = true; more;) {
    const auto comma = spec.find(',');
    const std::string_view part = trim_blanks(spec.substr(0, comma));
    more = comma != std::string_view::npos;
    spec = more ? spec.substr(comma + 1) : std::string_view{};
    const std::string quoted = "'" + std::string(part) + "'";
    const auto eq = part.find('=');
    if (eq == std::string_view::npos)
      throw UsageError(prefix + quoted + ": expected FIGURE=LIMIT%, e.g. p99=10%");
    const std::string_view key = trim_blanks(part.substr(0, eq));
    std::string_view value = trim_blanks(part.substr(eq + 1));
    const std::optional<Figure> figure = figure_named(key);
    if (!figure)
      throw UsageError(prefix + quoted + ": unknown figure '" + std::string(key) +
                       "' (one of p50, p90, p95, p99, p999, max, mean, throughput, errors)");
    if (!seen.insert(*figure).second)
      throw UsageError(prefix + quoted + ": '" + std::string(key) + "' is given twice");
    if (value.empty() || value.back() != '%')
      throw UsageError(prefix + quoted + ": the limit needs a '%', e.g. " + std::string(key) +
                       "=10%");
    value.remove_suffix(1);
    const std::string number(trim_blanks(value));
    char* end = nullptr;
    const double limit = number.empty() ? -1.0 : std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(limit) ||
        limit < 0)
      throw UsageError(prefix + quoted + ": the limit must be a number >= 0 followed by '%'");
    limits.allowed[static_cast<std::size_t>(*figure)] = limit;
  }
  return limits;
}

RunComparison compare_results(const RunResult& base, const RunResult& next,
                              const RegressionLimits& limits) {
  RunComparison out;
  out.notes = setup_notes(base, next);
  // The total's throughput excludes responses that completed in the drain, as the summary does.
  SeriesSide base_total{&base.total, base.throughput_rps(), base.duration_s, &base.timeline};
  SeriesSide next_total{&next.total, next.throughput_rps(), next.duration_s, &next.timeline};
  out.series.push_back(compare_series(base_total, next_total, limits));
  out.series.front().name = "total";

  std::map<std::string, const RequestMetrics*> next_by_key;
  for (const RequestMetrics& m : next.by_name)
    next_by_key.emplace(series_key(m), &m);
  std::set<std::string> matched;
  for (const RequestMetrics& m : base.by_name) {
    const std::string key = series_key(m);
    auto it = next_by_key.find(key);
    if (it == next_by_key.end()) {
      out.series.push_back({.name = m.name,
                            .tags = m.tags,
                            .presence = SeriesPresence::only_base,
                            .base_responses = m.responses,
                            .next_responses = 0,
                            .figures = {}});
      continue;
    }
    matched.insert(key);
    out.series.push_back(compare_series(side_of(m, base), side_of(*it->second, next), limits));
  }
  for (const RequestMetrics& m : next.by_name) {
    if (matched.count(series_key(m)) != 0) continue;
    out.series.push_back({.name = m.name,
                          .tags = m.tags,
                          .presence = SeriesPresence::only_new,
                          .base_responses = 0,
                          .next_responses = m.responses,
                          .figures = {}});
  }
  for (const SeriesComparison& s : out.series) {
    for (const ComparedFigure& f : s.figures)
      out.regressed = out.regressed || f.verdict == FigureVerdict::regression;
  }
  return out;
}

std::string to_json(const RunComparison& c, int indent) {
  using nlohmann::json;
  json series = json::array();
  for (const SeriesComparison& s : c.series) {
    json figures = json::array();
    for (const ComparedFigure& f : s.figures) {
      figures.push_back({{"figure", to_string(f.figure)},
                         {"unit", is_latency(f.figure)         ? "ms"
                                  : f.figure == Figure::errors ? "%"
                                                               : "responses/s"},
                         {"base", f.base},
                         {"new", f.next},
                         {"base_interval", {f.base_low, f.base_high}},
                         {"new_interval", {f.next_low, f.next_high}},
                         {"change", f.change},
                         {"change_unit", f.figure == Figure::errors ? "pp" : "%"},
                         {"limit", f.limit ? json(*f.limit) : json(nullptr)},
                         {"verdict", to_string(f.verdict)}});
    }
    json tags = json::object();
    for (const auto& [tag, value] : s.tags)
      tags[tag] = value;
    const char* presence = s.presence == SeriesPresence::both        ? "both"
                           : s.presence == SeriesPresence::only_base ? "only_base"
                                                                     : "only_new";
    series.push_back({{"name", s.name},
                      {"tags", tags},
                      {"presence", presence},
                      {"base_responses", s.base_responses},
                      {"new_responses", s.next_responses},
                      {"figures", figures}});
  }
  json doc{{"schema", "strain.comparison/1"},
           {"regressed", c.regressed},
           {"notes", c.notes},
           {"series", series}};
  return doc.dump(indent);
}

}  // namespace strain
