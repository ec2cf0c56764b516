// A step's judged window: the intervals since judging began, folded as the run folds them,
// so the SLO is judged with the same threshold code on exact merged histograms.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "engine/results/stress_report.hpp"

namespace strain::stress {

class StepWindow {
 public:
  void clear();
  void add(const IntervalSnapshot& snap);
  bool empty() const noexcept { return length_s_ <= 0; }
  double length_s() const noexcept { return length_s_; }

  // The window as a result the threshold and schedule judgements take: totals, series,
  // script tallies, schedule, duration, the offered rate, strain's own lag and busy share.
  RunResult as_result(double offered_rps) const;

  // The step's figures from the window (offered, SLO and resources are the caller's).
  void fill(StressStep& step) const;

 private:
  RunResult result_;
  std::map<std::string, std::size_t> series_index_;
  double length_s_ = 0;
  double busy_weighted_ = 0;  // busy_fraction x length, summed
};

}  // namespace strain::stress
