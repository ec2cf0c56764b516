#include "engine/results/json_parts.hpp"

#include <map>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/metrics/hdr_codec.hpp"

namespace strain::result_json {

json latency_json(const Histogram& h) {
  const LatencySummary s = summarize_us(h);
  return json{{"min", s.min},       {"mean", s.mean},
              {"p50", s.p50},       {"p90", s.p90},
              {"p95", s.p95},       {"p99", s.p99},
              {"p999", s.p999},     {"max", s.max},
              {"stddev", s.stddev}, {"count", h.total_count()}};
}

json metrics_json(const RequestMetrics& m) {
  json errors = json::object();
  for (std::size_t i = 1; i < m.errors_by_kind.size(); ++i) {
    errors[std::string(error_kind_names[i])] = m.errors_by_kind[i];
  }
  json classes = json::object();
  const char* class_names[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < m.status_classes.size(); ++i)
    classes[class_names[i]] = m.status_classes[i];
  json codes = json::object();
  for (const auto& [code, count] : m.status_codes)
    codes[std::to_string(code)] = count;
  json tags = json::object();
  for (const auto& [tag, value] : m.tags)
    tags[tag] = value;
  return json{
      {"name", m.name},
      {"tags", tags},
      {"responses", m.responses},
      {"failed", m.failed()},
      {"status_classes", classes},
      {"status_codes", codes},
      {"errors", errors},
      {"bytes_in", m.bytes_in},
      {"bytes_out", m.bytes_out},
      {"response_time_ms", latency_json(m.response_time_us)},
      {"service_time_ms", latency_json(m.service_time_us)},
      // Lossless: HdrHistogram V2 compressed, base64 — the same payload as an .hlog line.
      {"histograms",
       {{"unit", "us"},
        {"response_time", to_base64_compressed(m.response_time_us)},
        {"service_time", to_base64_compressed(m.service_time_us)},
        // The encoding does not carry how many values were above the top (1 h) and kept there.
        {"response_time_saturated", m.response_time_us.saturated_count()},
        {"service_time_saturated", m.service_time_us.saturated_count()}}},
  };
}

[[noreturn]] void bad_field(const std::string& field, const std::string& why) {
  throw Error("result file: field '" + field + "': " + why, ExitCode::bad_usage);
}

const json& need(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) bad_field(where + key, "missing");
  return *it;
}

RequestMetrics metrics_from_json(const json& j, const std::string& where) {
  RequestMetrics m;
  m.name = get_as<std::string>(j, "name", where);
  m.tags = get_or<std::map<std::string, std::string>>(j, "tags", where, {});
  m.responses = get_as<std::uint64_t>(j, "responses", where);
  m.bytes_in = get_as<std::uint64_t>(j, "bytes_in", where);
  m.bytes_out = get_as<std::uint64_t>(j, "bytes_out", where);
  const json& classes = need(j, "status_classes", where);
  const char* class_names[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < m.status_classes.size(); ++i) {
    m.status_classes[i] = get_as<std::uint64_t>(classes, class_names[i], where + "status_classes.");
  }
  for (const auto& [code, count] : need(j, "status_codes", where).items()) {
    int value = 0;
    try {
      value = std::stoi(code);
    } catch (const std::exception&) {
      bad_field(where + "status_codes." + code, "not a status code");
    }
    if (value < 0 || value > 999) bad_field(where + "status_codes." + code, "out of range");
    m.status_codes[value] = value_as<std::uint64_t>(count, where + "status_codes." + code);
  }
  const json& errors = need(j, "errors", where);
  for (std::size_t i = 1; i < m.errors_by_kind.size(); ++i) {
    const std::string key(error_kind_names[i]);
    if (auto it = errors.find(key); it != errors.end())
      m.errors_by_kind[i] = value_as<std::uint64_t>(*it, where + "errors." + key);
  }
  const json& hist = need(j, "histograms", where);
  const std::string hwhere = where + "histograms.";
  if (get_as<std::string>(hist, "unit", hwhere) != "us")
    bad_field(hwhere + "unit", "must be \"us\"");
  try {
    m.response_time_us = from_base64_compressed(get_as<std::string>(hist, "response_time", hwhere));
    m.service_time_us = from_base64_compressed(get_as<std::string>(hist, "service_time", hwhere));
  } catch (const Error& e) {
    bad_field(hwhere + "*", e.what());
  }
  m.response_time_us.restore_saturated_count(
      get_or<std::int64_t>(hist, "response_time_saturated", hwhere, 0));
  m.service_time_us.restore_saturated_count(
      get_or<std::int64_t>(hist, "service_time_saturated", hwhere, 0));
  return m;
}

