#include "engine/soak/verdict.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

#include "engine/core/units.hpp"
#include "engine/soak/change_point.hpp"
#include "engine/soak/floor.hpp"

namespace strain::soak {
namespace {

constexpr double kSecondsPerHour = 3600.0;

bool fits_floor(SeriesKind k) {
  return k == SeriesKind::resource || k == SeriesKind::disk;
}

Verdict rising_verdict(SeriesKind k) {
  switch (k) {
    case SeriesKind::resource:
      return Verdict::leak;
    case SeriesKind::disk:
      return Verdict::growth;
    default:
      return Verdict::degrading;
  }
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double median_value(std::span<const TrendPoint> points) {
  std::vector<double> v;
  v.reserve(points.size());
  for (const TrendPoint& p : points)
    v.push_back(p.value);
  return median_of(std::move(v));
}

// The rise of the line over the judged span, in units of the points' robust scatter about
// it (1.4826 MAD of the residuals, each segment with its own intercept). Infinite when the
// points sit on the line.
double rise_to_scatter(std::span<const TrendPoint> points, double slope) {
  std::vector<double> residuals;
  residuals.reserve(points.size());
  std::size_t begin = 0;
  while (begin < points.size()) {
    std::size_t end = begin + 1;
    while (end < points.size() && points[end].segment == points[begin].segment)
      ++end;
    const auto seg = points.subspan(begin, end - begin);
    const double c = segment_intercept(seg, slope, seg.front().segment);
    for (const TrendPoint& p : seg)
      residuals.push_back(p.value - slope * p.t_s - c);
    begin = end;
  }
  const double mid = median_of(residuals);
  for (double& r : residuals)
    r = std::fabs(r - mid);
  const double scatter = 1.4826 * median_of(std::move(residuals));
  const double rise = slope * (points.back().t_s - points.front().t_s);
  if (!(scatter > 0)) return rise > 0 ? INFINITY : 0;
  return rise / scatter;
}

// A figure for `reason`: sizes for bytes, else three significant digits and the unit.
std::string figure(double x, const std::string& unit) {
  if (!std::isfinite(x)) return "?";
  if (unit == "bytes") {
    const std::string size = format_size(static_cast<std::uint64_t>(std::llround(std::fabs(x))));
    return x < 0 ? "-" + size : size;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, std::fabs(x) >= 100 ? "%.0f" : "%.3g", x);
  return unit.empty() ? std::string(buf) : std::string(buf) + " " + unit;
}

// The fitted points and the warm-up's, from raw points of either kind.
struct Reduced {
  std::vector<TrendPoint> fitted;  // post-warm-up window floors or medians, in time order
  std::vector<TrendPoint> warmup;  // the same over the warm-up
  double window_s = 0;
};

Reduced reduce(std::span<const TrendPoint> raw, const TrendOptions& o) {
  std::vector<TrendPoint> warm;
  std::vector<TrendPoint> fit;
  for (const TrendPoint& p : raw)
    (p.t_s < o.warmup_end_s ? warm : fit).push_back(p);
  const bool floor = fits_floor(o.kind);
  Reduced r;
  r.window_s = o.window_s > 0 ? o.window_s : auto_window_s(fit.size() >= 2 ? fit : warm, floor);
  auto by_window = [&](const std::vector<TrendPoint>& pts) {
    return floor ? window_minima(pts, r.window_s) : window_medians(pts, r.window_s);
  };
  r.fitted = by_window(fit);
  // Theil–Sen is O(n^2) in time and memory: a window too narrow for the caller's thousands of
  // points widens until the fit stays bounded. (Points that no window can join, each its own
  // segment, form no pairs and cost nothing.)
  const std::size_t most = std::max<std::size_t>(o.max_points, 2);
  while (r.window_s > 0 && r.fitted.size() > most) {
    const std::size_t before = r.fitted.size();
    r.window_s *= std::ceil(static_cast<double>(before) / static_cast<double>(most));
    r.fitted = by_window(fit);
    if (r.fitted.size() >= before) break;
  }
  r.warmup = by_window(warm);
  auto by_time = [](const TrendPoint& a, const TrendPoint& b) { return a.t_s < b.t_s; };
  std::stable_sort(r.fitted.begin(), r.fitted.end(), by_time);
  return r;
}

// What the judged points say, before any rule is applied.
struct Evidence {
  TheilSen ts;               // slope and interval, Var(S) widened by serial.var_factor
  MannKendall mk;            // the trend test, likewise widened
  SerialCorrelation serial;  // of the points about the line
  TheilSen first;            // slope of the earlier half
  TheilSen second;           // slope of the later half
  double rise_to_scatter = 0;
};

Evidence weigh(std::span<const TrendPoint> points, double confidence) {
  Evidence e;
  // Mann–Kendall and Sen's interval assume independent points. A floor that wanders (an old
  // generation that fills and drains, a cache with a TTL) is not, and its wander reads as a
  // trend: Hamed–Rao widens Var(S) by what the detrended ranks' autocorrelation says.
  e.ts = theil_sen(points, confidence);
  e.serial = serial_correlation(points, e.ts.slope);
  if (e.serial.var_factor > 1) e.ts = theil_sen(points, confidence, e.serial.var_factor);
  e.mk = mann_kendall(points, e.serial.var_factor);
  const std::size_t half = points.size() / 2;
  e.first = theil_sen(points.first(half), confidence);
  e.second = theil_sen(points.subspan(half), confidence);
  e.rise_to_scatter = rise_to_scatter(points, e.ts.slope);
  return e;
}

bool rises_significantly(const Evidence& e, double alpha) {
  return e.mk.p_value < alpha && e.mk.s > 0 && e.ts.ci_low > 0;
}

double per_hour(double per_second) {
  return std::isfinite(per_second) ? per_second * kSecondsPerHour : 0;
}

TrendVerdict judge(const Reduced& r, std::size_t samples, const TrendOptions& o) {
  TrendVerdict v;
  v.samples = samples;
  v.window_s = r.window_s;
  const std::string& u = o.unit;
  const char* what = fits_floor(o.kind) ? "floor" : "median";
  std::span<const TrendPoint> judged = r.fitted;
  v.points = judged.size();
  if (!r.warmup.empty()) v.level = median_value(r.warmup);
  char line[512];
  const std::size_t min_points = std::max<std::size_t>(o.min_points, 4);
  if (judged.size() < min_points) {
    std::snprintf(line, sizeof line,
                  "too short to judge: %zu %s points after warm-up from %zu samples (need %zu)",
                  judged.size(), what, samples, min_points);
    v.reason = line;
    return v;
  }

  // A leak that starts mid-run (a cache fills, then leaks) or a step then flat (a cache warms
  // up once) is not one line. When two lines leave far less of the residuals than one, the
  // later part is what the target does now, and it alone is judged. The earlier part may be
  // short (an early step); the later one must be long enough to be judged on its own.
  const std::size_t min_after = std::max(min_points, judged.size() / 4);
  if (const auto cp = find_change_point(judged, 4, min_after, o.change_point_rss_ratio)) {
    judged = judged.subspan(cp->index);
    v.change_point_s = cp->t_s;
    v.points = judged.size();
  }
  const Evidence e = weigh(judged, o.confidence);
  v.slope_per_hour = per_hour(e.ts.slope);
  v.ci_low_per_hour = per_hour(e.ts.ci_low);
  v.ci_high_per_hour = per_hour(e.ts.ci_high);
  v.first_half_per_hour = per_hour(e.first.slope);
  v.second_half_per_hour = per_hour(e.second.slope);
  v.p_value = e.mk.p_value;
  v.rise_to_scatter = e.rise_to_scatter;
  v.residual_lag1 = e.serial.lag1;
  if (r.warmup.empty()) {
    // No warm-up: the level is where the fitted line starts, not the data's median, which a
    // leak would raise and so excuse itself.
    const TrendPoint& first = judged.front();
    v.level = segment_intercept(judged, e.ts.slope, first.segment) + e.ts.slope * first.t_s;
  }

  const bool drift = !fits_floor(o.kind);
  const double fraction = o.relevant_fraction_per_hour.value_or(drift ? 0.10 : 0.01);
  const double absolute =
      o.relevant_absolute_per_hour.value_or(o.kind == SeriesKind::error_rate ? 0.01 : 0.0);
  double relevant = std::max(fraction * std::fabs(v.level), absolute);
  if (o.budget_per_hour) relevant = std::min(relevant, *o.budget_per_hour);
  v.relevant_per_hour = relevant;

  // The rules for a rise (DESIGN.md §7; Machida et al. 2013 on Mann–Kendall's false alarms).
  // Each one alone lets some wanders and humps through; all at once, few.
  const bool significant = rises_significantly(e, o.alpha);
  const bool matters = v.slope_per_hour > 0 && v.slope_per_hour >= relevant;
  // Steady: each half's own slope at least min_half_ratio of the whole's, and the later half's
  // at least min_later_ratio of the earlier's. A linear leak passes, both halves estimating one
  // slope; a step or a hump puts its rise in one half, and a cache filling towards its size
  // rises ever slower, its later half short of its earlier. A half's slope is ~2.8x noisier
  // than the whole's (half the points over half the time): only a rise some 5 standard errors
  // clear passes reliably, and a weaker one is `inconclusive`.
  const double f = v.first_half_per_hour;
  const double sh = v.second_half_per_hour;
  const double half_floor = o.min_half_ratio * v.slope_per_hour;
  const bool steady =
      f > 0 && sh > 0 && f >= half_floor && sh >= half_floor && sh >= o.min_later_ratio * f;
  // Clear: the rise over the judged span stands well above the points' scatter about the line,
  // further still when successive residuals are correlated (lag-1 rank autocorrelation
  // significant at alpha): then the points wander, and a wander can look like a line.
  const double nd = static_cast<double>(judged.size());
  const bool wanders = e.serial.lag1 > normal_quantile(1 - o.alpha) / std::sqrt(nd);
  const double need = wanders ? o.min_rise_to_wander : o.min_rise_to_scatter;
  const bool clear = e.rise_to_scatter >= need;
  // Chosen after a change point, the later part is the best-looking line in the run: that
  // choice flatters it. Its rise counts only if the whole run rises significantly too.
  const bool real = significant && steady && clear;
  const bool whole_rises =
      !real || !v.change_point_s || rises_significantly(weigh(r.fitted, o.confidence), o.alpha);
  const bool rising = real && whole_rises;
  // Material: the rise over the span judged reaches o.min_rise (a floor in absolute terms, which
  // a longer run crosses at a smaller slope).
  const double span_h = (judged.back().t_s - judged.front().t_s) / kSecondsPerHour;
  const double rise = std::max(0.0, v.slope_per_hour) * span_h;
  const bool material = rise >= o.min_rise;
  // A budget is a promise about the slope, so it breaks on a rise that passes every rule but
  // relevance: a wander past the budget breaks nothing.
  v.budget_broken =
      o.budget_per_hour && rising && material && v.slope_per_hour > *o.budget_per_hour;

  const int ci_pct = static_cast<int>(std::lround(o.confidence * 100));
  char fig[320];
  std::snprintf(fig, sizeof fig, "%s/h (%d%% CI %s..%s/h, p=%.2g, %zu points)",
                figure(v.slope_per_hour, u).c_str(), ci_pct, figure(v.ci_low_per_hour, u).c_str(),
                figure(v.ci_high_per_hour, u).c_str(), v.p_value, v.points);
  const std::string halves = "halves " + figure(v.first_half_per_hour, u) + "/h and " +
                             figure(v.second_half_per_hour, u) + "/h";
  std::string tail;
  if (v.change_point_s) {
    std::snprintf(line, sizeof line, "; judged from the change at %.0f s", *v.change_point_s);
    tail = line;
  }

  if (rising && matters && !material) {
    std::snprintf(line, sizeof line, " over the %.0f s judged, under the %s a rise must reach",
                  span_h * kSecondsPerHour, figure(o.min_rise, u).c_str());
    v.reason = "the " + std::string(what) + " rises " + fig + ", steadily, but only " +
               figure(rise, u) + line + tail;
  } else if (rising && matters) {
    v.verdict = rising_verdict(o.kind);
    std::string share;
    if (v.level > 0) {
      const double pct = 100 * v.slope_per_hour / v.level;
      std::snprintf(
          line, sizeof line,
          pct >= 10 ? ", %.0f%% of the level %s per hour" : ", %.2g%% of the level %s per hour",
          pct, figure(v.level, u).c_str());
      share = line;
    }
    v.reason =
        "the " + std::string(what) + " rises " + fig + share + ", steadily (" + halves + ")" + tail;
    if (o.limit) {
      const double now = e.ts.intercept + e.ts.slope * judged.back().t_s;
      v.hours_to_limit = std::max(0.0, (*o.limit - now) / v.slope_per_hour);
      std::snprintf(line, sizeof line, "; reaches %s in about %.2g h", figure(*o.limit, u).c_str(),
                    *v.hours_to_limit);
      v.reason += line;
    }
  } else if (significant && matters) {
    std::string why;
    if (!whole_rises) {
      why = "only after the change: the whole run does not rise significantly, a wander";
    } else if (!steady) {
      why = "not steadily (" + halves + "): a step, a hump or a filling cache";
    } else {
      std::snprintf(line, sizeof line,
                    "by only %.1fx the points' scatter about the line (need %.0fx%s)",
                    e.rise_to_scatter, need, wanders ? ", as they wander" : "");
      why = line;
    }
    v.reason = "the " + std::string(what) + " rises " + fig + " but " + why + tail;
  } else if (v.ci_high_per_hour <= relevant) {
    v.verdict = Verdict::stable;
    v.reason = "the " + std::string(what) + "'s slope " + fig + " is credibly below the " +
               figure(relevant, u) + "/h that matters" + tail;
  } else if (!significant && judged.size() >= o.stable_min_points && v.slope_per_hour <= relevant) {
    v.verdict = Verdict::stable;
    // Mann–Kendall may see an order (p small) in a floor of ties and page-sized steps whose
    // slope interval still reaches zero: say so rather than "no significant trend, p=0.0005".
    const std::string none = v.p_value < o.alpha ? " shows no slope distinct from zero: "
                                                 : " shows no significant trend: ";
    v.reason = "the " + std::string(what) + none + fig +
               "; a rise up to the interval's top is not ruled out" + tail;
  } else if (significant) {
    v.reason = "the " + std::string(what) + " rises " + fig + ", below the " + figure(relevant, u) +
               "/h that matters but not credibly so" + tail;
  } else {
    v.reason = "too noisy to judge: the " + std::string(what) + "'s slope " + fig +
               ", against the " + figure(relevant, u) + "/h that matters" + tail;
  }
  if (v.budget_broken) v.reason += "; past the budget of " + figure(*o.budget_per_hour, u) + "/h";
  return v;
}

}  // namespace

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::stable:
      return "stable";
    case Verdict::leak:
      return "leak";
    case Verdict::growth:
      return "growth";
    case Verdict::degrading:
      return "degrading";
    case Verdict::inconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

TrendVerdict judge_trend(std::span<const TrendPoint> samples, const TrendOptions& options) {
  return judge(reduce(samples, options), samples.size(), options);
}

TrendVerdict judge_trend(const FloorSeries& series, const TrendOptions& options) {
  const std::vector<TrendPoint> points = series.points();
  return judge(reduce(points, options), static_cast<std::size_t>(series.samples()), options);
}

TrendVerdict judge_trend(const DriftSeries& series, const TrendOptions& options) {
  const std::vector<TrendPoint> points = series.points();
  return judge(reduce(points, options), static_cast<std::size_t>(series.samples()), options);
}

}  // namespace strain::soak
