// One strain-target worker: an io_context on its own thread and the connections it owns.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/clock.hpp"
#include "tools/target/asio_types.hpp"
#include "tools/target/churn.hpp"
#include "tools/target/demo_api.hpp"
#include "tools/target/fd_leak.hpp"
#include "tools/target/limits.hpp"
#include "tools/target/options.hpp"
#include "tools/target/rng.hpp"
#include "tools/target/stats.hpp"
#include "tools/target/transient.hpp"

namespace strain::target {

class Connection;

// What every worker may read or bump; owned by the Server, outlives the workers.
struct ServerShared {
  ServerShared(const TargetOptions& opts, std::size_t workers);

  const TargetOptions& options;
  std::unique_ptr<WorkerCounters[]> counters;  // one per worker, indexed like the workers
  std::size_t worker_count;
  std::atomic<std::uint64_t> open_connections{0};      // accepted, not yet closed
  std::atomic<std::uint64_t> accepted_connections{0};  // ever accepted and handed to a worker
  std::atomic<std::uint64_t> rejected_connections{0};  // closed at once over --max-connections
  std::atomic<std::uint64_t> served_total{0};  // bumped only when --exit-after-requests is set
  TimePoint started = Clock::now();
  std::uint64_t started_epoch_ms = 0;  // wall clock at `started`, Unix ms
  // The server-wide shapes; null (or disabled) when their flags are off.
  std::unique_ptr<Capacity> capacity;
  StallSchedule stalls;
  std::unique_ptr<TokenBucket> rate;
  std::unique_ptr<Leak> leak;
  std::unique_ptr<FdLeak> fd_leak;
  std::unique_ptr<Transient> transient;  // its schedule is the Server's timer
  // Sets `started` (and its wall-clock twin) to now: stall windows count from here.
  void mark_started();
  DemoApi api;  // the /api/ demo: its own lock, callable from every worker
  // Called (from any worker thread) once served_total reaches --exit-after-requests.
  std::function<void()> on_enough_requests;

  // The count as of now, summed over all workers.
  StatsSnapshot snapshot() const;
};

class Worker {
 public:
  // `counters` is this worker's entry in shared.counters; `index` its place among the workers
  // (its random stream).
  Worker(ServerShared& shared, WorkerCounters& counters, std::size_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  asio::io_context& context() noexcept { return ctx_; }

  // Runs the event loop on the calling thread until stop has closed every connection.
  void run();
  // Any thread: close every connection and timer, then let run() return.
  void post_stop();
  // Any thread: a socket accepted onto this worker's context, already counted as open.
  void post_adopt(Socket socket);

  // Worker thread only, for connections.
  const TargetOptions& options() const noexcept { return shared_.options; }
  ServerShared& shared() noexcept { return shared_; }
  std::string_view date() const noexcept { return date_; }
  std::uint64_t tick() const noexcept { return tick_; }
  std::uint64_t idle_ticks() const noexcept { return idle_ticks_; }
  std::uint64_t linger_ticks() const noexcept { return linger_ticks_; }
  bool stopping() const noexcept { return stopping_; }
  // A response with `status` was fully written.
  void count(int status);
  // This worker's counters, for the shapes' counts (WorkerCounters::bump).
  WorkerCounters& counters() noexcept { return counters_; }
  // --phases: the phase in force now, and a bump of one of its counters.
  std::uint8_t phase_now() const noexcept {
    return static_cast<std::uint8_t>(shared_.options.phases.at(Clock::now() - shared_.started));
  }
  void count_in_phase(std::uint8_t phase, std::atomic<std::uint64_t> PhaseCounters::*counter) {
    WorkerCounters::bump(counters_.phases[phase].*counter);
  }
  // This worker's random numbers: Rng(--seed, index), so a run repeats draw for draw.
  Rng& rng() noexcept { return rng_; }
  // Answers a /api request on this worker's thread, counting it in this worker's counters.
  ApiResponse handle_api(const ApiRequest& request) {
    return shared_.api.handle(request, counters_.api);
  }
  // The body of GET /__strain/stats.
  std::string stats_json() const;
  // The body of GET /metrics, read afresh.
  std::string metrics_text() const;
  // Removes and deletes `connection`; its last handler has run. Call last.
  void destroy(Connection& connection);

 private:
  void adopt(Socket socket);
  void stop();
  void arm_tick();
  void on_tick();
  void update_date();

  ServerShared& shared_;
  WorkerCounters& counters_;
  Rng rng_;
  std::unique_ptr<Churn> churn_;  // --churn; null when off
  asio::io_context ctx_{1};
  asio::executor_work_guard<Executor> guard_;
  Timer tick_timer_;
  std::chrono::nanoseconds tick_period_;
  std::uint64_t tick_ = 0;          // sweeps so far; connections stamp their activity with it
  std::uint64_t idle_ticks_ = 0;    // --idle-timeout in ticks
  std::uint64_t linger_ticks_ = 0;  // how long a closing connection may drain, in ticks
  std::vector<std::unique_ptr<Connection>> connections_;
  std::int64_t date_second_ = -1;
  std::string date_;
  bool stopping_ = false;
};

}  // namespace strain::target
