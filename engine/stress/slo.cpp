#include "engine/stress/slo.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "engine/core/error.hpp"

namespace strain::stress {

namespace {

bool is_untagged_error_rate(const ThresholdSpec& s) {
  return s.metric == "errors" && s.aggregate == "rate" && s.tags.empty();
}

bool is_latency_shorthand(std::string_view key) {
  if (key == "avg" || key == "med" || key == "max" || key == "min") return true;
  if (key.size() >= 2 && key[0] == 'p' &&
      (std::isdigit(static_cast<unsigned char>(key[1])) != 0 || key[1] == '('))
    return true;
  return false;
}

std::vector<std::string_view> split_conditions(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      out.push_back(text.substr(from, i - from));
      from = i + 1;
    } else if (text[i] == '{' || text[i] == '(') {
      ++depth;
    } else if (text[i] == '}' || text[i] == ')') {
      --depth;
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0)
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0)
    s.remove_suffix(1);
  return s;
}

double percentile_of(const ThresholdSpec& s, const Histogram& h_us) {
  if (h_us.total_count() == 0) return 0;
  if (s.aggregate == "max") return static_cast<double>(h_us.max()) / 1000.0;
  if (s.aggregate == "min") return static_cast<double>(h_us.min()) / 1000.0;
  if (s.aggregate == "avg") return h_us.mean() / 1000.0;
  const double p = s.aggregate == "med" ? 50.0 : s.percentile;
  return static_cast<double>(h_us.value_at_percentile(p)) / 1000.0;
}

}  // namespace

Slo parse_slo(std::string_view text, std::string_view flag) {
  Slo slo;
  slo.text = std::string(text);
  for (std::string_view item : split_conditions(text)) {
    item = trim(item);
    if (item.empty()) continue;
    const std::size_t op = item.find_first_of("<>=!");
    if (op == std::string_view::npos || op == 0) {
      throw UsageError(std::string(flag) + " '" + std::string(text) + "': '" + std::string(item) +
                       "' is not a condition like p99<250ms or errors<1%");
    }
    std::string key(trim(item.substr(0, op)));
    if (is_latency_shorthand(key)) key = "latency{" + key + "}";
    if (key == "errors") key = "errors{rate}";
    try {
      slo.specs.push_back(parse_threshold(key, trim(item.substr(op))));
    } catch (const UsageError& e) {
      throw UsageError(std::string(flag) + " '" + std::string(text) + "': " + e.what());
    }
  }
  if (slo.specs.empty()) {
    throw UsageError(std::string(flag) + " '" + std::string(text) +
                     "': no condition (e.g. --slo 'p99<250ms,errors<1%')");
  }
  return slo;
}

double stress_error_rate(const RequestMetrics& m) {
  const std::uint64_t attempts = m.attempts();
  if (attempts == 0) return 0;
  return static_cast<double>(m.failed() + m.rate_limited()) / static_cast<double>(attempts);
}

SloJudgement judge_slo(const Slo& slo, const RunResult& window) {
  SloJudgement j;
  std::vector<ThresholdSpec> others;
  for (const ThresholdSpec& s : slo.specs) {
    if (!is_untagged_error_rate(s)) {
      others.push_back(s);
      continue;
    }
    const double rate = stress_error_rate(window.total);
    const bool passed = holds(s.comparison, rate, s.limit);
    if (!passed && !j.failure) {
      StressFailure f;
      f.signal = s.expression;
      f.value = rate;
      f.limit = s.limit;
      char line[200];
      std::snprintf(line, sizeof line, "errors %.2f%% against %s (429s count)", rate * 100,
                    s.condition.c_str());
      f.detail = line;
      j.failure = f;
    }
    j.held = j.held && passed;
  }
  for (const ThresholdVerdict& v : evaluate_thresholds(others, window)) {
    // A condition with nothing to observe (no response at all) did not hold.
    if (v.passed) continue;
    j.held = false;
    if (j.failure) continue;
    StressFailure f;
    f.signal = v.expression;
    f.value = v.observed.value_or(0);
    for (const ThresholdSpec& s : others)
      if (s.expression == v.expression && s.condition == v.condition) f.limit = s.limit;
    char line[240];
    if (v.observed) {
      std::snprintf(line, sizeof line, "%s %.4g against %s", v.expression.c_str(), *v.observed,
                    v.condition.c_str());
    } else {
      std::snprintf(line, sizeof line, "%s: %s", v.expression.c_str(), v.note.c_str());
    }
    f.detail = line;
    j.failure = f;
  }
  return j;
}

bool clearly_broken(const Slo& slo, const RequestMetrics& interval) {
  for (const ThresholdSpec& s : slo.specs) {
    if (s.comparison != Comparison::less && s.comparison != Comparison::less_equal) continue;
    if (s.metric == "latency" && s.tags.empty() && s.aggregate != "count" &&
        s.aggregate != "rate") {
      if (percentile_of(s, interval.response_time_us) > 5 * s.limit) return true;
    } else if (is_untagged_error_rate(s)) {
      if (stress_error_rate(interval) > std::max(5 * s.limit, 0.10)) return true;
    }
  }
  return false;
}

}  // namespace strain::stress
