#include "engine/script/script_load.hpp"

#include <doctest/doctest.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/script/watchdog.hpp"
#include "engine/transport/response_parser.hpp"

using namespace strain;
using namespace std::chrono_literals;

namespace {

// --- a fake transport: records every request's bytes, answers as the test says

// What the fake answers to one request.
struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  ErrorKind error = ErrorKind::none;   // a transport failure instead of a response
  bool never = false;                  // never answer (only the script's timeout ends it)
  std::chrono::milliseconds delay{0};  // answer after this long instead of at once
};

// One request as the fake received it.
struct Seen {
  std::string raw;
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as sent
  std::string body;
  std::int64_t at_ns = 0;  // when it arrived

  // Values of every field called `name` (case-insensitive).
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers) {
      if (n.size() == name.size() &&
          std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        out.push_back(v);
      }
    }
    return out;
  }
  std::string header(std::string_view name) const {
    const auto v = all(name);
    return v.empty() ? std::string("<none>") : v.front();
  }
};

Seen parse_request(std::string_view raw) {
  Seen s;
  s.raw = std::string(raw);
  s.at_ns = now_ns();
  const auto end = raw.find("\r\n\r\n");
  REQUIRE(end != std::string_view::npos);
  s.body = std::string(raw.substr(end + 4));
  std::string_view head = raw.substr(0, end + 2);
  auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  s.method = std::string(line.substr(0, sp1));
  s.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  CHECK(line.substr(sp2 + 1) == "HTTP/1.1");
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    line_end = head.find("\r\n");
    const std::string_view field = head.substr(0, line_end);
    const auto colon = field.find(": ");
    REQUIRE(colon != std::string_view::npos);
    s.headers.emplace_back(field.substr(0, colon), field.substr(colon + 2));
    head.remove_prefix(line_end + 2);
  }
  return s;
}

struct FakeServer {
  std::function<Reply(const Seen&)> respond = [](const Seen&) { return Reply{}; };
  std::vector<Seen> requests;
  std::vector<std::string> origins;  // host[:port] of each client made
  std::uint64_t sessions = 0;        // sessions opened
  std::uint64_t closes = 0;          // Session::close() calls
  // Sessions hand raw response bytes to a ResponseCapture (as the native client does) instead
  // of fields and body pieces to a ResponseObserver.
  bool raw_capture = false;

  ClientFactory factory();
  std::vector<std::string> targets() const {
    std::vector<std::string> out;
    for (const Seen& s : requests)
      out.push_back(s.target);
    return out;
  }
};

// The bytes a server would send for `reply`; a HEAD response has no body.
std::string raw_response(const Reply& reply, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Whatever\r\n";
  bool has_length = false;
  for (const auto& [n, v] : reply.headers) {
    out += n + ": " + v + "\r\n";
    has_length = has_length || n == "Content-Length";
  }
  if (!has_length) out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  out += "\r\n";
  if (!head) out += reply.body;
  return out;
}

class FakeSession final : public Session {
 public:
  FakeSession(boost::asio::io_context& io, FakeServer& server, std::uint64_t& in_flight)
      : io_(io), server_(server), in_flight_(in_flight) {}
  ~FakeSession() override {
    *alive_ = false;
    if (busy_) --in_flight_;
  }

