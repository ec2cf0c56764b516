#include "engine/results/soak_json.hpp"

#include "engine/results/json_parts.hpp"

namespace strain::result_json {
using nlohmann::json;

namespace {

json verdict_json(const SoakVerdict& v) {
  json projection = nullptr;
  if (v.projection) {
    projection = {{"limit", v.projection->limit},
                  {"limit_source", v.projection->limit_source},
                  {"hours", v.projection->hours}};
  }
  return {{"component", v.component},
          {"resource", v.resource},
          {"source", v.source},
          {"verdict", v.verdict},
          {"slope_per_hour", v.slope_per_hour},
          {"unit", v.unit},
          {"ci_low", v.ci_low},
          {"ci_high", v.ci_high},
          {"p_value", v.p_value},
          {"samples", v.samples},
          {"points", v.points},
          {"level", v.level},
          {"projection", projection},
          {"budget_per_hour", v.budget_per_hour ? json(*v.budget_per_hour) : json(nullptr)},
          {"budget_broken", v.budget_broken},
          {"fails_run", v.fails_run},
          {"reason", v.reason}};
}

SoakVerdict verdict_from_json(const json& j, const std::string& where) {
  SoakVerdict v;
  v.component = get_as<std::string>(j, "component", where);
  v.resource = get_as<std::string>(j, "resource", where);
  v.source = get_as<std::string>(j, "source", where);
  v.verdict = get_as<std::string>(j, "verdict", where);
  v.slope_per_hour = get_as<double>(j, "slope_per_hour", where);
  v.unit = get_as<std::string>(j, "unit", where);
  v.ci_low = get_as<double>(j, "ci_low", where);
  v.ci_high = get_as<double>(j, "ci_high", where);
  v.p_value = get_as<double>(j, "p_value", where);
  v.samples = get_as<std::uint64_t>(j, "samples", where);
  v.points = get_or<std::uint64_t>(j, "points", where, 0);
  v.level = get_or<double>(j, "level", where, 0.0);
  if (const json& p = need(j, "projection", where); !p.is_null()) {
    v.projection = SoakProjection{get_as<double>(p, "limit", where + "projection."),
                                  get_as<std::string>(p, "limit_source", where + "projection."),
                                  get_as<double>(p, "hours", where + "projection.")};
  }
  if (const json& b = need(j, "budget_per_hour", where); !b.is_null())
    v.budget_per_hour = b.get<double>();
  v.budget_broken = get_as<bool>(j, "budget_broken", where);
  v.fails_run = get_or<bool>(j, "fails_run", where, false);
  v.reason = get_or<std::string>(j, "reason", where, "");
  return v;
}

}  // namespace

json soak_json(const SoakReport& s) {
  json verdicts = json::array();
  for (const SoakVerdict& v : s.verdicts)
    verdicts.push_back(verdict_json(v));
  json gaps = json::array();
  for (const SoakGap& g : s.gaps) {
    gaps.push_back({{"component", g.component},
                    {"from_s", g.from_s},
                    {"to_s", g.to_s},
                    {"samples", g.samples},
                    {"reason", g.reason}});
  }
  json restarts = json::array();
  for (const SoakRestart& r : s.restarts)
    restarts.push_back({{"component", r.component}, {"t_s", r.t_s}, {"pid", r.pid}});
  json series = json::array();
  for (const SoakSeries& x : s.series) {
    series.push_back({{"component", x.component},
                      {"resource", x.resource},
                      {"unit", x.unit},
                      {"bucket_s", x.bucket_s},
                      {"t_s", x.t_s},
                      {"min", x.min},
                      {"max", x.max}});
  }
  return {
      {"judged", s.judged},
      {"sample_every_s", s.sample_every_s},
      {"warmup_s", s.warmup_s},
      {"sample_rounds", s.sample_rounds},
      {"sampler_cpu_s", s.sampler_cpu_s},
      {"verdicts", verdicts},
      {"gaps", gaps},
      {"gaps_left_out", s.gaps_left_out},
      {"restarts", restarts},
      {"samples", series},
      {"files",
       {{"intervals", s.files.intervals}, {"hlog", s.files.hlog}, {"samples", s.files.samples}}}};
}

SoakReport soak_from_json(const json& j, const std::string& where) {
  SoakReport s;
  s.judged = get_as<bool>(j, "judged", where);
  s.sample_every_s = get_as<double>(j, "sample_every_s", where);
  s.warmup_s = get_as<double>(j, "warmup_s", where);
  s.sample_rounds = get_or<std::uint64_t>(j, "sample_rounds", where, 0);
  s.sampler_cpu_s = get_or<double>(j, "sampler_cpu_s", where, 0.0);
  for (const json& v : need(j, "verdicts", where))
    s.verdicts.push_back(verdict_from_json(v, where + "verdicts[]."));
  for (const json& g : need(j, "gaps", where)) {
    const std::string w = where + "gaps[].";
    s.gaps.push_back(SoakGap{get_as<std::string>(g, "component", w), get_as<double>(g, "from_s", w),
                             get_as<double>(g, "to_s", w),
                             get_or<std::uint64_t>(g, "samples", w, 0),
                             get_as<std::string>(g, "reason", w)});
  }
  s.gaps_left_out = get_or<std::uint64_t>(j, "gaps_left_out", where, 0);
  for (const json& r : need(j, "restarts", where)) {
    const std::string w = where + "restarts[].";
    s.restarts.push_back(SoakRestart{get_as<std::string>(r, "component", w),
                                     get_as<double>(r, "t_s", w),
                                     get_as<std::int64_t>(r, "pid", w)});
  }
  for (const json& x : need(j, "samples", where)) {
    const std::string w = where + "samples[].";
    SoakSeries series;
    series.component = get_as<std::string>(x, "component", w);
    series.resource = get_as<std::string>(x, "resource", w);
    series.unit = get_as<std::string>(x, "unit", w);
    series.bucket_s = get_as<double>(x, "bucket_s", w);
    series.t_s = get_as<std::vector<double>>(x, "t_s", w);
    series.min = get_as<std::vector<double>>(x, "min", w);
    series.max = get_as<std::vector<double>>(x, "max", w);
    if (series.min.size() != series.t_s.size() || series.max.size() != series.t_s.size())
      bad_field(w + "t_s", "t_s, min and max differ in length");
    s.series.push_back(std::move(series));
  }
  const json& f = need(j, "files", where);
  s.files.intervals = get_as<std::string>(f, "intervals", where + "files.");
  s.files.hlog = get_as<std::string>(f, "hlog", where + "files.");
  s.files.samples = get_as<std::string>(f, "samples", where + "files.");
  return s;
}

}  // namespace strain::result_json
