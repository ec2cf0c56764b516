#include "engine/results/thresholds.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain {
namespace {

[[noreturn]] void bad(std::string_view key, const std::string& why) {
  throw UsageError("threshold '" + std::string(key) + "': " + why);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0)
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0)
    s.remove_suffix(1);
  return s;
}

bool is_latency(std::string_view metric) {
  return metric == "latency" || metric == "service_time" || metric == "schedule_lag";
}

// Metrics judged against the request series (total or by_name).
bool is_request_metric(std::string_view metric) {
  return metric == "latency" || metric == "service_time" || metric == "errors" ||
         metric == "requests" || metric == "rate_limited";
}

bool is_script_builtin(std::string_view metric) {
  return metric == "checks" || metric == "iterations" || metric == "script_errors";
}

bool is_run_builtin(std::string_view metric) {
  return metric == "schedule_lag";
}

bool is_builtin(std::string_view metric) {
  return is_request_metric(metric) || is_script_builtin(metric) || is_run_builtin(metric);
}

// "p99", "p99.9", "p(95)" → 99, 99.9, 95; nullopt when not a percentile.
std::optional<double> percentile_of(std::string_view a) {
  if (a.size() < 2 || a.front() != 'p') return std::nullopt;
  a.remove_prefix(1);
  if (a.size() >= 2 && a.front() == '(' && a.back() == ')') a = a.substr(1, a.size() - 2);
  double p = 0;
  auto [ptr, ec] = std::from_chars(a.data(), a.data() + a.size(), p);
  if (ec != std::errc() || ptr != a.data() + a.size() || p < 0 || p > 100) return std::nullopt;
  return p;
}

bool is_one_of(std::string_view a, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), a) != names.end();
}

// Built-in metrics know their aggregates and tags now; a script's metrics are declared only
// when it runs, so for them anything that some metric kind could answer is accepted here
// and judged against the metric's kind at evaluation.
void validate_metric(const ThresholdSpec& t, std::string_view key) {
  const bool pct = percentile_of(t.aggregate).has_value();
  auto refuse = [&](const char* use) {
    bad(key,
        "aggregate '" + t.aggregate + "' does not apply to " + t.metric + " (use " + use + ")");
  };
  if (is_latency(t.metric)) {
    if (!pct && !is_one_of(t.aggregate, {"avg", "min", "max", "med"}))
      refuse("pNN, avg, min, max or med");
    if (is_run_builtin(t.metric) && !t.tags.empty())
      bad(key, t.metric + " is measured for the whole run, not per tag");
  } else if (t.metric == "errors" || t.metric == "requests" || t.metric == "rate_limited") {
    if (!is_one_of(t.aggregate, {"rate", "count"})) refuse("rate or count");
  } else if (t.metric == "checks") {
    if (!is_one_of(t.aggregate, {"rate", "passes", "fails", "count"}))
      refuse("rate, passes, fails or count");
    for (const auto& [tag, value] : t.tags) {
      if (tag != "check" && tag != "group")
        bad(key, "checks are filtered only by check:NAME and group:PATH, not '" + tag + "'");
    }
  } else if (t.metric == "iterations" || t.metric == "script_errors") {
    if (!is_one_of(t.aggregate, {"rate", "count"})) refuse("rate or count");
    if (!t.tags.empty()) bad(key, t.metric + " is counted for the whole run, not per tag");
  } else {
    if (!pct &&
        !is_one_of(t.aggregate, {"avg", "min", "max", "med", "count", "rate", "passes", "fails"})) {
      bad(key, "aggregate '" + t.aggregate +
                   "' is not one of pNN, p(NN), avg, min, max, med, count, rate, passes, fails");
    }
    if (!t.tags.empty()) bad(key, "a script's metrics are counted for the whole run, not per tag");
  }
}

