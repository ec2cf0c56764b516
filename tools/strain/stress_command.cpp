// strain stress: find the breaking point (an open-model search on the arrival rate), say what
// broke first and how, and model capacity.
#include <cmath>
#include <cstdlib>
#include <memory>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "engine/runtime/planning.hpp"
#include "engine/soak/soak_options.hpp"
#include "engine/stress/stress_session.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/report_run.hpp"
#include "tools/strain/watch_flags.hpp"

namespace strain {

namespace {

struct StressFlags {
  RunRequest request;
  OutputFlags output;
  WatchFlags watch;
  std::string slo;
  std::string start_rate = "50/s";
  double growth = 2;
  std::string precision = "5%";
  std::string step = "20s";
  std::string max_rate;
  std::string max_time = "10m";
  std::string expected_peak;
  std::string cooldown = "5s";
  bool vus_search = false;
  std::uint32_t start_vus = 10;
  bool start_rate_given = false;
  bool start_vus_given = false;
  std::string segment;         // --segment: refused (see refuse_segments)
  std::uint32_t segments = 0;  // --segments: likewise
};

// A search steers one load by what that load measures, step after step: cut into segments,
// no process would see the whole load it is steering. So stress is one process's job.
void refuse_segments(const StressFlags& f) {
  const char* env = std::getenv("STRAIN_SEGMENT");
  if (f.segment.empty() && f.segments == 0 && env == nullptr) return;
  const std::string what = !f.segment.empty() ? "--segment " + f.segment
                           : f.segments != 0  ? "--segments " + std::to_string(f.segments)
                                              : "STRAIN_SEGMENT=" + std::string(env);
  throw UsageError(what +
                   ": strain stress is one process's job (the search steers the load by what it "
                   "measures, which no segment sees whole); to split a fixed load over machines, "
                   "use strain run --segment I/N");
}

double seconds_of(const std::string& text, const char* flag) {
  return std::chrono::duration<double>(parse_duration(text, flag)).count();
}

double share_of(const std::string& text, const char* flag) {
  std::string t = text;
  const bool percent = !t.empty() && t.back() == '%';
  if (percent) t.pop_back();
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end == nullptr || *end != '\0' || !std::isfinite(v)) {
    throw UsageError(std::string(flag) + " '" + text + "': not a share like 5% or 0.05");
  }
  const double share = percent ? v / 100 : v;
  if (!(share > 0 && share < 1)) {
    throw UsageError(std::string(flag) + " '" + text + "': must be between 0% and 100%");
  }
  return share;
}

// The most VUs the search may use: --max-vus, else 1000 (or -c, when above it).
std::uint32_t max_vus_of(const RunRequest& r) {
  return r.max_vus != 0 ? r.max_vus : std::max<std::uint32_t>(r.vus, 1000);
}

stress::StressSetup setup_from(const StressFlags& f) {
  stress::StressSetup s;
  if (f.slo.empty()) throw UsageError("--slo is required, e.g. --slo 'p99<250ms,errors<1%'");
  s.slo = stress::parse_slo(f.slo, "--slo");
  stress::SearchOptions& o = s.search;
  if (f.vus_search) {
    // The closed model's levels are VU counts, from --start-vus up to --max-vus.
    if (f.start_rate_given)
      throw UsageError("--start-rate: a rate search's; --vus-search starts at --start-vus");
    if (!f.max_rate.empty())
      throw UsageError("--max-rate: a rate search's; --vus-search stops at --max-vus");
    s.vus_search = true;
    o.closed_model = true;
    o.start_rps = f.start_vus;
    o.max_rps = max_vus_of(f.request);
    if (*o.max_rps < o.start_rps) {
      throw UsageError("--start-vus " + std::to_string(f.start_vus) + ": above --max-vus " +
                       std::to_string(static_cast<std::uint32_t>(*o.max_rps)));
    }
  } else {
    if (f.start_vus_given) throw UsageError("--start-vus: only with --vus-search");
    o.start_rps = parse_rate(f.start_rate, "--start-rate").per_second;
    if (!(o.start_rps >= 1)) throw UsageError("--start-rate '" + f.start_rate + "': at least 1/s");
  }
  if (!(f.growth > 1 && f.growth <= 10))
    throw UsageError("--growth " + std::to_string(f.growth) + ": must be above 1 and at most 10");
  o.growth = f.growth;
  o.precision = share_of(f.precision, "--precision");
  o.step_s = seconds_of(f.step, "--step");
  if (o.step_s < 3) throw UsageError("--step '" + f.step + "': at least 3s (warm-up, then judged)");
  o.max_time_s = seconds_of(f.max_time, "--max-time");
  if (o.max_time_s < o.step_s)
    throw UsageError("--max-time '" + f.max_time + "': shorter than one --step");
  o.cooldown_s = seconds_of(f.cooldown, "--cooldown");
  if (!f.vus_search && !f.max_rate.empty()) {
    o.max_rps = parse_rate(f.max_rate, "--max-rate").per_second;
    if (*o.max_rps < o.start_rps)
      throw UsageError("--max-rate '" + f.max_rate + "': below --start-rate");
  }
  if (!f.expected_peak.empty() && f.vus_search) {
    // VUs: a whole number.
    char* end = nullptr;
    const unsigned long long n = std::strtoull(f.expected_peak.c_str(), &end, 10);
    if (f.expected_peak.empty() || f.expected_peak[0] == '-' || *end != '\0' || n == 0 ||
        n > 1'000'000) {
      throw UsageError("--expected-peak '" + f.expected_peak +
                       "': with --vus-search, a VU count from 1 to 1000000");
    }
    s.expected_peak_rps = static_cast<double>(n);
  } else if (!f.expected_peak.empty()) {
    s.expected_peak_rps = parse_rate(f.expected_peak, "--expected-peak").per_second;
  }
  return s;
}

// --vus-search: every VU the search may ask for is made at the start (a connection each only
// once it runs), and a line lets the search's count run; Controller::set_vus moves it.
void make_steered_vus(Scenario& sc, std::uint32_t max_vus, const stress::StressSetup& s) {
  sc.executor = ExecutorKind::constant_vus;
  sc.vus = max_vus;
  sc.vus_cap = static_cast<std::uint32_t>(s.search.start_rps);
  sc.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(std::ceil(s.search.max_time_s)));
  sc.stages.clear();
  sc.iterations = 0;
  sc.rate_per_s = 0;
  sc.rate_stages.clear();
}

