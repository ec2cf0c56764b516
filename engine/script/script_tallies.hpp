// What scripts count besides requests: checks, groups, custom metrics and script errors.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/results/run_result.hpp"

namespace strain {

// Strings hashed and compared without building a std::string on lookup.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using StringIndex = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

// One worker's tallies, bounded in every dimension (a script that formats ids into names gets
// an error, not unbounded memory). Worker thread only. Failures return false (or -1) with
// `error` set to a message for the script.
class ScriptTallies {
 public:
  static constexpr std::size_t kMaxGroups = 1000;   // distinct group paths
  static constexpr std::size_t kMaxChecks = 1000;   // distinct check names
  static constexpr std::size_t kMaxMetrics = 200;   // custom metrics
  static constexpr std::size_t kMaxSeenErrors = 1000;  // messages whose traceback was sent

  // --- groups: id 0 is the root; a path is "::outer::inner".
  // The id of group `name` inside group `parent`, made on first use; -1 when over the cap.
  int group_enter(std::uint16_t parent, std::string_view name, std::string& error);
  std::size_t group_count() const noexcept { return groups_.size(); }
  const std::string& group_path(std::uint16_t id) const { return groups_[id]; }

  // --- checks, named with their group path.
  bool record_check(std::uint16_t group, std::string_view name, bool held, std::string& error);

  // --- custom metrics: metrics.counter/rate/trend(name) and :add(value).
  int metric_define(std::string_view name, std::string_view kind, std::string& error);
  // `is_bool`: the script passed true/false (rates only).
  bool metric_add(std::int64_t id, double value, bool is_bool, std::string& error);

  // --- script errors, keyed by their first line.
  // Counts one error; when it is the first time this message is seen (and there is room),
  // returns its tally so the caller can attach the traceback, else null.
  ScriptErrorTally* count_error(std::string_view key);

  // Moves the interval's tallies into `out` (checks, metrics, errors; iterations are not here).
  void take_interval(ScriptStats& out);

 private:
  std::string key_;                      // scratch for lookups: no allocation once warm
  std::vector<std::string> groups_{""};  // group paths by id
  StringIndex group_index_;
  std::vector<CheckTally> checks_;  // the interval's counts; names kept across intervals
  StringIndex check_index_;
  std::vector<CustomMetric> metrics_;  // the interval's values; names and kinds kept
  StringIndex metric_index_;
  std::vector<ScriptErrorTally> errors_;  // this interval's
  StringIndex errors_seen_;               // messages whose traceback was already sent
};

}  // namespace strain