void parse_condition(ThresholdSpec& t, std::string_view key, std::string_view condition) {
  std::string_view c = trim(condition);
  if (c.starts_with("<="))
    t.comparison = Comparison::less_equal, c.remove_prefix(2);
  else if (c.starts_with(">="))
    t.comparison = Comparison::greater_equal, c.remove_prefix(2);
  else if (c.starts_with("=="))
    t.comparison = Comparison::equal, c.remove_prefix(2);
  else if (c.starts_with("<"))
    t.comparison = Comparison::less, c.remove_prefix(1);
  else if (c.starts_with(">"))
    t.comparison = Comparison::greater, c.remove_prefix(1);
  else
    bad(key, "condition '" + std::string(condition) + "' must start with <, <=, >, >= or ==");
  c = trim(c);
  if (c.empty()) bad(key, "condition '" + std::string(condition) + "' has no limit");
  if (c.back() == '%') {
    c.remove_suffix(1);
    double v = 0;
    auto [ptr, ec] = std::from_chars(c.data(), c.data() + c.size(), v);
    if (ec != std::errc() || ptr != c.data() + c.size()) {
      bad(key, "'" + std::string(condition) + "' is not a percentage");
    }
    if (t.aggregate != "rate") bad(key, "a percentage limit needs the rate aggregate");
    // These rates are per second, not fractions of attempts.
    if (t.metric == "requests" || t.metric == "iterations")
      bad(key, t.metric + "{rate} is per second: a percentage does not apply");
    if (!(v >= 0 && v <= 100))
      bad(key, "'" + std::string(condition) + "' is outside 0%..100%: a rate is a share of attempts");
    t.limit = v / 100.0;
    return;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(c.data(), c.data() + c.size(), v);
  if (ec == std::errc() && ptr == c.data() + c.size()) {
    t.limit = v;  // a plain number: ms for latencies, a fraction for rates, else a count
    return;
  }
  // Durations: latencies are kept in ms, and by convention so are a script's trends of times.
  if (!is_latency(t.metric) && is_builtin(t.metric)) {
    bad(key, "limit '" + std::string(c) + "' is not a number");
  }
  if (is_latency(t.metric)) {
    t.limit =
        static_cast<double>(parse_duration(c, "threshold '" + std::string(key) + "'").count()) /
        1e6;
    return;
  }
  try {
    t.limit = static_cast<double>(parse_duration(c, "").count()) / 1e6;
  } catch (const UsageError&) {
    bad(key, "limit '" + std::string(c) + "' is not a number, a percentage or a duration");
  }
}

// "{name:login,scenario:browse}", for notes.
std::string tags_text(const std::map<std::string, std::string>& tags) {
  std::string s = "{";
  for (const auto& [tag, value] : tags)
    s += (s.size() > 1 ? "," : "") + tag + ":" + value;
  return s + "}";
}

bool series_matches(const RequestMetrics& series, const std::map<std::string, std::string>& tags) {
  for (const auto& [tag, value] : tags) {
    if (tag == "name") {
      if (series.name != value) return false;
      continue;
    }
    auto it = series.tags.find(tag);
    if (it == series.tags.end() || it->second != value) return false;
  }
  return true;
}

// Percentile-style aggregates of a histogram; `scale` converts its unit to the limit's.
std::optional<double> histogram_aggregate(const ThresholdSpec& spec, const Histogram& h,
                                          double scale) {
  if (spec.aggregate == "min") return static_cast<double>(h.min()) * scale;
  if (spec.aggregate == "max") return static_cast<double>(h.max()) * scale;
  if (spec.aggregate == "avg") return h.mean() * scale;
  const double p = spec.aggregate == "med" ? 50.0 : spec.percentile;
  return static_cast<double>(h.value_at_percentile(p)) * scale;
}

void judge_requests(const ThresholdSpec& spec, const RunResult& result, ThresholdVerdict& r) {
  const RequestMetrics* m = &result.total;
  std::optional<RequestMetrics> merged;  // only when several series match
  if (!spec.tags.empty()) {
    // by_name partitions the requests into series, so adding the matching ones is exact.
    std::vector<const RequestMetrics*> matches;
    for (const RequestMetrics& series : result.by_name) {
      if (series_matches(series, spec.tags)) matches.push_back(&series);
    }
    if (matches.empty()) {
      r.note = "no requests match " + tags_text(spec.tags);
      return;
    }
    m = matches.front();
    if (matches.size() > 1) {
      merged.emplace(*matches.front());
      for (std::size_t i = 1; i < matches.size(); ++i)
        merged->add(*matches[i]);
      m = &*merged;
    }
  }
  if (is_latency(spec.metric)) {
    const Histogram& h = spec.metric == "latency" ? m->response_time_us : m->service_time_us;
    if (h.total_count() == 0) {
      r.note = "no responses to measure";
      return;
    }
    r.observed = histogram_aggregate(spec, h, 1.0 / 1000.0);
  } else if (spec.metric == "errors" || spec.metric == "rate_limited") {
    const double attempts = static_cast<double>(m->responses + m->transport_errors());
    const auto count = spec.metric == "errors" ? m->failed() : m->rate_limited();
    if (spec.aggregate == "count")
      r.observed = static_cast<double>(count);
    else if (attempts > 0)
      r.observed = static_cast<double>(count) / attempts;
    else
      r.note = "no requests were made";
  } else {  // requests
    if (spec.aggregate == "count")
      r.observed = static_cast<double>(m->responses);
    else if (result.duration_s <= 0)
      r.note = "the run has no duration to divide by";
    else if (m == &result.total)
      r.observed = result.throughput_rps();
    else
      r.observed = static_cast<double>(m->responses) / result.duration_s;
  }
}

// "::checkout::status is 200" → group "::checkout", check "status is 200".
std::string_view check_group(std::string_view name) {
  const auto cut = name.rfind("::");
  return cut == std::string_view::npos ? std::string_view{} : name.substr(0, cut);
}
std::string_view check_leaf(std::string_view name) {
  const auto cut = name.rfind("::");
  return cut == std::string_view::npos ? name : name.substr(cut + 2);
}

bool check_matches(const CheckTally& c, const std::map<std::string, std::string>& tags) {
  if (auto it = tags.find("check"); it != tags.end()) {
    if (c.name != it->second && check_leaf(c.name) != it->second) return false;
  }
  if (auto it = tags.find("group"); it != tags.end()) {
    // Group paths start with "::"; "group:checkout" is taken to mean "::checkout".
    const std::string_view g = check_group(c.name);
    if (g != it->second && g != "::" + it->second) return false;
  }
  return true;
}

void judge_checks(const ThresholdSpec& spec, const RunResult& result, ThresholdVerdict& r) {
  const auto& checks = result.script.checks;
  if (checks.empty()) {
    r.note = "no checks in this run";
    return;
  }
  std::uint64_t passes = 0;
  std::uint64_t fails = 0;
  bool any = false;
  for (const CheckTally& c : checks) {
    if (!check_matches(c, spec.tags)) continue;
    any = true;
    passes += c.passes;
    fails += c.fails;
  }
  if (!any) {
    r.note = "no checks match " + tags_text(spec.tags);
    return;
  }
  if (spec.aggregate == "passes")
    r.observed = static_cast<double>(passes);
  else if (spec.aggregate == "fails")
    r.observed = static_cast<double>(fails);
  else if (spec.aggregate == "count")
    r.observed = static_cast<double>(passes + fails);
  else if (passes + fails == 0)
    r.note = "no checks were run";
  else
    r.observed = static_cast<double>(passes) / static_cast<double>(passes + fails);
}

bool is_scripted(const RunResult& result) {
  return !result.config.script.empty() || !result.script.empty() || !result.by_name.empty();
}

void judge_iterations(const ThresholdSpec& spec, const RunResult& result, ThresholdVerdict& r) {
  if (!is_scripted(result)) {
    r.note = "metric '" + spec.metric + "' is not recorded by this run (no script)";
    return;
  }
  const ScriptStats& s = result.script;
  if (spec.metric == "iterations") {
    if (spec.aggregate == "count")
      r.observed = static_cast<double>(s.iterations);
    else if (result.duration_s > 0)
      r.observed = static_cast<double>(s.iterations) / result.duration_s;
    else
      r.note = "the run has no duration to divide by";
    return;
  }
  // script_errors: the iterations a script error ended, of all that ended either way.
  if (spec.aggregate == "count")
    r.observed = static_cast<double>(s.iterations_failed);
  else if (s.iterations + s.iterations_failed > 0)
    r.observed = static_cast<double>(s.iterations_failed) /
                 static_cast<double>(s.iterations + s.iterations_failed);
  else
    r.note = "no iterations ended";
}

void judge_custom(const ThresholdSpec& spec, const RunResult& result, ThresholdVerdict& r) {
  const auto& metrics = result.script.metrics;
  auto it = std::find_if(metrics.begin(), metrics.end(),
                         [&](const CustomMetric& m) { return m.name == spec.metric; });
  if (it == metrics.end()) {
    r.note = "metric '" + spec.metric + "' is not recorded by this run";
    return;
  }
  const CustomMetric& m = *it;
  auto does_not_apply = [&](const char* use) {
    r.note = "aggregate '" + spec.aggregate + "' does not apply to " + to_string(m.kind) +
             " metric '" + m.name + "' (use " + use + ")";
  };
  auto no_values = [&] { r.note = "no values were added to '" + m.name + "'"; };
  switch (m.kind) {
    case CustomMetricKind::counter:
      // As k6: a counter's count is the sum of what was added, its rate that sum per second.
      if (spec.aggregate == "count")
        r.observed = m.sum;
      else if (spec.aggregate != "rate")
        does_not_apply("count or rate");
      else if (result.duration_s > 0)
        r.observed = m.sum / result.duration_s;
      else
        r.note = "the run has no duration to divide by";
      return;
    case CustomMetricKind::rate:
      if (spec.aggregate != "rate")
        does_not_apply("rate");
      else if (m.count == 0)
        no_values();
      else
        r.observed = static_cast<double>(m.nonzero) / static_cast<double>(m.count);
      return;
    case CustomMetricKind::trend:
      if (spec.aggregate == "count") {
        r.observed = static_cast<double>(m.count);
      } else if (spec.aggregate == "rate" || spec.aggregate == "passes" ||
                 spec.aggregate == "fails") {
        does_not_apply("pNN, avg, min, max, med or count");
      } else if (m.count == 0 || m.values_milli.total_count() == 0) {
        no_values();
      } else if (spec.aggregate == "avg") {
        r.observed = m.sum / static_cast<double>(m.count);  // exact, unlike the buckets' mean
      } else {
        r.observed = histogram_aggregate(spec, m.values_milli, 1.0 / 1000.0);
      }
      return;
  }
}

ThresholdVerdict judge(const ThresholdSpec& spec, const RunResult& result) {
  ThresholdVerdict r;
  r.expression = spec.expression;
  r.condition = spec.condition;
  if (is_request_metric(spec.metric)) {
    judge_requests(spec, result, r);
  } else if (spec.metric == "schedule_lag") {
    const Histogram& h = result.schedule.schedule_lag_us;
    if (h.total_count() == 0)
      r.note = "no arrivals were scheduled (schedule_lag applies to arrival-rate runs)";
    else
      r.observed = histogram_aggregate(spec, h, 1.0 / 1000.0);
  } else if (spec.metric == "checks") {
    judge_checks(spec, result, r);
  } else if (is_script_builtin(spec.metric)) {
    judge_iterations(spec, result, r);
  } else {
    judge_custom(spec, result, r);
  }
  r.passed = r.observed.has_value() && holds(spec.comparison, *r.observed, spec.limit);
  return r;
}

}  // namespace

