#include "tools/target/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <limits>
#include <ostream>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain::target {
namespace {

std::uint64_t parse_count(const std::string& text, std::string_view what, std::uint64_t min,
                          std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < min || n > max) {
    throw UsageError(std::string(what) + ": '" + text + "' is not a whole number from " +
                     std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

}  // namespace

std::optional<TargetOptions> parse_options(int argc, const char* const* argv, std::ostream& out) {
  CLI::App app{
      "strain-target: a fast, configurable HTTP/1.1 test server for strain, on loopback only.\n"
      "Per request, the query parameters latency=SPEC (or delay=DURATION), size=SIZE and\n"
      "status=N override --latency, --body-size and --status. GET /__strain/stats returns the\n"
      "counts as JSON; GET /metrics the process's memory, descriptors and CPU for Prometheus.\n"
      "\n"
      "A demo JSON API lives under /api/ (latency and the fault shapes apply to it; ?size=,\n"
      "?status=, trickle and header_bytes do not). Counts appear under \"api\" in\n"
      "/__strain/stats.\n"
      "  POST /api/login {\"user\":U,\"pass\":\"pw-\"+U} -> {\"token\":T,\"user\":U}\n"
      "  Every other route needs \"Authorization: Bearer T\":\n"
      "  GET /api/items?page=N    POST /api/items {\"name\":S,\"price\":X}\n"
      "  GET|PUT|DELETE /api/items/{id}    GET /api/products    POST /api/cart\n"
      "  POST /api/cart/{id}/items {\"product\":P,\"qty\":Q}    POST /api/cart/{id}/checkout\n"
      "\n"
      "Shapes (server-wide, off by default):\n"
      "  --workers W --service 10ms: at most W requests in service at once; the rest wait in one\n"
      "    FIFO queue (over --queue-limit: 503). Capacity is W/service. ?service= overrides per\n"
      "    request. Service comes first, then any --latency/?delay=.\n"
      "  --stall-every E --stall-for F: no response is written during [k*E + (E-F), (k+1)*E)\n"
      "    after the server starts listening, k = 0, 1, ... (a write already begun completes).\n"
      "    Windows are printed at exit as 'strain-target stall start_ms=S end_ms=E' (since start;\n"
      "    'strain-target stall_clock start_epoch_ms=T' maps them to wall time) and listed in\n"
      "    /__strain/stats.\n"
      "  --phases '60s:ok; 60s:slow?latency=250ms; 60s:bad?error_rate=500:20%&reset_rate=2%':\n"
      "    the defaults take turns: these phases from the start, in order, again and again\n"
      "    until exit. Each is DURATION:NAME[?QUERY] (';' between them, up to 16, each 100ms to\n"
      "    24h); its QUERY, the query parameters below joined by '&', applies over the flags,\n"
      "    and a request's own query over that. A request belongs to the phase in force when\n"
      "    its head was read. Counts per phase: \"phases\" in /__strain/stats; at exit, after\n"
      "    the count line, 'strain-target phase_clock start_epoch_ms=T cycle_ms=C', then one\n"
      "    'strain-target phase index=I name=N ... query=Q' line per phase.\n"
      "  --rate-limit 500/s [--burst N]: token bucket (burst: 1 s worth); beyond it 429 with\n"
      "    Retry-After: 1.\n"
      "  --leak 16KiB [--leak-limit 1GiB]: keep that much memory per served request.\n"
      "  --cpu-work 1ms: per served request, once it is read, its worker thread hashes for that\n"
      "    much of its own CPU time (CLOCK_THREAD_CPUTIME_ID), then answers; up to 1s.\n"
      "    ?cpu_work= overrides per request. Capacity is about --threads/cpu-work and CPU use\n"
      "    nears --threads cores. None for a refusal (400, 413, 429, 503) or a fault; under\n"
      "    --workers it runs once admitted, within the service time. Counts: \"cpu_work\" in\n"
      "    /__strain/stats.\n"
      "\n"
      "Soak shapes (a known truth for leak judges; off by default):\n"
      "  --churn: per served request, allocate and free 1-64 blocks of 16B-64KiB (sizes from\n"
      "    --seed); a few live on for some requests in a bounded ring. Busy heap, no leak.\n"
      "  --transient 64MiB/5s: each period, map that much, touch every page, hold it min(1s,\n"
      "    period/2), unmap it: an RSS sawtooth with a flat floor.\n"
      "  --fd-leak N [--fd-leak-limit 10000]: keep one descriptor (an eventfd) open per N served\n"
      "    requests; never within 64 of the open-file soft limit.\n"
      "  GET /metrics answers on any target, Prometheus text 0.0.4: process_* from /proc/self,\n"
      "  strain_target_requests_total, strain_target_leaked_bytes, strain_target_leaked_fds,\n"
      "  strain_target_transient_bytes. Like /__strain/stats it is not served: not in the counts,\n"
      "  and no latency, fault, rate limit, leak, churn or CPU work for it (a stall holds\n"
      "  it back).\n"
      "\n"
      "Harness shapes (each also a query parameter, which overrides the flag for that request):\n"
      "  --latency 2ms | fixed:2ms | uniform:1ms..5ms | lognormal:10ms,p99=80ms |\n"
      "    bimodal:2ms,200ms@5%    (?latency=; draws are repeatable: --seed N)\n"
      "  --error-rate 503:5%,500:1%: that status with that probability (?error_rate=)\n"
      "  --trickle 100/10ms: headers, then the body 100 bytes every 10ms (?trickle=)\n"
      "  --hang-rate P% [--hang-for 10m]: read, never answer, close after hang-for\n"
      "    (?hang=30s; a bare ?hang: 10m; ?hang_rate=, ?hang_for=)\n"
      "  --reset-rate P%: part of a head, then a TCP reset (?reset=1, ?reset_rate=)\n"
      "  --garbage-rate P%: bytes that are not HTTP, then a close (?garbage=1, ?garbage_rate=)\n"
      "  --header-bytes N: padding header fields of about N bytes, up to 1MiB (?header_bytes=)\n"
      "  One draw per request decides: hang, reset, garbage, then the error rates, in that order;\n"
      "  the rates add up to at most 100%. Counts: \"faults\" in /__strain/stats.",
      "strain-target"};
  app.set_version_flag("--version", "strain-target 0.1.0");
  // A repeated flag takes its last value, so wrappers can append overrides to their defaults.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string threads = "1";
  std::string latency = "0";
  std::string body_size = "13";
  std::string status = "200";
  std::string idle_timeout = "60s";
  std::string max_connections = "20000";
  std::string exit_after;
  std::string exit_after_requests;
  std::string workers = "0";
  std::string service = "0";
  std::string queue_limit = "10000";
  std::string cpu_work = "0";
  std::string stall_every;
  std::string stall_for;
  std::string rate_limit;
  std::string burst;
  std::string leak;
  std::string leak_limit = "1GiB";
  bool churn = false;
  std::string transient;
  std::string fd_leak;
  std::string fd_leak_limit = "10000";
  std::string close_every = "0";
  std::string seed = "1";
  std::string error_rate;
  std::string trickle;
  std::string hang_rate;
  std::string hang_for = "10m";
  std::string reset_rate;
  std::string garbage_rate;
  std::string header_bytes = "0";
  std::string phases;
  app.add_option("--host", host, "Address to listen on: 127.0.0.1, localhost or ::1")
      ->capture_default_str();
  app.add_option("--port", port, "TCP port; 0 picks a free one (printed on start)")
      ->capture_default_str();
  app.add_option("--threads", threads, "Worker threads, each with its own event loop")
      ->capture_default_str();
  app.add_option("--latency", latency,
                 "Delay before each response: 2ms, uniform:1ms..5ms, lognormal:10ms,p99=80ms, "
                 "bimodal:2ms,200ms@5% (?latency=, ?delay=)")
      ->capture_default_str();
  app.add_option("--seed", seed, "Seed of the random shapes (worker i: stream i)")
      ->capture_default_str();
  app.add_option("--error-rate", error_rate, "Random statuses, e.g. 503:5%,500:1% (?error_rate=)");
  app.add_option("--trickle", trickle, "Body in pieces, e.g. 100/10ms (?trickle=)");
  app.add_option("--hang-rate", hang_rate, "Requests read and never answered, e.g. 1% (?hang=)");
  app.add_option("--hang-for", hang_for, "A hang closes its connection after this, up to 10m")
      ->capture_default_str();
  app.add_option("--reset-rate", reset_rate, "Responses cut by a TCP reset, e.g. 1% (?reset=1)");
  app.add_option("--garbage-rate", garbage_rate, "Answers that are not HTTP, e.g. 1% (?garbage=1)");
  app.add_option("--header-bytes", header_bytes,
                 "Padding header fields, up to 1MiB (?header_bytes=)")
      ->capture_default_str();
  app.add_option("--body-size", body_size, "Response body size, e.g. 1KiB (?size=)")
      ->capture_default_str();
  app.add_option("--status", status, "Response status, 200-599 (?status=)")->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout, "Close connections silent for this long")
      ->capture_default_str();
  app.add_option("--max-connections", max_connections,
                 "Open connections beyond this are accepted and closed at once")
      ->capture_default_str();
  app.add_option("--exit-after", exit_after, "Stop after this long, e.g. 30s");
  app.add_option("--exit-after-requests", exit_after_requests,
                 "Stop once this many responses were served");
  app.add_option("--workers", workers, "Requests in service at once, server-wide; 0: no limit")
      ->capture_default_str();
  app.add_option("--service", service, "Service time per request under --workers (?service=)")
      ->capture_default_str();
  app.add_option("--queue-limit", queue_limit, "Requests waiting for --workers; beyond: 503")
      ->capture_default_str();
  app.add_option("--cpu-work", cpu_work,
                 "Thread CPU time burnt per served request, up to 1s, e.g. 1ms (?cpu_work=)")
      ->capture_default_str();
  app.add_option("--stall-every", stall_every, "Freeze all responses once per period, e.g. 5s");
  app.add_option("--stall-for", stall_for, "Length of each freeze, e.g. 1s (< --stall-every)");
  app.add_option("--phases", phases,
                 "Defaults that take turns, e.g. '60s:ok; 30s:slow?latency=250ms' (see above)");
  app.add_option("--rate-limit", rate_limit, "Token bucket, e.g. 500/s; beyond: 429");
  app.add_option("--burst", burst, "Token bucket size (default: 1 s of --rate-limit)");
  app.add_option("--leak", leak, "Memory kept per served request, e.g. 16KiB");
  app.add_option("--close-every", close_every,
                 "Connection: close on every Nth response of a connection (?close_every=)")
      ->capture_default_str();
  app.add_option("--leak-limit", leak_limit, "The leak stops growing here")->capture_default_str();
  app.add_flag("--churn", churn, "Allocate and free blocks on every served request; no leak");
  app.add_option("--transient", transient,
                 "Hold SIZE each PERIOD for min(1s, PERIOD/2), e.g. 64MiB/5s; no leak");
  app.add_option("--fd-leak", fd_leak, "Keep one descriptor open per N served requests");
  app.add_option("--fd-leak-limit", fd_leak_limit, "The fd leak stops growing here")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return std::nullopt;
  } catch (const CLI::CallForVersion&) {
    out << "strain-target 0.1.0\n";
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }

