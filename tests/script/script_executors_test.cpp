// Lua scripts under every executor: iteration counts, arrival rates, backlogs, seeds.
#include <doctest/doctest.h>

#include "tests/script/script_harness.hpp"

using namespace strain;
using namespace strain::script_test;
using namespace std::chrono_literals;

// --- executors

TEST_CASE("per-vu-iterations: every VU runs exactly its iterations") {
  FakeServer server;
  const ScriptPlan plan = make_plan(
      "function default()\n  http.get('http://127.0.0.1/' .. vu.id)\nend\n", {per_vu(3, 4)});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 12);
  CHECK(server.requests.size() == 12);
  CHECK(out.total.responses == 12);
  std::map<std::string, int> per_target;
  for (const auto& t : server.targets())
    ++per_target[t];
  CHECK(per_target == std::map<std::string, int>{{"/1", 4}, {"/2", 4}, {"/3", 4}});
}

TEST_CASE("per-vu-iterations without requests: iterations still go through the loop") {
  FakeServer server;
  const ScriptPlan plan = make_plan("n = 0\nfunction default() n = n + 1 end\n", {per_vu(3, 50)});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 150);
}

TEST_CASE("shared-iterations: exactly the total, shared by the VUs") {
  FakeServer server;
  const ScriptPlan plan = make_plan(
      "function default()\n  http.get('http://127.0.0.1/' .. vu.id)\nend\n", {shared(3, 10)});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 10);
  CHECK(server.requests.size() == 10);
  CHECK(out.total.responses == 10);
}

TEST_CASE("iteration executors split over workers sum to the total") {
  struct Case {
    Scenario scenario;
    std::uint64_t total;
  };
  const std::vector<Case> cases = {
      {per_vu(3, 4), 12}, {shared(3, 10), 10}, {per_vu(1, 5), 5},
      {shared(1, 5), 5},  {shared(2, 7), 7},   {per_vu(5, 3), 15},
  };
  for (const Case& c : cases) {
    for (std::uint32_t workers : {2u, 3u}) {
      INFO(to_string(c.scenario.executor) << " vus=" << c.scenario.vus << " iterations="
                                          << c.scenario.iterations << " workers=" << workers);
      const ScriptPlan plan =
          make_plan("function default()\n  http.get('http://127.0.0.1/')\nend\n", {c.scenario});
      std::uint64_t iterations_sum = 0, requests = 0;
      for (std::uint32_t w = 0; w < workers; ++w) {
        FakeServer server;
        Runner r(plan, server, w, workers);
        r.run(2000ms);
        CHECK_MESSAGE(r.done, "worker " << w << " did not finish");
        const Outcome out = r.finish();
        check_clean(out);
        iterations_sum += out.stats.iterations;
        requests += server.requests.size();
      }
      CHECK(iterations_sum == c.total);
      CHECK(requests == c.total);
    }
  }
}

TEST_CASE("two scenarios run side by side, each its own exec function") {
  FakeServer server;
  const ScriptPlan plan =
      make_plan(R"lua(
function browse() http.get("http://127.0.0.1/browse") end
function buy() http.post("http://127.0.0.1/buy", "x") end
)lua",
                {iterations(ExecutorKind::per_vu_iterations, 2, 3, "browsing", "browse"),
                 iterations(ExecutorKind::shared_iterations, 2, 5, "buying", "buy")});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 11);
  const auto* browse =
      find_series(out.series, "http://127.0.0.1/browse", {{"scenario", "browsing"}});
  const auto* buy = find_series(out.series, "http://127.0.0.1/buy", {{"scenario", "buying"}});
  REQUIRE(browse != nullptr);
  REQUIRE(buy != nullptr);
  CHECK(browse->responses == 6);
  CHECK(buy->responses == 5);
}

// --- arrival-rate executors

namespace {

Scenario arrival_rate(double per_s, std::chrono::milliseconds duration, std::uint32_t pre,
                      std::uint32_t max) {
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = per_s;
  s.duration = duration;
  s.preallocated_vus = pre;
  s.max_vus = max;
  return s;
}

ScheduleStats schedule_of(Runner& r) {
  r.take();
  return r.schedule;
}

}  // namespace