  void start(const http::RequestView& request, ExchangeObserver& observer,
             std::int64_t now) override {
    // Called from inside a Lua binding: CHECK, never REQUIRE (no exception may cross Lua).
    CHECK_FALSE(busy_);
    server_.requests.push_back(parse_request(request.bytes));
    Reply reply = server_.respond(server_.requests.back());
    busy_ = true;
    observer_ = &observer;
    sent_ns_ = now;
    ++in_flight_;
    if (reply.never) return;
    const std::uint64_t generation = ++generation_;
    auto deliver = [this, alive = alive_, generation, reply, observer = &observer, sent = now,
                    bytes_out = request.bytes.size(), head = request.head] {
      if (!*alive || generation != generation_ || !busy_) return;
      busy_ = false;
      --in_flight_;
      Exchange ex;
      ex.sent_ns = sent;
      ex.bytes_out = bytes_out;
      if (reply.error == ErrorKind::none) {
        ex.status = reply.status;
        if (capture_ != nullptr) {
          // A stale first attempt, forgotten on restart, then the response in two reads.
          capture_->on_response_bytes("HTTP/1.1 500 Stale\r\nX-Stale: 1\r\n");
          capture_->on_response_restart();
          const std::string raw = raw_response(reply, head);
          capture_->on_response_bytes(std::string_view(raw).substr(0, raw.size() / 2));
          capture_->on_response_bytes(std::string_view(raw).substr(raw.size() / 2));
        } else if (response_observer_ != nullptr) {
          for (const auto& [n, v] : reply.headers)
            response_observer_->on_header(n, v);
          if (!head && !reply.body.empty()) {
            // In two pieces, as a socket might deliver it.
            const std::string_view b = reply.body;
            response_observer_->on_body(b.substr(0, b.size() / 2));
            response_observer_->on_body(b.substr(b.size() / 2));
          }
        }
        ex.bytes_in = 100 + reply.body.size();
      } else {
        ex.error = reply.error;
      }
      ex.done_ns = now_ns();
      observer->on_exchange(ex);
    };
    if (reply.delay.count() > 0) {
      timers_.push_back(std::make_unique<boost::asio::steady_timer>(io_, reply.delay));
      timers_.back()->async_wait([deliver](const boost::system::error_code& ec) {
        if (!ec) deliver();
      });
    } else {
      boost::asio::post(io_, deliver);
    }
  }
  void set_response_observer(http::ResponseObserver* observer) override {
    response_observer_ = observer;
  }
  bool set_response_capture(ResponseCapture* capture) override {
    if (!server_.raw_capture) return false;
    capture_ = capture;
    return true;
  }
  bool busy() const override { return busy_; }
  // As a real transport does: the exchange in flight ends as abandoned, reported at once.
  void abandon(std::int64_t now) override {
    if (!busy_) return;
    ++generation_;
    busy_ = false;
    --in_flight_;
    Exchange ex;
    ex.error = ErrorKind::abandoned;
    ex.sent_ns = sent_ns_;
    ex.done_ns = now;
    observer_->on_exchange(ex);
  }
  void close() override {
    ++server_.closes;
    ++generation_;
    if (busy_) --in_flight_;
    busy_ = false;
  }

 private:
  boost::asio::io_context& io_;
  FakeServer& server_;
  std::uint64_t& in_flight_;
  http::ResponseObserver* response_observer_ = nullptr;
  ResponseCapture* capture_ = nullptr;
  ExchangeObserver* observer_ = nullptr;  // of the exchange in flight
  std::int64_t sent_ns_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t generation_ = 0;
  bool busy_ = false;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers_;
};

class FakeClient final : public HttpClient {
 public:
  FakeClient(boost::asio::io_context& io, FakeServer& server) : io_(io), server_(server) {}
  std::unique_ptr<Session> open_session() override {
    ++server_.sessions;
    return std::make_unique<FakeSession>(io_, server_, in_flight_);
  }
  std::uint64_t in_flight() const override { return in_flight_; }

 private:
  boost::asio::io_context& io_;
  FakeServer& server_;
  std::uint64_t in_flight_ = 0;
};

ClientFactory FakeServer::factory() {
  return [this](boost::asio::io_context& io, const http::Url& url) -> std::unique_ptr<HttpClient> {
    if (url.host == "nowhere.invalid") throw Error("nowhere.invalid: does not resolve");
    origins.push_back(url.host_header);
    return std::make_unique<FakeClient>(io, *this);
  };
}

// --- plans and runs

Scenario iterations(ExecutorKind kind, std::uint32_t vus, std::uint64_t count,
                    std::string name = "default", std::string exec = "default") {
  Scenario s;
  s.name = std::move(name);
  s.exec = std::move(exec);
  s.executor = kind;
  s.vus = vus;
  s.iterations = count;
  return s;
}
Scenario per_vu(std::uint32_t vus, std::uint64_t count) {
  return iterations(ExecutorKind::per_vu_iterations, vus, count);
}
Scenario shared(std::uint32_t vus, std::uint64_t count) {
  return iterations(ExecutorKind::shared_iterations, vus, count);
}

