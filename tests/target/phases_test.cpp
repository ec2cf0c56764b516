#include "tools/target/phases.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "tools/target/stats.hpp"

using namespace std::chrono_literals;
using strain::target::Behaviour;
using strain::target::parse_phases;
using strain::target::PhaseSchedule;

namespace {

Behaviour defaults() {
  Behaviour b;
  b.latency = strain::target::Latency::fixed(2ms);
  b.body_bytes = 1024;
  return b;
}

// The one-line message parse_phases fails with.
std::string failure(const std::string& text) {
  try {
    parse_phases(text, defaults(), "--phases");
  } catch (const strain::UsageError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("phases: each one's query applies over the defaults, as a request's would") {
  const auto s = parse_phases(
      "60s:healthy; 30s:slow?latency=250ms ;"
      "10s:failing?error_rate=500:20%&reset_rate=2%&hang_rate=1%&hang_for=3s",
      defaults(), "--phases");
  REQUIRE(s.phases.size() == 3);
  CHECK(s.cycle == 100s);
  CHECK(s.phases[0].name == "healthy");
  CHECK(s.phases[0].query.empty());
  CHECK(s.phases[0].behaviour == defaults());
  CHECK(s.phases[1].name == "slow");
  CHECK(s.phases[1].offset == 60s);
  CHECK(s.phases[1].length == 30s);
  CHECK(s.phases[1].behaviour.latency == strain::target::Latency::fixed(250ms));
  CHECK(s.phases[1].behaviour.body_bytes == 1024);  // the rest stays the flags'
  const auto& failing = s.phases[2];
  CHECK(failing.offset == 90s);
  CHECK(failing.query == "error_rate=500:20%&reset_rate=2%&hang_rate=1%&hang_for=3s");
  CHECK(failing.behaviour ==
        strain::target::resolve_behaviour(defaults(), failing.query).behaviour);
  CHECK(failing.behaviour.error_rates.count == 1);
  CHECK(failing.behaviour.hang_for == 3s);
  CHECK(s.any_faults());
  CHECK_FALSE(parse_phases("1s:a; 1s:b?latency=1ms", defaults(), "--phases").any_faults());
  // A trailing ';' is forgiven; a single phase is a schedule too.
  CHECK(parse_phases("5s:only;", defaults(), "--phases").phases.size() == 1);
}

TEST_CASE("phases: which one is in force, and how often each has begun") {
  const auto s = parse_phases("2s:a; 1s:b; 3s:c", defaults(), "--phases");
  CHECK(s.at(0s) == 0);
  CHECK(s.at(-1s) == 0);
  CHECK(s.at(1999ms) == 0);
  CHECK(s.at(2s) == 1);
  CHECK(s.at(2999ms) == 1);
  CHECK(s.at(3s) == 2);
  CHECK(s.at(5999ms) == 2);
  CHECK(s.at(6s) == 0);  // round again
  CHECK(s.at(6s * 1000 + 2500ms) == 1);
  CHECK(s.entered(0, 0s) == 1);
  CHECK(s.entered(1, 1999ms) == 0);
  CHECK(s.entered(1, 2s) == 1);
  CHECK(s.entered(2, 2999ms) == 0);
  CHECK(s.entered(0, 6s) == 2);
  CHECK(s.entered(1, 8s) == 2);
  CHECK(s.entered(2, 60s) == 10);  // begins at 3, 9, ..., 57
  CHECK(s.entered(3, 60s) == 0);   // no such phase
  // Brute force over a fine grid: a phase's count of beginnings is the count of steps where it
  // takes over from another.
  std::vector<std::uint64_t> began(3, 0);
  began[0] = 1;
  std::size_t last = 0;
  for (auto t = 0ms; t <= 20s; t += 100ms) {
    const auto now = s.at(t);
    if (now != last) ++began[now];
    last = now;
    for (std::size_t i = 0; i < 3; ++i)
      CHECK(s.entered(i, t) == began[i]);
  }
  const PhaseSchedule none;
  CHECK_FALSE(none.enabled());
  CHECK(none.at(5s) == 0);
}

TEST_CASE("phases: bad specs name the flag and the phase") {
  CHECK(failure("").find("--phases: '' has an empty phase") == 0);
  CHECK(failure("1s:a;;1s:b").find("empty phase") != std::string::npos);
  CHECK(failure("healthy").find("--phases: phase 1 'healthy' is not DURATION:NAME") == 0);
  CHECK(failure("1s:a; x:b").find("phase 2 'x:b' does not start with a duration") !=
        std::string::npos);
  CHECK(failure("50ms:a").find("must last from 100ms to 24h") != std::string::npos);
  CHECK(failure("25h:a").find("must last from 100ms to 24h") != std::string::npos);
  CHECK(failure("1s:").find("needs a name") != std::string::npos);
  CHECK(failure("1s:a b").find("needs a name") != std::string::npos);
  CHECK(failure("1s?latency=1ms").find("is not DURATION:NAME") != std::string::npos);
  CHECK(failure("1s:a?latncy=1ms").find("sets 'latncy', which is not a parameter") !=
        std::string::npos);
  CHECK(failure("1s:a?latency=x").find("phase 1 '1s:a?latency=x' is refused: latency:") !=
        std::string::npos);
  CHECK(failure("1s:a?error_rate=500:60%&reset_rate=50%").find("more than 100%") !=
        std::string::npos);
  CHECK(failure("1s:a?status=\"500\"").find("quote") != std::string::npos);
  std::string many;
  for (int i = 0; i < 17; ++i)
    many += "1s:p" + std::to_string(i) + ";";
  CHECK(failure(many).find("more than 16 phases") != std::string::npos);
  CHECK(strain::target::is_behaviour_parameter("hang"));
  CHECK(strain::target::is_behaviour_parameter("header_bytes"));
  CHECK_FALSE(strain::target::is_behaviour_parameter("id"));
  CHECK_FALSE(strain::target::is_behaviour_parameter(""));
}

TEST_CASE("phases: counters summed per phase, in the JSON and one exit line each") {
  using namespace strain::target;
  WorkerCounters a;
  WorkerCounters b;
  WorkerCounters::bump(a.phases[0].requests);
  WorkerCounters::bump(a.phases[0].served);
  WorkerCounters::bump(b.phases[1].requests);
  WorkerCounters::bump(b.phases[1].requests);
  WorkerCounters::bump(b.phases[1].served);
  WorkerCounters::bump(b.phases[1].errors_injected);
  WorkerCounters::bump(b.phases[1].reset);
  WorkerCounters::bump(a.phases[2].hung);  // beyond the list: left out
  StatsSnapshot s;
  PhasesStats ph;
  ph.start_epoch_ms = 1700000000000;
  ph.cycle_ms = 3000;
  ph.current = 1;
  ph.list.resize(2);
  ph.list[0].name = "ok";
  ph.list[0].for_ms = 1000;
  ph.list[0].entered = 2;
  ph.list[1].name = "bad";
  ph.list[1].query = "error_rate=500:50%&reset_rate=5%";
  ph.list[1].offset_ms = 1000;
  ph.list[1].for_ms = 2000;
  ph.list[1].entered = 1;
  s.phases = ph;
  s.add(a);
  s.add(b);
  REQUIRE(s.phases);
  CHECK(s.phases->list[0].requests == 1);
  CHECK(s.phases->list[0].served == 1);
  CHECK(s.phases->list[1].requests == 2);
  CHECK(s.phases->list[1].errors_injected == 1);
  CHECK(s.phases->list[1].reset == 1);
  CHECK(format_phase_line(*s.phases, 1) ==
        "strain-target phase index=1 name=bad offset_ms=1000 for_ms=2000 entered=1 requests=2 "
        "served=1 errors_injected=1 hung=0 reset=1 garbage=0 trickled=0 "
        "query=error_rate=500:50%&reset_rate=5%");
  CHECK(format_stats_json(s).find(
            ",\"phases\":{\"start_epoch_ms\":1700000000000,\"cycle_ms\":3000,\"current\":1,"
            "\"list\":[{\"name\":\"ok\",\"query\":\"\",\"offset_ms\":0,\"for_ms\":1000,"
            "\"entered\":2,\"requests\":1,\"served\":1,\"errors_injected\":0,\"hung\":0,"
            "\"reset\":0,\"garbage\":0,\"trickled\":0},{\"name\":\"bad\"") != std::string::npos);
  // The total line is unchanged by the phases: they have lines of their own.
  CHECK(format_stats_line(s).find("phase") == std::string::npos);
}
