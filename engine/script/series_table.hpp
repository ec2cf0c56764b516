// A scripted run's request series: one Recorder per (scenario, group, tags, name), bounded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/exec/recorder.hpp"
#include "engine/metrics/histogram_stock.hpp"
#include "engine/script/script_tallies.hpp"

namespace strain {

// Worker thread only. Past `max_names` series, requests go to one "(other)" series and are
// counted as untracked: URLs with ids in them would otherwise make a series each.
class SeriesTable {
 public:
  explicit SeriesTable(std::uint32_t max_names) : max_names_(max_names) {}

  // The series keyed `key` (see requests.cpp for how keys are built), or nullopt if new.
  std::optional<std::uint32_t> find(std::string_view key) const;
  // Adds the series keyed `key`, or returns "(other)" when the table is full.
  std::uint32_t add(std::string_view key, std::string name,
                    std::map<std::string, std::string> tags);
  bool is_other(std::uint32_t series) const noexcept { return series == other_; }
  Recorder& at(std::uint32_t series) { return *recorders_[series]; }

  // Where a scenario's dropped arrivals are recorded: series "(dropped)" tagged with it,
  // outside the name cap (one per arrival-rate scenario).
  Recorder& dropped(const std::string& scenario);

  // Moves the interval out: `total` (fresh, empty) gets every series added up; `series` only
  // the non-empty ones.
  // `untracked`: requests that went to "(other)" since the last call. Fresh series' histograms
  // come from `stock`.
  void take_interval(RequestMetrics& total, std::vector<RequestMetrics>& series,
                     std::uint64_t& untracked, HistogramStock& stock);

 private:
  std::uint32_t max_names_;
  std::vector<std::unique_ptr<Recorder>> recorders_;
  StringIndex index_;
  std::uint32_t named_ = 0;           // series counted against max_names_
  std::uint32_t other_ = UINT32_MAX;  // the "(other)" series, once made
  std::uint64_t untracked_ = 0;
};

}  // namespace strain
