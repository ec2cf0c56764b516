// strain: the command line. Parses flags into a LoadPlan, runs it, renders the result.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "engine/results/json.hpp"
#include "engine/results/thresholds.hpp"
#include "engine/runtime/controller.hpp"
#include "engine/runtime/system_limits.hpp"
#include "engine/script/script_load.hpp"
#include "engine/transport/resolve.hpp"
#include "engine/transport/url.hpp"
#include "reporters/console.hpp"
#include "tools/strain/target_process.hpp"

extern char** environ;

namespace strain {
namespace {

// Flags as typed; turned into a LoadPlan (and checked) by make_plan before any traffic.
struct RunFlags {
  std::string script;  // a Lua script, when given
  std::vector<std::string> env;
  std::uint64_t iterations = 0;
  bool vus_given = false;       // set after parsing: the flag was on the command line
  bool duration_given = false;  // ditto
  bool timeout_given = false;   // ditto
  std::string url;
  std::uint32_t vus = 50;
  std::uint32_t threads = 0;  // 0 = number of cores
  std::string duration = "10s";
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  std::string timeout = "10s";
  std::string connect_timeout = "5s";
  std::string out;
  std::vector<std::string> thresholds;
  bool quiet = false;
  // Open model (--url runs).
  std::string rate;     // "2000/s": constant-arrival-rate, or the start rate with --stages
  std::string stages;   // "30s:100,2m:500": ramping-arrival-rate, targets per second
  std::string arrival;  // uniform | poisson
  std::uint32_t max_vus = 0;
  std::uint64_t seed = 0x5eed;
  std::uint64_t backlog = 0;  // 0: ten seconds of the peak rate (at least 10,000)
  bool seed_given = false;    // set after parsing
};

void add_run_flags(CLI::App& cmd, RunFlags& f, bool scriptable) {
  cmd.add_option("-u,--url", f.url, "Target URL, e.g. http://127.0.0.1:8080/");
  if (scriptable) {
    cmd.add_option("script", f.script, "Lua scenario script (instead of --url)");
    cmd.add_option("-e,--env", f.env, "KEY=VALUE for the script's env table (repeatable)");
    cmd.add_option("-i,--iterations", f.iterations,
                   "Script: run this many iterations in all (shared by the VUs)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 50));
  }
  cmd.add_option("-c,--vus,--connections", f.vus, "Virtual users (keep-alive connections)")
      ->check(CLI::Range(1u, 1'000'000u));
  cmd.add_option("-d,--duration", f.duration, "Load duration: 500ms, 30s, 2m, 1h");
  cmd.add_option("-t,--threads", f.threads, "Worker threads (default: number of cores)")
      ->check(CLI::Range(0u, 1024u));
  cmd.add_option("-m,--method", f.method, "HTTP method");
  cmd.add_option("-H,--header", f.headers, "Request header \"Name: value\" (repeatable)");
  cmd.add_option("--body", f.body, "Request body, or @file to read it from a file");
  cmd.add_option("--timeout", f.timeout,
                 "Request timeout (also the read-idle timeout); scripts: the default per request");
  cmd.add_option("--connect-timeout", f.connect_timeout, "Connect timeout");
  cmd.add_option("-o,--out", f.out, "Write the full result as JSON to this file");
  cmd.add_option("--threshold", f.thresholds,
                 "Pass/fail condition, e.g. \"latency{p99} < 250ms\", \"errors{rate} < 1%\" "
                 "(repeatable; any failure exits 3)");
  cmd.add_flag("-q,--quiet", f.quiet, "No live progress");
  auto* open = cmd.add_option_group("Open model (arrival rate; --url runs)");
  open->add_option("--rate", f.rate,
                   "Start requests at this rate whatever the target does, e.g. 2000/s "
                   "(constant-arrival-rate); with --stages, the starting rate (default 0)");
  open->add_option("--stages", f.stages,
                   "Ramp the rate: \"30s:100,2m:500\" = to 100/s over 30s, then to 500/s over 2m "
                   "(ramping-arrival-rate; sets the duration)");
  open->add_option("--arrival", f.arrival, "Arrival spacing: uniform (default) or poisson");
  open->add_option("--max-vus", f.max_vus,
                   "Most VUs (connections) busy at once; -c gives those made at the start")
      ->check(CLI::Range(1u, 1'000'000u));
  open->add_option("--seed", f.seed, "Seed of the poisson arrivals (same seed, same schedule)");
  open->add_option("--backlog", f.backlog,
                   "Arrivals that may wait for a free VU (default: 10 s of the peak rate)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
}

// "30s:100,2m:500" → stages (durations and targets per second).
std::vector<RateStage> parse_rate_stages(const std::string& text) {
  std::vector<RateStage> stages;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto comma = std::min(text.find(',', at), text.size());
    const std::string part = text.substr(at, comma - at);
    const auto colon = part.find(':');
    if (colon == std::string::npos) {
      throw UsageError("--stages: '" + part + "' is not DURATION:RATE (e.g. 30s:100)");
    }
    RateStage st;
    st.duration = parse_duration(part.substr(0, colon), "--stages");
    st.target_per_s = parse_rate(part.substr(colon + 1), "--stages").per_second;
    stages.push_back(st);
    if (stages.size() > 1000) throw UsageError("--stages: more than 1000 stages");
    at = comma + 1;
  }
  std::chrono::nanoseconds total{0};
  for (const auto& st : stages)
    total += st.duration;
  if (total.count() <= 0) throw UsageError("--stages: the stages last no time at all");
  return stages;
}

// The open model from --rate/--stages, or nothing (closed model).
std::optional<ArrivalPlan> make_arrival_plan(const RunFlags& f) {
  const bool open = !f.rate.empty() || !f.stages.empty();
  if (!open) {
    if (!f.arrival.empty() || f.max_vus != 0 || f.backlog != 0 || f.seed_given) {
      throw UsageError(
          "--arrival, --max-vus, --seed and --backlog apply to arrival-rate runs: add --rate "
          "(e.g. --rate 1000/s) or --stages");
    }
    return std::nullopt;
  }
  ArrivalPlan a;
  Scenario s;  // for the shared defaults (backlog)
  if (f.stages.empty()) {
    s.executor = ExecutorKind::constant_arrival_rate;
    s.rate_per_s = parse_rate(f.rate, "--rate").per_second;
    if (!(s.rate_per_s > 0)) throw UsageError("--rate: must be more than zero");
    s.duration = parse_duration(f.duration, "--duration");
  } else {
    if (f.duration_given) {
      throw UsageError("--stages sets the length of the run: leave out --duration");
    }
    s.executor = ExecutorKind::ramping_arrival_rate;
    s.start_rate_per_s = f.rate.empty() ? 0.0 : parse_rate(f.rate, "--rate").per_second;
    s.rate_stages = parse_rate_stages(f.stages);
  }
  if (peak_rate_per_s(s) > 10'000'000) throw UsageError("--rate: more than 10,000,000/s");
  a.profile = rate_profile(s);
  if (f.arrival.empty() || f.arrival == "uniform") {
    a.process = ArrivalProcess::uniform;
  } else if (f.arrival == "poisson") {
    a.process = ArrivalProcess::poisson;
  } else {
    throw UsageError("--arrival: '" + f.arrival + "' is not uniform or poisson");
  }
  a.seed = f.seed;
  a.preallocated_vus = f.vus;
  a.max_vus = f.max_vus != 0 ? f.max_vus : f.vus;
  if (a.max_vus < a.preallocated_vus) {
    throw UsageError("--max-vus (" + std::to_string(a.max_vus) + ") is below -c/--vus (" +
                     std::to_string(a.preallocated_vus) + "), the VUs made at the start");
  }
  a.backlog_limit = f.backlog != 0 ? f.backlog : default_backlog(s);
  return a;
}

std::string read_body(const std::string& spec) {
  if (spec.empty() || spec[0] != '@') return spec;
  const std::string path = spec.substr(1);
  // A regular file of bounded size only: /dev/zero, a FIFO or a directory would otherwise
  // hang, exhaust memory or send nothing.
  constexpr std::uintmax_t max_body = 64u * 1024 * 1024;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UsageError("--body: '" + path + "' is not a readable regular file");
  }
  if (std::filesystem::file_size(path, ec) > max_body) {
    throw UsageError("--body: '" + path + "' is over 64 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--body: cannot read file '" + path + "'");
  std::string data(max_body + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > max_body) throw UsageError("--body: '" + path + "' is over 64 MiB");
  return data;
}

// "latency{p99} < 250ms" → the expression and the condition, split at the operator.
std::vector<ThresholdSpec> parse_threshold_flags(const std::vector<std::string>& flags) {
  std::vector<ThresholdSpec> specs;
  for (const auto& text : flags) {
    const auto op = text.find_first_of("<>=");
    if (op == std::string::npos) {
      throw UsageError("--threshold: '" + text +
                       "' has no condition (e.g. \"latency{p99} < 250ms\")");
    }
    specs.push_back(parse_threshold(text.substr(0, op), text.substr(op)));
  }
  return specs;
}

LoadPlan make_plan(const RunFlags& f) {
  LoadPlan plan;
  if (f.url.empty()) throw UsageError("give a script or --url (see 'strain run --help')");
  http::Url url;
  try {
    url = http::parse_url(f.url);
  } catch (const UsageError& e) {
    throw UsageError(std::string("--url: ") + e.what());
  }
  if (url.scheme != "http") {
    throw UsageError("--url: '" + f.url +
                     "': only http:// is supported so far (https comes with "
                     "the libcurl transport)");
  }
  plan.url = f.url;
  plan.method = f.method;
  for (const auto& h : f.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError("-H: '" + h + "' is not \"Name: value\"");
    }
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    plan.headers.push_back(http::Header{h.substr(0, colon), value});
  }
  plan.body = read_body(f.body);
  plan.vus = f.vus;
  plan.threads = f.threads != 0 ? f.threads : std::max(1u, std::thread::hardware_concurrency());
  plan.duration = parse_duration(f.duration, "--duration");
  if (plan.duration.count() <= 0) throw UsageError("--duration: must be more than zero");
  plan.arrivals = make_arrival_plan(f);
  if (plan.arrivals) {
    plan.vus = plan.arrivals->max_vus;
    plan.duration = profile_length(plan.arrivals->profile);
  }
  plan.client.request_timeout = parse_duration(f.timeout, "--timeout");
  plan.client.idle_timeout = plan.client.request_timeout;
  plan.client.connect_timeout = parse_duration(f.connect_timeout, "--connect-timeout");
  if (plan.client.request_timeout.count() <= 0 || plan.client.connect_timeout.count() <= 0) {
    throw UsageError("--timeout and --connect-timeout must be more than zero");
  }
  plan.drain_grace =
      std::min<std::chrono::nanoseconds>(plan.client.request_timeout, std::chrono::seconds(5));
  // Build the request once here so a bad method or header fails before any traffic.
  (void)http::RequestTemplate(plan.method, url, plan.headers, plan.body);
  // Each worker also holds an epoll set, its watcher, timers and a wake-up pipe.
  require_fds(std::uint64_t{plan.vus} + std::uint64_t{plan.threads} * 4, raise_fd_limit());
  // One target address: every connection needs a local port of its own.
  require_ports(plan.vus, ephemeral_ports());
  plan.endpoint = resolve_endpoint(url.host, url.port, std::chrono::milliseconds(5000));
  plan.thresholds = parse_threshold_flags(f.thresholds);
  return plan;
}

std::string read_script(const std::string& path) {
  constexpr std::uintmax_t max_script = 16u * 1024 * 1024;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UsageError(path + ": no such script (or not a regular file)");
  }
  if (std::filesystem::file_size(path, ec) > max_script) {
    throw UsageError(path + ": the script is over 16 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read the script");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Scenarios from the command line (they replace the script's), options, or k6's default.
std::vector<Scenario> choose_scenarios(const RunFlags& f, const ScriptOptions& o) {
  Scenario s;
  const bool cli = f.vus_given || f.duration_given || f.iterations != 0;
  if (cli || o.scenarios.empty()) {
    const std::uint32_t vus = f.vus_given ? f.vus : o.vus.value_or(1);
    s.vus = vus;
    if (!o.stages.empty() && !cli) {
      s.executor = ExecutorKind::ramping_vus;
      s.stages = o.stages;
    } else if (f.iterations != 0 || (!f.duration_given && o.iterations && !o.duration)) {
      s.executor = ExecutorKind::shared_iterations;
      s.iterations = f.iterations != 0 ? f.iterations : *o.iterations;
      if (s.iterations < s.vus) s.vus = static_cast<std::uint32_t>(s.iterations);
    } else if (f.duration_given || o.duration) {
      s.executor = ExecutorKind::constant_vus;
      s.duration = f.duration_given ? parse_duration(f.duration, "--duration") : *o.duration;
      if (s.duration.count() <= 0) throw UsageError("--duration: must be more than zero");
    } else {
      // k6's default: one VU, one iteration; a smoke test of the script.
      s.executor = ExecutorKind::shared_iterations;
      s.iterations = 1;
      s.vus = 1;
    }
    return {s};
  }
  return o.scenarios;
}

LoadPlan make_script_plan(const RunFlags& f) {
  if (!f.rate.empty() || !f.stages.empty() || !f.arrival.empty() || f.max_vus != 0) {
    throw UsageError(f.script +
                     ": --rate, --stages, --arrival and --max-vus are for --url runs; a script "
                     "declares an arrival-rate scenario in options.scenarios (executor = "
                     "\"constant-arrival-rate\")");
  }
  auto script = std::make_shared<ScriptPlan>();
  script->path = f.script;
  script->chunk_name = "@" + f.script;
  script->source = read_script(f.script);
  script->directory = std::filesystem::path(f.script).parent_path().string();
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && eq > 0) script->env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& kv : f.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("-e: '" + kv + "' is not KEY=VALUE");
    script->env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // Load once here: a syntax error, a bad option or a missing function stops before traffic.
  const InspectedScript inspected = inspect_script(*script);
  script->settings = inspected.options.settings;
  script->scenarios = choose_scenarios(f, inspected.options);
  script->has_setup = inspected.has_setup;
  script->has_teardown = inspected.has_teardown;
  for (const Scenario& s : script->scenarios) {
    if (!std::binary_search(inspected.functions.begin(), inspected.functions.end(), s.exec)) {
      throw UsageError(
          f.script + ": scenario '" + s.name + "' runs " + s.exec +
          "(), which the script does not define" +
          (s.exec == "default" ? " (define function default() or options.scenarios)" : ""));
    }
  }

  LoadPlan plan;
  plan.url = f.script;
  plan.thresholds = inspected.options.thresholds;
  for (auto& t : parse_threshold_flags(f.thresholds))
    plan.thresholds.push_back(std::move(t));
  std::uint64_t vus = 0;
  std::chrono::nanoseconds length{0};
  for (const Scenario& s : script->scenarios) {
    vus += peak_vus(s);
    length = std::max(length, end_offset(s) + s.graceful_stop);
  }
  if (vus > 10'000'000) throw UsageError(f.script + ": more than 10,000,000 VUs in all");
  plan.vus = static_cast<std::uint32_t>(std::max<std::uint64_t>(vus, 1));
  plan.threads = f.threads != 0 ? f.threads : std::max(1u, std::thread::hardware_concurrency());
  plan.duration = length;
  plan.client.request_timeout =
      f.timeout_given ? parse_duration(f.timeout, "--timeout") : script->settings.request_timeout;
  plan.client.idle_timeout = plan.client.request_timeout;
  plan.client.connect_timeout = parse_duration(f.connect_timeout, "--connect-timeout");
  if (plan.client.request_timeout.count() <= 0 || plan.client.connect_timeout.count() <= 0) {
    throw UsageError("--timeout and --connect-timeout must be more than zero");
  }
  script->settings.request_timeout = plan.client.request_timeout;
  plan.drain_grace =
      std::min<std::chrono::nanoseconds>(plan.client.request_timeout, std::chrono::seconds(5));
  // VUs connect only when they make requests, so descriptors are raised, not demanded: a
  // shortfall shows up as local_limit errors and a generator-bound run.
  raise_fd_limit();
  plan.script = std::move(script);
  return plan;
}

// Runs the plan and renders it; returns the exit code. `result_out` receives the result.
int run_and_report(const LoadPlan& plan, const RunFlags& f, const char* command,
                   RunResult* result_out = nullptr) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  RunHooks hooks;
  if (!f.quiet) {
    // A terminal gets one line rewritten in place; a log gets a line every 5 intervals.
    hooks.on_interval = [tty, n = 0](const Progress& p) mutable {
      ++n;
      if (!tty && n % 5 != 0 && !p.stopping) return;
      const std::string line =
          render_progress(p.elapsed_s, p.planned_s, p.interval, p.failed, p.vus);
      std::fprintf(stderr, tty ? "\r%s\033[K" : "%s\n", line.c_str());
      std::fflush(stderr);
    };
  }
  // Opened before any traffic: a result that cannot be saved is found out now, not after
  // an eight-hour soak.
  std::ofstream out;
  if (!f.out.empty()) {
    out.open(f.out, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError("--out: cannot write '" + f.out + "'");
  }
  RunResult result = run_load(plan, hooks);
  result.config.command = command;
  result.thresholds = evaluate_thresholds(plan.thresholds, result);
  if (!f.quiet && tty) std::fputc('\n', stderr);
  bool saved = true;
  if (out.is_open()) {
    out << to_json(result) << '\n';
    out.close();
    saved = static_cast<bool>(out);
  }
  std::fputs(render_summary(result).c_str(), stdout);
  std::fflush(stdout);
  if (!saved) {
    std::fprintf(stderr, "strain: cannot write result to '%s'\n", f.out.c_str());
    return static_cast<int>(ExitCode::run_failed);
  }
  if (!result.aborted_reason.empty()) {
    std::fprintf(stderr, "strain: the run stopped early: %s\n", result.aborted_reason.c_str());
    return static_cast<int>(ExitCode::run_failed);
  }
  if (result_out != nullptr) *result_out = result;
  if (!result.threshold_abort.empty()) {
    std::fprintf(stderr, "strain: stopped early: threshold %s failed (abort_on_fail)\n",
                 result.threshold_abort.c_str());
    return static_cast<int>(ExitCode::thresholds_failed);
  }
  if (result.partial) return static_cast<int>(ExitCode::interrupted);
  if (result.generator.generator_bound) return static_cast<int>(ExitCode::generator_bound);
  for (const auto& t : result.thresholds) {
    if (!t.passed) return static_cast<int>(ExitCode::thresholds_failed);
  }
  if (result.total.responses == 0 && result.script.iterations == 0) {
    std::fprintf(stderr, "strain: no response was received from %s\n", plan.url.c_str());
    return static_cast<int>(ExitCode::run_failed);
  }
  return static_cast<int>(ExitCode::passed);
}

int run_script(const RunFlags& f) {
  LoadPlan plan = make_script_plan(f);
  auto script = std::make_shared<ScriptPlan>(*plan.script);
  if (script->has_setup) {
    if (!f.quiet) std::fprintf(stderr, "strain: running setup()\n");
    const OneShotResult setup =
        ScriptLoad::run_once(*script, "setup", "null", native_client_factory(plan.client));
    if (!setup.ok) {
      std::fprintf(stderr, "strain: setup() failed, so no load was run:\n%s\n",
                   setup.error.c_str());
      return static_cast<int>(ExitCode::run_failed);
    }
    script->setup_data_json = setup.value_json;
  }
  plan.script = script;
  int code = run_and_report(plan, f, "run");
  if (script->has_teardown) {
    const OneShotResult teardown = ScriptLoad::run_once(
        *script, "teardown", script->setup_data_json, native_client_factory(plan.client));
    if (!teardown.ok) {
      std::fprintf(stderr, "strain: teardown() failed:\n%s\n", teardown.error.c_str());
      if (code == 0) code = static_cast<int>(ExitCode::run_failed);
    }
  }
  return code;
}

int demo(RunFlags f) {
  std::fprintf(stderr, "strain demo: starting strain-target on 127.0.0.1 ...\n");
  TargetProcess target({"--threads", "1"}, std::chrono::milliseconds(5000));
  f.url = "http://127.0.0.1:" + std::to_string(target.port()) + "/";
  const LoadPlan plan = make_plan(f);
  std::fprintf(stderr, "strain demo: %u VUs for %s against %s\n", plan.vus, f.duration.c_str(),
               f.url.c_str());
  RunResult result;
  const int code = run_and_report(plan, f, "demo", &result);
  const auto served = target.stop(std::chrono::milliseconds(3000));
  if (served) {
    const auto counted = result.total.responses;
    const auto in_flight = result.generator.in_flight_at_stop;
    const bool agree = *served >= counted && *served - counted <= in_flight;
    std::printf(
        "\n  strain-target says it served %llu requests; strain counted %llu responses "
        "with %llu in flight at stop: %s\n",
        static_cast<unsigned long long>(*served), static_cast<unsigned long long>(counted),
        static_cast<unsigned long long>(in_flight),
        agree ? "the counts reconcile" : "THE COUNTS DISAGREE");
  }
  return code;
}

}  // namespace
}  // namespace strain

int main(int argc, char** argv) {
  using namespace strain;
  CLI::App app{"strain: load, stress and soak testing for HTTP services"};
  app.set_version_flag("--version", "strain 0.1.0");
  app.require_subcommand(1);
  RunFlags run_flags;
  auto* run = app.add_subcommand("run", "Run a load test: a Lua script, or --url");
  add_run_flags(*run, run_flags, true);
  RunFlags demo_flags;
  demo_flags.duration = "10s";
  auto* demo_cmd = app.add_subcommand("demo", "Start the built-in target on 127.0.0.1 and load it");
  add_run_flags(*demo_cmd, demo_flags, false);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "strain: %s\nRun 'strain --help' for usage.\n", e.what());
    return static_cast<int>(ExitCode::bad_usage);
  }

  try {
    if (*run) {
      run_flags.vus_given = run->count("--vus") > 0;
      run_flags.duration_given = run->count("--duration") > 0;
      run_flags.timeout_given = run->count("--timeout") > 0;
      run_flags.seed_given = run->count("--seed") > 0;
      if (!run_flags.script.empty()) {
        if (!run_flags.url.empty()) {
          throw UsageError(
              "give a script or --url, not both (scripts name their URLs; pass "
              "one in with -e BASE_URL=...)");
        }
        return run_script(run_flags);
      }
      return run_and_report(make_plan(run_flags), run_flags, "run");
    }
    if (*demo_cmd) {
      demo_flags.duration_given = demo_cmd->count("--duration") > 0;
      demo_flags.seed_given = demo_cmd->count("--seed") > 0;
      return demo(demo_flags);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "strain: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strain: internal error: %s\n", e.what());
    return static_cast<int>(ExitCode::run_failed);
  }
  return static_cast<int>(ExitCode::bad_usage);
}
