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
#include <system_error>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
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
        url_(http::parse_url(plan.url)),
        request_(plan.method, url_, plan.headers, plan.body),
        tick_timer_(io_),
        stop_timer_(io_),
        signals_(io_, SIGINT, SIGTERM) {
    result_.total.name = "total";
  }

  RunResult execute() {
    const std::uint32_t threads = std::max<std::uint32_t>(1, std::min(plan_.threads, plan_.vus));
    result_.started_at = iso8601_utc_now();
    result_.config.url = plan_.url;
    result_.config.method = plan_.method;
    result_.config.vus = plan_.vus;
    result_.config.threads = threads;
    result_.config.planned_duration_s = seconds(plan_.duration.count());

    rusage usage_start{};
    ::getrusage(RUSAGE_SELF, &usage_start);
    for (std::uint32_t i = 0; i < threads; ++i) {
      // VUs split as evenly as possible; the first workers take the remainder.
      const std::uint32_t share = plan_.vus / threads + (i < plan_.vus % threads ? 1 : 0);
      workers_.push_back(std::make_unique<Worker>(
          i, plan_, request_, share, [this](WorkerReport r) { deliver(std::move(r)); }));
    }
    busy_.assign(threads, 0.0);
    start_ns_ = last_tick_ns_ = now_ns();
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      try {
        workers_[i]->start();
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
    for (std::size_t i = 0; i < busy_.size(); ++i) {
      const double busy = ticks_ > 0 ? busy_[i] / static_cast<double>(ticks_) : 0.0;
      if (busy > 0.95) {
        g.notes.push_back("worker " + std::to_string(i) + " was CPU-saturated (" +
                          std::to_string(static_cast<int>(busy * 100)) +
                          "% busy): latency includes time waiting for strain itself");
      }
    }
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

  void on_report(WorkerReport r) {
    if (!r.fatal.empty()) return on_worker_failed(std::move(r));
    Pending& p = pending_[r.sequence];
    if (p.reports == 0) p.metrics.name = "total";
    p.metrics.add(r.metrics);
    ++p.reports;
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
    result_.total.add(p.metrics);
    result_.timeline.push_back(point);
    if (stopping_ && seq > stop_sequence_) {
      result_.drained_responses += p.metrics.responses;
      result_.drain_s = seconds(now - stop_ns_);
    }

    if (hooks_.on_interval) {
      Progress progress;
      progress.elapsed_s = seconds(now - start_ns_);
      progress.planned_s = seconds(plan_.duration.count());
      progress.interval = point;
      progress.responses = result_.total.responses;
      progress.failed = result_.total.failed();
      progress.vus = plan_.vus;
      progress.stopping = stopping_;
      hooks_.on_interval(progress);
    }
    if (finished_ == workers_.size()) finish_run();
  }

  void finish_run() {
    for (const auto& [worker, n] : connects_)
      result_.generator.connects += n;
    for (const auto& [worker, n] : stale_retries_)
      result_.generator.stale_retries += n;
    for (const auto& [worker, n] : started_)
      result_.generator.started += n;
    signals_.cancel();
    work_.reset();
    io_.stop();
  }

  struct Pending {
    RequestMetrics metrics;
    std::size_t reports = 0;
  };

  const LoadPlan& plan_;
  const RunHooks& hooks_;
  http::Url url_;
  http::RequestTemplate request_;
  boost::asio::io_context io_{1};
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer stop_timer_;
  boost::asio::signal_set signals_;
  // Keeps run() going until every worker's final report is in, whatever else is pending.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::map<std::uint64_t, Pending> pending_;  // at most a few intervals: workers answer in order
  std::map<std::uint32_t, std::uint64_t> connects_;
  std::map<std::uint32_t, std::uint64_t> stale_retries_;  // per worker, cumulative
  std::map<std::uint32_t, std::uint64_t> started_;        // per worker, cumulative
  std::vector<double> busy_;
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
