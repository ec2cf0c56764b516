// One worker thread: its own io_context, transport, VUs and recorder. Shared nothing.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/results/run_result.hpp"
#include "engine/runtime/load_plan.hpp"
#include "engine/transport/request_template.hpp"

namespace strain {

class ScriptLoad;

// A worker's report for one interval: plain values posted to the controller.
struct WorkerReport {
  std::uint32_t worker = 0;            // index of the worker that sent it
  std::uint64_t sequence = 0;          // which interval (0, 1, 2 …); final reports too
  bool final = false;                  // the worker has drained and stopped
  RequestMetrics metrics;              // what completed in the interval
  std::uint64_t connects = 0;          // connections opened so far (cumulative)
  std::uint64_t stale_retries = 0;     // requests resent after a stale keep-alive (cumulative)
  std::uint64_t started = 0;           // requests started by this worker's VUs (cumulative)
  std::uint64_t in_flight = 0;         // requests in flight when the report was taken
  double busy_fraction = 0;            // worker thread CPU / wall time over the interval
  std::uint32_t active_vus = 0;        // VUs running iterations when the report was taken
  std::vector<RequestMetrics> series;  // scripted runs: the interval per request name and tags
  ScriptStats script;                  // scripted runs: checks, metrics, iterations, errors
  ScheduleStats schedule;  // open model: counters cumulative, histograms for the interval
  Histogram loop_lag_us;   // the event loop's lag over the interval (a probe timer's lateness)
  std::string fatal;       // set when the worker could not run at all (final too)
};

// Lifecycle: construct, start(), then report()/stop() from the controller thread, join().
class Worker {
 public:
  using Sink = std::function<void(WorkerReport)>;              // called on the worker's thread
  using DoneSink = std::function<void(std::uint32_t worker)>;  // called on the worker's thread

  // `on_done` fires once when a scripted worker has finished all its scenarios' work.
  Worker(std::uint32_t index, std::uint32_t count, const LoadPlan& plan,
         const http::RequestTemplate& request, std::uint32_t vus, Sink sink, DoneSink on_done);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; schedules count from `origin_ns` (now_ns() clock), the run's start.
  void start(std::int64_t origin_ns);
  // Asks for the current interval's report (tagged `sequence`). Thread-safe.
  void report(std::uint64_t sequence);
  // Ends the load phase: reports interval `sequence`, stops new iterations, waits up to
  // drain_grace for in-flight ones, sends the final report as `sequence + 1`, and ends the
  // thread. With `abort` (also while draining), abandons in-flight requests at once.
  void stop(std::uint64_t sequence, bool abort);
  void join();
  // Watchdog (controller thread): stops a script that has run `limit` without yielding.
  void check_script(std::chrono::nanoseconds limit);

 private:
  struct State;
  void run();
  void send_report(std::uint64_t sequence, bool final);
  void poll_drain(std::uint64_t sequence);
  void probe();
  void finish(std::uint64_t sequence);

  std::uint32_t index_;
  std::uint32_t count_;
  const LoadPlan& plan_;
  const http::RequestTemplate& request_;
  std::uint32_t vus_;
  Sink sink_;
  DoneSink on_done_;
  boost::asio::io_context io_;
  // Keeps io_.run() going until finish(): a scripted worker whose VUs are all done has no
  // socket or timer left, yet must still answer the controller's reports and stop.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::mutex watch_mutex_;  // guards watched_ against the worker tearing it down
  const ScriptLoad* watched_ = nullptr;
  std::unique_ptr<State> state_;
  std::thread thread_;
  std::int64_t origin_ns_ = 0;
  bool finished_ = false;  // the final report was sent (worker thread only)
  bool stopping_ = false;  // the load phase is over (worker thread only)
  bool draining_ = false;  // waiting for in-flight requests (worker thread only)
};

}  // namespace strain