// Trend values in the metric's own unit (the histogram holds value × 1000).
double unmilli(std::int64_t v) {
  return static_cast<double>(v) / 1000.0;
}

json custom_metric_json(const CustomMetric& m) {
  json j{{"name", m.name},
         {"kind", to_string(m.kind)},
         {"sum", m.sum},
         {"count", m.count},
         {"nonzero", m.nonzero}};
  if (m.kind == CustomMetricKind::trend) {
    const Histogram& h = m.values_milli;
    // Convenience figures for readers of the file; the histogram is the source of truth.
    j["avg"] = m.count > 0 ? m.sum / static_cast<double>(m.count) : 0.0;
    j["p50"] = unmilli(h.value_at_percentile(50));
    j["p90"] = unmilli(h.value_at_percentile(90));
    j["p95"] = unmilli(h.value_at_percentile(95));
    j["p99"] = unmilli(h.value_at_percentile(99));
    j["max"] = unmilli(h.max());
    j["histogram"] = {
        {"unit", "milli"}, {"values", to_base64_compressed(h)}, {"saturated", h.saturated_count()}};
  }
  return j;
}

json script_json(const ScriptStats& s) {
  json checks = json::array();
  for (const CheckTally& c : s.checks)
    checks.push_back({{"name", c.name}, {"passes", c.passes}, {"fails", c.fails}});
  json metrics = json::array();
  for (const CustomMetric& m : s.metrics)
    metrics.push_back(custom_metric_json(m));
  json errors = json::array();
  for (const ScriptErrorTally& e : s.errors)
    errors.push_back({{"message", e.message}, {"traceback", e.traceback}, {"count", e.count}});
  return json{{"iterations", s.iterations},
              {"iterations_failed", s.iterations_failed},
              {"iterations_interrupted", s.iterations_interrupted},
              {"untracked_names", s.untracked_names},
              {"checks", checks},
              {"metrics", metrics},
              {"errors", errors}};
}

const json& need_array(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  if (!v.is_array()) bad_field(where + key, "not an array");
  return v;
}

CustomMetric custom_metric_from_json(const json& j, const std::string& where) {
  CustomMetric m;
  m.name = get_as<std::string>(j, "name", where);
  const auto kind = get_as<std::string>(j, "kind", where);
  if (kind == "counter")
    m.kind = CustomMetricKind::counter;
  else if (kind == "rate")
    m.kind = CustomMetricKind::rate;
  else if (kind == "trend")
    m.kind = CustomMetricKind::trend;
  else
    bad_field(where + "kind", "'" + kind + "' is not counter, rate or trend");
  m.sum = get_as<double>(j, "sum", where);
  m.count = get_as<std::uint64_t>(j, "count", where);
  m.nonzero = get_as<std::uint64_t>(j, "nonzero", where);
  if (m.kind == CustomMetricKind::trend) {
    const json& hist = need(j, "histogram", where);
    const std::string hwhere = where + "histogram.";
    if (get_as<std::string>(hist, "unit", hwhere) != "milli")
      bad_field(hwhere + "unit", "must be \"milli\"");
    try {
      m.values_milli = from_base64_compressed(get_as<std::string>(hist, "values", hwhere));
    } catch (const Error& e) {
      bad_field(hwhere + "values", e.what());
    }
    m.values_milli.restore_saturated_count(get_or<std::int64_t>(hist, "saturated", hwhere, 0));
  }
  return m;
}

ScriptStats script_from_json(const json& j) {
  if (!j.is_object()) bad_field("script", "not an object");
  ScriptStats s;
  s.iterations = get_as<std::uint64_t>(j, "iterations", "script.");
  s.iterations_failed = get_as<std::uint64_t>(j, "iterations_failed", "script.");
  s.iterations_interrupted = get_as<std::uint64_t>(j, "iterations_interrupted", "script.");
  s.untracked_names = get_as<std::uint64_t>(j, "untracked_names", "script.");
  for (const auto& c : need_array(j, "checks", "script.")) {
    CheckTally t;
    t.name = get_as<std::string>(c, "name", "script.checks[].");
    t.passes = get_as<std::uint64_t>(c, "passes", "script.checks[].");
    t.fails = get_as<std::uint64_t>(c, "fails", "script.checks[].");
    s.checks.push_back(std::move(t));
  }
  for (const auto& m : need_array(j, "metrics", "script."))
    s.metrics.push_back(custom_metric_from_json(m, "script.metrics[]."));
  for (const auto& e : need_array(j, "errors", "script.")) {
    ScriptErrorTally t;
    t.message = get_as<std::string>(e, "message", "script.errors[].");
    t.traceback = get_as<std::string>(e, "traceback", "script.errors[].");
    t.count = get_as<std::uint64_t>(e, "count", "script.errors[].");
    s.errors.push_back(std::move(t));
  }
  return s;
}