ThresholdSpec parse_threshold(std::string_view key_in, std::string_view condition) {
  const std::string_view key = trim(key_in);
  ThresholdSpec t;
  t.expression = std::string(key);
  t.condition = std::string(trim(condition));
  const auto brace = key.find('{');
  t.metric = std::string(trim(key.substr(0, brace)));
  if (t.metric.empty()) bad(key, "no metric name");
  for (char ch : t.metric) {
    if (std::isalnum(static_cast<unsigned char>(ch)) == 0 && ch != '_' && ch != '.') {
      bad(key, "metric name '" + t.metric + "' may hold only letters, digits, '_' and '.'");
    }
  }
  if (brace != std::string_view::npos) {
    if (key.back() != '}') bad(key, "missing '}'");
    std::string_view inside = key.substr(brace + 1, key.size() - brace - 2);
    while (!inside.empty()) {
      const auto comma = inside.find(',');
      const std::string_view item = trim(inside.substr(0, comma));
      inside = comma == std::string_view::npos ? std::string_view{} : inside.substr(comma + 1);
      if (item.empty()) bad(key, "empty item between braces");
      if (const auto colon = item.find(':'); colon != std::string_view::npos) {
        const std::string tag(trim(item.substr(0, colon)));
        const std::string value(trim(item.substr(colon + 1)));
        if (tag.empty() || value.empty())
          bad(key, "tag '" + std::string(item) + "' is not name:value");
        t.tags[tag] = value;
        continue;
      }
      if (!t.aggregate.empty())
        bad(key, "more than one aggregate ('" + t.aggregate + "', '" + std::string(item) + "')");
      t.aggregate = std::string(item);
    }
  }
  if (t.aggregate.empty()) bad(key, "no aggregate: write e.g. " + t.metric + "{p99}");
  if (auto p = percentile_of(t.aggregate)) t.percentile = *p;
  validate_metric(t, key);
  parse_condition(t, key, condition);
  return t;
}

std::vector<ThresholdVerdict> evaluate_thresholds(const std::vector<ThresholdSpec>& specs,
                                                  const RunResult& result) {
  std::vector<ThresholdVerdict> out;
  out.reserve(specs.size());
  for (const ThresholdSpec& spec : specs)
    out.push_back(judge(spec, result));
  return out;
}

std::optional<std::string> first_abort(const std::vector<ThresholdSpec>& specs,
                                       const RunResult& partial, double elapsed_s) {
  for (const ThresholdSpec& spec : specs) {
    if (!spec.abort_on_fail) continue;
    if (elapsed_s * 1e9 < static_cast<double>(spec.delay_abort_eval.count())) continue;
    const ThresholdVerdict v = judge(spec, partial);
    if (v.observed.has_value() && !v.passed) return spec.expression + " " + spec.condition;
  }
  return std::nullopt;
}

bool holds(Comparison c, double observed, double limit) {
  switch (c) {
    case Comparison::less:
      return observed < limit;
    case Comparison::less_equal:
      return observed <= limit;
    case Comparison::greater:
      return observed > limit;
    case Comparison::greater_equal:
      return observed >= limit;
    case Comparison::equal:
      return observed == limit;
  }
  return false;
}

}  // namespace strain