ScriptPlan make_plan(std::string source, std::vector<Scenario> scenarios = {per_vu(1, 1)}) {
  ScriptPlan p;
  p.path = "t.lua";
  p.chunk_name = "@t.lua";
  p.source = std::move(source);
  p.scenarios = std::move(scenarios);
  return p;
}

struct Outcome {
  RequestMetrics total;
  std::vector<RequestMetrics> series;
  ScriptStats stats;
  std::uint64_t started = 0;
};

// One ScriptLoad on its own event loop, as a worker runs it.
struct Runner {
  boost::asio::io_context io{1};
  bool done = false;  // on_done fired
  ScriptLoad load;
  Outcome so_far;                // every interval taken so far, added up
  ScheduleStats schedule;        // the same for the arrival-rate scenarios' schedules
  std::uint32_t active_vus = 0;  // at the last take()

  Runner(const ScriptPlan& plan, FakeServer& server, Share share)
      : load(io, plan, share, server.factory(), [this] {
          done = true;
          io.stop();
        }) {
    so_far.total.name = "total";
  }
  Runner(const ScriptPlan& plan, FakeServer& server, std::uint32_t worker = 0,
         std::uint32_t workers = 1)
      : Runner(plan, server, Share{worker, workers}) {}

  // Starts the load and runs the loop until on_done, or at most `limit`.
  void run(std::chrono::milliseconds limit = 3000ms) {
    boost::asio::steady_timer guard(io, limit);
    guard.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
    load.start(now_ns());
    io.run();
  }
  // Runs the loop for `d` more (after run() returned).
  void more(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }
  // Takes the load's interval into the running totals, as a worker does once a second.
  void take() {
    WorkerInterval w;
    HistogramStock stock;
    load.take_interval(w, stock);
    so_far.total.add(w.total);
    for (RequestMetrics& m : w.series) {
      auto it = std::find_if(so_far.series.begin(), so_far.series.end(),
                             [&](const auto& x) { return x.name == m.name && x.tags == m.tags; });
      if (it == so_far.series.end())
        so_far.series.push_back(std::move(m));
      else
        it->add(m);
    }
    so_far.stats.add(w.script);
    so_far.started = w.requests_started;
    ScheduleStats interval;
    for (const ScenarioInterval& sc : w.scenarios)
      if (sc.schedule) interval.add(*sc.schedule);
    schedule.accumulate(interval);
    active_vus = w.active_vus;
  }
  std::uint32_t active_vus_now() {
    take();
    return active_vus;
  }
  std::uint64_t started_now() {
    take();
    return so_far.started;
  }
  void stop() { load.stop(now_ns()); }
  Outcome finish() {
    stop();
    take();
    return so_far;
  }
};

Outcome run(const ScriptPlan& plan, FakeServer& server, std::uint32_t worker = 0,
            std::uint32_t workers = 1) {
  Runner r(plan, server, worker, workers);
  r.run();
  CHECK(r.done);
  return r.finish();
}

std::string errors_text(const ScriptStats& s) {
  std::string out;
  for (const auto& e : s.errors)
    out += std::to_string(e.count) + "x " + e.message + "\n" + e.traceback + "\n";
  return out;
}

// The script ran without a single script error.
void check_clean(const Outcome& out) {
  CHECK_MESSAGE(out.stats.errors.empty(), errors_text(out.stats));
  CHECK(out.stats.iterations_failed == 0);
}

const RequestMetrics* find_series(const std::vector<RequestMetrics>& all, std::string_view name,
                                  const std::map<std::string, std::string>& tags) {
  for (const auto& m : all)
    if (m.name == name && m.tags == tags) return &m;
  return nullptr;
}

const CheckTally* find_check(const ScriptStats& s, std::string_view name) {
  for (const auto& c : s.checks)
    if (c.name == name) return &c;
  return nullptr;
}

