#include "engine/results/json.hpp"

#include <map>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/metrics/hdr_codec.hpp"
#include "engine/results/json_parts.hpp"
#include "engine/results/soak_json.hpp"
#include "engine/results/stress_json.hpp"

namespace strain {
using nlohmann::json;
using namespace result_json;

std::string to_json(const RunResult& r, int indent) {
  json timeline = json::array();
  for (const auto& p : r.timeline)
    timeline.push_back(point_json(p));
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
  json schedule = open ? schedule_json(sc) : json(nullptr);
  json scenarios = json::array();
  for (const ScenarioResult& s : r.scenarios)
    scenarios.push_back(scenario_json(s));
  json doc{
      {"schema", r.schema},
      {"partial", r.partial},
      {"started_at", r.started_at},
      {"started_at_unix_ms", r.started_at_unix_ms},
      {"config", config_json(r.config)},
      {"summary",
       {{"requests", r.total.responses},
        {"errors", r.total.failed()},
        {"dropped", r.total.dropped()},
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
      {"scenarios", scenarios},
      {"total", metrics_json(r.total)},
      {"by_name", by_name},
      {"script", script_json(r.script)},
      {"timeline", timeline},
      {"thresholds", thresholds},
      {"phases_ms", r.phases ? json{{"blocked", latency_json(r.phases->blocked_us)},
                                    {"connecting", latency_json(r.phases->connecting_us)},
                                    {"tls_handshaking", latency_json(r.phases->tls_handshaking_us)},
                                    {"waiting", latency_json(r.phases->waiting_us)},
                                    {"receiving", latency_json(r.phases->receiving_us)}}
                             : json(nullptr)},
      {"generator",
       {{"cpu_user_s", g.cpu_user_s},
        {"cpu_system_s", g.cpu_system_s},
        {"peak_rss_bytes", g.peak_rss_bytes},
        {"connects", g.connects},
        {"stale_retries", g.stale_retries},
        {"connect_backoffs", g.connect_backoffs},
        {"started", g.started},
        {"in_flight_at_stop", g.in_flight_at_stop},
        {"generator_bound", g.generator_bound},
        {"busy_fraction", g.busy_fraction},
        {"loop_lag_ms", latency_json(g.loop_lag_us)},
        {"loop_lag_histogram_us", to_base64_compressed(g.loop_lag_us)},
        {"notes", g.notes}}},
  };
  if (r.soak) doc["soak"] = soak_json(*r.soak);
  if (r.stress) doc["stress"] = stress_json(*r.stress);
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
  r.config = config_from_json(need(doc, "config", ""), "config.");
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
  for (const auto& p : need(doc, "timeline", ""))
    r.timeline.push_back(point_from_json(p, "timeline[]."));
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
  r.generator.connect_backoffs = get_or<std::uint64_t>(g, "connect_backoffs", "generator.", 0);
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
  if (auto it = doc.find("schedule"); it != doc.end() && !it->is_null())
    r.schedule = schedule_from_json(*it, "schedule.");
  if (auto it = doc.find("soak"); it != doc.end() && !it->is_null())
    r.soak = soak_from_json(*it, "soak.");
  if (auto it = doc.find("stress"); it != doc.end() && !it->is_null())
    r.stress = stress_from_json(*it, "stress.");
  if (auto it = doc.find("scenarios"); it != doc.end()) {
    if (!it->is_array()) bad_field("scenarios", "not an array");
    for (const auto& sc : *it)
      r.scenarios.push_back(scenario_from_json(sc, "scenarios[]."));
  }
  return r;
}

}  // namespace

}  // namespace strain
