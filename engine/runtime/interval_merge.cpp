#include "engine/runtime/interval_merge.hpp"

#include <algorithm>
#include <utility>

namespace strain {
namespace {

bool is_arrival_executor(const ScenarioResult& s) {
  return s.executor == to_string(ExecutorKind::constant_arrival_rate) ||
         s.executor == to_string(ExecutorKind::ramping_arrival_rate);
}

std::string series_key(const RequestMetrics& m) {
  std::string key = m.name;
  for (const auto& [k, v] : m.tags)
    key.append("\x1f").append(k).append("=").append(v);
  return key;
}

}  // namespace

IntervalMerger::IntervalMerger(std::size_t workers, std::span<const Scenario> scenarios,
                               RunResult& result)
    : workers_(workers), live_workers_(workers), result_(result) {
  latest_.resize(workers);
  busy_.assign(workers, 0.0);
  // The timeline's whole bound, taken and touched now, as BucketGrid does: growing a point a
  // second it would raise strain's own RSS for the first hour of a run (about 0.7 MiB), which
  // a soak judges as strain leaking.
  result_.timeline.resize(kMaxTimelinePoints);
  result_.timeline.clear();
  for (const Scenario& s : scenarios) {
    ScenarioResult r;
    r.name = s.name;
    r.executor = to_string(s.executor);
    r.start_s = static_cast<double>(s.start_time.count()) / 1e9;
    result_.scenarios.push_back(std::move(r));
  }
}

bool IntervalMerger::add(WorkerReport report) {
  const std::uint64_t seq = report.sequence;
  Counters& latest = latest_[report.worker];
  latest.requests_started = report.interval.requests_started;
  latest.connects = report.interval.connects;
  latest.stale_retries = report.interval.stale_retries;
  latest.connect_backoffs = report.interval.connect_backoffs;
  Pending& p = pending_[seq];
  p.reports.push_back(std::move(report));
  return p.reports.size() >= live_workers_;
}

std::vector<std::uint64_t> IntervalMerger::drop_worker() {
  if (live_workers_ > 0) --live_workers_;
  return complete_sequences();
}

std::vector<std::uint64_t> IntervalMerger::complete_sequences() const {
  std::vector<std::uint64_t> out;
  for (const auto& [seq, p] : pending_) {
    if (p.reports.size() >= live_workers_) out.push_back(seq);
  }
  return out;
}

void IntervalMerger::add_series(RequestMetrics m) {
  const auto [it, added] = series_index_.emplace(series_key(m), result_.by_name.size());
  if (added)
    result_.by_name.push_back(std::move(m));
  else
    result_.by_name[it->second].add(m);
}

IntervalSnapshot IntervalMerger::close(std::uint64_t seq, double start_s, double length_s,
                                       double planned_s, bool draining) {
  Pending p = std::move(pending_[seq]);
  pending_.erase(seq);
  ++intervals_;
  IntervalSnapshot snap;
  snap.sequence = seq;
  snap.start_s = start_s;
  snap.length_s = length_s;
  snap.planned_s = planned_s;
  snap.draining = draining;
  snap.total.name = "total";
  // Closed scenarios keep no schedule: their (empty) histograms are not even made.
  const bool open = std::any_of(result_.scenarios.begin(), result_.scenarios.end(),
                                [](const ScenarioResult& s) { return is_arrival_executor(s); });
  if (open) snap.schedules.resize(result_.scenarios.size());
  std::vector<IterationCounts> iterations(result_.scenarios.size());
  std::map<std::string, std::size_t> index;  // this interval's series, merged over workers
  double busy = 0;
  for (WorkerReport& r : p.reports) {
    WorkerInterval& w = r.interval;
    snap.total.add(w.total);
    for (RequestMetrics& m : w.series) {
      const auto [it, added] = index.emplace(series_key(m), snap.by_name.size());
      // Copied, not moved: the report's histograms go back to the worker's stock (spent()).
      if (added)
        snap.by_name.push_back(m);
      else
        snap.by_name[it->second].add(m);
    }
    snap.script.add(w.script);
    for (std::size_t i = 0; i < w.scenarios.size() && i < iterations.size(); ++i) {
      if (w.scenarios[i].schedule && i < snap.schedules.size())
        snap.schedules[i].add(*w.scenarios[i].schedule);
      iterations[i].add(w.scenarios[i].iterations);
    }
    snap.loop_lag_us.add(r.loop_lag_us);
    snap.active_vus += w.active_vus;
    snap.in_flight += w.in_flight;
    busy += r.busy_fraction;
    busy_[r.worker] += r.busy_fraction;
  }
  snap.busy_fraction = p.reports.empty() ? 0.0 : busy / static_cast<double>(p.reports.size());
  for (const ScheduleStats& s : snap.schedules)
    snap.schedule.add(s);

  IntervalPoint& point = snap.point;
  point.start_s = start_s;
  point.length_s = length_s;
  point.responses = snap.total.responses;
  point.errors = snap.total.failed();
  const LatencySummary lat = summarize_us(snap.total.response_time_us);
  point.p50_ms = lat.p50;
  point.p99_ms = lat.p99;
  point.max_ms = lat.max;
  point.p90_ms = lat.p90;
  const LatencySummary service = summarize_us(snap.total.service_time_us);
  point.service_p50_ms = service.p50;
  point.service_p99_ms = service.p99;
  point.active_vus = snap.active_vus;
  point.errors_by_kind = snap.total.errors_by_kind;
  point.failed_status = snap.total.failed() - snap.total.transport_errors();
  const Histogram& lag = snap.schedule.schedule_lag_us;
  if (lag.total_count() > 0) {
    point.started = static_cast<std::uint64_t>(lag.total_count());  // one per start
    point.schedule_lag_p99_ms = static_cast<double>(lag.value_at_percentile(99.0)) / 1000.0;
  }

  // Fold into the run.
  result_.total.add(snap.total);
  for (const RequestMetrics& m : snap.by_name)
    add_series(m);
  result_.script.add(snap.script);
  for (std::size_t i = 0; i < result_.scenarios.size(); ++i) {
    ScenarioResult& sc = result_.scenarios[i];
    if (i < snap.schedules.size()) sc.schedule.accumulate(snap.schedules[i]);
    sc.iterations += iterations[i].completed;
    sc.iterations_failed += iterations[i].failed;
    sc.iterations_interrupted += iterations[i].interrupted;
  }
  result_.schedule.accumulate(snap.schedule);
  result_.generator.loop_lag_us.add(snap.loop_lag_us);
  append_point(result_.timeline, point);
  if (draining) result_.drained_responses += snap.total.responses;
  for (WorkerReport& r : p.reports)
    spent_.push_back(std::move(r));
  return snap;
}

std::uint64_t IntervalMerger::connects() const {
  std::uint64_t n = 0;
  for (const auto& w : latest_)
    n += w.connects;
  return n;
}

std::uint64_t IntervalMerger::stale_retries() const {
  std::uint64_t n = 0;
  for (const auto& w : latest_)
    n += w.stale_retries;
  return n;
}

std::uint64_t IntervalMerger::connect_backoffs() const {
  std::uint64_t n = 0;
  for (const auto& w : latest_)
    n += w.connect_backoffs;
  return n;
}

std::uint64_t IntervalMerger::requests_started() const {
  std::uint64_t n = 0;
  for (const auto& w : latest_)
    n += w.requests_started;
  return n;
}

}  // namespace strain