// The load the search steers: one constant-arrival-rate scenario at the start rate, as long as
// the search may last; the rate changes under it without restarting VUs.
LoadPlan stress_plan(StressFlags& f, const stress::StressSetup& s) {
  RunRequest& r = f.request;
  r.command = "stress";
  const std::uint32_t max_vus = max_vus_of(r);
  r.duration = std::to_string(static_cast<long long>(std::ceil(s.search.max_time_s))) + "s";
  r.duration_given = true;
  // The backlog holds ten seconds of the highest rate the search may ask for.
  const double top = s.search.max_rps.value_or(1e5);
  const auto backlog = static_cast<std::uint64_t>(std::min(1e7, std::max(1000.0, 10 * top)));
  if (!r.script.empty()) {
    // The script's own scenarios give way to the search's one (planned closed here, then
    // turned into the scenario the search steers).
    r.vus_given = true;
    r.max_vus = 0;
    LoadPlan plan = make_plan(r);
    auto script = std::make_shared<ScriptPlan>(*plan.script);
    Scenario sc = script->scenarios.front();
    sc.name = "default";
    if (s.vus_search) {
      make_steered_vus(sc, max_vus, s);
    } else {
      sc.executor = ExecutorKind::constant_arrival_rate;
      sc.rate_per_s = s.search.start_rps;
      sc.preallocated_vus = r.vus;
      sc.max_vus = max_vus;
      sc.backlog_limit = backlog;
    }
    script->scenarios = {sc};
    plan.script = std::move(script);
    return plan;
  }
  if (s.vus_search) {
    r.vus = max_vus;
    r.vus_given = true;
    r.max_vus = 0;
    LoadPlan plan = make_plan(r);
    make_steered_vus(plan.scenario, max_vus, s);
    return plan;
  }
  r.rate = std::to_string(s.search.start_rps) + "/s";
  r.max_vus = max_vus;
  if (r.backlog == 0) r.backlog = backlog;
  return make_plan(r);
}

}  // namespace