const CustomMetric* find_metric(const ScriptStats& s, std::string_view name) {
  for (const auto& m : s.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

std::string usage_error(const ScriptPlan& plan) {
  try {
    (void)inspect_script(plan);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

std::string constructor_error(const ScriptPlan& plan) {
  FakeServer server;
  boost::asio::io_context io(1);
  try {
    ScriptLoad load(io, plan, Share::whole(), server.factory(), [] {});
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// A fresh directory per test, removed afterwards.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strain-load-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  void write(const std::string& name, std::string_view bytes) const {
    std::ofstream(path / name, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
};

}  // namespace

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

// --- script errors

TEST_CASE("a runtime error fails only its iteration, reported once with a count") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
function default()
  http.get("http://127.0.0.1/before")
  if vu.iteration % 2 == 1 then error("boom") end
  http.get("http://127.0.0.1/after")
end
)lua",
                                    {per_vu(2, 4)});
  const Outcome out = run(plan, server);
  CHECK(out.stats.iterations == 4);
  CHECK(out.stats.iterations_failed == 4);
  REQUIRE(out.stats.errors.size() == 1);
  const ScriptErrorTally& e = out.stats.errors[0];
  CHECK(e.message == "t.lua:4: boom");
  CHECK(e.count == 4);
  CHECK(contains(e.traceback, "t.lua:"));
  CHECK(server.requests.size() == 8 + 4);
}

TEST_CASE("odd errors: non-string error values, bare coroutine.yield, bindings at the top level") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
local cases = {
  function() error({ code = 1 }) end,
  function() coroutine.yield() end,
  function() local co = coroutine.wrap(function() http.get("http://127.0.0.1/") end); co() end,
  function() local co = coroutine.wrap(function() coroutine.yield(1); return 2 end)
             assert(co() == 1 and co() == 2) end,
}
function default()
  cases[vu.iteration + 1]()
end
)lua",
                                    {per_vu(1, 4)});
  const Outcome out = run(plan, server);
  CHECK(out.stats.iterations == 1);  // the script's own coroutines work
  CHECK(out.stats.iterations_failed == 3);
  REQUIRE(out.stats.errors.size() == 3);
  CHECK(contains(out.stats.errors[0].message, "not a string"));
  CHECK(contains(out.stats.errors[1].message, "coroutine.yield()"));
  CHECK(contains(out.stats.errors[2].message, "coroutine the script created"));
  CHECK(server.requests.empty());
}

TEST_CASE("load errors: syntax, top-level errors, top-level http, missing exec function") {
  SUBCASE("syntax error names file:line") {
    const ScriptPlan plan = make_plan("function default()\n  local x = = 1\nend\n");
    const std::string e = usage_error(plan);
    CHECK(contains(e, "t.lua:2:"));
    CHECK(contains(constructor_error(plan), "t.lua:2:"));
  }
  SUBCASE("runtime error at the top level") {
    const ScriptPlan plan = make_plan("local t = nil\n\nlocal x = t.field\n");
    const std::string e = usage_error(plan);
    CHECK(contains(e, "t.lua:3:"));
    CHECK(contains(e, "while loading the script"));
  }
  SUBCASE("http at the top level") {
    const ScriptPlan plan =
        make_plan("local r = http.get('http://127.0.0.1/')\nfunction default() end\n");
    const std::string e = usage_error(plan);
    CHECK(contains(e, "inside a VU function"));
    CHECK(contains(e, "t.lua:1:"));
    CHECK(contains(constructor_error(plan), "inside a VU function"));
  }
  SUBCASE("sleep and group at the top level") {
    CHECK(contains(usage_error(make_plan("sleep(1)\n")), "inside a VU function"));
    CHECK(contains(usage_error(make_plan("group('g', function() end)\n")), "inside a VU function"));
  }
  SUBCASE("the exec function does not exist") {
    const ScriptPlan plan =
        make_plan("function default() end\n",
                  {iterations(ExecutorKind::per_vu_iterations, 1, 1, "s", "nope")});
    CHECK(usage_error(plan).empty());  // inspect does not look for exec functions
    CHECK(contains(constructor_error(plan), "'nope'"));
  }
}

