#include "reporters/metrics_families.hpp"

#include <prometheus/metric_family.h>

#include <cstdio>

namespace strain::live_metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

double us_to_s(std::int64_t us) {
  return static_cast<double>(us) / 1e6;
}

// Builds the families in order; HELP texts must hold no backslash or newline, since
// prometheus-cpp writes them unescaped.
class Families {
 public:
  MetricFamily& family(const char* name, const char* help, MetricType type) {
    out_.push_back(MetricFamily{name, help, type, {}});
    return out_.back();
  }
  void counter(const char* name, const char* help, std::uint64_t value) {
    counter_sample(family(name, help, MetricType::Counter), {}, value);
  }
  void gauge(const char* name, const char* help, double value) {
    gauge_sample(family(name, help, MetricType::Gauge), {}, value);
  }
  static void counter_sample(MetricFamily& f, Labels labels, std::uint64_t value) {
    ClientMetric m;
    m.label = std::move(labels);
    // Exact below 2^53: more requests than any run makes.
    m.counter.value = static_cast<double>(value);
    f.metric.push_back(std::move(m));
  }
  static void gauge_sample(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  }
  void summary(const char* name, const char* help, const Quantiles& q) {
    ClientMetric m;
    m.summary.sample_count = q.count;
    m.summary.sample_sum = q.sum_s;
    m.summary.quantile = {{0.5, q.p50_s}, {0.9, q.p90_s}, {0.99, q.p99_s}, {1.0, q.max_s}};
    family(name, help, MetricType::Summary).metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> take() { return std::move(out_); }

 private:
  std::vector<MetricFamily> out_;
};

void render_counters(Families& f, const State& s) {
  const Counters& c = s.counters;
  f.counter("strain_requests_total", "Complete HTTP responses received, any status", c.responses);
  MetricFamily& classes = f.family("strain_responses_total",
                                   "Complete HTTP responses by status class", MetricType::Counter);
  const char* class_names[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < c.status_classes.size(); ++i)
    Families::counter_sample(classes, {{"class", class_names[i]}}, c.status_classes[i]);
  // Every kind from the start, zeros included: a rate() over a series that appears late
  // misses its first increase.
  MetricFamily& errors = f.family("strain_errors_total",
                                  "Requests without a complete response, by kind (dropped "
                                  "arrivals and abandoned requests included)",
                                  MetricType::Counter);
  for (std::size_t i = 1; i < c.errors_by_kind.size(); ++i)
    Families::counter_sample(errors, {{"kind", std::string(error_kind_names[i])}},
                             c.errors_by_kind[i]);
  f.counter("strain_requests_failed_total",
            "Failed requests: no response, or status 400 and above except 429, or outside "
            "100 to 599",
            c.failed);
  f.counter("strain_responses_rate_limited_total",
            "Responses with status 429, not counted as failed", c.rate_limited);
  f.counter("strain_bytes_received_total", "Response bytes read", c.bytes_in);
  f.counter("strain_bytes_sent_total", "Request bytes written", c.bytes_out);
  if (s.open_model) {
    f.counter("strain_arrivals_due_total", "Open model: arrivals due in the load phase",
              c.arrivals_due);
    f.counter("strain_arrivals_started_total", "Open model: arrivals that began an iteration",
              c.arrivals_started);
    f.counter("strain_arrivals_dropped_total",
              "Open model: arrivals never started, the same as strain_errors_total of kind "
              "dropped",
              c.errors_by_kind[static_cast<std::size_t>(ErrorKind::dropped)]);
  }
  if (s.scripted) {
    MetricFamily& it = f.family("strain_iterations_total", "Script iterations by how they ended",
                                MetricType::Counter);
    Families::counter_sample(it, {{"outcome", "completed"}}, c.iterations);
    Families::counter_sample(it, {{"outcome", "failed"}}, c.iterations_failed);
    Families::counter_sample(it, {{"outcome", "interrupted"}}, c.iterations_interrupted);
    MetricFamily& checks =
        f.family("strain_checks_total", "Script checks by result", MetricType::Counter);
    Families::counter_sample(checks, {{"result", "pass"}}, c.check_passes);
    Families::counter_sample(checks, {{"result", "fail"}}, c.check_fails);
  }
}

void render_gauges(Families& f, const State& s) {
  f.summary("strain_response_time_seconds",
            "Completion minus intended start; quantiles of the last interval, NaN when it had "
            "no responses",
            s.response_time);
  f.summary("strain_service_time_seconds",
            "Completion minus actual send; quantiles of the last interval", s.service_time);
  if (s.open_model) {
    f.summary("strain_schedule_lag_seconds",
              "Open model: actual start minus intended start; quantiles of the last interval",
              s.schedule_lag);
  }
  f.summary("strain_event_loop_lag_seconds",
            "Lateness of the workers' 10 ms probe timer; quantiles of the last interval",
            s.loop_lag);
  f.gauge("strain_vus_active", "VUs in an iteration at the last interval's end", s.active_vus);
  f.gauge("strain_in_flight", "Requests in flight at the last interval's end",
          static_cast<double>(s.in_flight));
  f.gauge("strain_generator_busy_ratio", "The workers' mean CPU busy fraction in the last interval",
          s.busy_ratio);
  f.gauge("strain_run_elapsed_seconds", "Run time at the last interval's end", s.elapsed_s);
  f.gauge("strain_run_planned_seconds", "The planned load phase", s.planned_s);
  f.gauge("strain_run_draining", "1 once the load phase is over", s.draining ? 1 : 0);
  f.gauge("strain_run_finished", "1 once the final result is in: counters are final",
          s.finished ? 1 : 0);
  if (!s.command.empty()) {
    MetricFamily& info =
        f.family("strain_run_info", "The command and load model, as labels", MetricType::Gauge);
    Families::gauge_sample(info, {{"command", s.command}, {"executor", s.executor}}, 1);
  }
}

void render_stress(Families& f, const StressState& st) {
  f.gauge("strain_stress_step", "The search's steps begun", st.step);
  if (st.vus)
    f.gauge("strain_stress_offered_vus", "VUs the search offers now", st.level);
  else
    f.gauge("strain_stress_offered_requests_per_second", "The rate the search offers now",
            st.level);
  // A state set: one series per phase, 1 on the current one.
  MetricFamily& phase =
      f.family("strain_stress_phase", "1 on the search's current phase", MetricType::Gauge);
  for (const char* p : {"warming", "judging", "cooling", "done"})
    Families::gauge_sample(phase, {{"phase", p}}, st.phase == p ? 1 : 0);
  if (st.max_sustainable_rps) {
    f.gauge("strain_stress_max_sustainable_requests_per_second",
            "The highest throughput that held the SLO (final)", *st.max_sustainable_rps);
  }
  if (st.max_sustainable_vus) {
    f.gauge("strain_stress_max_sustainable_vus", "The most VUs that held the SLO (final)",
            *st.max_sustainable_vus);
  }
}

void render_soak(Families& f, const std::vector<SoakFigures>& soak) {
  if (soak.empty()) return;
  MetricFamily& slope =
      f.family("strain_soak_slope_per_hour",
               "Judged trend of a watched series, in its unit per hour (final)", MetricType::Gauge);
  MetricFamily& floor =
      f.family("strain_soak_floor", "A watched series' floor in its last bucket, in its unit",
               MetricType::Gauge);
  MetricFamily& peak =
      f.family("strain_soak_peak", "A watched series' peak in its last bucket, in its unit",
               MetricType::Gauge);
  for (const SoakFigures& e : soak) {
    const Labels labels{{"component", e.component}, {"resource", e.resource}, {"unit", e.unit}};
    if (e.slope_per_hour) Families::gauge_sample(slope, labels, *e.slope_per_hour);
    if (e.floor) Families::gauge_sample(floor, labels, *e.floor);
    if (e.peak) Families::gauge_sample(peak, labels, *e.peak);
  }
}

SoakFigures& find_series(std::vector<SoakFigures>& all, const std::string& component,
                         const std::string& resource) {
  for (SoakFigures& e : all)
    if (e.component == component && e.resource == resource) return e;
  all.push_back(SoakFigures{component, resource, "", {}, {}, {}});
  return all.back();
}

void add_verdicts(std::vector<SoakFigures>& all, const std::vector<SoakVerdict>& verdicts) {
  for (const SoakVerdict& v : verdicts) {
    SoakFigures& e = find_series(all, v.component, v.resource);
    if (e.unit.empty()) e.unit = v.unit;
    e.slope_per_hour = v.slope_per_hour;
  }
}

}  // namespace

