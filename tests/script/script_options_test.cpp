#include "engine/script/script_options.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/script/script_load.hpp"

using namespace strain;
using namespace std::chrono_literals;

namespace {

ScriptPlan plan_of(std::string source) {
  ScriptPlan p;
  p.path = "t.lua";
  p.chunk_name = "@t.lua";
  p.source = std::move(source);
  return p;
}

InspectedScript inspect(std::string source) {
  return inspect_script(plan_of(std::move(source)));
}

ScriptOptions options_of(std::string source) {
  return inspect(std::move(source)).options;
}

// The UsageError message inspecting `source` throws, or "" when it loads.
std::string error_of(std::string source) {
  try {
    (void)inspect(std::move(source));
  } catch (const UsageError& e) {
    CHECK(e.code() == ExitCode::bad_usage);
    return e.what();
  }
  return "";
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

const Scenario& scenario(const ScriptOptions& o, std::string_view name) {
  for (const Scenario& s : o.scenarios)
    if (s.name == name) return s;
  FAIL("no scenario " << name);
  return o.scenarios.front();
}

const ThresholdSpec* threshold(const ScriptOptions& o, std::string_view expression,
                               std::string_view condition) {
  for (const ThresholdSpec& t : o.thresholds)
    if (t.expression == expression && t.condition == condition) return &t;
  return nullptr;
}

}  // namespace

TEST_CASE("a script without options: defaults, and the functions it defines") {
  const InspectedScript s = inspect(R"lua(
function default() end
function setup() return 1 end
local function hidden() end
)lua");
  CHECK(s.options.scenarios.empty());
  CHECK(s.options.thresholds.empty());
  CHECK_FALSE(s.options.vus.has_value());
  CHECK_FALSE(s.options.duration.has_value());
  CHECK_FALSE(s.options.iterations.has_value());
  CHECK(s.options.stages.empty());
  const ScriptSettings defaults;
  CHECK(s.options.settings.max_names == defaults.max_names);
  CHECK(s.options.settings.discard_response_bodies == defaults.discard_response_bodies);
  CHECK(s.options.settings.max_body_bytes == defaults.max_body_bytes);
  CHECK(s.options.settings.request_timeout == defaults.request_timeout);
  CHECK(s.has_setup);
  CHECK_FALSE(s.has_teardown);
  CHECK(std::is_sorted(s.functions.begin(), s.functions.end()));
  auto has = [&](const char* f) {
    return std::find(s.functions.begin(), s.functions.end(), f) != s.functions.end();
  };
  CHECK(has("default"));
  CHECK(has("setup"));
  CHECK_FALSE(has("hidden"));
}

TEST_CASE("scenarios: every executor, both stage forms, start_time, tags, exec") {
  const ScriptOptions o = options_of(R"lua(
options = {
  scenarios = {
    steady = { executor = "constant-vus", vus = 5, duration = "30s", start_time = "10s",
               graceful_stop = "5s", tags = { team = "web", tier = "1" } },
    ramp = { executor = "ramping-vus", start_vus = 2, exec = "browse",
             stages = { { "30s", 10 }, { duration = "1m", target = 20 }, { 10, 0 }, { "0s", 3 } } },
    each = { executor = "per-vu-iterations", vus = 3, iterations = 4, max_duration = "2m" },
    pool = { executor = "shared-iterations", vus = 2, iterations = 10, start_time = 0 },
    once = { executor = "per-vu-iterations" },
    implied_ramp = { stages = { { 5, 1 } } },
    implied_shared = { vus = 2, iterations = 6 },
    implied_constant = { duration = 12.5 },
    default = { duration = "1s" },
  },
}
)lua");
  REQUIRE(o.scenarios.size() == 9);
  // Sorted by name, whatever order Lua iterates the table in.
  std::vector<std::string> names;
  for (const Scenario& s : o.scenarios)
    names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"default", "each", "implied_constant", "implied_ramp",
                                          "implied_shared", "once", "pool", "ramp", "steady"});

  const Scenario& steady = scenario(o, "steady");
  CHECK(steady.executor == ExecutorKind::constant_vus);
  CHECK(steady.vus == 5);
  CHECK(steady.duration == 30s);
  CHECK(steady.start_time == 10s);
  CHECK(steady.graceful_stop == 5s);
  CHECK(steady.tags == std::map<std::string, std::string>{{"team", "web"}, {"tier", "1"}});
  CHECK(steady.exec == "steady");  // default: the scenario's name

  const Scenario& ramp = scenario(o, "ramp");
  CHECK(ramp.executor == ExecutorKind::ramping_vus);
  CHECK(ramp.exec == "browse");
  CHECK(ramp.start_vus == 2);
  REQUIRE(ramp.stages.size() == 4);
  CHECK(ramp.stages[0].duration == 30s);
  CHECK(ramp.stages[0].target == 10);
  CHECK(ramp.stages[1].duration == 1min);
  CHECK(ramp.stages[1].target == 20);
  CHECK(ramp.stages[2].duration == 10s);
  CHECK(ramp.stages[2].target == 0);
  CHECK(ramp.stages[3].duration == 0s);
  CHECK(ramp.stages[3].target == 3);
  CHECK(ramp.graceful_stop == 30s);  // the default

  const Scenario& each = scenario(o, "each");
  CHECK(each.executor == ExecutorKind::per_vu_iterations);
  CHECK(each.vus == 3);
  CHECK(each.iterations == 4);
  CHECK(each.max_duration == 2min);

  const Scenario& pool = scenario(o, "pool");
  CHECK(pool.executor == ExecutorKind::shared_iterations);
  CHECK(pool.vus == 2);
  CHECK(pool.iterations == 10);
  CHECK(pool.start_time == 0s);
  CHECK(pool.max_duration == 10min);  // the default

  const Scenario& once = scenario(o, "once");
  CHECK(once.vus == 1);
  CHECK(once.iterations == 1);

  CHECK(scenario(o, "implied_ramp").executor == ExecutorKind::ramping_vus);
  CHECK(scenario(o, "implied_ramp").stages.at(0).duration == 5s);
  CHECK(scenario(o, "implied_shared").executor == ExecutorKind::shared_iterations);
  CHECK(scenario(o, "implied_shared").iterations == 6);
  CHECK(scenario(o, "implied_constant").executor == ExecutorKind::constant_vus);
  CHECK(scenario(o, "implied_constant").duration == 12500ms);
  CHECK(scenario(o, "implied_constant").vus == 1);
  CHECK(scenario(o, "default").exec == "default");
}

