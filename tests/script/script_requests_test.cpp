// Lua scripts: the requests they send and the responses they read.
#include <doctest/doctest.h>

#include "tests/script/script_harness.hpp"

using namespace strain;
using namespace strain::script_test;
using namespace std::chrono_literals;

// --- requests

TEST_CASE("http methods: request line, Host, headers and bodies as sent") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
function default()
  http.get("http://127.0.0.1:8080/items?page=2", { headers = { ["X-Trace"] = "abc" } })
  http.post("http://127.0.0.1:8080/items", "raw=1",
            { headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } })
  http.put("http://127.0.0.1:8080/items/1", nil, { json = { name = "pen", qty = 3 } })
  http.patch("http://127.0.0.1:8080/items/1", nil, { json = { qty = 4 } })
  http.delete("http://127.0.0.1:8080/items/1")
  http.head("http://127.0.0.1:8080/")
  http.request("OPTIONS", "http://127.0.0.1:8080/items", { headers = { Origin = "o" } })
  http.request("POST", "http://localhost/x", "body!")
  http.options("http://localhost")
  http.get("http://localhost?q=1#frag")
  http.post("http://localhost/j", nil,
            { json = { 1, 2 }, headers = { ["content-type"] = "application/vnd.x+json" } })
  http.request("PUT", "http://localhost/t", { json = { ok = true } })
  http.post("http://localhost/empty")
end
)lua");
  const Outcome out = run(plan, server);
  check_clean(out);
  REQUIRE(server.requests.size() == 13);
  const auto& r = server.requests;

  CHECK(r[0].method == "GET");
  CHECK(r[0].target == "/items?page=2");
  CHECK(r[0].header("Host") == "127.0.0.1:8080");
  CHECK(r[0].header("X-Trace") == "abc");
  CHECK(r[0].header("User-Agent") != "<none>");
  CHECK(r[0].all("Content-Length").empty());
  CHECK(r[0].body.empty());

  CHECK(r[1].method == "POST");
  CHECK(r[1].target == "/items");
  CHECK(r[1].header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(r[1].header("Content-Length") == "5");
  CHECK(r[1].body == "raw=1");

  CHECK(r[2].method == "PUT");
  CHECK(r[2].target == "/items/1");
  CHECK(r[2].body == R"({"name":"pen","qty":3})");
  CHECK(r[2].header("Content-Type") == "application/json");
  CHECK(r[2].header("Content-Length") == std::to_string(r[2].body.size()));

  CHECK(r[3].method == "PATCH");
  CHECK(r[3].body == R"({"qty":4})");
  CHECK(r[3].header("Content-Type") == "application/json");

  CHECK(r[4].method == "DELETE");
  CHECK(r[4].target == "/items/1");
  CHECK(r[4].body.empty());

  CHECK(r[5].method == "HEAD");
  CHECK(r[5].target == "/");

  CHECK(r[6].method == "OPTIONS");
  CHECK(r[6].target == "/items");
  CHECK(r[6].header("Origin") == "o");

  CHECK(r[7].method == "POST");
  CHECK(r[7].header("Host") == "localhost");
  CHECK(r[7].body == "body!");

  CHECK(r[8].method == "OPTIONS");
  CHECK(r[8].target == "/");
  CHECK(r[8].header("Host") == "localhost");

  CHECK(r[9].target == "/?q=1");  // fragment dropped, "/" added

  // The script's own Content-Type wins; only one is sent.
  CHECK(r[10].body == "[1,2]");
  CHECK(r[10].all("Content-Type") == std::vector<std::string>{"application/vnd.x+json"});

  CHECK(r[11].method == "PUT");
  CHECK(r[11].body == R"({"ok":true})");

  CHECK(r[12].method == "POST");
  CHECK(r[12].header("Content-Length") == "0");

  // One client per origin, one session per origin for the one VU.
  CHECK(server.origins == std::vector<std::string>{"127.0.0.1:8080", "localhost"});
  CHECK(server.sessions == 2);
  CHECK(out.total.responses == 13);
  CHECK(out.started == 13);
}