TEST_CASE("the watchdog stops a VU that never yields") {
  FakeServer server;
  ScriptPlan plan = make_plan(R"lua(
function default()
  if vu.iteration == 0 then while true do end end
  http.get("http://127.0.0.1/second")
end
)lua",
                              {per_vu(1, 2)});
  plan.settings.max_run_without_yield = 50ms;
  Runner r(plan, server);
  const pthread_t self = pthread_self();
  const int sig = Watchdog::signal_number();
  std::atomic<bool> quit{false};
  std::thread watchdog([&] {
    // As the controller does: poll, and signal the worker's thread once the VU overstays.
    while (!quit.load()) {
      if (r.load.running_for_ns() > 50'000'000) pthread_kill(self, sig);
      std::this_thread::sleep_for(5ms);
    }
  });
  r.run(2000ms);
  quit = true;
  watchdog.join();
  CHECK(r.done);
  const Outcome out = r.finish();
  CHECK(out.stats.iterations_failed == 1);
  CHECK(out.stats.iterations == 1);
  REQUIRE(out.stats.errors.size() == 1);
  CHECK(contains(out.stats.errors[0].message, "without yielding"));
  CHECK(contains(out.stats.errors[0].message, "t.lua:3:"));
  CHECK(server.targets() == std::vector<std::string>{"/second"});
}

// --- sleep and stop

TEST_CASE("sleep() yields and resumes") {
  FakeServer server;
  const ScriptPlan plan = make_plan(R"lua(
function default()
  http.get("http://127.0.0.1/" .. vu.id .. "/a")
  sleep(0.01)
  sleep(0)
  http.get("http://127.0.0.1/" .. vu.id .. "/b")
end
)lua",
                                    {per_vu(2, 2)});
  const Outcome out = run(plan, server);
  check_clean(out);
  CHECK(out.stats.iterations == 4);
  REQUIRE(server.requests.size() == 8);
  // Each VU's /b comes at least 10 ms after its /a.
  for (std::size_t i = 0; i < server.requests.size(); ++i) {
    const Seen& a = server.requests[i];
    if (a.target.back() != 'a') continue;
    const std::string b_target = a.target.substr(0, a.target.size() - 1) + "b";
    for (std::size_t j = i + 1; j < server.requests.size(); ++j) {
      if (server.requests[j].target != b_target) continue;
      CHECK(server.requests[j].at_ns - a.at_ns >= 10'000'000);
      break;
    }
  }
  // Both VUs slept at the same time: one VU's sleep does not block another's.
  CHECK(server.requests[1].target.back() == 'a');
}

TEST_CASE("stop() interrupts sleeping VUs; no request starts after it") {
  FakeServer server;
  Scenario s;
  s.executor = ExecutorKind::constant_vus;
  s.vus = 3;
  s.duration = 10s;
  const ScriptPlan plan = make_plan(R"lua(
function default()
  http.get("http://127.0.0.1/")
  sleep(10)
end
)lua",
                                    {s});
  Runner r(plan, server);
  boost::asio::steady_timer at(r.io, 100ms);
  at.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    CHECK(r.active_vus_now() == 3);
    r.stop();
    r.io.stop();
  });
  r.run(2000ms);
  // Nothing was in flight, so every VU ended at once and the scenario with them.
  CHECK(r.done);
  CHECK(server.requests.size() == 3);
  CHECK(r.active_vus_now() == 0);
  r.more(100ms);
  CHECK(server.requests.size() == 3);
  const Outcome out = r.finish();
  check_clean(out);
  CHECK(out.stats.iterations == 0);
  CHECK(out.stats.iterations_interrupted == 3);
  CHECK(out.total.responses == 3);
}

TEST_CASE("stop() lets requests in flight complete and records them (the drain)") {
  FakeServer server;
  server.respond = [](const Seen&) {
    Reply r;
    r.delay = 400ms;  // long enough that stop() surely comes first
    return r;
  };
  Scenario s;
  s.executor = ExecutorKind::constant_vus;
  s.vus = 2;
  s.duration = 10s;
  const ScriptPlan plan = make_plan(R"lua(
function default()
  http.get("http://127.0.0.1/")
  error("never reached after the drain")
end
)lua",
                                    {s});
  Runner r(plan, server);
  boost::asio::steady_timer at(r.io, 30ms);
  at.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    CHECK(r.load.in_flight() == 2);
    r.stop();
    r.io.stop();
  });
  r.run(2000ms);
  CHECK(r.load.in_flight() == 2);
  CHECK(r.started_now() == 2);
  r.more(1500ms);  // returns as soon as the loop has no more work
  CHECK(r.load.in_flight() == 0);
  CHECK(server.requests.size() == 2);
  const Outcome out = r.finish();
  check_clean(out);
  CHECK(out.total.responses == 2);
  CHECK(out.stats.iterations_interrupted == 2);
  CHECK(out.started == 2);
}

