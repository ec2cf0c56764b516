// Lua scripts: checks, groups, custom metrics, vu, env, json and data.
#include <doctest/doctest.h>

#include "tests/script/script_harness.hpp"

using namespace strain;
using namespace strain::script_test;
using namespace std::chrono_literals;

// --- checks, groups, metrics

TEST_CASE("group(): an error caught by the script leaves the group; post takes params second") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
function default()
  local ok = pcall(group, "g", function() error("boom") end)
  assert(not ok)
  check(1, { ["after"] = function() return true end })
  http.post("http://127.0.0.1/login", { json = { user = "u" }, name = "login" })
end
)lua",
                                    {per_vu(1, 2)});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 2);
  const CheckTally* after = find_check(out.stats, "after");  // not "::g::after"
  REQUIRE(after != nullptr);
  CHECK(after->passes == 2);
  REQUIRE(server.requests.size() == 2);
  CHECK(server.requests[0].method == "POST");
  CHECK(server.requests[0].body == R"({"user":"u"})");
}

TEST_CASE("check(): passes and fails per name, raising checks fail, groups nest") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
function default()
  local all = check(1, {
    ["one is one"] = function(v) return v == 1 end,
    ["one is two"] = function(v) return v == 2 end,
    ["raises"] = function(v) error("inside a check") end,
  })
  assert(all == false)
  assert(check(1, { ["truthy"] = function(v) return "yes" end }) == true)
  local g = group("outer", function()
    check(true, { ["in outer"] = function(v) return v end })
    group("inner", function()
      check(false, { ["in inner"] = function(v) return v end })
    end)
    return "value"
  end)
  assert(g == "value")
  check(true, { ["after"] = function(v) return v end })
end
)lua",
                                    {per_vu(2, 3)});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 6);
  struct Want {
    const char* name;
    std::uint64_t passes, fails;
  };
  for (const Want& w : {Want{"one is one", 6, 0}, Want{"one is two", 0, 6}, Want{"raises", 0, 6},
                        Want{"truthy", 6, 0}, Want{"::outer::in outer", 6, 0},
                        Want{"::outer::inner::in inner", 0, 6}, Want{"after", 6, 0}}) {
    INFO(w.name);
    const CheckTally* c = find_check(out.stats, w.name);
    REQUIRE(c != nullptr);
    CHECK(c->passes == w.passes);
    CHECK(c->fails == w.fails);
  }
  CHECK(out.stats.checks.size() == 7);
}

TEST_CASE("custom metrics: counter, rate and trend totals") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
local orders = metrics.counter("orders")
local ok_rate = metrics.rate("ok_rate")
local cart = metrics.trend("cart.ms")
function default()
  orders:add(2); orders:add(0); orders:add(1.5)
  metrics.counter("orders"):add(1)  -- same name, same kind: the same metric
  ok_rate:add(true); ok_rate:add(false); ok_rate:add(1); ok_rate:add(0)
  cart:add(vu.iteration + 1)
end
)lua",
                                    {per_vu(1, 100)});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 100);
  const CustomMetric* c = find_metric(out.stats, "orders");
  REQUIRE(c != nullptr);
  CHECK(c->kind == CustomMetricKind::counter);
  CHECK(c->sum == doctest::Approx(450.0));
  CHECK(c->count == 400);
  CHECK(c->nonzero == 300);
  const CustomMetric* r = find_metric(out.stats, "ok_rate");
  REQUIRE(r != nullptr);
  CHECK(r->kind == CustomMetricKind::rate);
  CHECK(r->count == 400);
  CHECK(r->nonzero == 200);
  CHECK(r->sum == doctest::Approx(200.0));
  const CustomMetric* t = find_metric(out.stats, "cart.ms");
  REQUIRE(t != nullptr);
  CHECK(t->kind == CustomMetricKind::trend);
  CHECK(t->count == 100);
  CHECK(t->sum == doctest::Approx(5050.0));
  // Values 1..100: the nearest-rank pNN is NN (x1000 in the histogram, 3 digits).
  CHECK(t->values_milli.total_count() == 100);
  for (int p : {1, 50, 90, 99, 100}) {
    INFO(p);
    CHECK(static_cast<double>(t->values_milli.value_at_percentile(p)) ==
          doctest::Approx(p * 1000.0).epsilon(0.002));
  }
}

TEST_CASE("custom metrics: errors carry the script's file:line") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
local c = metrics.counter("orders")
local t = metrics.trend("t")
local cases = {
  function() metrics.trend("orders") end,
  function() metrics.counter("1abc") end,
  function() metrics.counter("a-b") end,
  function() metrics.counter("") end,
  function() metrics.rate("latency") end,
  function() t:add(-1) end,
  function() c:add("x") end,
  function() c:add(0/0) end,
  function() c:add(true) end,
}
function default()
  cases[vu.iteration + 1]()
