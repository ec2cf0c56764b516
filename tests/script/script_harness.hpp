// The harness of the script tests: a fake transport that records every request's bytes and
// answers as a test says, and helpers that build plans and run them on a worker's loop.
#pragma once

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
#include "engine/script/script_load.hpp"
#include "engine/script/watchdog.hpp"
#include "engine/transport/response_parser.hpp"

namespace strain::script_test {

using namespace strain;
using namespace std::chrono_literals;

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

inline Seen parse_request(std::string_view raw) {
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
inline std::string raw_response(const Reply& reply, bool head) {
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

inline ClientFactory FakeServer::factory() {
  return [this](boost::asio::io_context& io, const http::Url& url) -> std::unique_ptr<HttpClient> {
    if (url.host == "nowhere.invalid") throw Error("nowhere.invalid: does not resolve");
    origins.push_back(url.host_header);
    return std::make_unique<FakeClient>(io, *this);
  };
}

// --- plans and runs

inline Scenario iterations(ExecutorKind kind, std::uint32_t vus, std::uint64_t count,
                           std::string name = "default", std::string exec = "default") {
  Scenario s;
  s.name = std::move(name);
  s.exec = std::move(exec);
  s.executor = kind;
  s.vus = vus;
  s.iterations = count;
  return s;
}
inline Scenario per_vu(std::uint32_t vus, std::uint64_t count) {
  return iterations(ExecutorKind::per_vu_iterations, vus, count);
}
inline Scenario shared(std::uint32_t vus, std::uint64_t count) {
  return iterations(ExecutorKind::shared_iterations, vus, count);
}

inline ScriptPlan make_plan(std::string source, std::vector<Scenario> scenarios = {per_vu(1, 1)}) {
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

inline Outcome run(const ScriptPlan& plan, FakeServer& server, std::uint32_t worker = 0,
                   std::uint32_t workers = 1) {
  Runner r(plan, server, worker, workers);
  r.run();
  CHECK(r.done);
  return r.finish();
}

inline std::string errors_text(const ScriptStats& s) {
  std::string out;
  for (const auto& e : s.errors)
    out += std::to_string(e.count) + "x " + e.message + "\n" + e.traceback + "\n";
  return out;
}

// The script ran without a single script error.
inline void check_clean(const Outcome& out) {
  CHECK_MESSAGE(out.stats.errors.empty(), errors_text(out.stats));
  CHECK(out.stats.iterations_failed == 0);
}

inline const RequestMetrics* find_series(const std::vector<RequestMetrics>& all,
                                         std::string_view name,
                                         const std::map<std::string, std::string>& tags) {
  for (const auto& m : all)
    if (m.name == name && m.tags == tags) return &m;
  return nullptr;
}

inline const CheckTally* find_check(const ScriptStats& s, std::string_view name) {
  for (const auto& c : s.checks)
    if (c.name == name) return &c;
  return nullptr;
}

inline const CustomMetric* find_metric(const ScriptStats& s, std::string_view name) {
  for (const auto& m : s.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

inline std::string usage_error(const ScriptPlan& plan) {
  try {
    (void)inspect_script(plan);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

inline std::string constructor_error(const ScriptPlan& plan) {
  FakeServer server;
  boost::asio::io_context io(1);
  try {
    ScriptLoad load(io, plan, Share::whole(), server.factory(), [] {});
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

inline bool contains(std::string_view hay, std::string_view needle) {
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

}  // namespace strain::script_test
