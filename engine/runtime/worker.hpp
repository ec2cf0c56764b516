// One worker thread: its own io_context, transports, VUs and recorders. Shared nothing.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/exec/worker_load.hpp"
#include "engine/metrics/histogram.hpp"
#include "engine/metrics/histogram_stock.hpp"
#include "engine/runtime/load_plan.hpp"
#include "engine/schedule/share.hpp"
#include "engine/transport/request_template.hpp"

namespace strain {

// A worker's report for one interval: plain values posted to the controller.
struct WorkerReport {
  std::uint32_t worker = 0;    // index of the worker that sent it
  std::uint64_t sequence = 0;  // which interval (0, 1, 2 …); final reports too
  bool final = false;          // the worker has drained and stopped
  WorkerInterval interval;     // what its load measured in the interval
  double busy_fraction = 0;    // worker thread CPU / wall time over the interval
  Histogram loop_lag_us;       // the event loop's lag over the interval (a probe timer's lateness)
  std::string fatal{};         // set when the worker could not run at all (final too)
};

// Lifecycle: construct, launch() (the thread builds its load, then says it is ready), begin()
// once every worker is ready, then report()/stop()/set_rate() from the controller thread,
// join(). Every call but launch() and join() is a post to the worker's own loop.
class Worker {
 public:
  using Sink = std::function<void(WorkerReport)>;           // called on the worker's thread
  using Event = std::function<void(std::uint32_t worker)>;  // called on the worker's thread

  // `request`: the --url run's request (unused by scripts); outlives the worker. `on_ready`
  // fires once the worker's load is built (its VUs made, its script loaded), `on_done` once
  // it has finished all its scenarios' work.
  Worker(Share share, const LoadPlan& plan, const http::RequestTemplate& request, Sink sink,
         Event on_ready, Event on_done);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread, which builds the load and fires on_ready (or sends a fatal final report
  // when it cannot). Throws std::system_error when the thread cannot start.
  void launch();
  // The run begins: scenario clocks count from `origin_ns` (now_ns() clock). The same origin
  // for every worker, taken once all are ready, so building a load is never schedule lag.
  void begin(std::int64_t origin_ns);
  // Asks for the current interval's report (tagged `sequence`).
  void report(std::uint64_t sequence);
  // Ends the load phase, which ended at `end_ns` (the controller's instant): reports interval
  // `sequence`, stops new iterations, waits up to drain_grace for in-flight ones, abandons the
  // rest, sends the final report as `sequence + 1`, and ends the thread. With `abort` (also
  // while draining), gives up at once.
  void stop(std::uint64_t sequence, bool abort, std::int64_t end_ns);
  // An arrival-rate scenario's rate becomes `per_s` from `at_ns` (the same on every worker).
  void set_rate(std::size_t scenario, double per_s, std::int64_t at_ns);
  // A closed-model scenario runs at most `vus` VUs (scenario-wide) from now.
  void set_vus(std::size_t scenario, std::uint32_t vus);
  void join();
  // Watchdog (controller thread): stops a script that has run `limit` without yielding.
  void check_script(std::chrono::nanoseconds limit);
  // Any thread, once a report is merged: its histograms go back to this worker's stock, so the
  // worker's next reports are made without allocating on its loop.
  void recycle(WorkerReport&& spent);

 private:
  struct State;
  void run();
  void send_report(std::uint64_t sequence, bool final);
  void poll_drain(std::uint64_t sequence);
  void probe();
  void finish(std::uint64_t sequence);

  Share share_;
  const LoadPlan& plan_;
  const http::RequestTemplate& request_;
  Sink sink_;
  Event on_ready_;
  Event on_done_;
  boost::asio::io_context io_;
  // Keeps io_.run() going until finish(): a worker whose VUs are all done has no socket or
  // timer left, yet must still answer the controller's reports and stop.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::mutex watch_mutex_;  // guards watched_ against the worker tearing it down
  const WorkerLoad* watched_ = nullptr;
  std::unique_ptr<State> state_;
  HistogramStock stock_;  // empty histograms for reports: filled at launch, refilled by recycle()
  std::thread thread_;
  bool begun_ = false;     // begin() has run (worker thread only)
  bool finished_ = false;  // the final report was sent (worker thread only)
  bool stopping_ = false;  // the load phase is over (worker thread only)
  bool draining_ = false;  // waiting for in-flight requests (worker thread only)
};

}  // namespace strain
