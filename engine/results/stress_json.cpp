#include "engine/results/stress_json.hpp"

#include "engine/results/json_parts.hpp"

namespace strain::result_json {
using nlohmann::json;

namespace {

json optional_json(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json optional_json(const std::optional<std::uint32_t>& v) {
  return v ? json(*v) : json(nullptr);
}

std::optional<std::uint32_t> optional_count_from(const json& j, const char* key,
                                                 const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_unsigned()) bad_field(where + key, "must be a whole number or null");
  return it->get<std::uint32_t>();
}

std::optional<double> optional_from(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) bad_field(where + key, "must be a number or null");
  return it->get<double>();
}

json resource_json(const StressResource& r) {
  return {{"component", r.component},
          {"resource", r.resource},
          {"value", r.value},
          {"unit", r.unit},
          {"limit", optional_json(r.limit)},
          {"limit_source", r.limit_source},
          {"utilisation", optional_json(r.utilisation)},
          {"read_at_s", optional_json(r.read_at_s)}};
}

StressResource resource_from(const json& j, const std::string& where) {
  StressResource r;
  r.component = get_as<std::string>(j, "component", where);
  r.resource = get_as<std::string>(j, "resource", where);
  r.value = get_as<double>(j, "value", where);
  r.unit = get_or<std::string>(j, "unit", where, {});
  r.limit = optional_from(j, "limit", where);
  r.limit_source = get_or<std::string>(j, "limit_source", where, {});
  r.utilisation = optional_from(j, "utilisation", where);
  r.read_at_s = optional_from(j, "read_at_s", where);  // absent in files before it
  return r;
}

json step_json(const StressStep& s) {
  json errors = json::object();
  for (const auto& [kind, n] : s.errors)
    errors[kind] = n;
  json resources = json::array();
  for (const StressResource& r : s.resources)
    resources.push_back(resource_json(r));
  return {{"index", s.index},
          {"start_s", s.start_s},
          {"offered_rps", s.offered_rps},
          {"vus", s.vus},
          {"achieved_rps", s.achieved_rps},
          {"ok_rps", s.ok_rps},
          {"p50_ms", s.p50_ms},
          {"p99_ms", s.p99_ms},
          {"error_rate", s.error_rate},
          {"concurrency", s.concurrency},
          {"steady_after_s", s.steady_after_s},
          {"judged_s", s.judged_s},
          {"steady", s.steady},
          {"bisecting", s.bisecting},
          {"ok", s.ok},
          {"generator_bound", s.generator_bound},
          {"ended_by_governor", s.ended_by_governor},
          {"broke", s.broke},
          {"errors", errors},
          {"resources", resources}};
}

StressStep step_from(const json& j, const std::string& where) {
  StressStep s;
  s.index = get_as<std::uint32_t>(j, "index", where);
  s.start_s = get_as<double>(j, "start_s", where);
  s.offered_rps = get_as<double>(j, "offered_rps", where);
  s.vus = get_or<std::uint32_t>(j, "vus", where, 0);
  s.achieved_rps = get_as<double>(j, "achieved_rps", where);
  s.ok_rps = get_or<double>(j, "ok_rps", where, 0.0);
  s.p50_ms = get_as<double>(j, "p50_ms", where);
  s.p99_ms = get_as<double>(j, "p99_ms", where);
  s.error_rate = get_as<double>(j, "error_rate", where);
  s.concurrency = get_or<double>(j, "concurrency", where, 0.0);
  s.steady_after_s = get_as<double>(j, "steady_after_s", where);
  s.judged_s = get_or<double>(j, "judged_s", where, 0.0);
  s.steady = get_or<bool>(j, "steady", where, false);
  s.bisecting = get_or<bool>(j, "bisecting", where, false);
  s.ok = get_as<bool>(j, "ok", where);
  s.generator_bound = get_as<bool>(j, "generator_bound", where);
  s.ended_by_governor = get_or<bool>(j, "ended_by_governor", where, false);
  s.broke = get_or<std::string>(j, "broke", where, {});
  if (auto it = j.find("errors"); it != j.end() && it->is_object()) {
    for (const auto& [kind, n] : it->items())
      s.errors.emplace_back(kind, value_as<std::uint64_t>(n, where + "errors." + kind));
  }
  if (auto it = j.find("resources"); it != j.end() && it->is_array()) {
    for (std::size_t i = 0; i < it->size(); ++i)
      s.resources.push_back(
          resource_from((*it)[i], where + "resources[" + std::to_string(i) + "]."));
  }
  return s;
}

}  // namespace

