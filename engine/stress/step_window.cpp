#include "engine/stress/step_window.hpp"

#include "engine/core/outcome.hpp"

namespace strain::stress {

namespace {

std::string series_key(const RequestMetrics& m) {
  std::string key = m.name;
  for (const auto& [k, v] : m.tags) {
    key += '\x1f';
    key += k;
    key += '=';
    key += v;
  }
  return key;
}

double p_ms(const Histogram& h_us, double p) {
  return h_us.total_count() > 0 ? static_cast<double>(h_us.value_at_percentile(p)) / 1000.0 : 0;
}

}  // namespace

void StepWindow::clear() {
  result_ = RunResult();  // once a step: its histograms are made anew
  series_index_.clear();
  length_s_ = 0;
  busy_weighted_ = 0;
}

void StepWindow::add(const IntervalSnapshot& snap) {
  result_.total.add(snap.total);
  for (const RequestMetrics& m : snap.by_name) {
    const auto [it, added] = series_index_.emplace(series_key(m), result_.by_name.size());
    if (added)
      result_.by_name.push_back(m);
    else
      result_.by_name[it->second].add(m);
  }
  result_.script.add(snap.script);
  result_.schedule.accumulate(snap.schedule);
  result_.generator.loop_lag_us.add(snap.loop_lag_us);
  length_s_ += snap.length_s;
  busy_weighted_ += snap.busy_fraction * snap.length_s;
}

RunResult StepWindow::as_result(double offered_rps) const {
  RunResult r = result_;
  r.total.name = "total";
  r.duration_s = length_s_;
  r.offered_rps = offered_rps;
  r.generator.busy_fraction = length_s_ > 0 ? busy_weighted_ / length_s_ : 0;
  return r;
}

void StepWindow::fill(StressStep& step) const {
  const RequestMetrics& t = result_.total;
  const double len = length_s_ > 0 ? length_s_ : 1;
  step.judged_s = length_s_;
  step.achieved_rps = static_cast<double>(t.responses) / len;
  const std::uint64_t bad = t.failed() + t.rate_limited();
  const std::uint64_t ok = t.attempts() > bad ? t.attempts() - bad : 0;
  step.ok_rps = static_cast<double>(ok) / len;
  step.p50_ms = p_ms(t.response_time_us, 50);
  step.p99_ms = p_ms(t.response_time_us, 99);
  const std::uint64_t attempts = t.attempts();
  step.error_rate = attempts > 0 ? static_cast<double>(bad) / static_cast<double>(attempts) : 0;
  // Little's law: requests in the system = throughput x time in it.
  const double mean_s = t.response_time_us.total_count() > 0 ? t.response_time_us.mean() / 1e6 : 0;
  step.concurrency = step.achieved_rps * mean_s;
  step.errors.clear();
  for (const auto& [code, n] : t.status_codes)
    if ((code >= 400 || code < 100) && n > 0) step.errors.emplace_back(std::to_string(code), n);
  for (std::size_t k = 0; k < error_kind_count; ++k)
    if (t.errors_by_kind[k] > 0)
      step.errors.emplace_back(std::string(error_kind_names[k]), t.errors_by_kind[k]);
}

}  // namespace strain::stress
