#include "engine/soak/soak_recorder.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "engine/soak/verdict.hpp"
#include "engine/watch/watch_spec.hpp"

namespace strain::soak {
namespace {

// The least rise of strain's own memory, over the span judged, that can be a leak: above the
// pages it takes as it starts (measured in 50 s soaks at 300/s: 150-250 KiB after the warm-up,
// private RSS, fixed allocator thresholds), far below any leak worth the name (a script
// hoarding 16 KiB per iteration at 50/s passes it in a second).
constexpr double kSelfMinRiseBytes = 1024.0 * 1024.0;

bool is_disk(const std::string& resource) {
  return resource == "disk_bytes" || resource == "files";
}

// What a leak is judged on to fail a run: a target's memory or its descriptors.
bool memory_or_fds(const std::string& resource, const std::string& unit) {
  return resource == "fds" || (unit == "bytes" && !is_disk(resource) &&
                               resource.find("read_bytes") == std::string::npos &&
                               resource.find("write_bytes") == std::string::npos);
}

std::optional<double> matching(const std::vector<ResourceValue>& values,
                               const std::string& resource) {
  for (const ResourceValue& v : values)
    if (key_matches(v.key, resource)) return v.value;
  return std::nullopt;
}

SoakVerdict from_trend(const TrendVerdict& t) {
  SoakVerdict v;
  v.verdict = std::string(verdict_name(t.verdict));
  v.slope_per_hour = t.slope_per_hour;
  v.ci_low = t.ci_low_per_hour;
  v.ci_high = t.ci_high_per_hour;
  v.p_value = t.p_value;
  v.samples = t.samples;
  v.points = t.points;
  v.level = t.level;
  v.budget_broken = t.budget_broken;
  v.reason = t.reason;
  return v;
}

}  // namespace

SoakRecorder::SoakRecorder(std::vector<WatcherInfo> watchers, SoakOptions options)
    : options_(std::move(options)) {
  watchers_.reserve(watchers.size());
  for (WatcherInfo& w : watchers)
    watchers_.push_back(WatcherState{std::move(w), 0, std::nullopt, {}, {}});
}

SoakRecorder::Series* SoakRecorder::series_for(std::size_t watcher, const watch::Reading& r) {
  WatcherState& w = watchers_[watcher];
  for (const auto& [resource, index] : w.series)
    if (resource == r.resource) return series_[index].get();
  if (series_.size() >= kMaxSeries) return nullptr;  // bounded: later resources are not kept
  auto s = std::make_unique<Series>();
  // One bucket per sample to begin with: the floor's windows are chosen from the samples.
  s->values = FloorSeries(512, std::chrono::duration<double>(options_.sample_every).count());
  s->watcher = watcher;
  s->resource = r.resource;
  s->unit = r.unit;
  s->kind = r.kind;
  w.series.emplace_back(r.resource, series_.size());
  series_.push_back(std::move(s));
  return series_.back().get();
}

void SoakRecorder::close_gap(WatcherState& w, double t_s) {
  if (!w.open_gap) return;
  SoakGap gap = std::move(*w.open_gap);
  w.open_gap.reset();
  gap.to_s = t_s;
  // Pairs of points are only formed within a segment: nothing is fitted across a gap.
  ++w.segment;
  if (gaps_.size() < kMaxEvents)
    gaps_.push_back(std::move(gap));
  else
    ++gaps_left_out_;
}

void SoakRecorder::on_sample(double t_s, std::size_t watcher, const watch::Sample& sample) {
  std::lock_guard lock(sampler_mutex_);
  if (t_s < 0 || watcher >= watchers_.size()) return;
  last_sample_s_ = std::max(last_sample_s_, t_s);
  WatcherState& w = watchers_[watcher];
  if (sample.readings.empty()) {
    if (w.open_gap) {
      ++w.open_gap->samples;
      w.open_gap->to_s = t_s;
    } else {
      w.open_gap = SoakGap{w.info.component, t_s, t_s, 1, sample.gap_reason};
    }
    return;
  }
  close_gap(w, t_s);
  if (sample.restarted_pid) {
    if (restarts_.size() < kMaxEvents)
      restarts_.push_back(SoakRestart{w.info.component, t_s, *sample.restarted_pid});
    ++w.segment;
    // A new process's counters start again from zero.
    for (auto& s : series_)
      if (s->watcher == watcher) s->last_value.reset();
  }
  if (w.info.source == "self") {
    for (const watch::Reading& r : sample.readings)
      if (r.resource == watch::kConnectionsReading && std::isfinite(r.value))
        connections_ = r.value;
  }
  for (const watch::Reading& r : sample.readings) {
    Series* s = series_for(watcher, r);
    if (s == nullptr || !std::isfinite(r.value)) continue;
    if (s->kind == watch::Kind::gauge) {
      s->values.add(t_s, r.value, w.segment);
      if (r.resource == "fds" && connections_) {
        if (!s->net_of_connections)
          s->net_of_connections.emplace(
              512, std::chrono::duration<double>(options_.sample_every).count());
        s->net_of_connections->add(t_s, r.value - *connections_, w.segment);
      }
      continue;
    }
    // Counters are charted as rates; a counter that went down was reset (a restart).
    if (s->last_value && t_s > s->last_t_s && r.value >= *s->last_value)
      s->values.add(t_s, (r.value - *s->last_value) / (t_s - s->last_t_s), w.segment);
    s->last_value = r.value;
    s->last_t_s = t_s;
  }
}

void SoakRecorder::on_limits(std::size_t watcher, const std::vector<watch::Limit>& limits) {
  std::lock_guard lock(sampler_mutex_);
  if (watcher < watchers_.size()) watchers_[watcher].limits = limits;
}

void SoakRecorder::on_round(double sampler_cpu_s) {
  std::lock_guard lock(sampler_mutex_);
  ++rounds_;
  sampler_cpu_s_ = sampler_cpu_s;
}

void SoakRecorder::on_interval(double start_s, double length_s, const RequestMetrics& total,
                               bool draining) {
  std::optional<double> p99_ms;
  if (total.response_time_us.total_count() > 0)
    p99_ms = static_cast<double>(total.response_time_us.value_at_percentile(99.0)) / 1000.0;
  on_interval_figures(start_s, length_s, total.attempts(), total.failed(), p99_ms, draining);
}

void SoakRecorder::on_interval_figures(double start_s, double length_s, std::uint64_t attempts,
                                       std::uint64_t failed, std::optional<double> p99_ms,
                                       bool draining) {
  if (draining || length_s <= 0) return;
  const double mid_s = start_s + length_s / 2;
  last_interval_end_s_ = start_s + length_s;
  if (attempts == 0) return;
  error_rate_.add(mid_s, static_cast<double>(failed) / static_cast<double>(attempts));
  if (p99_ms) latency_p99_.add(mid_s, *p99_ms);
}

SoakVerdict SoakRecorder::judge_series(const Series& s, double warmup_s) const {
  const WatcherState& w = watchers_[s.watcher];
  TrendOptions o;
  o.kind = is_disk(s.resource) ? SeriesKind::disk : SeriesKind::resource;
  o.warmup_end_s = warmup_s;
  o.unit = s.unit;
  o.budget_per_hour = matching(options_.budgets, s.resource);
  std::string limit_source;
  if (auto limit = matching(options_.limits, s.resource)) {
    o.limit = limit;
    limit_source = "--limit";
  } else {
    for (const watch::Limit& l : w.limits) {
      if (l.resource == s.resource) {
        o.limit = l.value;
        limit_source = l.source;
        break;
      }
    }
  }
  // strain's own memory: its start-up growth is not a leak until it adds up (verdict.hpp).
  if (w.info.source == "self" && s.unit == "bytes") o.min_rise = kSelfMinRiseBytes;
  TrendVerdict t = judge_trend(s.values, o);
  if ((t.verdict == Verdict::leak || t.budget_broken) && s.net_of_connections) {
    // An open-model run that meets a slow spell opens connections and keeps them: strain's
    // descriptors and the target's rise by one each, a staircase. The leak stands only if the
    // descriptors rise net of strain's connections too; a real leak shows in both.
    TrendVerdict net = judge_trend(*s.net_of_connections, o);
    if (net.verdict != Verdict::leak && !net.budget_broken) {
      net.reason = "net of the connections strain holds open, " + net.reason +
                   "; counted with them, " + t.reason +
                   ": the connections strain opened during the run account for the rise";
      t = std::move(net);
    }
  }
  SoakVerdict v = from_trend(t);
  v.component = w.info.component;
  v.source = w.info.source;
  v.resource = s.resource;
  v.unit = s.unit;
  v.budget_per_hour = o.budget_per_hour;
  if (o.limit && t.hours_to_limit)
    v.projection = SoakProjection{*o.limit, limit_source, *t.hours_to_limit};
  // strain's own figures are judged the same way, but a leak of strain's is not the target's
  // failure: it is reported, not turned into the target's exit code.
  const bool target = w.info.source != "self";
  v.fails_run = target && ((t.verdict == Verdict::leak && memory_or_fds(s.resource, s.unit)) ||
                           t.budget_broken);
  return v;
}

SoakVerdict SoakRecorder::judge_drift(const DriftSeries& d, const std::string& resource,
                                      const std::string& unit, double warmup_s) const {
  TrendOptions o;
  o.kind = resource == "error_rate" ? SeriesKind::error_rate : SeriesKind::latency;
  o.warmup_end_s = warmup_s;
  o.unit = unit;
  SoakVerdict v = from_trend(judge_trend(d, o));
  v.component = "run";
  v.source = "run";
  v.resource = resource;
  v.unit = unit;
  return v;
}

SoakReport SoakRecorder::report(double planned_s) const {
  std::lock_guard lock(sampler_mutex_);
  SoakReport r;
  r.judged = options_.judged;
  r.sample_every_s = std::chrono::duration<double>(options_.sample_every).count();
  r.warmup_s = warmup_seconds(options_, planned_s);
  r.sample_rounds = rounds_;
  r.sampler_cpu_s = sampler_cpu_s_;
  r.gaps = gaps_;
  for (const WatcherState& w : watchers_) {
    if (!w.open_gap) continue;
    if (r.gaps.size() < kMaxEvents)
      r.gaps.push_back(*w.open_gap);
    else
      ++r.gaps_left_out;
  }
  std::sort(r.gaps.begin(), r.gaps.end(),
            [](const SoakGap& a, const SoakGap& b) { return a.from_s < b.from_s; });
  r.gaps_left_out += gaps_left_out_;
  r.restarts = restarts_;
  for (const auto& s : series_) {
    SoakSeries chart;
    chart.component = watchers_[s->watcher].info.component;
    chart.resource = s->kind == watch::Kind::counter ? s->resource + "_per_s" : s->resource;
    chart.unit = s->unit;
    chart.bucket_s = s->values.bucket_width_s();
    for (const FloorBucket& b : s->values.buckets()) {
      chart.t_s.push_back(b.t_min_s);
      chart.min.push_back(b.min);
      chart.max.push_back(b.max);
    }
    r.series.push_back(std::move(chart));
    // strain's connection count is what descriptors are judged net of, not a resource.
    const bool covariate =
        s->resource == watch::kConnectionsReading && watchers_[s->watcher].info.source == "self";
    if (options_.judged && s->kind == watch::Kind::gauge && !covariate)
      r.verdicts.push_back(judge_series(*s, r.warmup_s));
  }
  if (options_.judged) {
    r.verdicts.push_back(judge_drift(latency_p99_, "latency_p99", "ms", r.warmup_s));
    r.verdicts.push_back(judge_drift(error_rate_, "error_rate", "fraction", r.warmup_s));
  }
  return r;
}

}  // namespace strain::soak