json stress_json(const StressReport& s) {
  json steps = json::array();
  for (const StressStep& step : s.steps)
    steps.push_back(step_json(step));
  json failure = nullptr;
  if (s.first_failure) {
    const StressFailure& f = *s.first_failure;
    failure = {{"signal", f.signal},
               {"value", f.value},
               {"limit", f.limit},
               {"step", f.step},
               {"detail", f.detail}};
  }
  json saturated = nullptr;
  if (s.saturated) {
    const StressSaturation& x = *s.saturated;
    saturated = {
        {"component", x.component}, {"resource", x.resource}, {"utilisation", x.utilisation},
        {"value", x.value},         {"limit", x.limit},       {"unit", x.unit}};
  }
  json usl = nullptr;
  if (s.usl) {
    usl = {{"sigma", s.usl->sigma},
           {"kappa", s.usl->kappa},
           {"lambda", s.usl->lambda},
           {"r2", s.usl->r2},
           {"peak_concurrency", optional_json(s.usl->peak_concurrency)},
           {"peak_rps", s.usl->peak_rps}};
  }
  json headroom = nullptr;
  if (s.headroom) {
    headroom = {{"expected_peak_rps", s.headroom->expected_peak_rps},
                {"expected_peak_vus", optional_json(s.headroom->expected_peak_vus)},
                {"share_of_sustainable", s.headroom->share_of_sustainable},
                {"exceeds", s.headroom->exceeds}};
  }
  return {{"slo", s.slo},
          {"end", s.end},
          {"vus_search", s.vus_search},
          {"max_sustainable_rps", optional_json(s.max_sustainable_rps)},
          {"first_bad_rps", optional_json(s.first_bad_rps)},
          {"max_sustainable_vus", optional_json(s.max_sustainable_vus)},
          {"first_bad_vus", optional_json(s.first_bad_vus)},
          {"precision", optional_json(s.precision)},
          {"knee_rps", optional_json(s.knee_rps)},
          {"first_failure", failure},
          {"saturated", saturated},
          {"failure_mode", s.failure_mode},
          {"failure_mode_reason", s.failure_mode_reason},
          {"usl", usl},
          {"usl_note", s.usl_note},
          {"headroom", headroom},
          {"verdict", s.verdict},
          {"steps", steps}};
}

StressReport stress_from_json(const json& j, const std::string& where) {
  StressReport s;
  s.slo = get_as<std::string>(j, "slo", where);
  s.end = get_as<std::string>(j, "end", where);
  s.vus_search = get_or<bool>(j, "vus_search", where, false);
  s.max_sustainable_rps = optional_from(j, "max_sustainable_rps", where);
  s.first_bad_rps = optional_from(j, "first_bad_rps", where);
  s.max_sustainable_vus = optional_count_from(j, "max_sustainable_vus", where);
  s.first_bad_vus = optional_count_from(j, "first_bad_vus", where);
  s.precision = optional_from(j, "precision", where);
  s.knee_rps = optional_from(j, "knee_rps", where);
  if (auto it = j.find("first_failure"); it != j.end() && !it->is_null()) {
    const std::string w = where + "first_failure.";
    StressFailure f;
    f.signal = get_as<std::string>(*it, "signal", w);
    f.value = get_as<double>(*it, "value", w);
    f.limit = get_as<double>(*it, "limit", w);
    f.step = get_as<std::uint32_t>(*it, "step", w);
    f.detail = get_or<std::string>(*it, "detail", w, {});
    s.first_failure = f;
  }
  if (auto it = j.find("saturated"); it != j.end() && !it->is_null()) {
    const std::string w = where + "saturated.";
    StressSaturation x;
    x.component = get_as<std::string>(*it, "component", w);
    x.resource = get_as<std::string>(*it, "resource", w);
    x.utilisation = get_as<double>(*it, "utilisation", w);
    x.value = get_or<double>(*it, "value", w, 0.0);
    x.limit = get_or<double>(*it, "limit", w, 0.0);
    x.unit = get_or<std::string>(*it, "unit", w, {});
    s.saturated = x;
  }
  s.failure_mode = get_or<std::string>(j, "failure_mode", where, {});
  s.failure_mode_reason = get_or<std::string>(j, "failure_mode_reason", where, {});
  if (auto it = j.find("usl"); it != j.end() && !it->is_null()) {
    const std::string w = where + "usl.";
    StressUsl u;
    u.sigma = get_as<double>(*it, "sigma", w);
    u.kappa = get_as<double>(*it, "kappa", w);
    u.lambda = get_as<double>(*it, "lambda", w);
    u.r2 = get_as<double>(*it, "r2", w);
    u.peak_concurrency = optional_from(*it, "peak_concurrency", w);
    u.peak_rps = get_as<double>(*it, "peak_rps", w);
    s.usl = u;
  }
  s.usl_note = get_or<std::string>(j, "usl_note", where, {});
  if (auto it = j.find("headroom"); it != j.end() && !it->is_null()) {
    const std::string w = where + "headroom.";
    StressHeadroom h;
    h.expected_peak_rps = get_as<double>(*it, "expected_peak_rps", w);
    h.expected_peak_vus = optional_count_from(*it, "expected_peak_vus", w);
    h.share_of_sustainable = get_as<double>(*it, "share_of_sustainable", w);
    h.exceeds = get_as<bool>(*it, "exceeds", w);
    s.headroom = h;
  }
  s.verdict = get_or<std::string>(j, "verdict", where, {});
  const json& steps = need(j, "steps", where);
  for (std::size_t i = 0; i < steps.size(); ++i)
    s.steps.push_back(step_from(steps[i], where + "steps[" + std::to_string(i) + "]."));
  return s;
}

}  // namespace strain::result_json