json schedule_json(const ScheduleStats& sc) {
  return json{
      {"due", sc.due},
      {"started", sc.started},
      {"waited", sc.waited},
      {"overflow", sc.overflow},
      {"unstarted_at_stop", sc.unstarted_at_stop},
      {"peak_backlog", sc.peak_backlog},
      {"peak_vus", sc.peak_vus},
      {"schedule_lag_ms", latency_json(sc.schedule_lag_us)},
      {"dispatch_lag_ms", latency_json(sc.dispatch_lag_us)},
      {"histograms",
       {{"unit", "us"},
        {"schedule_lag", to_base64_compressed(sc.schedule_lag_us)},
        {"dispatch_lag", to_base64_compressed(sc.dispatch_lag_us)}}},
  };
}

ScheduleStats schedule_from_json(const json& j, const std::string& where) {
  ScheduleStats sc;
  sc.due = get_as<std::uint64_t>(j, "due", where);
  sc.started = get_as<std::uint64_t>(j, "started", where);
  sc.waited = get_as<std::uint64_t>(j, "waited", where);
  sc.overflow = get_as<std::uint64_t>(j, "overflow", where);
  sc.unstarted_at_stop = get_as<std::uint64_t>(j, "unstarted_at_stop", where);
  sc.peak_backlog = get_as<std::uint64_t>(j, "peak_backlog", where);
  sc.peak_vus = get_as<std::uint64_t>(j, "peak_vus", where);
  const json& hist = need(j, "histograms", where);
  const std::string hwhere = where + "histograms.";
  if (get_as<std::string>(hist, "unit", hwhere) != "us")
    bad_field(hwhere + "unit", "must be \"us\"");
  try {
    sc.schedule_lag_us = from_base64_compressed(get_as<std::string>(hist, "schedule_lag", hwhere));
    sc.dispatch_lag_us = from_base64_compressed(get_as<std::string>(hist, "dispatch_lag", hwhere));
  } catch (const Error& e) {
    bad_field(hwhere + "*", e.what());
  }
  return sc;
}

json scenario_json(const ScenarioResult& s) {
  const bool open = s.offered_rps.has_value();
  return json{{"name", s.name},
              {"executor", s.executor},
              {"start_s", s.start_s},
              {"active_s", s.active_s},
              {"offered_rps", open ? json(*s.offered_rps) : json(nullptr)},
              {"iterations", s.iterations},
              {"iterations_failed", s.iterations_failed},
              {"iterations_interrupted", s.iterations_interrupted},
              {"schedule", open ? schedule_json(s.schedule) : json(nullptr)}};
}

ScenarioResult scenario_from_json(const json& j, const std::string& where) {
  ScenarioResult s;
  s.name = get_as<std::string>(j, "name", where);
  s.executor = get_as<std::string>(j, "executor", where);
  s.start_s = get_as<double>(j, "start_s", where);
  s.active_s = get_as<double>(j, "active_s", where);
  if (const json& o = need(j, "offered_rps", where); !o.is_null()) s.offered_rps = o.get<double>();
  s.iterations = get_as<std::uint64_t>(j, "iterations", where);
  s.iterations_failed = get_as<std::uint64_t>(j, "iterations_failed", where);
  s.iterations_interrupted = get_as<std::uint64_t>(j, "iterations_interrupted", where);
  if (const json& sc = need(j, "schedule", where); !sc.is_null())
    s.schedule = schedule_from_json(sc, where + "schedule.");
  return s;
}

json config_json(const RunConfig& c) {
  return {{"command", c.command},
          {"executor", c.executor},
          {"url", c.url},
          {"script", c.script},
          {"scenarios", c.scenarios},
          {"method", c.method},
          {"vus", c.vus},
          {"threads", c.threads},
          {"planned_duration_s", c.planned_duration_s},
          {"segment_count", c.segment_count},
          {"segments", c.segments},
          {"fingerprint", c.fingerprint},
          {"start_at_unix_ms", c.start_at_unix_ms ? json(*c.start_at_unix_ms) : json(nullptr)}};
}