TEST_CASE("series: params.name, default name without the query, tags, scenario and group") {
  FakeServer server;
  Scenario s = per_vu(1, 1);
  s.name = "browse";
  s.tags = {{"team", "red"}};
  const ScriptPlan plan = make_plan(R"lua(
function default()
  http.get("http://127.0.0.1/a?x=1")
  http.get("http://127.0.0.1/a?x=2")
  http.get("http://127.0.0.1/b/17", { name = "b by id" })
  http.get("http://127.0.0.1/b/18", { name = "b by id" })
  http.get("http://127.0.0.1/c", { tags = { kind = "k1" } })
  http.get("http://127.0.0.1/c", { tags = { kind = "k2" } })
  http.get("http://127.0.0.1/c", { tags = { kind = "k2", team = "blue" } })
  group("g1", function() http.get("http://127.0.0.1/a") end)
end
)lua",
                                    {s});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.total.responses == 8);
  CHECK(out.series.size() == 6);
  using Tags = std::map<std::string, std::string>;
  const Tags base{{"scenario", "browse"}, {"team", "red"}};
  const auto* a = find_series(out.series, "http://127.0.0.1/a", base);
  REQUIRE(a != nullptr);
  CHECK(a->responses == 2);
  const auto* b = find_series(out.series, "b by id", base);
  REQUIRE(b != nullptr);
  CHECK(b->responses == 2);
  const auto* k1 = find_series(out.series, "http://127.0.0.1/c",
                               {{"scenario", "browse"}, {"team", "red"}, {"kind", "k1"}});
  REQUIRE(k1 != nullptr);
  CHECK(k1->responses == 1);
  const auto* k2 = find_series(out.series, "http://127.0.0.1/c",
                               {{"scenario", "browse"}, {"team", "red"}, {"kind", "k2"}});
  REQUIRE(k2 != nullptr);
  CHECK(k2->responses == 1);
  // A request tag overrides the scenario's tag of the same name.
  const auto* blue = find_series(out.series, "http://127.0.0.1/c",
                                 {{"scenario", "browse"}, {"team", "blue"}, {"kind", "k2"}});
  CHECK(blue != nullptr);
  const auto* g = find_series(out.series, "http://127.0.0.1/a",
                              {{"scenario", "browse"}, {"team", "red"}, {"group", "::g1"}});
  REQUIRE(g != nullptr);
  CHECK(g->responses == 1);
  std::uint64_t sum = 0;
  for (const auto& m : out.series)
    sum += m.responses;
  CHECK(sum == out.total.responses);
}

TEST_CASE("series: the name cap sends later names to (other)") {
  FakeServer server;
  ScriptPlan plan = make_plan(R"lua(
function default()
  for i = 1, 10 do http.get("http://127.0.0.1/item/" .. i) end
  http.get("http://127.0.0.1/item/1")  -- already tracked: stays in its series
end
)lua");
  plan.settings.max_names = 3;
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.total.responses == 11);
  REQUIRE(out.series.size() == 4);
  const auto* first = find_series(out.series, "http://127.0.0.1/item/1", {{"scenario", "default"}});
  REQUIRE(first != nullptr);
  CHECK(first->responses == 2);
  const auto* other = find_series(out.series, "(other)", {});
  REQUIRE(other != nullptr);
  CHECK(other->responses == 7);
  CHECK(out.stats.untracked_names == 7);
}

TEST_CASE("request errors: bad URL, body, params, unresolvable host fail the iteration") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
local cases = {
  function() http.get("127.0.0.1/no-scheme") end,
  function() http.get("ftp://127.0.0.1/") end,
  function() http.get("http://127.0.0.1/a b") end,
  function() http.post("http://127.0.0.1/", 42) end,
  function() http.get("http://127.0.0.1/", { nope = 1 }) end,
  function() http.get("http://127.0.0.1/", { timeout = "2m" }) end,
  function() http.get("http://127.0.0.1/", { timeout = -1 }) end,
  function() http.post("http://127.0.0.1/", "x", { json = { 1 } }) end,
  function() http.get("http://127.0.0.1/", { headers = { ["Bad Name"] = "v" } }) end,
  function() http.get("http://nowhere.invalid/") end,
}
function default()
  cases[vu.iteration + 1]()