TEST_CASE("thresholds: a string, a list, and tables with abort_on_fail") {
  const ScriptOptions o = options_of(R"lua(
options = {
  thresholds = {
    ["latency{p99}"] = "< 250ms",
    ["errors{rate}"] = { "< 1%", "< 0.5" },
    ["checks{rate}"] = { { threshold = "> 99%", abort_on_fail = true, delay_abort_eval = "10s" } },
    ["orders{count}"] = { "> 10", { threshold = ">= 5" } },
  },
}
)lua");
  CHECK(o.thresholds.size() == 6);
  const ThresholdSpec* lat = threshold(o, "latency{p99}", "< 250ms");
  REQUIRE(lat != nullptr);
  CHECK(lat->metric == "latency");
  CHECK(lat->percentile == 99.0);
  CHECK(lat->comparison == Comparison::less);
  CHECK(lat->limit == doctest::Approx(250.0));
  CHECK_FALSE(lat->abort_on_fail);

  const ThresholdSpec* e1 = threshold(o, "errors{rate}", "< 1%");
  REQUIRE(e1 != nullptr);
  CHECK(e1->limit == doctest::Approx(0.01));
  CHECK(threshold(o, "errors{rate}", "< 0.5") != nullptr);

  const ThresholdSpec* c = threshold(o, "checks{rate}", "> 99%");
  REQUIRE(c != nullptr);
  CHECK(c->abort_on_fail);
  CHECK(c->delay_abort_eval == 10s);
  CHECK(c->comparison == Comparison::greater);

  const ThresholdSpec* n = threshold(o, "orders{count}", ">= 5");
  REQUIRE(n != nullptr);
  CHECK(n->metric == "orders");  // a custom metric, declared at run time
  CHECK_FALSE(n->abort_on_fail);
  CHECK(n->delay_abort_eval == 0s);
  CHECK(threshold(o, "orders{count}", "> 10") != nullptr);
}