void Counters::add(const RequestMetrics& total, const ScheduleStats& schedule,
                   const ScriptStats& script) {
  responses += total.responses;
  for (std::size_t i = 0; i < status_classes.size(); ++i)
    status_classes[i] += total.status_classes[i];
  for (std::size_t i = 0; i < errors_by_kind.size(); ++i)
    errors_by_kind[i] += total.errors_by_kind[i];
  failed += total.failed();
  rate_limited += total.rate_limited();
  bytes_in += total.bytes_in;
  bytes_out += total.bytes_out;
  arrivals_due += schedule.due;
  arrivals_started += schedule.started;
  iterations += script.iterations;
  iterations_failed += script.iterations_failed;
  iterations_interrupted += script.iterations_interrupted;
  for (const CheckTally& c : script.checks) {
    check_passes += c.passes;
    check_fails += c.fails;
  }
}

void Quantiles::on_interval(const Histogram& interval_us) {
  const std::int64_t n = interval_us.total_count();
  if (n == 0) {
    p50_s = p90_s = p99_s = max_s = kNone;
    return;
  }
  p50_s = us_to_s(interval_us.value_at_percentile(50));
  p90_s = us_to_s(interval_us.value_at_percentile(90));
  p99_s = us_to_s(interval_us.value_at_percentile(99));
  max_s = us_to_s(interval_us.max());
  count += static_cast<std::uint64_t>(n);
  sum_s += interval_us.mean() * static_cast<double>(n) / 1e6;
}