CLI::App* add_stress_command(CLI::App& app, CommandAction& action) {
  auto f = std::make_shared<StressFlags>();
  CLI::App* cmd = app.add_subcommand(
      "stress",
      "Find the breaking point: open-model steps that grow while the SLO holds, then bisect; "
      "say what broke first, what saturated, how the target fails, and fit its scalability");
  RunRequest& r = f->request;
  cmd->add_option("script", r.script, "Lua script whose default() each arrival runs");
  cmd->add_option("-e,--env", r.env, "KEY=VALUE for the script's env table (repeatable)");
  cmd->add_option("-u,--url", r.url, "Target URL, e.g. http://127.0.0.1:8080/");
  cmd->add_option("-m,--method", r.method, "HTTP method");
  cmd->add_option("-H,--header", r.headers, "Request header \"Name: value\" (repeatable)");
  cmd->add_option("--body", r.body, "Request body, or @file");
  cmd->add_option("-c,--vus", r.vus, "VUs made at the start")->check(CLI::Range(1u, 1'000'000u));
  cmd->add_option("--max-vus", r.max_vus, "Most VUs busy at once (default 1000)")
      ->check(CLI::Range(1u, 1'000'000u));
  cmd->add_option("-t,--threads", r.threads, "Worker threads (default: number of cores)")
      ->check(CLI::Range(0u, 1024u));
  cmd->add_option("--timeout", r.timeout, "Request timeout");
  add_transport_flags(*cmd, r);
  cmd->add_option("--connect-timeout", r.connect_timeout, "Connect timeout");
  add_output_flags(*cmd, f->output);
  auto* g = cmd->add_option_group("The search");
  g->add_option("--slo", f->slo,
                "What a step must hold, e.g. 'p99<250ms,errors<1%' (any threshold, comma "
                "separated; 429s count as errors)");
  g->add_option("--start-rate", f->start_rate, "First step's rate")->capture_default_str();
  g->add_option("--growth", f->growth, "Factor between growth steps")->capture_default_str();
  g->add_option("--precision", f->precision, "Bisect until good and bad are this close")
      ->capture_default_str();
  g->add_option("--step", f->step, "A step's length (warm-up to steady state, then judged)")
      ->capture_default_str();
  g->add_option("--max-rate", f->max_rate, "No step above this rate");
  g->add_option("--max-time", f->max_time, "The whole search, cool-downs included")
      ->capture_default_str();
  g->add_option("--cooldown", f->cooldown, "After a broken step, at most this long at a low rate")
      ->capture_default_str();
  g->add_flag("--vus-search", f->vus_search,
              "The closed model: grow VUs instead of the rate (how many concurrent users hold "
              "the SLO), from --start-vus up to --max-vus");
  g->add_option("--start-vus", f->start_vus, "--vus-search: the first step's VUs")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  g->add_option("--expected-peak", f->expected_peak,
                "The rate you expect in production (--vus-search: the VUs): the headroom is "
                "judged against it (exit 3 when it is above the sustainable level)");
  // Declared only to be refused with the reason rather than as unknown flags.
  auto* seg = cmd->add_option_group("Execution segments (not for stress)");
  seg->add_option("--segment", f->segment, "Refused: a breaking-point search is one process's job");
  seg->add_option("--segments", f->segments, "Refused, likewise");
  add_watch_flags(*cmd, f->watch);
  action = [cmd, f] {
    refuse_segments(*f);
    f->request.vus_given = cmd->count("--vus") > 0;
    f->request.timeout_given = cmd->count("--timeout") > 0;
    f->start_rate_given = cmd->count("--start-rate") > 0;
    f->start_vus_given = cmd->count("--start-vus") > 0;
    const stress::StressSetup setup = setup_from(*f);
    const LoadPlan plan = stress_plan(*f, setup);
    stress::StressSession stress(setup);
    std::unique_ptr<soak::SoakSession> soak;
    if (watching(f->watch, plan)) {
      soak = make_soak_session(f->watch, false, f->output, plan);
      // --limit: what the saturated resource is judged against, besides the system's limits.
      std::vector<stress::KnownLimit> known;
      for (const soak::ResourceValue& l : soak->options().limits)
        known.push_back(stress::KnownLimit{l.key, l.value});
      stress.tap().set_known_limits(std::move(known), soak::key_matches);
      soak->set_tap([&stress](double t_s, std::size_t i, const watch::Watcher& w,
                              const watch::Sample& sample, const std::vector<watch::Limit>* l) {
        stress.tap().on_sample(t_s, i, w, sample, l);
      });
    }
    return run_and_report(plan, f->output, nullptr, soak.get(), &stress);
  };
  return cmd;
}

}  // namespace strain
