#include "engine/script/script_tallies.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>

namespace strain {

int ScriptTallies::group_enter(std::uint16_t parent, std::string_view name, std::string& error) {
  key_ = groups_[parent];
  key_.append("::").append(name);
  if (auto it = group_index_.find(std::string_view(key_)); it != group_index_.end()) {
    return static_cast<int>(it->second);
  }
  if (groups_.size() >= kMaxGroups) {
    error = "more than " + std::to_string(kMaxGroups) + " distinct groups";
    return -1;
  }
  groups_.push_back(key_);
  group_index_.emplace(key_, static_cast<std::uint32_t>(groups_.size() - 1));
  return static_cast<int>(groups_.size() - 1);
}

bool ScriptTallies::record_check(std::uint16_t group, std::string_view name, bool held,
                                 std::string& error) {
  key_.clear();
  key_ += static_cast<char>(group & 0xff);
  key_ += static_cast<char>(group >> 8);
  key_.append(name);
  std::uint32_t index = 0;
  if (auto it = check_index_.find(std::string_view(key_)); it != check_index_.end()) {
    index = it->second;
  } else {
    if (checks_.size() >= kMaxChecks) {
      error = "more than " + std::to_string(kMaxChecks) + " distinct check names";
      return false;
    }
    index = static_cast<std::uint32_t>(checks_.size());
    CheckTally tally;
    tally.name = group == 0 ? std::string(name) : groups_[group] + "::" + std::string(name);
    checks_.push_back(std::move(tally));
    check_index_.emplace(key_, index);
  }
  if (held)
    ++checks_[index].passes;
  else
    ++checks_[index].fails;
  return true;
}

int ScriptTallies::metric_define(std::string_view name, std::string_view kind_name,
                                 std::string& error) {
  CustomMetricKind kind;
  if (kind_name == "counter") {
    kind = CustomMetricKind::counter;
  } else if (kind_name == "rate") {
    kind = CustomMetricKind::rate;
  } else if (kind_name == "trend") {
    kind = CustomMetricKind::trend;
  } else {
    error = "unknown metric kind '" + std::string(kind_name) + "'";
    return -1;
  }
  bool valid =
      !name.empty() && name.size() <= 128 && std::isdigit(static_cast<unsigned char>(name[0])) == 0;
  for (char c : name)
    valid = valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.');
  if (!valid) {
    error = "metric name '" + std::string(name) +
            "' must start with a letter and hold only letters, digits, '_' and '.'";
    return -1;
  }
  for (const char* builtin : {"latency", "service_time", "errors", "requests", "checks",
                              "iterations", "script_errors", "rate_limited"}) {
    if (name == builtin) {
      error = "metric name '" + std::string(name) + "' is taken by a built-in metric";
      return -1;
    }
  }
  if (auto it = metric_index_.find(name); it != metric_index_.end()) {
    if (metrics_[it->second].kind != kind) {
      error = "metric '" + std::string(name) + "' was already defined as a " +
              to_string(metrics_[it->second].kind);
      return -1;
    }
    return static_cast<int>(it->second);
  }
  if (metrics_.size() >= kMaxMetrics) {
    error = "more than " + std::to_string(kMaxMetrics) + " custom metrics";
    return -1;
  }
  CustomMetric m;
  m.name = std::string(name);
  m.kind = kind;
  metrics_.push_back(std::move(m));
  metric_index_.emplace(std::string(name), static_cast<std::uint32_t>(metrics_.size() - 1));
  return static_cast<int>(metrics_.size() - 1);
}

bool ScriptTallies::metric_add(std::int64_t id, double v, bool is_bool, std::string& error) {
  if (id < 0 || static_cast<std::size_t>(id) >= metrics_.size()) {
    error = "no such metric";
    return false;
  }
  CustomMetric& m = metrics_[static_cast<std::size_t>(id)];
  if (is_bool && m.kind != CustomMetricKind::rate) {
    error = "metric '" + m.name + "': add() needs a number";
    return false;
  }
  if (!std::isfinite(v)) {
    error = "metric '" + m.name + "': add() needs a finite number";
    return false;
  }
  if (m.kind == CustomMetricKind::trend) {
    if (v < 0) {
      error = "trend '" + m.name + "': values must be 0 or more";
      return false;
    }
    // Values past the histogram's top are kept at the top and counted as saturated, which
    // the summary reports; sum and count stay exact.
    const double milli = v * 1000.0;
    m.values_milli.record(milli < 9.2e18 ? static_cast<std::int64_t>(std::llround(milli))
                                         : INT64_MAX);
  }
  m.sum += v;
  ++m.count;
  if (v != 0) ++m.nonzero;
  return true;
}

ScriptErrorTally* ScriptTallies::count_error(std::string_view key) {
  auto it = std::find_if(errors_.begin(), errors_.end(),
                         [&](const ScriptErrorTally& e) { return e.message == key; });
  if (it != errors_.end()) {
    ++it->count;
    return nullptr;
  }
  if (errors_.size() >= ScriptStats::max_distinct_errors) {
    // Bounded within an interval too: a script that formats ids into its messages makes one
    // catch-all line, not a list that grows (and is searched) with every error.
    constexpr std::string_view more = "(more distinct errors)";
    auto catch_all = std::find_if(errors_.begin(), errors_.end(),
                                  [&](const ScriptErrorTally& e) { return e.message == more; });
    if (catch_all != errors_.end()) {
      ++catch_all->count;
    } else {
      errors_.push_back(ScriptErrorTally{std::string(more), "", 1});
    }
    return nullptr;
  }
  ScriptErrorTally tally;
  tally.message = std::string(key);
  tally.count = 1;
  errors_.push_back(std::move(tally));
  if (errors_seen_.find(key) != errors_seen_.end() || errors_seen_.size() >= kMaxSeenErrors) {
    return nullptr;
  }
  errors_seen_.emplace(std::string(key), 0);
  return &errors_.back();
}

void ScriptTallies::take_interval(ScriptStats& stats) {
  for (auto& c : checks_) {
    if (c.passes == 0 && c.fails == 0) continue;
    stats.checks.push_back(c);
    c.passes = c.fails = 0;
  }
  for (auto& m : metrics_) {
    if (m.count == 0) continue;
    stats.metrics.push_back(std::move(m));
    CustomMetric fresh;
    fresh.name = stats.metrics.back().name;
    fresh.kind = stats.metrics.back().kind;
    m = std::move(fresh);
  }
  stats.errors = std::move(errors_);
  errors_.clear();
}

}  // namespace strain