// --- setup and teardown

TEST_CASE("setup(), the data it returns, and teardown() through run_once") {
  FakeServer server;
  ScriptPlan plan = make_plan(R"lua(
function setup()
  local r = http.post("http://127.0.0.1/login", nil, { json = { user = "u" } })
  check(r, { ["logged in"] = function(r) return r.status == 200 end })
  return { token = "tok-" .. r.status, list = { 1, 2 } }
end
function default(data)
  http.get("http://127.0.0.1/x", { headers = { Authorization = "Bearer " .. data.token } })
end
function teardown(data)
  http.post("http://127.0.0.1/cleanup", json.encode(data))
end
)lua");
  plan.has_setup = plan.has_teardown = true;

  const OneShotResult setup = ScriptLoad::run_once(plan, "setup", "null", server.factory());
  CHECK_MESSAGE(setup.ok, setup.error);
  CHECK(setup.error.empty());
  CHECK(setup.value_json == R"({"list":[1,2],"token":"tok-200"})");
  CHECK(setup.total.responses == 1);
  REQUIRE(setup.series.size() == 1);
  CHECK(setup.series[0].name == "http://127.0.0.1/login");
  REQUIRE(setup.stats.checks.size() == 1);
  CHECK(setup.stats.checks[0].passes == 1);
  REQUIRE(server.requests.size() == 1);
  CHECK(server.requests[0].body == R"({"user":"u"})");

  plan.setup_data_json = setup.value_json;
  const Outcome out = run(plan, server);
  check_clean(out);
  REQUIRE(server.requests.size() == 2);
  CHECK(server.requests[1].header("Authorization") == "Bearer tok-200");

  const OneShotResult teardown =
      ScriptLoad::run_once(plan, "teardown", setup.value_json, server.factory());
  CHECK_MESSAGE(teardown.ok, teardown.error);
  CHECK(teardown.value_json == "null");
  REQUIRE(server.requests.size() == 3);
  CHECK(server.requests[2].target == "/cleanup");
  CHECK(server.requests[2].body == setup.value_json);
}

TEST_CASE("run_once: failures are values with file:line") {
  FakeServer server;
  SUBCASE("an error") {
    const ScriptPlan plan = make_plan("function setup()\n  error('no auth')\nend\n");
    const OneShotResult r = ScriptLoad::run_once(plan, "setup", "null", server.factory());
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "t.lua:2: no auth"));
    CHECK(r.stats.iterations_failed == 1);
  }
  SUBCASE("a value that is not data") {
    const ScriptPlan plan = make_plan("function setup()\n  return { f = print }\nend\n");
    const OneShotResult r = ScriptLoad::run_once(plan, "setup", "null", server.factory());
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "cannot be passed on"));
  }
  SUBCASE("an endless loop") {
    ScriptPlan plan = make_plan("function setup()\n  while true do end\nend\n");
    plan.settings.max_run_without_yield = 50ms;
    const OneShotResult r = ScriptLoad::run_once(plan, "setup", "null", server.factory());
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "without yielding"));
  }
  SUBCASE("longer than setup_timeout") {
    ScriptPlan plan = make_plan("function setup()\n  sleep(5)\nend\n");
    plan.settings.setup_timeout = 50ms;
    const OneShotResult r = ScriptLoad::run_once(plan, "setup", "null", server.factory());
    CHECK_FALSE(r.ok);
    CHECK(contains(r.error, "did not finish"));
  }
  SUBCASE("nothing returned is null") {
    const ScriptPlan plan = make_plan("function setup() end\n");
    const OneShotResult r = ScriptLoad::run_once(plan, "setup", "null", server.factory());
    CHECK(r.ok);
    CHECK(r.value_json == "null");
  }
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