end
)lua",
                                    {per_vu(1, 9)});
  const Outcome out = run(plan, server);
  CHECK(out.stats.iterations_failed == 9);
  REQUIRE(out.stats.errors.size() == 9);
  const std::vector<std::string> expected = {"already defined as a counter",
                                             "must start with a letter",
                                             "must start with a letter",
                                             "must start with a letter",
                                             "taken by a built-in",
                                             "values must be 0 or more",
                                             "needs a number",
                                             "finite",
                                             "needs a number"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::string& m = out.stats.errors[i].message;
    INFO(m);
    CHECK(contains(m, expected[i]));
    // The line of the offending call in the script (cases[] starts at line 5).
    CHECK(contains(m, "t.lua:" + std::to_string(5 + i) + ":"));
  }
  // Nothing was recorded by the failed adds.
  CHECK(find_metric(out.stats, "orders") == nullptr);
  CHECK(find_metric(out.stats, "t") == nullptr);
}

// --- vu, env, json, data

TEST_CASE("vu.id is unique and 1-based across scenarios and workers; vu.iteration per VU") {
  Scenario a = iterations(ExecutorKind::per_vu_iterations, 3, 2, "a", "report");
  Scenario b = iterations(ExecutorKind::per_vu_iterations, 2, 1, "b", "report");
  const ScriptPlan plan = make_plan(R"lua(
function report()
  http.get("http://r.test/" .. vu.scenario .. "/" .. vu.id .. "/" .. vu.iteration)
end
)lua",
                                    {a, b});
  std::multiset<std::string> seen;
  for (std::uint32_t workers : {1u, 2u, 3u}) {
    seen.clear();
    for (std::uint32_t w = 0; w < workers; ++w) {
      FakeServer server;
      const Outcome out = run(plan, server, w, workers);
      check_clean(out);
      for (const auto& t : server.targets())
        seen.insert(t);
    }
    INFO("workers " << workers);
    const std::multiset<std::string> want = {"/a/1/0", "/a/1/1", "/a/2/0", "/a/2/1",
                                             "/a/3/0", "/a/3/1", "/b/4/0", "/b/5/0"};
    CHECK(seen == want);
  }
}

TEST_CASE("segments: vu.id unique over segments and workers, vu.segment, data rows split") {
  TempDir dir;
  std::string csv = "n\n";
  for (int i = 1; i <= 11; ++i)
    csv += std::to_string(i) + "\n";
  dir.write("rows.csv", csv);
  dir.write("obj.json", R"({"a":1})");
  Scenario a = iterations(ExecutorKind::per_vu_iterations, 5, 2, "a", "report");
  Scenario b = iterations(ExecutorKind::shared_iterations, 3, 7, "b", "report");
  const std::string source = R"lua(
local mine = data.csv("rows.csv", { segment = true })
assert(data.csv("rows.csv", { segment = true }) == mine)  -- made once
assert(#data.csv("rows.csv") == 11)                      -- the whole file is still there
assert(vu.segment >= 1 and vu.segment <= vu.segments, tostring(vu.segment) .. "/" .. tostring(vu.segments))  -- at the top level too
assert(not pcall(data.json, "obj.json", { segment = true }))
assert(not pcall(data.csv, "rows.csv", 1))
function report()
  http.get("http://r.test/" .. vu.scenario .. "/" .. vu.id .. "/" .. vu.segment .. "/" .. vu.segments)
end
function rows()
  for _, r in ipairs(mine) do http.get("http://r.test/row/" .. r.n .. "/" .. vu.segment) end
end
)lua";
  for (const std::uint32_t segments : {1u, 2u, 3u}) {
    CAPTURE(segments);
    // One VU per segment for the rows scenario, so each segment reports its rows once.
    Scenario c = iterations(ExecutorKind::per_vu_iterations, segments, 1, "c", "rows");
    ScriptPlan plan = make_plan(source, {a, b, c});
    plan.directory = dir.path.string();
    std::multiset<std::string> seen;
    std::vector<std::string> rows;
    for (std::uint32_t s = 0; s < segments; ++s) {
      plan.segment = Share{s, segments};
      const std::uint32_t workers = 1 + s % 2 + (segments == 3 ? 1 : 0);
      for (std::uint32_t w = 0; w < workers; ++w) {
        FakeServer server;
        Runner r(plan, server, Share::within(plan.segment, w, workers));
        r.run();
        CHECK(r.done);
        check_clean(r.finish());
        for (const auto& t : server.targets()) {
          if (t.starts_with("/row/"))
            rows.push_back(t);
          else
            seen.insert(t);
        }
      }
    }
    // Every VU id of a and b exactly once (a: 2 iterations each, b: 7 shared), and each in the
    // segment that holds it: the first segments take the remainder.
    std::multiset<std::string> ids_a, ids_b;
    std::uint64_t b_iterations = 0;
    std::set<std::string> b_ids;
    for (const std::string& t : seen) {
      if (t.starts_with("/a/")) ids_a.insert(t);
      if (t.starts_with("/b/")) {
        ++b_iterations;
        b_ids.insert(t);
      }
    }
    const std::string n = "/" + std::to_string(segments);
    std::multiset<std::string> want_a;
    const std::vector<std::uint32_t> seg_a =
        segments == 1   ? std::vector<std::uint32_t>{1, 1, 1, 1, 1}
        : segments == 2 ? std::vector<std::uint32_t>{1, 1, 1, 2, 2}
                        : std::vector<std::uint32_t>{1, 1, 2, 2, 3};
    for (std::uint32_t id = 1; id <= 5; ++id) {
      const std::string t = "/a/" + std::to_string(id) + "/" + std::to_string(seg_a[id - 1]) + n;
      want_a.insert(t);
      want_a.insert(t);
    }
    CHECK(ids_a == want_a);
    CHECK(b_iterations == 7);
    for (const std::string& t : b_ids) {
      const auto id = std::stoi(t.substr(3));
      CHECK(id >= 6);
      CHECK(id <= 8);
    }
    // Rows: each segment its contiguous part, together every row exactly once.
    std::sort(rows.begin(), rows.end());
    std::vector<std::string> want_rows;
    const std::vector<std::uint32_t> seg_rows =
        segments == 1   ? std::vector<std::uint32_t>(11, 1)
        : segments == 2 ? std::vector<std::uint32_t>{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2}
                        : std::vector<std::uint32_t>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3};
    for (std::uint32_t i = 1; i <= 11; ++i)
      want_rows.push_back("/row/" + std::to_string(i) + "/" + std::to_string(seg_rows[i - 1]));
    std::sort(want_rows.begin(), want_rows.end());
    CHECK(rows == want_rows);
  }
}

