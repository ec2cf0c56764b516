#include "engine/results/json.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/metrics/hdr_codec.hpp"

namespace strain {
namespace {

using nlohmann::json;

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
        {"service_time", to_base64_compressed(m.service_time_us)}}},
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

template <class T>
T get_as(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  try {
    return v.get<T>();
  } catch (const json::exception& e) {
    bad_field(where + key, e.what());
  }
}

// Fields added after the first release: absent in older files, so missing means `fallback`;
// present with the wrong type is still an error.
template <class T>
T get_or(const json& j, const char* key, const std::string& where, T fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception& e) {
    bad_field(where + key, e.what());
  }
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
    m.status_codes[value] = count.get<std::uint64_t>();
  }
  const json& errors = need(j, "errors", where);
  for (std::size_t i = 1; i < m.errors_by_kind.size(); ++i) {
    const std::string key(error_kind_names[i]);
    if (auto it = errors.find(key); it != errors.end())
      m.errors_by_kind[i] = it->get<std::uint64_t>();
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
    j["histogram"] = {{"unit", "milli"}, {"values", to_base64_compressed(h)}};
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

}  // namespace

std::string to_json(const RunResult& r, int indent) {
  json timeline = json::array();
  for (const auto& p : r.timeline) {
    timeline.push_back({{"start_s", p.start_s},
                        {"length_s", p.length_s},
                        {"responses", p.responses},
                        {"errors", p.errors},
                        {"p50_ms", p.p50_ms},
                        {"p99_ms", p.p99_ms},
                        {"max_ms", p.max_ms},
                        {"started", p.started},
                        {"schedule_lag_p99_ms", p.schedule_lag_p99_ms}});
  }
  json by_name = json::array();
  for (const auto& m : r.by_name)
    by_name.push_back(metrics_json(m));
  json thresholds = json::array();
  for (const auto& t : r.thresholds) {
    thresholds.push_back({{"expression", t.expression},
                          {"condition", t.condition},
                          {"observed", t.observed ? json(*t.observed) : json(nullptr)},
                          {"passed", t.passed},
                          {"note", t.note}});
  }
  const auto& g = r.generator;
  const ScheduleStats& sc = r.schedule;
  const bool open = r.offered_rps.has_value();
  json schedule = nullptr;
  if (open) {
    schedule = json{
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
  json doc{
      {"schema", r.schema},
      {"partial", r.partial},
      {"started_at", r.started_at},
      {"started_at_unix_ms", r.started_at_unix_ms},
      {"config",
       {{"command", r.config.command},
        {"executor", r.config.executor},
        {"url", r.config.url},
        {"script", r.config.script},
        {"scenarios", r.config.scenarios},
        {"method", r.config.method},
        {"vus", r.config.vus},
        {"threads", r.config.threads},
        {"planned_duration_s", r.config.planned_duration_s}}},
      {"summary",
       {{"requests", r.total.responses},
        {"errors", r.total.failed()},
        {"rate_limited", r.total.rate_limited()},
        {"transport_errors", r.total.transport_errors()},
        {"duration_s", r.duration_s},
        {"drain_s", r.drain_s},
        {"completed_in_drain", r.drained_responses},
        {"aborted_reason", r.aborted_reason},
        {"threshold_abort", r.threshold_abort},
        {"throughput_rps", r.throughput_rps()},
        {"offered_rps", r.offered_rps ? json(*r.offered_rps) : json(nullptr)},
        {"generator_bound", g.generator_bound},
        {"response_time_ms", latency_json(r.total.response_time_us)},
        {"service_time_ms", latency_json(r.total.service_time_us)},
        {"schedule_lag_ms", open ? latency_json(sc.schedule_lag_us) : json(nullptr)}}},
      {"schedule", schedule},
      {"total", metrics_json(r.total)},
      {"by_name", by_name},
      {"script", script_json(r.script)},
      {"timeline", timeline},
      {"thresholds", thresholds},
      {"generator",
       {{"cpu_user_s", g.cpu_user_s},
        {"cpu_system_s", g.cpu_system_s},
        {"peak_rss_bytes", g.peak_rss_bytes},
        {"connects", g.connects},
        {"stale_retries", g.stale_retries},
        {"started", g.started},
        {"in_flight_at_stop", g.in_flight_at_stop},
        {"generator_bound", g.generator_bound},
        {"busy_fraction", g.busy_fraction},
        {"loop_lag_ms", latency_json(g.loop_lag_us)},
        {"loop_lag_histogram_us", to_base64_compressed(g.loop_lag_us)},
        {"notes", g.notes}}},
  };
  return doc.dump(indent);
}

namespace {
RunResult parse_run_result(const std::string& text);
}

// Any type or range error inside the document becomes one usage error naming the problem.
RunResult run_result_from_json(const std::string& text) {
  try {
    return parse_run_result(text);
  } catch (const json::exception& e) {
    throw Error(std::string("result file: ") + e.what(), ExitCode::bad_usage);
  }
}

namespace {
RunResult parse_run_result(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(std::string("result file is not JSON: ") + e.what(), ExitCode::bad_usage);
  }
  if (!doc.is_object()) throw Error("result file: not a JSON object", ExitCode::bad_usage);
  RunResult r;
  r.schema = get_as<std::string>(doc, "schema", "");
  if (r.schema != result_schema) {
    bad_field("schema", "'" + r.schema + "' is not " + result_schema);
  }
  r.partial = get_as<bool>(doc, "partial", "");
  r.started_at = get_as<std::string>(doc, "started_at", "");
  r.started_at_unix_ms = get_or<double>(doc, "started_at_unix_ms", "", 0.0);
  const json& cfg = need(doc, "config", "");
  r.config.command = get_as<std::string>(cfg, "command", "config.");
  r.config.executor = get_as<std::string>(cfg, "executor", "config.");
  r.config.url = get_as<std::string>(cfg, "url", "config.");
  r.config.script = get_or<std::string>(cfg, "script", "config.", {});
  r.config.scenarios = get_or<std::vector<std::string>>(cfg, "scenarios", "config.", {});
  r.config.method = get_as<std::string>(cfg, "method", "config.");
  r.config.vus = get_as<std::uint32_t>(cfg, "vus", "config.");
  r.config.threads = get_as<std::uint32_t>(cfg, "threads", "config.");
  r.config.planned_duration_s = get_as<double>(cfg, "planned_duration_s", "config.");
  const json& summary = need(doc, "summary", "");
  r.duration_s = get_as<double>(summary, "duration_s", "summary.");
  r.drain_s = get_as<double>(summary, "drain_s", "summary.");
  r.drained_responses = get_as<std::uint64_t>(summary, "completed_in_drain", "summary.");
  r.aborted_reason = get_as<std::string>(summary, "aborted_reason", "summary.");
  r.threshold_abort = get_or<std::string>(summary, "threshold_abort", "summary.", {});
  if (const json& offered = need(summary, "offered_rps", "summary."); !offered.is_null()) {
    r.offered_rps = offered.get<double>();
  }
  r.total = metrics_from_json(need(doc, "total", ""), "total.");
  for (const auto& m : need(doc, "by_name", ""))
    r.by_name.push_back(metrics_from_json(m, "by_name[]."));
  if (auto it = doc.find("script"); it != doc.end()) r.script = script_from_json(*it);
  for (const auto& p : need(doc, "timeline", "")) {
    IntervalPoint point;
    point.start_s = get_as<double>(p, "start_s", "timeline[].");
    point.length_s = get_as<double>(p, "length_s", "timeline[].");
    point.responses = get_as<std::uint64_t>(p, "responses", "timeline[].");
    point.errors = get_as<std::uint64_t>(p, "errors", "timeline[].");
    point.p50_ms = get_as<double>(p, "p50_ms", "timeline[].");
    point.p99_ms = get_as<double>(p, "p99_ms", "timeline[].");
    point.max_ms = get_as<double>(p, "max_ms", "timeline[].");
    point.started = get_or<std::uint64_t>(p, "started", "timeline[].", 0);
    point.schedule_lag_p99_ms = get_or<double>(p, "schedule_lag_p99_ms", "timeline[].", 0.0);
    r.timeline.push_back(point);
  }
  for (const auto& t : need(doc, "thresholds", "")) {
    ThresholdVerdict v;
    v.expression = get_as<std::string>(t, "expression", "thresholds[].");
    v.condition = get_as<std::string>(t, "condition", "thresholds[].");
    if (const json& o = need(t, "observed", "thresholds[]."); !o.is_null())
      v.observed = o.get<double>();
    v.passed = get_as<bool>(t, "passed", "thresholds[].");
    v.note = get_as<std::string>(t, "note", "thresholds[].");
    r.thresholds.push_back(v);
  }
  const json& g = need(doc, "generator", "");
  r.generator.cpu_user_s = get_as<double>(g, "cpu_user_s", "generator.");
  r.generator.cpu_system_s = get_as<double>(g, "cpu_system_s", "generator.");
  r.generator.peak_rss_bytes = get_as<std::uint64_t>(g, "peak_rss_bytes", "generator.");
  r.generator.connects = get_as<std::uint64_t>(g, "connects", "generator.");
  r.generator.stale_retries = get_as<std::uint64_t>(g, "stale_retries", "generator.");
  r.generator.started = get_as<std::uint64_t>(g, "started", "generator.");
  r.generator.in_flight_at_stop = get_as<std::uint64_t>(g, "in_flight_at_stop", "generator.");
  r.generator.generator_bound = get_as<bool>(g, "generator_bound", "generator.");
  r.generator.notes = get_as<std::vector<std::string>>(g, "notes", "generator.");
  r.generator.busy_fraction = get_or<double>(g, "busy_fraction", "generator.", 0.0);
  try {
    if (auto it = g.find("loop_lag_histogram_us"); it != g.end())
      r.generator.loop_lag_us = from_base64_compressed(it->get<std::string>());
  } catch (const Error& e) {
    bad_field("generator.loop_lag_histogram_us", e.what());
  }
  if (auto it = doc.find("schedule"); it != doc.end() && !it->is_null()) {
    const json& j = *it;
    ScheduleStats& sc = r.schedule;
    sc.due = get_as<std::uint64_t>(j, "due", "schedule.");
    sc.started = get_as<std::uint64_t>(j, "started", "schedule.");
    sc.waited = get_as<std::uint64_t>(j, "waited", "schedule.");
    sc.overflow = get_as<std::uint64_t>(j, "overflow", "schedule.");
    sc.unstarted_at_stop = get_as<std::uint64_t>(j, "unstarted_at_stop", "schedule.");
    sc.peak_backlog = get_as<std::uint64_t>(j, "peak_backlog", "schedule.");
    sc.peak_vus = get_as<std::uint64_t>(j, "peak_vus", "schedule.");
    const json& hist = need(j, "histograms", "schedule.");
    if (get_as<std::string>(hist, "unit", "schedule.histograms.") != "us")
      bad_field("schedule.histograms.unit", "must be \"us\"");
    try {
      sc.schedule_lag_us =
          from_base64_compressed(get_as<std::string>(hist, "schedule_lag", "schedule.histograms."));
      sc.dispatch_lag_us =
          from_base64_compressed(get_as<std::string>(hist, "dispatch_lag", "schedule.histograms."));
    } catch (const Error& e) {
      bad_field("schedule.histograms.*", e.what());
    }
  }
  return r;
}

}  // namespace

}  // namespace strain
