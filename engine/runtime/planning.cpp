#include "engine/runtime/planning.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "engine/runtime/system_limits.hpp"
#include "engine/script/script_load.hpp"
#include "engine/transport/resolve.hpp"
#include "engine/transport/url.hpp"

extern char** environ;

namespace strain {
namespace {

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

// The --url run's scenario: constant-vus, or an arrival-rate one from --rate/--stages.
Scenario url_scenario(const RunRequest& f, std::chrono::nanoseconds duration,
                      std::chrono::nanoseconds graceful_stop) {
  Scenario s;
  s.name = "default";
  s.graceful_stop = graceful_stop;
  const bool open = !f.rate.empty() || !f.stages.empty();
  if (!open) {
    if (!f.arrival.empty() || f.max_vus != 0 || f.backlog != 0 || f.seed_given) {
      throw UsageError(
          "--arrival, --max-vus, --seed and --backlog apply to arrival-rate runs: add --rate "
          "(e.g. --rate 1000/s) or --stages");
    }
    s.executor = ExecutorKind::constant_vus;
    s.vus = f.vus;
    s.duration = duration;
    return s;
  }
  if (f.stages.empty()) {
    s.executor = ExecutorKind::constant_arrival_rate;
    s.rate_per_s = parse_rate(f.rate, "--rate").per_second;
    if (!(s.rate_per_s > 0)) throw UsageError("--rate: must be more than zero");
    s.duration = duration;
  } else {
    if (f.duration_given) {
      throw UsageError("--stages sets the length of the run: leave out --duration");
    }
    s.executor = ExecutorKind::ramping_arrival_rate;
    s.start_rate_per_s = f.rate.empty() ? 0.0 : parse_rate(f.rate, "--rate").per_second;
    s.rate_stages = parse_rate_stages(f.stages);
  }
  if (peak_rate_per_s(s) > 10'000'000) throw UsageError("--rate: more than 10,000,000/s");
  if (f.arrival.empty() || f.arrival == "uniform") {
    s.arrival = ArrivalProcess::uniform;
  } else if (f.arrival == "poisson") {
    s.arrival = ArrivalProcess::poisson;
  } else {
    throw UsageError("--arrival: '" + f.arrival + "' is not uniform or poisson");
  }
  s.seed = f.seed;
  s.preallocated_vus = f.vus;
  s.max_vus = f.max_vus != 0 ? f.max_vus : f.vus;
  if (s.max_vus < s.preallocated_vus) {
    throw UsageError("--max-vus (" + std::to_string(s.max_vus) + ") is below -c/--vus (" +
                     std::to_string(s.preallocated_vus) + "), the VUs made at the start");
  }
  s.backlog_limit = f.backlog != 0 ? f.backlog : default_backlog(s);
  return s;
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

std::uint32_t threads_of(const RunRequest& f) {
  return f.threads != 0 ? f.threads : std::max(1u, std::thread::hardware_concurrency());
}

void set_timeouts(const RunRequest& f, std::chrono::nanoseconds request_timeout, LoadPlan& plan) {
  plan.client.request_timeout = request_timeout;
  plan.client.idle_timeout = plan.client.request_timeout;
  plan.client.connect_timeout = parse_duration(f.connect_timeout, "--connect-timeout");
  if (plan.client.request_timeout.count() <= 0 || plan.client.connect_timeout.count() <= 0) {
    throw UsageError("--timeout and --connect-timeout must be more than zero");
  }
  plan.drain_grace =
      std::min<std::chrono::nanoseconds>(plan.client.request_timeout, std::chrono::seconds(5));
}

// The transport flags, checked: a missing certificate file or an impossible combination
// stops the run before any traffic. `url` is the --url target (scripts: checked per origin).
TransportOptions transport_of(const RunRequest& f) {
  TransportOptions o;
  if (f.transport == "native") {
    o.kind = TransportKind::native;
  } else if (f.transport == "curl") {
    o.kind = TransportKind::curl;
  } else if (f.transport != "auto" && !f.transport.empty()) {
    throw UsageError("--transport: '" + f.transport + "' is not auto, native or curl");
  }
  o.http2 = f.http2;
  o.connections = f.connections;
  o.max_streams = f.max_streams;
  o.proxy = f.proxy;
  o.tls.cacert = f.cacert;
  o.tls.cert = f.cert;
  o.tls.key = f.key;
  o.tls.insecure = f.insecure;
  o.follow = f.follow;
  o.resolve = f.resolve;
  if (!o.proxy.empty()) {
    try {
      (void)http::parse_url(o.proxy);
    } catch (const UsageError& e) {
      throw UsageError(std::string("--proxy: ") + e.what());
    }
  }
  if (o.connections != 0 && !o.http2) {
    throw UsageError("--connections is for --http2 (over HTTP/1.1 each VU has its own; use -c)");
  }
  return o;
}

// HTTP/2 connections are per worker (each has its own libcurl multi): --connections N is split
// evenly, with fewer workers when N does not divide among them.
void split_connections(LoadPlan& plan) {
  std::uint32_t& n = plan.transport.connections;
  if (!plan.transport.http2 || n == 0) return;
  plan.threads = std::min(plan.threads, n);
  while (n % plan.threads != 0)
    --plan.threads;
  n /= plan.threads;
}

void check_transport_for(const TransportOptions& o, const http::Url& url) {
  if (auto why = check_transport(o, url); !why.empty()) throw UsageError(why);
}

LoadPlan make_url_plan(const RunRequest& f, Share segment) {
  LoadPlan plan;
  plan.command = f.command;
  plan.segment = segment;
  if (f.url.empty()) throw UsageError("give a script or --url (see 'strain run --help')");
  http::Url url;
  try {
    url = http::parse_url(f.url);
  } catch (const UsageError& e) {
    throw UsageError(std::string("--url: ") + e.what());
  }
  plan.transport = transport_of(f);
  check_transport_for(plan.transport, url);
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
  plan.threads = threads_of(f);
  split_connections(plan);
  const auto duration = parse_duration(f.duration, "--duration");
  if (duration.count() <= 0) throw UsageError("--duration: must be more than zero");
  set_timeouts(f, parse_duration(f.timeout, "--timeout"), plan);
  plan.scenario = url_scenario(f, duration, plan.drain_grace);
  plan.duration = active_length(plan.scenario);
  // Build the request once here so a bad method or header fails before any traffic, named by
  // the flag it came from.
  try {
    (void)http::RequestTemplate(plan.method, url, plan.headers, plan.body);
  } catch (const UsageError& e) {
    const std::string_view why = e.what();
    throw UsageError(std::string(why.starts_with("bad HTTP method") ? "--method" : "-H") + ": " +
                     std::string(why));
  }
  // Each worker also holds an epoll set, its watcher, timers and a wake-up pipe.
  require_fds(plan.segment_vus() + std::uint64_t{plan.threads} * 4, raise_fd_limit());
  // One target address: every connection needs a local port of its own.
  require_ports(plan.segment_vus(), ephemeral_ports());
  if (choose_transport(plan.transport, url) == TransportKind::curl) {
    // libcurl resolves per connection; a name that does not resolve counts as dns errors.
    plan.clients = client_factory(plan.client, plan.transport);
  } else {
    // Resolved once, before any traffic; every worker's client connects to these addresses.
    plan.clients =
        client_factory(plan.client, plan.transport,
                       resolve_endpoint(url.host, url.port, std::chrono::milliseconds(5000)));
  }
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
std::vector<Scenario> choose_scenarios(const RunRequest& f, const ScriptOptions& o) {
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

LoadPlan make_script_plan(const RunRequest& f, Share segment) {
  if (!f.url.empty()) {
    throw UsageError(
        "give a script or --url, not both (scripts name their URLs; pass one in with -e "
        "BASE_URL=...)");
  }
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
  script->segment = segment;  // before loading it: its top level may read vu.segment
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
  script->soak = inspected.options.soak;
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
  plan.command = f.command;
  plan.segment = segment;
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
  plan.threads = threads_of(f);
  plan.duration = length;
  set_timeouts(
      f,
      f.timeout_given ? parse_duration(f.timeout, "--timeout") : script->settings.request_timeout,
      plan);
  script->settings.request_timeout = plan.client.request_timeout;
  plan.transport = transport_of(f);
  split_connections(plan);
  // Origins come from the script as it runs; the flags are checked against a plain one here
  // (files, combinations) and each origin's scheme when it is first used.
  check_transport_for(plan.transport, http::parse_url(plan.transport.kind == TransportKind::native
                                                          ? "http://localhost/"
                                                          : "https://localhost/"));
  plan.clients = client_factory(plan.client, plan.transport);
  // VUs connect only when they make requests, so descriptors are raised, not demanded: a
  // shortfall shows up as local_limit errors and a generator-bound run.
  raise_fd_limit();
  plan.script = std::move(script);
  return plan;
}

}  // namespace

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

LoadPlan make_plan(const RunRequest& request) {
  const Share segment = choose_segment(request.segment);
  std::optional<double> start_at;
  if (!request.start_at.empty()) {
    const double now_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    start_at = parse_start_at(request.start_at, now_ms);
  }
  LoadPlan plan =
      request.script.empty() ? make_url_plan(request, segment) : make_script_plan(request, segment);
  if (segment.count > 1 && plan.segment_vus() == 0) {
    // A segment with no VU in any scenario would run nothing and fail for lack of responses.
    throw UsageError("--segment " + std::to_string(segment.index + 1) + "/" +
                     std::to_string(segment.count) + ": this segment gets none of the test's " +
                     std::to_string(plan.peak_vus()) + " VUs; cut it into at most " +
                     std::to_string(plan.peak_vus()) + " segments");
  }
  plan.start_at_unix_ms = start_at;
  plan.fingerprint = load_fingerprint(
      request, plan.script ? std::string_view(plan.script->source) : "", plan.body);
  return plan;
}

std::string load_fingerprint(const RunRequest& f, std::string_view script_source,
                             std::string_view body) {
  // Length-prefixed fields, so no two different option sets make the same text.
  std::string text;
  const auto field = [&text](std::string_view key, std::string_view value) {
    text.append(key).append(" ").append(std::to_string(value.size())).append(":");
    text.append(value).append("\n");
  };
  const auto number = [&field](std::string_view key, std::uint64_t n, bool given = true) {
    field(key, std::to_string(n) + (given ? "" : " (default)"));
  };
  field("script", script_source);
  std::vector<std::string> env = f.env;  // -e order does not matter, only the last of a key
  std::stable_sort(env.begin(), env.end(), [](const std::string& a, const std::string& b) {
    return a.substr(0, a.find('=')) < b.substr(0, b.find('='));
  });
  for (const std::string& kv : env)
    field("env", kv);
  number("iterations", f.iterations);
  field("url", f.url);
  number("vus", f.vus, f.vus_given);
  field("duration", f.duration + (f.duration_given ? "" : " (default)"));
  field("method", f.method);
  for (const std::string& h : f.headers)
    field("header", h);
  field("body", body);
  field("timeout", f.timeout + (f.timeout_given ? "" : " (default)"));
  field("connect_timeout", f.connect_timeout);
  for (const std::string& t : f.thresholds)
    field("threshold", t);
  field("rate", f.rate);
  field("stages", f.stages);
  field("arrival", f.arrival);
  number("max_vus", f.max_vus);
  number("seed", f.seed, f.seed_given);
  number("backlog", f.backlog);
  field("transport", f.transport);
  number("http2", f.http2 ? 1 : 0);
  number("connections", f.connections);
  number("max_streams", f.max_streams);
  number("insecure", f.insecure ? 1 : 0);
  number("follow", f.follow ? 1 : 0);
  // FNV-1a, 64 bits: simple, stable across platforms and versions, and enough to tell tests
  // apart (it is no defence against someone forging a match).
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace strain
