#include "engine/runtime/controller.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <ctime>
#include <system_error>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/results/schedule_verdict.hpp"
#include "engine/runtime/execution_segment.hpp"
#include "engine/runtime/interval_merge.hpp"
#include "engine/runtime/worker.hpp"
#include "engine/transport/url.hpp"

namespace strain {
namespace {

double seconds(std::int64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

double tv_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

std::string iso8601_utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double unix_ms_now() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()) /
         1000.0;
}

// What the config says a run is: its scenarios' executors, named once each.
std::string executors_of(std::span<const Scenario> scenarios) {
  std::string out;
  for (const Scenario& s : scenarios) {
    const std::string name = to_string(s.executor);
    if (out.find(name) == std::string::npos) out += (out.empty() ? "" : ",") + name;
  }
  return out;
}

// The --url run's request; scripts build theirs in the VUs and never send this one.
http::RequestTemplate make_request(const LoadPlan& plan) {
  if (plan.script) return http::RequestTemplate("GET", http::parse_url("http://127.0.0.1/"));
  return http::RequestTemplate(plan.method, http::parse_url(plan.url), plan.headers, plan.body);
}

}  // namespace

class Controller::Run {
 public:
  Run(boost::asio::io_context& io, const LoadPlan& plan, ControllerHooks hooks)
      : io_(io),
        plan_(plan),
        hooks_(std::move(hooks)),
        request_(make_request(plan)),
        threads_(std::max<std::uint32_t>(
            1, static_cast<std::uint32_t>(std::min<std::uint64_t>(
                   plan.threads, std::max<std::uint64_t>(1, plan.segment_vus()))))),
        merger_(threads_, plan.scenarios(), result_),
        tick_timer_(io),
        start_timer_(io),
        stop_timer_(io),
        watchdog_timer_(io) {}

  ~Run() {
    // A controller destroyed mid-run (its io_context stopped early) still ends its threads.
    if (!workers_.empty() && !finished_) {
      for (auto& w : workers_)
        w->stop(stop_sequence_, true, stop_ns_);
      for (auto& w : workers_)
        w->join();
    }
  }

