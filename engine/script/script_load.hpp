// A worker's scripted load: one Lua state, one coroutine per VU, the closed-model executors.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/results/run_result.hpp"
#include "engine/script/script_options.hpp"
#include "engine/script/script_plan.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/url.hpp"

namespace strain {

// Loads a script on the calling thread, as the CLI does before any traffic: prelude, script,
// options. Throws UsageError with file:line for syntax and load errors, and for bad options.
struct InspectedScript {
  ScriptOptions options;               // the script's options table
  std::vector<std::string> functions;  // global functions it defines (exec candidates)
  bool has_setup = false;              // setup() is defined
  bool has_teardown = false;           // teardown() is defined
};
InspectedScript inspect_script(const ScriptPlan& plan);

// The outcome of running setup() or teardown() once.
struct OneShotResult {
  bool ok = false;                     // the function returned without a script error
  std::string value_json;              // its first return value, as JSON ("null" when none)
  std::string error;                   // file:line message and traceback when !ok
  ScriptStats stats;                   // checks, metrics and errors it recorded
  RequestMetrics total;                // the requests it made, all together
  std::vector<RequestMetrics> series;  // the same, per name and tags
};

// Makes the transport for one origin (scheme, host, port) on the worker's io_context. Throws
// strain::Error when it cannot (the host does not resolve). Tests pass a fake.
using ClientFactory =
    std::function<std::unique_ptr<HttpClient>(boost::asio::io_context&, const http::Url&)>;

// The native HTTP/1.1 transport, resolving the host with a timeout.
ClientFactory native_client_factory(NativeClientOptions options);

// Lives on one worker thread; everything but the watchdog calls comes from that thread.
class ScriptLoad {
 public:
  // Loads the script into a fresh Lua state; throws UsageError as inspect_script does.
  // `on_done` fires (on this thread) once every scenario of this worker has finished.
  ScriptLoad(boost::asio::io_context& io, const ScriptPlan& plan, std::uint32_t worker_index,
             std::uint32_t worker_count, ClientFactory clients, std::function<void()> on_done);
  ~ScriptLoad();
  ScriptLoad(const ScriptLoad&) = delete;
  ScriptLoad& operator=(const ScriptLoad&) = delete;

  // Starts the scenarios' clocks; VUs start as their scenario's start_time comes.
  // Scenario start times count from `origin_ns` (now_ns() clock; default: now).
  void start(std::int64_t origin_ns = 0);
  // The load phase is over: no VU starts or resumes; requests in flight complete (recorded).
  void stop();
  // Closes every connection; in-flight exchanges are abandoned. After stop().
  void shutdown();

  std::uint64_t in_flight() const;      // requests in flight
  std::uint64_t started() const;        // requests started (responses + errors + in flight)
  std::uint64_t connects() const;       // connections opened
  std::uint64_t stale_retries() const;  // stale keep-alive resends
  std::uint32_t active_vus() const;     // VUs inside an iteration or between two

  // Moves the interval's measurements out: all requests, per series, and script statistics.
  void take_interval(RequestMetrics& total, std::vector<RequestMetrics>& series,
                     ScriptStats& stats);
  // Arrival-rate scenarios: counters cumulative, histograms for the interval.
  void take_schedule(ScheduleStats& out);

  // Watchdog (thread-safe): how long the running VU has gone without yielding, 0 if none.
  std::int64_t running_for_ns() const noexcept;
  // Called from a signal handler on this load's thread: stops a VU that runs too long.
  static void on_watchdog_signal() noexcept;
  // The signal the controller sends to a stuck worker thread (installed on first use).
  static int watchdog_signal() noexcept;

  // Runs `function_name(data)` once as a lone VU on its own event loop (setup, teardown).
  static OneShotResult run_once(const ScriptPlan& plan, std::string_view function_name,
                                std::string_view data_json, ClientFactory clients);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace strain
