#include "tools/target/options.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine/core/error.hpp"

using namespace std::chrono_literals;
using strain::target::TargetOptions;

namespace {

std::optional<TargetOptions> parse(std::vector<std::string> args, std::string* out = nullptr) {
  args.insert(args.begin(), "strain-target");
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  std::ostringstream text;
  auto o = strain::target::parse_options(static_cast<int>(argv.size()), argv.data(), text);
  if (out != nullptr) *out = text.str();
  return o;
}

// The one-line message parse() fails with.
std::string failure(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const strain::UsageError& e) {
    CHECK(e.code() == strain::ExitCode::bad_usage);
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("defaults") {
  const auto o = parse({});
  REQUIRE(o);
  CHECK(o->host == "127.0.0.1");
  CHECK(o->port == 8080);
  CHECK(o->threads == 1);
  CHECK(o->defaults.latency == strain::target::Latency::fixed(0ns));
  CHECK(o->defaults.body_bytes == 13);
  CHECK(o->defaults.status == 200);
  CHECK(o->idle_timeout == 60s);
  CHECK(o->max_connections == 20000);
  CHECK_FALSE(o->exit_after);
  CHECK_FALSE(o->exit_after_requests);
}

TEST_CASE("every flag") {
  const auto o = parse({"--host",
                        "localhost",
                        "--port",
                        "0",
                        "--threads",
                        "4",
                        "--latency",
                        "2ms",
                        "--body-size",
                        "1KiB",
                        "--status",
                        "503",
                        "--idle-timeout",
                        "5s",
                        "--max-connections",
                        "100",
                        "--exit-after",
                        "1m",
                        "--exit-after-requests",
                        "1000"});
  REQUIRE(o);
  CHECK(o->host == "127.0.0.1");
  CHECK(o->port == 0);
  CHECK(o->threads == 4);
  CHECK(o->defaults.latency == strain::target::Latency::fixed(2ms));
  CHECK(o->defaults.body_bytes == 1024);
  CHECK(o->defaults.status == 503);
  CHECK(o->idle_timeout == 5s);
  CHECK(o->max_connections == 100);
  CHECK(o->exit_after == 60s);
  CHECK(o->exit_after_requests == 1000u);
  CHECK(parse({"--host", "::1"})->host == "::1");
  CHECK(parse({"--host=[::1]"})->host == "::1");
}

TEST_CASE("only loopback may be listened on") {
  for (const char* host : {"0.0.0.0", "10.0.0.1", "example.com", "::", "127.0.0.2", ""}) {
    CAPTURE(host);
    const auto message = failure({"--host", host});
    CHECK(message.find("--host") == 0);
    CHECK(message.find("loopback") != std::string::npos);
  }
}

TEST_CASE("bad values name their flag") {
  const std::vector<std::vector<std::string>> cases = {
      {"--port", "abc"},          {"--port", "65536"},
      {"--port", "-1"},           {"--threads", "0"},
      {"--threads", "x"},         {"--latency", "fast"},
      {"--body-size", "big"},     {"--body-size", "2GiB"},
      {"--status", "99"},         {"--status", "abc"},
      {"--idle-timeout", "0"},    {"--idle-timeout", "soon"},
      {"--max-connections", "0"}, {"--exit-after", "0s"},
      {"--exit-after", "x"},      {"--exit-after-requests", "0"},
  };
  for (const auto& args : cases) {
    CAPTURE(args[0]);
    CAPTURE(args[1]);
    const auto message = failure(args);
    CHECK(message.find(args[0]) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("unknown flags and missing values are usage errors") {
  CHECK(failure({"--bogus"}).find("--bogus") != std::string::npos);
  CHECK(failure({"--port"}).find("--port") != std::string::npos);
}

TEST_CASE("a repeated flag takes its last value") {
  const auto o = parse({"--port", "1", "--port", "2", "--exit-after", "50s", "--exit-after", "1s"});
  REQUIRE(o);
  CHECK(o->port == 2);
  CHECK(o->exit_after == 1s);
}

TEST_CASE("--help prints usage and returns nothing") {
  std::string out;
  CHECK_FALSE(parse({"--help"}, &out));
  CHECK(out.find("--latency") != std::string::npos);
  CHECK_FALSE(parse({"--version"}, &out));
}

TEST_CASE("the shapes: capacity, stalls, rate limit, leak") {
  const auto o = parse({"--workers", "4", "--service", "10ms", "--queue-limit", "7",
                        "--stall-every", "5s", "--stall-for", "1s", "--rate-limit", "500/s",
                        "--leak", "16KiB", "--leak-limit", "1MiB"});
  REQUIRE(o);
  CHECK(o->workers == 4);
  CHECK(o->defaults.service == 10ms);
  CHECK(o->queue_limit == 7);
  CHECK(o->stall_every == 5s);
  CHECK(o->stall_for == 1s);
  CHECK(o->rate_limit_per_s == 500.0);
  CHECK(o->burst == 500.0);  // one second's worth
  CHECK(o->leak_bytes == 16384);
  CHECK(o->leak_limit_bytes == 1048576);
  const auto d = parse({});
  REQUIRE(d);
  CHECK(d->workers == 0);
  CHECK(d->queue_limit == 10000);
  CHECK(d->stall_every.count() == 0);
  CHECK(d->rate_limit_per_s == 0.0);
  CHECK(d->leak_bytes == 0);
  CHECK(d->leak_limit_bytes == 1ull << 30);
  const auto b = parse({"--rate-limit", "10/s", "--burst", "3"});
  REQUIRE(b);
  CHECK(b->burst == 3.0);
}

TEST_CASE("bad shapes name their flag") {
  CHECK(failure({"--stall-every", "5s"}).find("--stall-for") != std::string::npos);
  CHECK(failure({"--stall-every", "1s", "--stall-for", "1s"}).find("--stall-for") !=
        std::string::npos);
  CHECK(failure({"--stall-every", "1ms", "--stall-for", "0.5ms"}).find("--stall-every") !=
        std::string::npos);
  CHECK(failure({"--rate-limit", "x"}).find("--rate-limit") != std::string::npos);
  CHECK(failure({"--burst", "5"}).find("--burst") != std::string::npos);
  CHECK(failure({"--workers", "-1"}).find("--workers") != std::string::npos);
  CHECK(failure({"--leak", "2GiB"}).find("--leak") != std::string::npos);
}

TEST_CASE("--cpu-work: thread CPU time per served request, off by default, up to 1s") {
  const auto o = parse({"--cpu-work", "2ms"});
  REQUIRE(o);
  CHECK(o->defaults.cpu_work == 2ms);
  CHECK(parse({})->defaults.cpu_work == 0ns);
  CHECK(parse({"--cpu-work", "0"})->defaults.cpu_work == 0ns);
  CHECK(parse({"--cpu-work", "250us"})->defaults.cpu_work == 250us);
  CHECK(parse({"--cpu-work", "1s"})->defaults.cpu_work == 1s);
  CHECK(parse({"--cpu-work", "1ms", "--cpu-work", "3ms"})->defaults.cpu_work == 3ms);
  for (const char* text : {"x", "1.5s", "2", "1ms5", "2ms/s", ""}) {
    CAPTURE(text);
    const auto message = failure({"--cpu-work", text});
    CHECK(message.rfind("--cpu-work", 0) == 0);
    CHECK(message.find("'" + std::string(text) + "'") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
  CHECK(failure({"--cpu-work", "2s"}).find("longer than 1s") != std::string::npos);
  std::string help;
  CHECK_FALSE(parse({"--help"}, &help));
  CHECK(help.find("--cpu-work") != std::string::npos);
  CHECK(help.find("?cpu_work=") != std::string::npos);
}

TEST_CASE("the soak shapes: churn, transient, fd leak") {
  const auto o = parse({"--churn", "--transient", "64MiB/5s", "--fd-leak", "10", "--fd-leak-limit",
                        "500", "--seed", "9"});
  REQUIRE(o);
  CHECK(o->churn);
  CHECK(o->transient_bytes == 64u << 20);
  CHECK(o->transient_every == 5s);
  CHECK(o->fd_leak_every == 10);
  CHECK(o->fd_leak_limit == 500);
  CHECK(o->seed == 9);
  const auto d = parse({});
  REQUIRE(d);
  CHECK_FALSE(d->churn);
  CHECK(d->transient_bytes == 0);
  CHECK(d->transient_every.count() == 0);
  CHECK(d->fd_leak_every == 0);
  CHECK(d->fd_leak_limit == 10000);
  CHECK(parse({"--transient", "4KiB/100ms"})->transient_bytes == 4096);
  CHECK(parse({"--transient", "1GiB/1h"})->transient_every == 1h);
  CHECK(parse({"--fd-leak", "0"})->fd_leak_every == 0);  // off, as --leak 0
  std::string help;
  CHECK_FALSE(parse({"--help"}, &help));
  for (const char* text : {"--churn", "--transient", "--fd-leak", "--fd-leak-limit", "/metrics"}) {
    CAPTURE(text);
    CHECK(help.find(text) != std::string::npos);
  }
}

TEST_CASE("bad soak shapes name their flag and quote the text") {
  const std::vector<std::vector<std::string>> cases = {
      {"--transient", "64MiB"},    {"--transient", "64MiB/"},  {"--transient", "/5s"},
      {"--transient", "x/5s"},     {"--transient", "64MiB/x"}, {"--transient", "64MiB/50ms"},
      {"--transient", "2GiB/5s"},  {"--transient", "1KiB/5s"}, {"--transient", "64MiB/2h"},
      {"--transient", "0/5s"},     {"--fd-leak", "-1"},        {"--fd-leak", "x"},
      {"--fd-leak", "2000000000"}, {"--fd-leak-limit", "0"},   {"--fd-leak-limit", "many"},
      {"--fd-leak-limit", "1e9"},
  };
  for (const auto& args : cases) {
    CAPTURE(args[0]);
    CAPTURE(args[1]);
    const auto message = failure(args);
    CHECK(message.rfind(args[0], 0) == 0);
    CHECK(message.find("'" + args[1] + "'") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("the harness shapes: latency distributions, seed, error rates, faults, trickle") {
  using strain::target::Fault;
  using strain::target::LatencyKind;
  const auto o =
      parse({"--latency", "lognormal:10ms,p99=80ms", "--seed", "42", "--error-rate",
             "503:5%,500:1%", "--trickle", "100/10ms", "--hang-rate", "1%", "--hang-for", "30s",
             "--reset-rate", "2%", "--garbage-rate", "0.5%", "--header-bytes", "4KiB"});
  REQUIRE(o);
  CHECK(o->defaults.latency.kind == LatencyKind::lognormal);
  CHECK(o->seed == 42);
  REQUIRE(o->defaults.error_rates.count == 2);
  CHECK(o->defaults.error_rates.entries[1].status == 500);
  CHECK(o->defaults.trickle.bytes == 100);
  CHECK(o->defaults.trickle.every == 10ms);
  CHECK(o->defaults.hang_rate == doctest::Approx(0.01));
  CHECK(o->defaults.hang_for == 30s);
  CHECK(o->defaults.reset_rate == doctest::Approx(0.02));
  CHECK(o->defaults.garbage_rate == doctest::Approx(0.005));
  CHECK(o->defaults.header_bytes == 4096);
  CHECK(o->defaults.forced == Fault::none);

  const auto d = parse({});
  REQUIRE(d);
  CHECK(d->seed == 1);
  CHECK(d->defaults.error_rates.count == 0);
  CHECK_FALSE(d->defaults.trickle.on());
  CHECK(d->defaults.hang_rate == 0);
  CHECK(d->defaults.hang_for == 10min);
  CHECK(d->defaults.header_bytes == 0);
  CHECK(parse({"--latency", "uniform:1ms..5ms"})->defaults.latency.kind == LatencyKind::uniform);
  CHECK(parse({"--latency", "bimodal:2ms,200ms@5%"})->defaults.latency.kind ==
        LatencyKind::bimodal);
}

TEST_CASE("bad harness shapes name their flag and quote the text") {
  const std::vector<std::vector<std::string>> cases = {
      {"--latency", "uniform:5ms..1ms"},
      {"--latency", "lognormal:10ms"},
      {"--latency", "bimodal:2ms,200ms@5"},
      {"--seed", "-1"},
      {"--seed", "x"},
      {"--error-rate", "503"},
      {"--error-rate", "503:120%"},
      {"--trickle", "100"},
      {"--trickle", "1MiB/1ms"},
      {"--hang-rate", "5"},
      {"--hang-for", "0"},
      {"--hang-for", "11m"},
      {"--reset-rate", "x%"},
      {"--garbage-rate", "101%"},
      {"--header-bytes", "2MiB"},
  };
  for (const auto& args : cases) {
    CAPTURE(args[0]);
    CAPTURE(args[1]);
    const auto message = failure(args);
    CHECK(message.rfind(args[0], 0) == 0);
    CHECK(message.find("'" + args[1] + "'") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
  // Together: the rates may not pass 100%, and a trickle of the default body must end in 10m.
  CHECK(failure({"--hang-rate", "50%", "--error-rate", "503:60%"}).find("more than 100%") !=
        std::string::npos);
  CHECK(failure({"--trickle", "1/1m", "--body-size", "11"}).rfind("--trickle", 0) == 0);
  CHECK(parse({"--trickle", "1/1m", "--body-size", "10"}));
}

TEST_CASE("--phases: over the other flags whatever their order; off by default") {
  const auto o = parse({"--phases", "1s:ok; 2s:slow?latency=250ms", "--body-size", "1KiB",
                        "--error-rate", "503:1%"});
  REQUIRE(o);
  REQUIRE(o->phases.phases.size() == 2);
  CHECK(o->phases.cycle == 3s);
  CHECK(o->phases.phases[0].behaviour == o->defaults);
  CHECK(o->phases.phases[1].behaviour.latency == strain::target::Latency::fixed(250ms));
  CHECK(o->phases.phases[1].behaviour.body_bytes == 1024);
  CHECK(o->phases.phases[1].behaviour.error_rates == o->defaults.error_rates);
  CHECK_FALSE(parse({})->phases.enabled());
  CHECK(failure({"--phases", "1s:a?hang_rate=5"}).rfind("--phases: phase 1", 0) == 0);
  // Checked together with the flags: 60% + 50% is more than 100%.
  CHECK(failure({"--error-rate", "503:60%", "--phases", "1s:a?reset_rate=50%"})
            .find("more than 100%") != std::string::npos);
}
