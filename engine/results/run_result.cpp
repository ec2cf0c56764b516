#include "engine/results/run_result.hpp"

#include <algorithm>

namespace strain {

LatencySummary summarize_us(const Histogram& h) {
  LatencySummary s;
  if (h.total_count() == 0) return s;
  auto ms = [](double us) { return us / 1000.0; };
  s.min = ms(static_cast<double>(h.min()));
  s.mean = ms(h.mean());
  s.p50 = ms(static_cast<double>(h.value_at_percentile(50.0)));
  s.p90 = ms(static_cast<double>(h.value_at_percentile(90.0)));
  s.p95 = ms(static_cast<double>(h.value_at_percentile(95.0)));
  s.p99 = ms(static_cast<double>(h.value_at_percentile(99.0)));
  s.p999 = ms(static_cast<double>(h.value_at_percentile(99.9)));
  s.max = ms(static_cast<double>(h.max()));
  s.stddev = ms(h.stddev());
  return s;
}

std::uint64_t RequestMetrics::transport_errors() const {
  std::uint64_t n = 0;
  for (std::size_t i = 1; i < errors_by_kind.size(); ++i)
    n += errors_by_kind[i];
  return n;
}

std::uint64_t RequestMetrics::rate_limited() const {
  const auto it = status_codes.find(429);
  return it == status_codes.end() ? 0 : it->second;
}

std::uint64_t RequestMetrics::failed() const {
  return transport_errors() + status_classes[0] + status_classes[4] - rate_limited() +
         status_classes[5];
}

std::uint64_t RequestMetrics::saturated() const {
  return static_cast<std::uint64_t>(response_time_us.saturated_count() +
                                    service_time_us.saturated_count());
}

void ScheduleStats::add(const ScheduleStats& other) {
  due += other.due;
  started += other.started;
  waited += other.waited;
  overflow += other.overflow;
  unstarted_at_stop += other.unstarted_at_stop;
  peak_backlog += other.peak_backlog;
  peak_vus += other.peak_vus;
  if (other.schedule_lag_us.total_count() > 0) schedule_lag_us.add(other.schedule_lag_us);
  if (other.dispatch_lag_us.total_count() > 0) dispatch_lag_us.add(other.dispatch_lag_us);
}

void ScheduleStats::accumulate(const ScheduleStats& later) {
  const std::uint64_t backlog = std::max(peak_backlog, later.peak_backlog);
  const std::uint64_t vus = std::max(peak_vus, later.peak_vus);
  add(later);
  peak_backlog = backlog;
  peak_vus = vus;
}

const char* to_string(CustomMetricKind kind) noexcept {
  switch (kind) {
    case CustomMetricKind::counter:
      return "counter";
    case CustomMetricKind::rate:
      return "rate";
    case CustomMetricKind::trend:
      return "trend";
  }
  return "counter";
}

void CustomMetric::add(const CustomMetric& other) {
  sum += other.sum;
  count += other.count;
  nonzero += other.nonzero;
  if (other.values_milli.total_count() > 0) values_milli.add(other.values_milli);
}

bool ScriptStats::empty() const noexcept {
  return iterations == 0 && iterations_failed == 0 && iterations_interrupted == 0 &&
         untracked_names == 0 && checks.empty() && metrics.empty() && errors.empty();
}

void ScriptStats::add(const ScriptStats& other) {
  iterations += other.iterations;
  iterations_failed += other.iterations_failed;
  iterations_interrupted += other.iterations_interrupted;
  untracked_names += other.untracked_names;
  // Linear lookups: a script has tens of checks and metrics, and this runs once a second.
  for (const CheckTally& c : other.checks) {
    auto it = std::find_if(checks.begin(), checks.end(),
                           [&](const CheckTally& mine) { return mine.name == c.name; });
    if (it == checks.end()) {
      checks.push_back(c);
    } else {
      it->passes += c.passes;
      it->fails += c.fails;
    }
  }
  for (const CustomMetric& m : other.metrics) {
    auto it = std::find_if(metrics.begin(), metrics.end(),
                           [&](const CustomMetric& mine) { return mine.name == m.name; });
    if (it == metrics.end())
      metrics.push_back(m);
    else
      it->add(m);
  }
  for (const ScriptErrorTally& e : other.errors) {
    auto it = std::find_if(errors.begin(), errors.end(),
                           [&](const ScriptErrorTally& mine) { return mine.message == e.message; });
    if (it != errors.end()) {
      it->count += e.count;
    } else if (errors.size() < max_distinct_errors) {  // at most max_distinct_errors + 1 kept
      errors.push_back(e);
    } else {
      // Bounded: a script that formats ids into its error messages gets one catch-all line.
      auto more = std::find_if(errors.begin(), errors.end(), [](const ScriptErrorTally& mine) {
        return mine.message == "(more distinct errors)";
      });
      if (more == errors.end()) {
        errors.push_back(ScriptErrorTally{"(more distinct errors)", "", e.count});  // the +1
      } else {
        more->count += e.count;
      }
    }
  }
}

void RequestMetrics::add(const RequestMetrics& other) {
  response_time_us.add(other.response_time_us);
  service_time_us.add(other.service_time_us);
  responses += other.responses;
  for (std::size_t i = 0; i < status_classes.size(); ++i)
    status_classes[i] += other.status_classes[i];
  for (const auto& [code, count] : other.status_codes)
    status_codes[code] += count;
  for (std::size_t i = 0; i < errors_by_kind.size(); ++i)
    errors_by_kind[i] += other.errors_by_kind[i];
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
}

void append_point(std::vector<IntervalPoint>& timeline, const IntervalPoint& point,
                  std::size_t max_points) {
  if (max_points >= 2 && timeline.size() >= max_points) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i + 1 < timeline.size(); i += 2) {
      const IntervalPoint& a = timeline[i];
      const IntervalPoint& b = timeline[i + 1];
      IntervalPoint m = a;
      m.length_s = b.start_s + b.length_s - a.start_s;
      m.responses = a.responses + b.responses;
      m.errors = a.errors + b.errors;
      m.started = a.started + b.started;
      m.p50_ms = m.responses > 0 ? (a.p50_ms * static_cast<double>(a.responses) +
                                    b.p50_ms * static_cast<double>(b.responses)) /
                                       static_cast<double>(m.responses)
                                 : 0.0;
      m.p99_ms = std::max(a.p99_ms, b.p99_ms);
      m.max_ms = std::max(a.max_ms, b.max_ms);
      m.schedule_lag_p99_ms = std::max(a.schedule_lag_p99_ms, b.schedule_lag_p99_ms);
      m.p90_ms = std::max(a.p90_ms, b.p90_ms);
      m.service_p50_ms = m.responses > 0 ? (a.service_p50_ms * static_cast<double>(a.responses) +
                                            b.service_p50_ms * static_cast<double>(b.responses)) /
                                               static_cast<double>(m.responses)
                                         : 0.0;
      m.service_p99_ms = std::max(a.service_p99_ms, b.service_p99_ms);
      m.active_vus = std::max(a.active_vus, b.active_vus);
      m.failed_status = a.failed_status + b.failed_status;
      for (std::size_t k = 0; k < m.errors_by_kind.size(); ++k)
        m.errors_by_kind[k] = a.errors_by_kind[k] + b.errors_by_kind[k];
      timeline[kept++] = m;
    }
    if (timeline.size() % 2 == 1) timeline[kept++] = timeline.back();
    timeline.resize(kept);
  }
  timeline.push_back(point);
}

void PhaseMetrics::add(const PhaseMetrics& o) {
  blocked_us.add(o.blocked_us);
  connecting_us.add(o.connecting_us);
  tls_handshaking_us.add(o.tls_handshaking_us);
  waiting_us.add(o.waiting_us);
  receiving_us.add(o.receiving_us);
}

}  // namespace strain