std::optional<StressState> parse_stress_state(const std::string& line) {
  StressState st;
  std::size_t step = 0;
  int used = 0;
  // The two shapes StressSession::state() writes: "step N at R/s: P" and "step N at V VUs: P".
  if (std::sscanf(line.c_str(), "step %zu at %lf%n", &step, &st.level, &used) != 2)
    return std::nullopt;
  std::string rest = line.substr(static_cast<std::size_t>(used));
  if (rest.rfind("/s: ", 0) == 0) {
    st.phase = rest.substr(4);
  } else if (rest.rfind(" VUs: ", 0) == 0) {
    st.vus = true;
    st.phase = rest.substr(6);
  } else {
    return std::nullopt;
  }
  st.step = static_cast<std::uint32_t>(step);
  return st;
}

void fold_interval(State& state, const IntervalSnapshot& snap, const RunResult& so_far,
                   const std::string& stress_state) {
  state.counters.add(snap.total, snap.schedule, snap.script);
  state.response_time.on_interval(snap.total.response_time_us);
  state.service_time.on_interval(snap.total.service_time_us);
  state.loop_lag.on_interval(snap.loop_lag_us);
  if (!snap.schedules.empty()) {
    state.open_model = true;
    state.schedule_lag.on_interval(snap.schedule.schedule_lag_us);
  }
  state.scripted = state.scripted || !so_far.config.script.empty() || !snap.script.empty();
  state.command = so_far.config.command;
  state.executor = so_far.config.executor;
  state.elapsed_s = snap.start_s + snap.length_s;
  state.planned_s = snap.planned_s;
  state.draining = snap.draining;
  state.active_vus = snap.active_vus;
  state.in_flight = snap.in_flight;
  state.busy_ratio = snap.busy_fraction;
  if (auto st = parse_stress_state(stress_state)) state.stress = std::move(st);
}

void fold_soak_verdicts(State& state, const std::vector<SoakVerdict>& so_far) {
  add_verdicts(state.soak, so_far);
}

bool fold_result(State& state, const RunResult& result) {
  Counters final_counts;
  final_counts.add(result.total, result.schedule, result.script);
  const bool added_up = final_counts == state.counters;
  state.counters = final_counts;
  state.finished = true;
  state.draining = true;
  state.in_flight = 0;
  state.active_vus = 0;
  if (result.stress) {
    if (!state.stress) state.stress = StressState{};
    state.stress->max_sustainable_rps = result.stress->max_sustainable_rps;
    state.stress->max_sustainable_vus = result.stress->max_sustainable_vus;
    state.stress->phase = "done";
  }
  state.soak.clear();
  if (result.soak) {
    for (const SoakSeries& s : result.soak->series) {
      SoakFigures& e = find_series(state.soak, s.component, s.resource);
      e.unit = s.unit;
      if (!s.min.empty()) e.floor = s.min.back();
      if (!s.max.empty()) e.peak = s.max.back();
    }
    add_verdicts(state.soak, result.soak->verdicts);
  }
  return added_up;
}

std::vector<MetricFamily> render(const State& state) {
  Families f;
  render_counters(f, state);
  render_gauges(f, state);
  if (state.stress) render_stress(f, *state.stress);
  render_soak(f, state.soak);
  return f.take();
}

}  // namespace strain::live_metrics