TEST_CASE("settings") {
  const ScriptOptions o = options_of(R"lua(
options = {
  max_names = 7,
  discard_response_bodies = true,
  max_body_size = "1MiB",
  timeout = "5s",
  max_run_without_yield = "500ms",
  setup_timeout = "2m",
}
)lua");
  CHECK(o.settings.max_names == 7);
  CHECK(o.settings.discard_response_bodies);
  CHECK(o.settings.max_body_bytes == 1024 * 1024);
  CHECK(o.settings.request_timeout == 5s);
  CHECK(o.settings.max_run_without_yield == 500ms);
  CHECK(o.settings.setup_timeout == 2min);
  CHECK(o.scenarios.empty());
}

TEST_CASE("soak: budgets and limits as a string or a table, warm-up and sampling period") {
  ScriptOptions o = options_of(R"lua(
options = { soak = { max_growth = { rss = "20MiB/h", fds = "10/h" }, limit = "rss=2GiB",
                     warmup = "5m", sample_every = 0.5 } }
)lua");
  CHECK(o.soak.max_growth == "fds=10/h,rss=20MiB/h");  // joined in name order
  CHECK(o.soak.limit == "rss=2GiB");
  CHECK(o.soak.warmup == "5m");
  CHECK(o.soak.sample_every == "0.5s");
  CHECK(options_of("options = { vus = 1 }").soak.max_growth.empty());

  CHECK(contains(error_of(R"(options = { soak = { max_grow = "rss=1MiB/h" } })"),
                 "options.soak.max_grow: unknown option"));
  CHECK(contains(error_of(R"(options = { soak = { max_growth = 5 } })"),
                 "options.soak.max_growth: must be a string"));
  CHECK(contains(error_of(R"(options = { soak = { max_growth = { rss = 5 } } })"),
                 "options.soak.max_growth.rss: must be a string"));
  CHECK(contains(error_of(R"(options = { soak = { warmup = true } })"),
                 "options.soak.warmup: must be a string"));
  CHECK(
      contains(error_of(R"(options = { soak = "rss=1MiB/h" })"), "options.soak: must be a table"));
}

TEST_CASE("k6 shortcuts: vus, duration, iterations, stages") {
  ScriptOptions o = options_of(R"(options = { vus = 10, duration = "1m" })");
  CHECK(o.vus == 10u);
  CHECK(o.duration == std::chrono::nanoseconds(1min));
  CHECK_FALSE(o.iterations.has_value());
  CHECK(o.scenarios.empty());

  o = options_of(R"(options = { vus = 2, iterations = 100 })");
  CHECK(o.vus == 2u);
  CHECK(o.iterations == 100u);

  o = options_of(R"(options = { stages = { { "10s", 5 }, { duration = "20s", target = 0 } } })");
  REQUIRE(o.stages.size() == 2);
  CHECK(o.stages[0].duration == 10s);
  CHECK(o.stages[0].target == 5);
  CHECK(o.stages[1].duration == 20s);
  CHECK(o.stages[1].target == 0);

  o = options_of(R"(options = { duration = 1.5 })");
  CHECK(o.duration == std::chrono::nanoseconds(1500ms));
}