end
)lua",
                                    {per_vu(1, 10)});
  const Outcome out = run(plan, server);
  CHECK(server.requests.empty());
  CHECK(out.stats.iterations == 0);
  CHECK(out.stats.iterations_failed == 10);
  REQUIRE(out.stats.errors.size() == 10);
  const std::vector<std::string> expected = {"not an absolute http:// or https:// URL",
                                             "bad URL 'ftp://127.0.0.1/'",
                                             "space",
                                             "request body must be a string",
                                             "unknown field 'nope'",
                                             "above options.timeout",
                                             "timeout must be more than zero",
                                             "json given with a body too",
                                             "bad header name",
                                             "does not resolve"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(out.stats.errors[i].message);
    CHECK(contains(out.stats.errors[i].message, expected[i]));
    CHECK(out.stats.errors[i].count == 1);
  }
}

// --- responses

// Both ways a transport hands responses over: fields and body pieces, or raw bytes.
void response_fields(bool raw) {
  FakeServer server;
  server.raw_capture = raw;
  server.respond = [](const Seen& s) {
    Reply r;
    if (s.target == "/r") {
      r.status = 201;
      r.headers = {{"Content-Type", "application/json"},
                   {"Set-Cookie", "a=1"},
                   {"X-Mixed-Case", "V"},
                   {"set-cookie", "b=2"}};
      r.body = R"({"id":7,"tags":["x","y"],"n":null})";
    } else if (s.target == "/down") {
      r.error = ErrorKind::connect_refused;
    } else if (s.target == "/reset") {
      r.error = ErrorKind::reset;
    } else if (s.target == "/busy") {
      r.status = 503;
      r.body = "busy";
    } else if (s.target == "/head") {
      r.headers = {{"Content-Length", "4"}};
      r.body = "body";
    } else if (s.target == "/a4") {
      r.body = "aaaa";
    } else if (s.target == "/b2") {
      r.body = "bb";
    }
    return r;
  };
  const ScriptPlan plan = make_plan(R"lua(
function default()
  local r = http.get("http://127.0.0.1/r")
  assert(r.status == 201, "status " .. tostring(r.status))
  assert(r.ok == true)
  assert(r.error == nil)
  assert(r.headers["content-type"] == "application/json")
  assert(r.headers["set-cookie"] == "a=1, b=2", tostring(r.headers["set-cookie"]))
  assert(r.headers["x-mixed-case"] == "V")
  assert(r.headers["X-Mixed-Case"] == nil)
  assert(r.headers == r.headers)  -- built once, then the same table
  assert(r.body == '{"id":7,"tags":["x","y"],"n":null}', r.body)
  assert(r.body_size == #r.body)
  assert(r.truncated == false)
  local j = r:json()
  assert(j.id == 7 and j.tags[2] == "y" and j.n == json.null)
  local t = r.timings
  assert(type(t.duration) == "number" and t.duration >= 0)
  assert(type(t.response_time) == "number" and t.response_time >= t.duration)
  assert(type(t.connecting) == "number")
  assert(tostring(r):find("status 201"))

  local d = http.get("http://127.0.0.1/down")
  assert(d.status == 0, "status " .. tostring(d.status))
  assert(d.error == "connect_refused", tostring(d.error))
  assert(d.ok == false)
  assert(tostring(d):find("connect_refused"))
  assert(http.get("http://127.0.0.1/reset").error == "reset")

  local b = http.get("http://127.0.0.1/busy")
  assert(b.status == 503 and b.ok == false and b.error == nil and b.body == "busy")
  local ok, err = pcall(function() return b:json() end)
  assert(not ok and tostring(err):find("not JSON"), tostring(err))

  local h = http.head("http://127.0.0.1/head")
  assert(h.status == 200 and h.body == "" and h.headers["content-length"] == "4")

  -- Each response keeps its own fields, whatever was read from another one since.
  local a = http.get("http://127.0.0.1/a4")
  local b = http.get("http://127.0.0.1/b2")
  assert(a.body == "aaaa" and b.body == "bb")
  assert(a.body_size == 4, a.body_size)
  assert(b.body_size == 2, b.body_size)
  assert(a.body == "aaaa")
end
)lua");
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 1);
  CHECK(out.total.responses == 5);
  CHECK(out.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::connect_refused)] == 1);
  CHECK(out.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::reset)] == 1);
  CHECK(out.total.status_codes.at(201) == 1);
  CHECK(out.total.status_codes.at(503) == 1);
  CHECK(out.total.status_codes.at(200) == 3);
  CHECK(out.started == 7);
}