RunConfig config_from_json(const json& cfg, const std::string& where) {
  RunConfig c;
  c.command = get_as<std::string>(cfg, "command", where);
  c.executor = get_as<std::string>(cfg, "executor", where);
  c.url = get_as<std::string>(cfg, "url", where);
  c.script = get_or<std::string>(cfg, "script", where, {});
  c.scenarios = get_or<std::vector<std::string>>(cfg, "scenarios", where, {});
  c.method = get_as<std::string>(cfg, "method", where);
  c.vus = get_as<std::uint32_t>(cfg, "vus", where);
  c.threads = get_as<std::uint32_t>(cfg, "threads", where);
  c.planned_duration_s = get_as<double>(cfg, "planned_duration_s", where);
  c.segment_count = get_or<std::uint32_t>(cfg, "segment_count", where, 1);
  c.segments = get_or<std::vector<std::uint32_t>>(cfg, "segments", where, {0});
  c.fingerprint = get_or<std::string>(cfg, "fingerprint", where, {});
  if (const auto it = cfg.find("start_at_unix_ms"); it != cfg.end() && !it->is_null())
    c.start_at_unix_ms = get_as<double>(cfg, "start_at_unix_ms", where);
  if (c.segment_count == 0) throw Error(where + ".segment_count: must be at least 1");
  for (std::size_t i = 0; i < c.segments.size(); ++i) {
    if (c.segments[i] >= c.segment_count || (i > 0 && c.segments[i] <= c.segments[i - 1]))
      throw Error(where + ".segments: indices must ascend below segment_count");
  }
  return c;
}

json point_json(const IntervalPoint& p) {
  json kinds = json::object();
  for (std::size_t k = 1; k < p.errors_by_kind.size(); ++k)
    if (p.errors_by_kind[k] > 0) kinds[std::string(error_kind_names[k])] = p.errors_by_kind[k];
  return {{"start_s", p.start_s},
          {"p90_ms", p.p90_ms},
          {"service_p50_ms", p.service_p50_ms},
          {"service_p99_ms", p.service_p99_ms},
          {"active_vus", p.active_vus},
          {"failed_status", p.failed_status},
          {"errors_by_kind", std::move(kinds)},
          {"length_s", p.length_s},
          {"responses", p.responses},
          {"errors", p.errors},
          {"p50_ms", p.p50_ms},
          {"p99_ms", p.p99_ms},
          {"max_ms", p.max_ms},
          {"started", p.started},
          {"schedule_lag_p99_ms", p.schedule_lag_p99_ms}};
}

IntervalPoint point_from_json(const json& p, const std::string& where) {
  IntervalPoint point;
  point.start_s = get_as<double>(p, "start_s", where);
  point.length_s = get_as<double>(p, "length_s", where);
  point.responses = get_as<std::uint64_t>(p, "responses", where);
  point.errors = get_as<std::uint64_t>(p, "errors", where);
  point.p50_ms = get_as<double>(p, "p50_ms", where);
  point.p99_ms = get_as<double>(p, "p99_ms", where);
  point.max_ms = get_as<double>(p, "max_ms", where);
  point.started = get_or<std::uint64_t>(p, "started", where, 0);
  point.schedule_lag_p99_ms = get_or<double>(p, "schedule_lag_p99_ms", where, 0.0);
  point.p90_ms = get_or<double>(p, "p90_ms", where, 0.0);
  point.service_p50_ms = get_or<double>(p, "service_p50_ms", where, 0.0);
  point.service_p99_ms = get_or<double>(p, "service_p99_ms", where, 0.0);
  point.active_vus = get_or<std::uint32_t>(p, "active_vus", where, 0);
  point.failed_status = get_or<std::uint64_t>(p, "failed_status", where, 0);
  if (const auto it = p.find("errors_by_kind"); it != p.end()) {
    if (!it->is_object()) throw Error(where + ".errors_by_kind: expected an object");
    for (const auto& [name, count] : it->items()) {
      for (std::size_t k = 1; k < error_kind_count; ++k)
        if (error_kind_names[k] == name)
          point.errors_by_kind[k] =
              get_as<std::uint64_t>(*it, name.c_str(), where + ".errors_by_kind");
    }
  }
  return point;
}

}  // namespace strain::result_json