TEST_CASE("constant-arrival-rate: exactly rate x duration iterations, split over workers") {
  const ScriptPlan plan = make_plan("function default()\n  http.get('http://127.0.0.1/')\nend\n",
                                    {arrival_rate(400, 500ms, 2, 10)});
  for (std::uint32_t workers : {1u, 2u, 3u}) {
    INFO("workers=" << workers);
    std::uint64_t iterations = 0, requests = 0, due = 0, started = 0;
    for (std::uint32_t w = 0; w < workers; ++w) {
      FakeServer server;
      Runner r(plan, server, w, workers);
      r.run(3000ms);
      CHECK_MESSAGE(r.done, "worker " << w << " did not finish");
      const ScheduleStats s = schedule_of(r);
      const Outcome out = r.finish();
      check_clean(out);
      iterations += out.stats.iterations;
      requests += server.requests.size();
      due += s.due;
      started += s.started;
      CHECK(s.overflow == 0);
      CHECK(s.schedule_lag_us.total_count() == s.started);
    }
    CHECK(due == 200);
    CHECK(started == 200);
    CHECK(iterations == 200);
    CHECK(requests == 200);
  }
}

TEST_CASE("arrival-rate: busy VUs grow to max_vus, then arrivals wait and their wait counts") {
  // 100/s for 0.5 s, each request answered after 80 ms, at most 2 VUs: a VU serves at most
  // 12.5 iterations per second, so arrivals queue and wait; every one still runs.
  FakeServer server;
  server.respond = [](const Seen&) {
    Reply r;
    r.delay = 80ms;
    return r;
  };
  const ScriptPlan plan = make_plan("function default()\n  http.get('http://127.0.0.1/')\nend\n",
                                    {arrival_rate(100, 500ms, 1, 2)});
  Runner r(plan, server);
  r.run(200ms);  // the first 200 ms: 20 due, at most 2 VUs
  ScheduleStats mid = schedule_of(r);
  CHECK(mid.due >= 18);
  CHECK(mid.peak_vus == 2);
  CHECK(mid.waited >= 10);
  CHECK(mid.started <= 6);
  r.more(400ms);
  const ScheduleStats s = schedule_of(r);
  CHECK(s.due == 50);
  // At the end of the schedule the rest still waiting are dropped as unstarted, not run.
  r.more(1000ms);
  const ScheduleStats end = schedule_of(r);
  const Outcome out = r.finish();
  CHECK(end.started + end.overflow + end.unstarted_at_stop == 50);
  CHECK(end.unstarted_at_stop > 0);
  CHECK(out.stats.iterations == end.started);
  // Response time counts from the intended start: the last started waited ~several 80 ms
  // rounds, far more than its 80 ms of service.
  CHECK(out.total.response_time_us.max() >= 300'000);
  CHECK(out.total.service_time_us.max() < 200'000);
}

TEST_CASE("arrival-rate: a full backlog overflows, counted") {
  FakeServer server;
  server.respond = [](const Seen&) {
    Reply r;
    r.never = true;
    return r;
  };
  Scenario s = arrival_rate(200, 200ms, 1, 1);
  s.backlog_limit = 5;
  s.graceful_stop = 0ms;
  const ScriptPlan plan = make_plan(
      "function default()\n  http.get('http://127.0.0.1/', { timeout = 0.05 })\nend\n", {s});
  Runner r(plan, server);
  r.run(1000ms);
  const ScheduleStats st = schedule_of(r);
  r.finish();
  CHECK(st.due == 40);
  CHECK(st.overflow > 0);
  CHECK(st.started + st.overflow + st.unstarted_at_stop == 40);
  CHECK(st.peak_backlog == 5);
}

TEST_CASE("ramping-arrival-rate with poisson arrivals: the same seed, the same iterations") {
  Scenario s;
  s.executor = ExecutorKind::ramping_arrival_rate;
  s.start_rate_per_s = 0;
  s.rate_stages = {{300ms, 1000}, {200ms, 1000}};  // 150 + 200 expected
  s.arrival = ArrivalProcess::poisson;
  s.seed = 99;
  s.preallocated_vus = 5;
  s.max_vus = 20;
  const ScriptPlan plan =
      make_plan("function default()\n  http.get('http://127.0.0.1/')\nend\n", {s});
  std::vector<std::uint64_t> counts;
  for (int attempt = 0; attempt < 2; ++attempt) {
    FakeServer server;
    Runner r(plan, server);
    r.run(3000ms);
    CHECK(r.done);
    const ScheduleStats st = schedule_of(r);
    const Outcome out = r.finish();
    check_clean(out);
    CHECK(st.due == out.stats.iterations);
    counts.push_back(out.stats.iterations);
  }
  CHECK(counts[0] == counts[1]);
  CHECK(counts[0] > 350 - 5 * 19);  // Poisson: within 5 sigma of 350
  CHECK(counts[0] < 350 + 5 * 19);
}