  TargetOptions o;
  if (host == "127.0.0.1" || host == "localhost")
    o.host = "127.0.0.1";
  else if (host == "::1" || host == "[::1]")
    o.host = "::1";
  else {
    throw UsageError("--host: '" + host +
                     "' is not allowed: strain-target listens only on loopback "
                     "(127.0.0.1, localhost or ::1)");
  }
  o.port = static_cast<std::uint16_t>(parse_count(port, "--port", 0, 65535));
  o.threads = static_cast<unsigned>(parse_count(threads, "--threads", 1, 256));
  o.defaults.latency = parse_latency(latency, "--latency");
  o.defaults.body_bytes = parse_body_size(body_size, "--body-size");
  o.defaults.status = parse_status(status, "--status");
  o.idle_timeout = parse_duration(idle_timeout, "--idle-timeout");
  if (o.idle_timeout < std::chrono::milliseconds(1)) {
    throw UsageError("--idle-timeout: '" + idle_timeout + "' is shorter than 1ms");
  }
  o.max_connections =
      static_cast<std::uint32_t>(parse_count(max_connections, "--max-connections", 1, 10'000'000));
  if (!exit_after.empty()) {
    o.exit_after = parse_duration(exit_after, "--exit-after");
    if (*o.exit_after <= std::chrono::nanoseconds(0)) {
      throw UsageError("--exit-after: '" + exit_after + "' must be longer than 0");
    }
  }
  if (!exit_after_requests.empty()) {
    o.exit_after_requests =
        parse_count(exit_after_requests, "--exit-after-requests", 1, 1'000'000'000'000);
  }
  o.workers = static_cast<std::uint32_t>(parse_count(workers, "--workers", 0, 100'000));
  o.defaults.service = parse_delay(service, "--service");
  o.queue_limit = parse_count(queue_limit, "--queue-limit", 0, 10'000'000);
  o.defaults.cpu_work = parse_cpu_work(cpu_work, "--cpu-work");
  if (stall_every.empty() != stall_for.empty()) {
    throw UsageError("--stall-every and --stall-for go together");
  }
  if (!stall_every.empty()) {
    o.stall_every = parse_delay(stall_every, "--stall-every");
    o.stall_for = parse_delay(stall_for, "--stall-for");
    if (o.stall_every < std::chrono::milliseconds(10)) {
      throw UsageError("--stall-every: '" + stall_every + "' is shorter than 10ms");
    }
    if (o.stall_for <= std::chrono::nanoseconds(0) || o.stall_for >= o.stall_every) {
      throw UsageError("--stall-for: '" + stall_for +
                       "' must be longer than 0 and shorter than "
                       "--stall-every");
    }
  }
  if (!rate_limit.empty()) {
    o.rate_limit_per_s = parse_rate(rate_limit, "--rate-limit").per_second;
    if (!(o.rate_limit_per_s > 0)) {
      throw UsageError("--rate-limit: '" + rate_limit + "' must be more than 0");
    }
    o.burst = std::max(1.0, o.rate_limit_per_s);
  }
  if (!burst.empty()) {
    if (rate_limit.empty()) throw UsageError("--burst needs --rate-limit");
    o.burst = static_cast<double>(parse_count(burst, "--burst", 1, 1'000'000'000));
  }
  if (!leak.empty()) o.leak_bytes = parse_size_bytes(leak, "--leak");
  if (o.leak_bytes > kMaxBodyBytes) {
    throw UsageError("--leak: '" + leak + "' is larger than 1GiB");
  }
  o.leak_limit_bytes = parse_size_bytes(leak_limit, "--leak-limit");
  o.churn = churn;
  if (!transient.empty()) {
    const auto slash = transient.find('/');
    const auto expected = "--transient: '" + transient +
                          "' is not SIZE/PERIOD (e.g. 64MiB/5s; a size from 4KiB to 1GiB, a "
                          "period from 100ms to 1h)";
    if (slash == std::string::npos) throw UsageError(expected);
    try {
      o.transient_bytes = parse_size_bytes(transient.substr(0, slash), "--transient");
      o.transient_every = parse_duration(transient.substr(slash + 1), "--transient");
    } catch (const UsageError&) {
      throw UsageError(expected);
    }
    if (o.transient_bytes < 4096 || o.transient_bytes > kMaxBodyBytes ||
        o.transient_every < std::chrono::milliseconds(100) ||
        o.transient_every > std::chrono::hours(1)) {
      throw UsageError(expected);
    }
  }
  if (!fd_leak.empty()) o.fd_leak_every = parse_count(fd_leak, "--fd-leak", 0, 1'000'000'000);
  o.fd_leak_limit = parse_count(fd_leak_limit, "--fd-leak-limit", 1, 10'000'000);
  o.defaults.close_every = parse_close_every(close_every, "--close-every");
  o.seed = parse_count(seed, "--seed", 0, std::numeric_limits<std::uint64_t>::max());
  if (!error_rate.empty()) o.defaults.error_rates = parse_error_rates(error_rate, "--error-rate");
  if (!trickle.empty()) o.defaults.trickle = parse_trickle(trickle, "--trickle");
  if (!hang_rate.empty()) o.defaults.hang_rate = parse_percent(hang_rate, "--hang-rate");
  o.defaults.hang_for = parse_hang(hang_for, "--hang-for");
  if (o.defaults.hang_for.count() == 0) {
    throw UsageError("--hang-for: '" + hang_for + "' must be longer than 0");
  }
  if (!reset_rate.empty()) o.defaults.reset_rate = parse_percent(reset_rate, "--reset-rate");
  if (!garbage_rate.empty()) {
    o.defaults.garbage_rate = parse_percent(garbage_rate, "--garbage-rate");
  }
  o.defaults.header_bytes = parse_header_bytes(header_bytes, "--header-bytes");
  check_behaviour(o.defaults, "--error-rate, --hang-rate, --reset-rate, --garbage-rate",
                  "--trickle");
  // Last: each phase applies its query over the flags above.
  if (!phases.empty()) o.phases = parse_phases(phases, o.defaults, "--phases");
  return o;
}

}  // namespace strain::target