  void start() {
    describe();
    ::getrusage(RUSAGE_SELF, &usage_start_);
    for (std::uint32_t i = 0; i < threads_; ++i) {
      workers_.push_back(std::make_unique<Worker>(
          Share::within(plan_.segment, i, threads_), plan_, request_,
          [this](WorkerReport r) { deliver(std::move(r)); },
          [this](std::uint32_t) { post_event([this] { on_worker_ready(); }); },
          [this](std::uint32_t) { post_event([this] { on_worker_done(); }); }));
    }
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      try {
        workers_[i]->launch();
      } catch (const std::system_error& e) {
        // Those already running are aborted and joined before the error goes up, so no
        // thread is left loading the target.
        for (std::size_t j = 0; j < i; ++j)
          workers_[j]->stop(0, true, now_ns());
        workers_.resize(i);
        for (auto& w : workers_)
          w->join();
        workers_.clear();
        throw Error(std::string("cannot start worker thread ") + std::to_string(i) + ": " +
                    e.what());
      }
    }
  }

  void stop(bool abort) {
    if (finished_) return;
    if (!stopping_) return begin_stop(abort);
    if (abort) {
      for (auto& w : workers_)
        w->stop(stop_sequence_, true, stop_ns_);
    }
  }

  bool set_rate(std::string_view name, Rate rate, std::string* why) {
    auto fail = [&](std::string text) {
      if (why != nullptr) *why = std::move(text);
      return false;
    };
    if (stopping_ || finished_) return fail("the load phase is over");
    if (!(rate.per_second >= 0) || rate.per_second > 10'000'000)
      return fail("the rate must be between 0 and 10,000,000/s");
    const auto scenarios = plan_.scenarios();
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
      if (scenarios[i].name != name) continue;
      if (!is_arrival_rate(scenarios[i].executor)) {
        return fail("scenario '" + std::string(name) + "' is " + to_string(scenarios[i].executor) +
                    ", not an arrival-rate scenario");
      }
      // Each change adds stages to the scenario's profile: bounded, as everything is.
      if (rate_changes_.size() < scenarios.size()) rate_changes_.resize(scenarios.size(), 0);
      if (rate_changes_[i] >= kMaxRateChanges) {
        return fail("scenario '" + std::string(name) + "' has had " +
                    std::to_string(kMaxRateChanges) + " rate changes, the most a run may make");
      }
      ++rate_changes_[i];
      // The same instant on every worker, so the workers' shares still partition the
      // scenario's arrivals exactly.
      const std::int64_t at = now_ns();
      for (auto& w : workers_)
        w->set_rate(i, rate.per_second, at);
      return true;
    }
    return fail("no scenario named '" + std::string(name) + "'");
  }

  bool set_vus(std::string_view name, std::uint32_t vus, std::string* why) {
    auto fail = [&](std::string text) {
      if (why != nullptr) *why = std::move(text);
      return false;
    };
    if (stopping_ || finished_) return fail("the load phase is over");
    const auto scenarios = plan_.scenarios();
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
      if (scenarios[i].name != name) continue;
      const ExecutorKind kind = scenarios[i].executor;
      if (kind != ExecutorKind::constant_vus && kind != ExecutorKind::ramping_vus) {
        return fail("scenario '" + std::string(name) + "' is " + to_string(kind) +
                    ", not a constant-vus or ramping-vus scenario");
      }
      // Unlike a rate change, a cap is one number per worker: nothing accumulates.
      for (auto& w : workers_)
        w->set_vus(i, vus);
      return true;
    }
    return fail("no scenario named '" + std::string(name) + "'");
  }

  bool stopping() const noexcept { return stopping_; }
  bool finished() const noexcept { return finished_; }
  bool began() const noexcept { return begun_; }
  RunResult take_result() { return std::move(result_); }

 private:
  void describe() {
    result_.started_at = iso8601_utc_now();
    RunConfig& c = result_.config;
    c.command = plan_.command;
    c.url = plan_.script ? std::string() : plan_.url;
    c.method = plan_.method;
    c.executor = executors_of(plan_.scenarios());
    if (plan_.script) {
      c.script = plan_.script->path;
      for (const Scenario& s : plan_.script->scenarios)
        c.scenarios.push_back(s.name);
    }
    // What this process ran: its segment's VUs on its threads.
    c.vus = static_cast<std::uint32_t>(std::min<std::uint64_t>(plan_.segment_vus(), UINT32_MAX));
    c.threads = threads_;
    c.planned_duration_s = seconds(planned_load().count());
    c.segment_count = plan_.segment.count;
    c.segments = {plan_.segment.index};
    c.fingerprint = plan_.fingerprint;
    c.start_at_unix_ms = plan_.start_at_unix_ms;
  }

  void deliver(WorkerReport r) {
    // Called on a worker thread: hand the plain value over to the controller's thread. A
    // controller gone before its io_context runs the handler is not touched.
    boost::asio::post(io_,
                      [this, alive = std::weak_ptr<char>(alive_), report = std::move(r)]() mutable {
                        if (!alive.expired()) on_report(std::move(report));
                      });
  }

  void schedule_tick() {
    tick_timer_.expires_after(plan_.report_interval);
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      const std::uint64_t seq = next_sequence_++;
      for (auto& w : workers_)
        w->report(seq);
      schedule_tick();
    });
  }

  // Scripts that run too long without yielding are stopped, during the drain too: a worker
  // stuck in Lua could otherwise neither stop nor report.
  void schedule_watchdog() {
    watchdog_timer_.expires_after(std::chrono::milliseconds(250));
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      for (auto& w : workers_)
        w->check_script(plan_.script->settings.max_run_without_yield);
      schedule_watchdog();
    });
  }

  // The load phase as planned. Scripts: until the last scenario stops starting iterations
  // (plan_.duration also holds graceful_stop, the longest the run may take to wind down).
  std::chrono::nanoseconds planned_load() const {
    if (!plan_.script) return plan_.duration;
    std::chrono::nanoseconds end{0};
    for (const Scenario& s : plan_.script->scenarios)
      end = std::max(end, end_offset(s));
    return end;
  }

  // Called on a worker thread: runs `f` on the controller's, unless the controller is gone.
  void post_event(std::function<void()> f) {
    boost::asio::post(io_, [alive = std::weak_ptr<char>(alive_), f = std::move(f)] {
      if (!alive.expired()) f();
    });
  }

  // A worker has built its load (or could not): once every one has, the run's clock starts.
  void on_worker_ready() {
    ++ready_;
    maybe_begin();
  }

  void maybe_begin() {
    if (ready_all_ || ready_ + failed_ < workers_.size()) return;
    ready_all_ = true;
    if (stopping_) {
      // Stopped (or a worker failed) while they were getting ready: a run of no length.
      start_ns_ = last_tick_ns_ = now_ns();
      result_.started_at_unix_ms = unix_ms_now();
      return;
    }
    if (!plan_.start_at_unix_ms) return begin(now_ns(), unix_ms_now());
    wait_for_start();
  }

  // --start-at: the loads are built; the clock starts at the instant itself. Waits in steps
  // of at most a minute, each measured afresh against the wall clock, and fixes the instant on
  // the steady clock only in the last second, so a wall clock stepped meanwhile is followed.
  void wait_for_start() {
    const double at_ms = *plan_.start_at_unix_ms;
    const double left_ms = at_ms - unix_ms_now();
    if (left_ms > 1500) {
      start_timer_.expires_after(
          std::chrono::milliseconds(static_cast<std::int64_t>(std::min(left_ms - 1000, 60'000.0))));
      start_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopping_) wait_for_start();
      });
      return;
    }
    // Already past (the loads took long to build): the origin is still the instant, and the
    // arrivals due since then are late, as their schedule lag will say.
    const std::int64_t origin = now_ns() + static_cast<std::int64_t>(std::llround(left_ms * 1e6));
    if (left_ms <= 0) return begin(origin, at_ms);
    start_timer_.expires_at(TimePoint(Nanos(origin)));
    start_timer_.async_wait([this, origin, at_ms](const boost::system::error_code& ec) {
      if (!ec && !stopping_) begin(origin, at_ms);
    });
  }

  // The run's clock starts at `origin_ns` (now_ns() clock), which is `origin_unix_ms`.
  void begin(std::int64_t origin_ns, double origin_unix_ms) {
    begun_ = true;
    start_ns_ = last_tick_ns_ = origin_ns;
    result_.started_at_unix_ms = origin_unix_ms;
    if (plan_.start_at_unix_ms) result_.started_at = format_unix_ms(origin_unix_ms);
    for (auto& w : workers_)
      w->begin(start_ns_);
    schedule_tick();
    if (plan_.script) schedule_watchdog();
    stop_timer_.expires_at(TimePoint(Nanos(origin_ns)) + plan_.duration);
    stop_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) begin_stop(false);
    });
    if (hooks_.on_begin) hooks_.on_begin();
  }

  // Every worker has finished its scenarios: the run is over early.
  void on_worker_done() {
    if (++done_workers_ == workers_.size()) begin_stop(false);
  }

  void begin_stop(bool abort) {
    if (stopping_) return;
    stopping_ = true;
    stop_ns_ = now_ns();
    if (!begun_) start_ns_ = last_tick_ns_ = stop_ns_;  // nothing ran: a run of no length
    result_.duration_s = seconds(stop_ns_ - start_ns_);
    tick_timer_.cancel();
    start_timer_.cancel();
    stop_timer_.cancel();
    // Two intervals: the load phase's last one, then the drain's (see Worker::stop).
    stop_sequence_ = next_sequence_;
    next_sequence_ += 2;
    for (auto& w : workers_)
      w->stop(stop_sequence_, abort, stop_ns_);
  }

  void on_report(WorkerReport r) {
    if (!r.fatal.empty()) return on_worker_failed(std::move(r));
    const bool final = r.final;
    const std::uint64_t seq = r.sequence;
    if (final) ++finals_;
    if (r.interval.phases) {
      if (result_.phases)
        result_.phases->add(*r.interval.phases);
      else
        result_.phases = std::move(r.interval.phases);
    }
    if (merger_.add(std::move(r))) close_interval(seq);
    maybe_finish();
  }

  // A worker that could not start reports nothing more: the run stops, keeping what the
  // others measured, and says why.
  void on_worker_failed(WorkerReport r) {
    ++finals_;
    ++failed_;
    result_.partial = true;
    if (result_.aborted_reason.empty()) result_.aborted_reason = r.fatal;
    if (!stopping_) {
      begin_stop(true);
    } else {
      for (auto& w : workers_)
        w->stop(stop_sequence_, true, stop_ns_);
    }
    for (const std::uint64_t seq : merger_.drop_worker())
      close_interval(seq);
    maybe_begin();
    maybe_finish();
  }

  void close_interval(std::uint64_t seq) {
    const std::int64_t now = now_ns();
    const bool draining = stopping_ && seq > stop_sequence_;
    IntervalSnapshot snap =
        merger_.close(seq, seconds(last_tick_ns_ - start_ns_), seconds(now - last_tick_ns_),
                      seconds(planned_load().count()), draining);
    for (WorkerReport& spent : merger_.take_spent()) {
      if (spent.worker < workers_.size()) workers_[spent.worker]->recycle(std::move(spent));
    }
    last_tick_ns_ = now;
    if (draining) result_.drain_s = seconds(now - stop_ns_);
    if (!stopping_) result_.duration_s = seconds(now - start_ns_);
    if (hooks_.on_interval && hooks_.on_interval(snap, result_) == IntervalVerdict::stop) {
      begin_stop(false);
    }
  }

  void maybe_finish() {
    if (finished_ || finals_ < workers_.size() || merger_.pending()) return;
    finished_ = true;
    tick_timer_.cancel();
    start_timer_.cancel();
    stop_timer_.cancel();
    watchdog_timer_.cancel();
    for (auto& w : workers_)
      w->join();
    finish_result();
    if (hooks_.on_finished) hooks_.on_finished();
  }

  void finish_result() {
    GeneratorStats& g = result_.generator;
    g.connects = merger_.connects();
    g.stale_retries = merger_.stale_retries();
    g.connect_backoffs = merger_.connect_backoffs();
    g.started = merger_.requests_started();
    g.in_flight_at_stop =
        result_.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::abandoned)];
    rusage usage_end{};
    ::getrusage(RUSAGE_SELF, &usage_end);
    g.cpu_user_s = tv_seconds(usage_end.ru_utime) - tv_seconds(usage_start_.ru_utime);
    g.cpu_system_s = tv_seconds(usage_end.ru_stime) - tv_seconds(usage_start_.ru_stime);
    g.peak_rss_bytes = static_cast<std::uint64_t>(usage_end.ru_maxrss) * 1024;
    const auto local =
        result_.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::local_limit)];
    if (local > 0) {
      // Out of descriptors or ephemeral ports: whatever the target did, this run measured
      // strain's limit, and says so (exit code 4).
      g.generator_bound = true;
      g.notes.push_back(std::to_string(local) +
                        " connection attempts failed for lack of local descriptors or ports");
    }
    const auto ticks = static_cast<double>(std::max<std::uint64_t>(1, merger_.intervals()));
    double busy_sum = 0;
    const auto& busy = merger_.busy_sums();
    for (std::size_t i = 0; i < busy.size(); ++i) {
      const double b = busy[i] / ticks;
      busy_sum += b;
      if (b > 0.95) {
        g.notes.push_back("worker " + std::to_string(i) + " was CPU-saturated (" +
                          std::to_string(static_cast<int>(b * 100)) +
                          "% busy): latency includes time waiting for strain itself");
      }
    }
    g.busy_fraction = busy.empty() ? 0.0 : busy_sum / static_cast<double>(busy.size());
    if (result_.total.saturated() > 0) {
      g.notes.push_back(std::to_string(result_.total.saturated()) +
                        " latencies were above an hour and were counted at an hour (a lower "
                        "bound)");
    }
    finish_schedule();
  }

  // Open model: each arrival-rate scenario's offered rate over the time it was active, the
  // run's over the time any was, and whether strain kept its schedule.
  void finish_schedule() {
    const auto scenarios = plan_.scenarios();
    std::vector<std::pair<double, double>> active;  // [from, to) seconds of the run
    const double stopped_s = result_.duration_s;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
      const Scenario& s = scenarios[i];
      ScenarioResult& r = result_.scenarios[i];
      const double from = seconds(s.start_time.count());
      const double to = std::min(seconds(end_offset(s).count()), stopped_s);
      r.active_s = std::max(0.0, to - from);
      if (!is_arrival_rate(s.executor)) continue;
      if (r.active_s > 0) r.offered_rps = static_cast<double>(r.schedule.due) / r.active_s;
      if (to > from) active.emplace_back(from, to);
    }
    if (active.empty()) return;
    // The union of the active stretches: arrivals were offered only then.
    std::sort(active.begin(), active.end());
    double covered = 0;
    double from = active.front().first, to = active.front().second;
    for (const auto& [a, b] : active) {
      if (a > to) {
        covered += to - from;
        from = a;
        to = b;
      } else {
        to = std::max(to, b);
      }
    }
    covered += to - from;
    if (covered > 0) result_.offered_rps = static_cast<double>(result_.schedule.due) / covered;
    judge_schedule(result_);
  }

  boost::asio::io_context& io_;
  const LoadPlan& plan_;
  ControllerHooks hooks_;
  http::RequestTemplate request_;
  std::uint32_t threads_;
  RunResult result_;
  IntervalMerger merger_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer start_timer_;  // --start-at: waits for the instant
  boost::asio::steady_timer stop_timer_;
  boost::asio::steady_timer watchdog_timer_;
  std::vector<std::unique_ptr<Worker>> workers_;
  rusage usage_start_{};
  std::int64_t start_ns_ = 0;
  std::int64_t stop_ns_ = 0;
  std::int64_t last_tick_ns_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t stop_sequence_ = 0;  // the load phase's last interval; the drain's is next
  static constexpr std::size_t kMaxRateChanges = 10'000;
  std::vector<std::size_t> rate_changes_;  // per scenario
  std::size_t done_workers_ = 0;
  std::size_t ready_ = 0;   // workers whose load is built
  std::size_t failed_ = 0;  // workers that could not build theirs
  std::size_t finals_ = 0;  // workers that sent their final report (or failed)
  bool ready_all_ = false;  // every worker is ready (or failed)
  bool begun_ = false;      // the run's clock has started
  bool stopping_ = false;
  bool finished_ = false;
  // Handlers posted by the workers check it. Destroyed after ~Run has joined every worker.
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
};

Controller::Controller(boost::asio::io_context& io, const LoadPlan& plan, ControllerHooks hooks)
    : run_(std::make_unique<Run>(io, plan, std::move(hooks))) {}

Controller::~Controller() = default;

void Controller::start() {
  run_->start();
}

void Controller::stop(bool abort) {
  run_->stop(abort);
}

bool Controller::set_rate(std::string_view scenario, Rate rate, std::string* why) {
  return run_->set_rate(scenario, rate, why);
}

bool Controller::set_vus(std::string_view scenario, std::uint32_t vus, std::string* why) {
  return run_->set_vus(scenario, vus, why);
}

bool Controller::stopping() const noexcept {
  return run_->stopping();
}

bool Controller::finished() const noexcept {
  return run_->finished();
}

bool Controller::began() const noexcept {
  return run_->began();
}

RunResult Controller::take_result() {
  return run_->take_result();
}

}  // namespace strain