TEST_CASE("option errors name the script and the path") {
  struct Case {
    const char* source;
    std::vector<const char*> want;  // all must appear in the message
  };
  const std::vector<Case> cases = {
      {R"(options = { scenarios = { a = { executor = "constant-vus", vuz = 3, duration = "1s" } } })",
       {"t.lua: ", "options.scenarios.a.vuz", "unknown option"}},
      {R"(options = { vuz = 1 })", {"options.vuz", "unknown option"}},
      {R"(options = { scenarios = { a = { executor = "externally-controlled" } } })",
       {"options.scenarios.a.executor", "unknown executor 'externally-controlled'",
        "constant-arrival-rate"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate" } } })",
       {"options.scenarios.a", "needs preallocated_vus"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate", preallocated_vus = 2 } } })",
       {"options.scenarios.a", "needs rate and duration"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate", rate = 0, duration = "1s", preallocated_vus = 1 } } })",
       {"options.scenarios.a.rate", "above 0"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate", rate = "fast", duration = "1s", preallocated_vus = 1 } } })",
       {"options.scenarios.a.rate"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate", rate = 5, duration = "1s", vus = 3, preallocated_vus = 1 } } })",
       {"takes preallocated_vus and max_vus"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate", rate = 5, duration = "1s", preallocated_vus = 4, max_vus = 2 } } })",
       {"max_vus is below preallocated_vus"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate", rate = 5, duration = "1s", preallocated_vus = 1, arrival = "bursty" } } })",
       {"options.scenarios.a.arrival", "'bursty'"}},
      {R"(options = { scenarios = { a = { executor = "constant-arrival-rate", rate = 1e7, time_unit = "1ms", duration = "1s", preallocated_vus = 1 } } })",
       {"options.scenarios.a", "over 10,000,000 per second"}},
      {R"(options = { scenarios = { a = { executor = "ramping-arrival-rate", preallocated_vus = 1 } } })",
       {"needs stages"}},
      {R"(options = { scenarios = { a = { executor = "ramping-arrival-rate", rate = 5, preallocated_vus = 1, stages = { { "1s", 5 } } } } })",
       {"takes start_rate and stages"}},
      {R"(options = { scenarios = { a = { executor = "ramping-arrival-rate", preallocated_vus = 1, stages = { { "0s", 5 } } } } })",
       {"options.scenarios.a.stages", "no time"}},
      {R"(options = { scenarios = { a = { executor = "constant-vus", vus = 2, duration = "1s", rate = 5 } } })",
       {"options.scenarios.a", "closed model"}},
      {R"(options = { scenarios = { a = { executor = "ramping-vus", stages = { { "1s", 1.5 } } } } })",
       {"options.scenarios.a.stages[1]", "integer"}},
      {R"(options = { scenarios = { a = { executor = "constant-vus", vus = 2 } } })",
       {"options.scenarios.a", "needs a duration"}},
      {R"(options = { scenarios = { a = { executor = "constant-vus", duration = "1s", iterations = 2 } } })",
       {"options.scenarios.a", "takes vus and duration only"}},
      {R"(options = { scenarios = { a = { executor = "ramping-vus" } } })", {"needs stages"}},
      {R"(options = { scenarios = { a = { executor = "ramping-vus", vus = 3, stages = { { "1s", 1 } } } } })",
       {"takes start_vus and stages"}},
      {R"(options = { scenarios = { a = { executor = "per-vu-iterations", duration = "1s" } } })",
       {"takes vus, iterations and max_duration"}},
      {R"(options = { scenarios = { a = { executor = "shared-iterations", vus = 5, iterations = 2 } } })",
       {"at least as many iterations as vus"}},
      {R"(options = { scenarios = { a = { duration = "1s", tags = { k = 1 } } } })",
       {"options.scenarios.a.tags.k", "must be a string"}},
      {R"(options = { scenarios = { a = { duration = "1s", tags = { "x" } } } })",
       {"options.scenarios.a.tags", "keys must be names"}},
      {R"(options = { scenarios = {} })", {"options.scenarios", "declares no scenario"}},
      {R"(options = { scenarios = { a = 5 } })", {"options.scenarios.a", "must be a table"}},
      {R"(options = { thresholds = { ["latency{p101}"] = "< 1s" } })",
       {"t.lua: options.thresholds", "latency{p101}"}},
      {R"(options = { thresholds = { ["latency{p99}"] = "fast" } })",
       {"options.thresholds", "latency{p99}"}},
      {R"(options = { thresholds = { ["latency{p99}"] = { { abort_on_fail = true } } } })",
       {"options.thresholds.latency{p99}[1]", "needs threshold"}},
      {R"(options = { thresholds = { ["latency{p99}"] = { { threshold = "< 1s", abort = true } } } })",
       {"options.thresholds.latency{p99}[1].abort", "unknown option"}},
      {R"(options = { thresholds = { ["latency{p99}"] = {} } })",
       {"options.thresholds.latency{p99}", "a list of them"}},
      {R"(options = { vus = "ten" })", {"options.vus", "must be an integer"}},
      {R"(options = { vus = 0 })", {"options.vus", "must be an integer"}},
      {R"(options = { vus = 1.5 })", {"options.vus", "must be an integer"}},
      {R"(options = { duration = "forever" })", {"options.duration"}},
      {R"(options = { duration = 0 })", {"options.duration", "more than zero"}},
      {R"(options = { duration = -1 })", {"options.duration"}},
      {R"(options = { stages = {} })", {"options.stages", "at least one stage"}},
      {R"(options = { stages = { { duration = "1s" } } })",
       {"options.stages[1]", "needs a duration and a target"}},
      {R"(options = { stages = { { "1s", -1 } } })",
       {"options.stages[1][2]", "must be an integer"}},
      {R"(options = { stages = { { "1s", 1, extra = 2 }, 5 } })",
       {"options.stages[2]", "must be a table"}},
      {R"(options = 5)", {"options", "must be a table"}},
      {R"(options = { [1] = 2 })", {"options", "keys must be names"}},
      {R"(options = { discard_response_bodies = "yes" })",
       {"options.discard_response_bodies", "true or false"}},
      {R"(options = { max_names = 0 })", {"options.max_names"}},
      {R"(options = { max_body_size = "lots" })", {"options.max_body_size"}},
      {R"(options = { timeout = "0s" })", {"options.timeout", "more than zero"}},
  };
  for (const Case& c : cases) {
    const std::string e = error_of(c.source);
    INFO(c.source);
    INFO(e);
    CHECK_FALSE(e.empty());
    for (const char* w : c.want)
      CHECK(contains(e, w));
  }
}

TEST_CASE("arrival-rate scenarios: rates per time_unit, VUs, arrival and backlog") {
  const InspectedScript in = inspect(R"(
options = { scenarios = {
  steady = { executor = "constant-arrival-rate", rate = 120, time_unit = "1m", duration = "30s",
             preallocated_vus = 5, max_vus = 50, arrival = "poisson", seed = 7, backlog = 900 },
  ramp = { executor = "ramping-arrival-rate", start_rate = 10, preallocated_vus = 3,
           stages = { { "10s", "100/s" }, { duration = "5s", target = 0.5 } } },
} }
function default() end
)");
  REQUIRE(in.options.scenarios.size() == 2);
  const Scenario& ramp = in.options.scenarios[0];  // sorted by name
  const Scenario& steady = in.options.scenarios[1];
  CHECK(steady.executor == ExecutorKind::constant_arrival_rate);
  CHECK(steady.rate_per_s == doctest::Approx(2.0));  // 120 per minute
  CHECK(steady.duration == 30s);
  CHECK(steady.preallocated_vus == 5);
  CHECK(steady.max_vus == 50);
  CHECK(peak_vus(steady) == 50);
  CHECK(steady.arrival == ArrivalProcess::poisson);
  CHECK(steady.seed == 7);
  CHECK(steady.backlog_limit == 900);
  CHECK(ramp.executor == ExecutorKind::ramping_arrival_rate);
  CHECK(ramp.start_rate_per_s == doctest::Approx(10.0));
  REQUIRE(ramp.rate_stages.size() == 2);
  CHECK(ramp.rate_stages[0].target_per_s == doctest::Approx(100.0));
  CHECK(ramp.rate_stages[1].duration == 5s);
  CHECK(ramp.rate_stages[1].target_per_s == doctest::Approx(0.5));
  CHECK(ramp.max_vus == 3);  // defaults to preallocated_vus
  CHECK(ramp.arrival == ArrivalProcess::uniform);
  CHECK(active_length(ramp) == 15s);
  CHECK(ramp.stages.empty());
}

TEST_CASE("scripts that do not load: syntax and top-level errors name file:line") {
  CHECK(contains(error_of("options = {\n  vus = 1,\n  duration = \n"), "t.lua:4:"));
  CHECK(contains(error_of("\nerror('at load')\n"), "t.lua:2: at load"));
  CHECK(contains(error_of("local t = nil\nlocal x = t.y\n"), "t.lua:2:"));
}
