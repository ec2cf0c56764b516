#include "engine/results/thresholds.hpp"

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
  return metric == "latency" || metric == "service_time";
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
    t.limit = v / 100.0;
    return;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(c.data(), c.data() + c.size(), v);
  if (ec == std::errc() && ptr == c.data() + c.size()) {
    t.limit = v;  // a plain number: ms for latencies, a fraction for rates, else a count
    return;
  }
  if (!is_latency(t.metric)) {
    bad(key, "limit '" + std::string(c) + "' is not a number");
  }
  t.limit =
      static_cast<double>(parse_duration(c, "threshold '" + std::string(key) + "'").count()) / 1e6;
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
  const bool pct = percentile_of(t.aggregate).has_value();
  if (is_latency(t.metric)) {
    if (!pct && t.aggregate != "avg" && t.aggregate != "min" && t.aggregate != "max" &&
        t.aggregate != "med") {
      bad(key, "aggregate '" + t.aggregate + "' does not apply to " + t.metric +
                   " (use pNN, avg, min, max or med)");
    }
  } else if (t.metric == "errors" || t.metric == "requests") {
    if (t.aggregate != "rate" && t.aggregate != "count") {
      bad(key,
          "aggregate '" + t.aggregate + "' does not apply to " + t.metric + " (use rate or count)");
    }
  }
  parse_condition(t, key, condition);
  return t;
}

std::vector<ThresholdVerdict> evaluate_thresholds(const std::vector<ThresholdSpec>& specs,
                                                  const RunResult& result) {
  std::vector<ThresholdVerdict> out;
  for (const ThresholdSpec& spec : specs) {
    ThresholdVerdict r;
    r.expression = spec.expression;
    r.condition = spec.condition;
    const RequestMetrics* m = &result.total;
    for (const auto& [tag, value] : spec.tags) {
      if (tag != "name") {
        r.note = "tag '" + tag + "' is not recorded by this run";
        m = nullptr;
        break;
      }
      m = nullptr;
      for (const auto& named : result.by_name) {
        if (named.name == value) m = &named;
      }
      if (m == nullptr) r.note = "no requests named '" + value + "' in this run";
    }
    if (m != nullptr) {
      if (is_latency(spec.metric)) {
        const Histogram& h = spec.metric == "latency" ? m->response_time_us : m->service_time_us;
        if (h.total_count() == 0) {
          r.note = "no responses to measure";
        } else if (spec.aggregate == "avg") {
          r.observed = h.mean() / 1000.0;
        } else if (spec.aggregate == "min") {
          r.observed = static_cast<double>(h.min()) / 1000.0;
        } else if (spec.aggregate == "max") {
          r.observed = static_cast<double>(h.max()) / 1000.0;
        } else {
          const double p = spec.aggregate == "med" ? 50.0 : spec.percentile;
          r.observed = static_cast<double>(h.value_at_percentile(p)) / 1000.0;
        }
      } else if (spec.metric == "errors") {
        const double attempts = static_cast<double>(m->responses + m->transport_errors());
        if (spec.aggregate == "count")
          r.observed = static_cast<double>(m->failed());
        else if (attempts > 0)
          r.observed = static_cast<double>(m->failed()) / attempts;
        else
          r.note = "no requests were made";
      } else if (spec.metric == "requests") {
        if (spec.aggregate == "count")
          r.observed = static_cast<double>(m->responses);
        else if (m == &result.total)
          r.observed = result.throughput_rps();
        else if (result.duration_s > 0)
          r.observed = static_cast<double>(m->responses) / result.duration_s;
      } else {
        r.note = "metric '" + spec.metric + "' is not recorded by this run";
      }
    }
    r.passed = r.observed.has_value() && holds(spec.comparison, *r.observed, spec.limit);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace strain