TEST_CASE("env, json and vu outside a VU") {
  FakeServer server;
  ScriptPlan plan = make_plan(R"lua(
assert(vu.id == 0 and vu.iteration == 0 and vu.scenario == nil)
function default()
  assert(env.BASE == "http://x.test", tostring(env.BASE))
  assert(env.TOKEN == "t0k")
  assert(env.MISSING == nil)
  assert(json.encode({ b = 1, a = { 1, 2, 3 }, s = 'x"y' }) == '{"a":[1,2,3],"b":1,"s":"x\\"y"}',
         json.encode({ b = 1, a = { 1, 2, 3 }, s = 'x"y' }))
  local d = json.decode('{"a":null,"b":[true,1.5]}')
  assert(d.a == json.null and d.b[1] == true and d.b[2] == 1.5)
  assert(json.encode(json.null) == "null")
  assert(json.encode(d) == '{"a":null,"b":[true,1.5]}', json.encode(d))
  local ok, err = pcall(json.decode, "{")
  assert(not ok and tostring(err):find("json.decode"), tostring(err))
  ok, err = pcall(json.encode, { f = print })
  assert(not ok and tostring(err):find("json.encode"), tostring(err))
end
)lua");
  plan.env = {{"BASE", "http://x.test"}, {"TOKEN", "t0k"}};
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 1);
}

TEST_CASE("data.csv and data.json read files relative to the script's directory") {
  TempDir dir;
  dir.write("users.csv", "name,pass\nann,1\nbob,2\n");
  dir.write("conf.json", R"({"n":3})");
  FakeServer server;
  ScriptPlan plan = make_plan(R"lua(
local users = data.csv("users.csv")
function default()
  assert(#users == 2, #users)
  assert(users[1].name == "ann" and users[2].pass == "2")
  assert(data.csv("users.csv") == users)  -- loaded once per worker
  assert(data.json("conf.json").n == 3)
  http.get("http://127.0.0.1/" .. users[vu.id].name)
end
)lua",
                              {per_vu(2, 1)});
  plan.directory = dir.path.string();
  const Outcome out = run(plan, server);
  check_clean(out);
  auto targets = server.targets();
  std::sort(targets.begin(), targets.end());
  CHECK(targets == std::vector<std::string>{"/ann", "/bob"});

  SUBCASE("a missing file at load is a usage error") {
    ScriptPlan missing = plan;
    missing.source = "local rows = data.csv('nope.csv')\nfunction default() end\n";
    const std::string e = constructor_error(missing);
    CHECK(contains(e, "nope.csv"));
    CHECK(contains(e, "t.lua:1:"));
  }
  SUBCASE("a missing file in a VU fails the iteration") {
    ScriptPlan missing = plan;
    missing.source = "function default()\n  data.csv('nope.csv')\nend\n";
    FakeServer s2;
    const Outcome o2 = run(missing, s2);
    CHECK(o2.stats.iterations_failed == 2);  // both VUs
    REQUIRE(o2.stats.errors.size() == 1);
    CHECK(o2.stats.errors[0].count == 2);
    CHECK(contains(o2.stats.errors[0].message, "nope.csv"));
    CHECK(contains(o2.stats.errors[0].message, "t.lua:2:"));
  }
}