TEST_CASE("response: status, headers, body, json, timings, ok, error") {
  SUBCASE("fields and body reported") {
    response_fields(false);
  }
  SUBCASE("raw bytes captured") {
    response_fields(true);
  }
}

// Bodies bigger than what is kept: r.body_size still counts every byte received.
void response_bodies(bool raw) {
  const std::string big(100'000, 'x');
  FakeServer server;
  server.raw_capture = raw;
  server.respond = [&big](const Seen& s) {
    Reply r;
    r.body = s.target == "/big" ? big : R"({"k":"0123456789"})";
    return r;
  };
  {
    INFO("discarded");
    ScriptPlan plan = make_plan(R"lua(
function default()
  local r = http.get("http://127.0.0.1/")
  assert(r.status == 200)
  assert(r.body == nil, "body kept")
  assert(r.body_size == 18, r.body_size)
  local ok, err = pcall(function() return r:json() end)
  assert(not ok and tostring(err):find("not kept"), tostring(err))
  r = http.get("http://127.0.0.1/big")
  assert(r.body == nil, "body kept")
  assert(r.body_size == 100000, r.body_size)
end
)lua");
    plan.settings.discard_response_bodies = true;
    check_clean(run(plan, server));
  }
  {
    INFO("cut at max_body_bytes");
    ScriptPlan plan = make_plan(R"lua(
function default()
  local r = http.get("http://127.0.0.1/")
  assert(r.body == '{"k":"', r.body)
  assert(r.truncated == true)
  assert(r.body_size == 18, r.body_size)
end
)lua");
    plan.settings.max_body_bytes = 6;
    check_clean(run(plan, server));
  }
  {
    INFO("a big body under max_body_bytes");
    ScriptPlan plan = make_plan(R"lua(
function default()
  local r = http.get("http://127.0.0.1/big")
  assert(#r.body == 100000 and r.body_size == 100000 and r.truncated == false, #r.body)
  assert(r.body == string.rep("x", 100000))
end
)lua");
    check_clean(run(plan, server));
  }
}

TEST_CASE("response: discard_response_bodies and max_body_bytes") {
  SUBCASE("fields and body reported") {
    response_bodies(false);
  }
  SUBCASE("raw bytes captured") {
    response_bodies(true);
  }
}

TEST_CASE("request timeout: a request never answered times out after params.timeout") {
  FakeServer server;
  server.respond = [](const Seen& s) {
    Reply r;
    r.never = s.target == "/slow";
    return r;
  };
  const ScriptPlan plan = make_plan(R"lua(
function default()
  local r = http.get("http://127.0.0.1/slow", { timeout = 0.05 })
  assert(r.error == "timeout", tostring(r.error))
  assert(r.status == 0)
  http.get("http://127.0.0.1/after")
  r = http.get("http://127.0.0.1/slow", { timeout = "30ms" })
  assert(r.error == "timeout", tostring(r.error))
end
)lua");
  const auto t0 = std::chrono::steady_clock::now();
  const Outcome out = run(plan, server);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  check_clean(out);
  REQUIRE(server.requests.size() == 3);
  const std::int64_t waited = server.requests[1].at_ns - server.requests[0].at_ns;
  CHECK(waited >= 50'000'000);
  CHECK(waited < 1'000'000'000);
  CHECK(elapsed >= 80ms);
  CHECK(elapsed < 2s);
  CHECK(out.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::timeout)] == 2);
  CHECK(out.total.responses == 1);
  CHECK(server.closes >= 2);  // the abandoned exchanges' connections were closed
  // A timeout counts in the latency: at least the 50 ms it waited.
  CHECK(out.total.response_time_us.max() >= 50'000);
}
