#include "engine/runtime/controller.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "engine/results/schedule_verdict.hpp"
#include "engine/results/thresholds.hpp"
#include "engine/runtime/worker.hpp"
#include "engine/transport/request_template.hpp"
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

// Gathers one interval's reports from every worker, then folds them into the run.
class Run {
 public:
  Run(const LoadPlan& plan, const RunHooks& hooks)
      : plan_(plan),
        hooks_(hooks),
        // Scripted runs build their requests in the VUs; the template is never sent then.
        url_(http::parse_url(plan.script ? std::string("http://127.0.0.1/") : plan.url)),
        request_(plan.method, url_, plan.headers, plan.body),
        tick_timer_(io_),
        stop_timer_(io_),
        watchdog_timer_(io_),
        signals_(io_, SIGINT, SIGTERM) {
    result_.total.name = "total";
  }

  RunResult execute() {
    const std::uint32_t threads = std::max<std::uint32_t>(1, std::min(plan_.threads, plan_.vus));
    result_.started_at = iso8601_utc_now();
    result_.config.url = plan_.url;
    result_.config.method = plan_.method;
    if (plan_.arrivals) {
      const bool ramp =
          plan_.arrivals->profile.stages.size() != 1 ||
          plan_.arrivals->profile.stages[0].target_per_s != plan_.arrivals->profile.start_per_s;
      result_.config.executor = ramp ? "ramping-arrival-rate" : "constant-arrival-rate";
    }
    if (plan_.script) {
      result_.config.script = plan_.script->path;
      result_.config.url.clear();
      result_.config.executor.clear();
      for (const Scenario& sc : plan_.script->scenarios) {
        result_.config.scenarios.push_back(sc.name);
        if (result_.config.executor.find(to_string(sc.executor)) == std::string::npos) {
          result_.config.executor +=
              std::string(result_.config.executor.empty() ? "" : ",") + to_string(sc.executor);
        }
      }
    }
    result_.config.vus = plan_.vus;
    result_.config.threads = threads;
    result_.config.planned_duration_s = seconds(planned_load().count());

    rusage usage_start{};
    ::getrusage(RUSAGE_SELF, &usage_start);
    for (std::uint32_t i = 0; i < threads; ++i) {
      // VUs split as evenly as possible; the first workers take the remainder.
      const std::uint32_t share = plan_.vus / threads + (i < plan_.vus % threads ? 1 : 0);
      workers_.push_back(std::make_unique<Worker>(
          i, threads, plan_, request_, share, [this](WorkerReport r) { deliver(std::move(r)); },
          [this](std::uint32_t) { boost::asio::post(io_, [this] { on_worker_done(); }); }));
    }
    busy_.assign(threads, 0.0);
    active_vus_.assign(threads, 0);
    start_ns_ = last_tick_ns_ = now_ns();
    result_.started_at_unix_ms =
        static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) /
        1000.0;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      try {
        workers_[i]->start(start_ns_);
      } catch (const std::system_error& e) {
        // Those already running are aborted and joined before the error goes up, so no
        // thread is left loading the target.
        for (std::size_t j = 0; j < i; ++j)
          workers_[j]->stop(0, true);
        workers_.resize(i);
        for (auto& w : workers_)
          w->join();
        throw Error(std::string("cannot start worker thread ") + std::to_string(i) + ": " +
                    e.what());
      }
    }

    schedule_tick();
    if (plan_.script) schedule_watchdog();
    stop_timer_.expires_after(plan_.duration);
    stop_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) begin_stop(false);
    });
    signals_.async_wait([this](const boost::system::error_code& ec, int) { on_signal(ec); });

    io_.run();
    for (auto& w : workers_)
      w->join();

    rusage usage_end{};
    ::getrusage(RUSAGE_SELF, &usage_end);
    auto& g = result_.generator;
    g.cpu_user_s = tv_seconds(usage_end.ru_utime) - tv_seconds(usage_start.ru_utime);
    g.cpu_system_s = tv_seconds(usage_end.ru_stime) - tv_seconds(usage_start.ru_stime);
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
    double busy_sum = 0;
    for (std::size_t i = 0; i < busy_.size(); ++i) {
      const double busy = ticks_ > 0 ? busy_[i] / static_cast<double>(ticks_) : 0.0;
      busy_sum += busy;
      if (busy > 0.95) {
        g.notes.push_back("worker " + std::to_string(i) + " was CPU-saturated (" +
                          std::to_string(static_cast<int>(busy * 100)) +
                          "% busy): latency includes time waiting for strain itself");
      }
    }
    g.busy_fraction = busy_.empty() ? 0.0 : busy_sum / static_cast<double>(busy_.size());
    finish_schedule();
    return std::move(result_);
  }

 private:
  void deliver(WorkerReport r) {
    // Called on a worker thread: hand the plain value over to the controller's thread.
    boost::asio::post(io_,
                      [this, report = std::move(r)]() mutable { on_report(std::move(report)); });
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

  // The first signal ends the load phase and drains (or lets a drain already under way go
  // on); the second abandons what is in flight at once.
  void on_signal(const boost::system::error_code& ec) {
    if (ec) return;
    result_.partial = true;
    if (++signals_seen_ == 1) {
      begin_stop(false);
      signals_.async_wait([this](const boost::system::error_code& e, int) { on_signal(e); });
    } else {
      for (auto& w : workers_)
        w->stop(stop_sequence_, true);
    }
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

  // A scripted worker has finished its scenarios; when all have, the run is over early.
  void on_worker_done() {
    if (++done_workers_ == workers_.size()) begin_stop(false);
  }

  void begin_stop(bool abort) {
    if (stopping_) return;
    stopping_ = true;
    stop_ns_ = now_ns();
    result_.duration_s = seconds(stop_ns_ - start_ns_);
    tick_timer_.cancel();
    stop_timer_.cancel();
    // Two intervals: the load phase's last one, then the drain's (see Worker::stop).
    stop_sequence_ = next_sequence_;
    next_sequence_ += 2;
    for (auto& w : workers_)
      w->stop(stop_sequence_, abort);
  }

  // Open model: sums the workers' schedule counters, sets the offered rate, and judges
  // whether strain kept its schedule (engine/results/schedule_verdict).
  void finish_schedule() {
    if (!open_model()) return;
    ScheduleStats& s = result_.schedule;
    for (const auto& [worker, counters] : schedule_counters_) {
      s.due += counters.due;
      s.started += counters.started;
      s.waited += counters.waited;
      s.overflow += counters.overflow;
      s.unstarted_at_stop += counters.unstarted_at_stop;
      s.peak_backlog += counters.peak_backlog;
      s.peak_vus += counters.peak_vus;
    }
    if (result_.duration_s > 0)
      result_.offered_rps = static_cast<double>(s.due) / result_.duration_s;
    judge_schedule(result_);
  }

  bool open_model() const {
    if (plan_.arrivals) return true;
    if (!plan_.script) return false;
    for (const Scenario& s : plan_.script->scenarios)
      if (is_arrival_rate(s.executor)) return true;
    return false;
  }

  void on_report(WorkerReport r) {
    if (!r.fatal.empty()) return on_worker_failed(std::move(r));
    Pending& p = pending_[r.sequence];
    result_.schedule.schedule_lag_us.add(r.schedule.schedule_lag_us);
    result_.schedule.dispatch_lag_us.add(r.schedule.dispatch_lag_us);
    result_.generator.loop_lag_us.add(r.loop_lag_us);
    if (r.schedule.schedule_lag_us.total_count() > 0) {
      if (!p.schedule_lag_us) p.schedule_lag_us.emplace();
      p.schedule_lag_us->add(r.schedule.schedule_lag_us);
    }
    // Counters are cumulative: the latest report holds each worker's totals. (Moved last: its
    // histograms were added above.)
    schedule_counters_[r.worker] = std::move(r.schedule);
    if (p.reports == 0) p.metrics.name = "total";
    p.metrics.add(r.metrics);
    for (auto& m : r.series)
      p.series.push_back(std::move(m));
    p.script.add(r.script);
    ++p.reports;
    active_vus_[r.worker] = r.active_vus;
    busy_[r.worker] += r.busy_fraction;
    connects_[r.worker] = r.connects;
    stale_retries_[r.worker] = r.stale_retries;
    started_[r.worker] = r.started;
    if (r.final) {
      ++finished_;
      result_.generator.in_flight_at_stop += r.in_flight;
    }
    if (p.reports + failed_workers_ == workers_.size()) close_interval(r.sequence);
  }

  // A worker that could not start reports nothing more: the run stops, keeping what the
  // others measured, and says why.
  void on_worker_failed(WorkerReport r) {
    ++failed_workers_;
    ++finished_;
    result_.partial = true;
    if (result_.aborted_reason.empty()) result_.aborted_reason = r.fatal;
    if (!stopping_)
      begin_stop(true);
    else
      for (auto& w : workers_)
        w->stop(stop_sequence_, true);
    // Intervals that were only waiting for this worker are complete now.
    std::vector<std::uint64_t> ready;
    for (const auto& [seq, pending] : pending_) {
      if (pending.reports + failed_workers_ >= workers_.size()) ready.push_back(seq);
    }
    for (const std::uint64_t seq : ready)
      close_interval(seq);
    if (finished_ == workers_.size() && pending_.empty()) finish_run();
  }

  void close_interval(std::uint64_t seq) {
    Pending p = std::move(pending_[seq]);
    pending_.erase(seq);
    ++ticks_;
    const std::int64_t now = now_ns();
    IntervalPoint point;
    point.start_s = seconds(last_tick_ns_ - start_ns_);
    point.length_s = seconds(now - last_tick_ns_);
    last_tick_ns_ = now;
    point.responses = p.metrics.responses;
    point.errors = p.metrics.failed();
    const LatencySummary s = summarize_us(p.metrics.response_time_us);
    point.p50_ms = s.p50;
    point.p99_ms = s.p99;
    point.max_ms = s.max;
    if (p.schedule_lag_us) {
      point.started =
          static_cast<std::uint64_t>(p.schedule_lag_us->total_count());  // one per start
      point.schedule_lag_p99_ms =
          static_cast<double>(p.schedule_lag_us->value_at_percentile(99.0)) / 1000.0;
    }
    result_.total.add(p.metrics);
    result_.timeline.push_back(point);
    for (auto& m : p.series)
      add_series(std::move(m));
    result_.script.add(p.script);
    if (stopping_ && seq > stop_sequence_) {
      result_.drained_responses += p.metrics.responses;
      result_.drain_s = seconds(now - stop_ns_);
    }

    if (hooks_.on_interval) {
      Progress progress;
      progress.elapsed_s = seconds(now - start_ns_);
      progress.planned_s = seconds(planned_load().count());
      progress.interval = point;
      progress.responses = result_.total.responses;
      progress.failed = result_.total.failed();
      progress.vus = 0;
      for (const auto n : active_vus_)
        progress.vus += n;
      progress.stopping = stopping_;
      hooks_.on_interval(progress);
    }
    if (!stopping_) judge_abort(now);
    if (finished_ == workers_.size()) finish_run();
  }

  // Thresholds with abort_on_fail are judged on the run so far after every interval.
  void judge_abort(std::int64_t now) {
    bool any = false;
    for (const auto& t : plan_.thresholds)
      any = any || t.abort_on_fail;
    if (!any) return;
    result_.duration_s = seconds(now - start_ns_);
    if (auto failed = first_abort(plan_.thresholds, result_, result_.duration_s)) {
      result_.threshold_abort = *failed;
      result_.partial = true;
      begin_stop(false);
    }
  }

  void add_series(RequestMetrics m) {
    std::string key = m.name;
    for (const auto& [k, v] : m.tags)
      key.append("\x1f").append(k).append("=").append(v);
    const auto [it, added] = series_index_.emplace(key, result_.by_name.size());
    if (added)
      result_.by_name.push_back(std::move(m));
    else
      result_.by_name[it->second].add(m);
  }

  void finish_run() {
    for (const auto& [worker, n] : connects_)
      result_.generator.connects += n;
    for (const auto& [worker, n] : stale_retries_)
      result_.generator.stale_retries += n;
    for (const auto& [worker, n] : started_)
      result_.generator.started += n;
    signals_.cancel();
    watchdog_timer_.cancel();
    work_.reset();
    io_.stop();
  }

  struct Pending {
    RequestMetrics metrics;
    std::vector<RequestMetrics> series;  // unmerged: add_series folds them in
    ScriptStats script;
    std::optional<Histogram> schedule_lag_us;  // open model: the interval's starts
    std::size_t reports = 0;
  };

  const LoadPlan& plan_;
  const RunHooks& hooks_;
  http::Url url_;
  http::RequestTemplate request_;
  boost::asio::io_context io_{1};
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer stop_timer_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::signal_set signals_;
  // Keeps run() going until every worker's final report is in, whatever else is pending.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::map<std::uint64_t, Pending> pending_;  // at most a few intervals: workers answer in order
  std::map<std::uint32_t, std::uint64_t> connects_;
  std::map<std::uint32_t, std::uint64_t> stale_retries_;      // per worker, cumulative
  std::map<std::uint32_t, std::uint64_t> started_;            // per worker, cumulative
  std::map<std::uint32_t, ScheduleStats> schedule_counters_;  // per worker, latest
  std::vector<double> busy_;
  std::vector<std::uint32_t> active_vus_;            // per worker, at its last report
  std::map<std::string, std::size_t> series_index_;  // name and tags → result_.by_name index
  std::size_t done_workers_ = 0;
  RunResult result_;
  std::int64_t start_ns_ = 0;
  std::int64_t stop_ns_ = 0;
  std::int64_t last_tick_ns_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t stop_sequence_ = 0;  // the load phase's last interval; the drain's is next
  std::size_t failed_workers_ = 0;   // workers that could not start
  int signals_seen_ = 0;
  std::uint64_t ticks_ = 0;
  std::size_t finished_ = 0;
  bool stopping_ = false;
};

}  // namespace

RunResult run_load(const LoadPlan& plan, const RunHooks& hooks) {
  Run run(plan, hooks);
  return run.execute();
}

}  // namespace strain
