#include "engine/runtime/worker.hpp"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/core/clock.hpp"
#include "engine/exec/url_load.hpp"
#include "engine/script/script_load.hpp"
#include "engine/script/watchdog.hpp"

namespace strain {
namespace {

std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The event-loop lag probe: a timer that should fire every kProbeNs; how late it fires is how
// long anything ready (a due arrival, a response) may have waited for this thread.
constexpr std::int64_t kProbeNs = 10'000'000;

}  // namespace

struct Worker::State {
  explicit State(boost::asio::io_context& io) : drain_timer(io), drain_poll(io), probe(io) {}
  std::unique_ptr<WorkerLoad> load;
  boost::asio::steady_timer drain_timer;
  boost::asio::steady_timer drain_poll;
  boost::asio::steady_timer probe;
  std::int64_t probe_due_ns = 0;
  Histogram loop_lag_us;
  std::int64_t last_report_ns = 0;
  std::int64_t last_cpu_ns = 0;
};

Worker::Worker(Share share, const LoadPlan& plan, const http::RequestTemplate& request, Sink sink,
               Event on_ready, Event on_done)
    // A concurrency hint of 1 lets Asio skip work meant for many threads; posts from the
    // controller still lock, as they must.
    : share_(share),
      plan_(plan),
      request_(request),
      sink_(std::move(sink)),
      on_ready_(std::move(on_ready)),
      on_done_(std::move(on_done)),
      io_(1) {}

Worker::~Worker() {
  join();
}

void Worker::launch() {
  thread_ = std::thread([this] { run(); });
}

void Worker::begin(std::int64_t origin_ns) {
  boost::asio::post(io_, [this, origin_ns] {
    if (finished_ || stopping_) return;
    begun_ = true;
    state_->last_report_ns = now_ns();
    state_->last_cpu_ns = thread_cpu_ns();
    state_->load->start(origin_ns);
    state_->probe_due_ns = now_ns();
    probe();
  });
}

void Worker::run() {
  try {
    state_ = std::make_unique<State>(io_);
    auto on_done = [this] {
      if (on_done_) on_done_(share_.index);
    };
    if (plan_.script) {
      state_->load = std::make_unique<ScriptLoad>(io_, *plan_.script, share_, plan_.clients,
                                                  std::move(on_done));
    } else {
      // One origin for the whole run: the client is made (and its host resolved) once here.
      state_->load = std::make_unique<UrlLoad>(io_, plan_.scenario, share_, request_,
                                               plan_.clients(io_, http::parse_url(plan_.url)),
                                               std::move(on_done));
    }
    {
      const std::lock_guard lock(watch_mutex_);
      watched_ = state_->load.get();
    }
    // Enough empty histograms for the first reports, made (and their pages touched) before
    // the run's clock starts; merged reports refill the stock from then on.
    const std::size_t scenarios = plan_.script ? plan_.script->scenarios.size() : 1;
    const std::size_t spares =
        std::min<std::size_t>(64, 3 + 2 * scenarios + (plan_.script ? 12 : 0));
    for (std::size_t i = 0; i < spares; ++i)
      stock_.give(Histogram());
    state_->last_report_ns = now_ns();
    state_->last_cpu_ns = thread_cpu_ns();
    if (on_ready_) on_ready_(share_.index);
  } catch (const std::exception& e) {
    // Out of descriptors or memory before the first request: tell the controller, which
    // stops the run; this worker's io_context never runs, so later posts are dropped.
    finished_ = true;
    {
      const std::lock_guard lock(watch_mutex_);
      watched_ = nullptr;
    }
    state_.reset();
    WorkerReport r;
    r.worker = share_.index;
    r.final = true;
    r.fatal =
        std::string("worker ") + std::to_string(share_.index) + " could not start: " + e.what();
    sink_(std::move(r));
    return;
  }
  io_.run();
  {
    const std::lock_guard lock(watch_mutex_);
    watched_ = nullptr;
  }
  // Sessions close their sockets before the client goes away; the io_context outlives both.
  state_.reset();
}

void Worker::probe() {
  state_->probe_due_ns += kProbeNs;
  state_->probe.expires_at(TimePoint(Nanos(state_->probe_due_ns)));
  state_->probe.async_wait([this](const boost::system::error_code& ec) {
    if (ec || finished_) return;
    const std::int64_t now = now_ns();
    state_->loop_lag_us.record(std::max<std::int64_t>(0, now - state_->probe_due_ns) / 1000);
    // After a long stall the probe restarts from now rather than firing for each missed tick.
    state_->probe_due_ns = std::max(state_->probe_due_ns, now - kProbeNs);
    probe();
  });
}

void Worker::report(std::uint64_t sequence) {
  boost::asio::post(io_, [this, sequence] {
    if (!finished_) send_report(sequence, false);
  });
}

void Worker::set_rate(std::size_t scenario, double per_s, std::int64_t at_ns) {
  boost::asio::post(io_, [this, scenario, per_s, at_ns] {
    if (!finished_ && !stopping_) state_->load->set_rate(scenario, per_s, at_ns);
  });
}

void Worker::set_vus(std::size_t scenario, std::uint32_t vus) {
  boost::asio::post(io_, [this, scenario, vus] {
    if (!finished_ && !stopping_) state_->load->set_vus(scenario, vus);
  });
}

void Worker::recycle(WorkerReport&& spent) {
  WorkerInterval& w = spent.interval;
  stock_.give(std::move(w.total.response_time_us));
  stock_.give(std::move(w.total.service_time_us));
  for (RequestMetrics& m : w.series) {
    stock_.give(std::move(m.response_time_us));
    stock_.give(std::move(m.service_time_us));
  }
  for (ScenarioInterval& s : w.scenarios) {
    if (!s.schedule) continue;
    stock_.give(std::move(s.schedule->schedule_lag_us));
    stock_.give(std::move(s.schedule->dispatch_lag_us));
  }
  stock_.give(std::move(spent.loop_lag_us));
}

void Worker::send_report(std::uint64_t sequence, bool final) {
  WorkerReport r{
      .worker = share_.index,
      .sequence = sequence,
      .final = final,
      .interval = WorkerInterval{.total = RequestMetrics{.response_time_us = stock_.take(),
                                                         .service_time_us = stock_.take()}},
      .loop_lag_us = stock_.take(),
  };
  state_->load->take_interval(r.interval, stock_);
  if (final) {
    if (const PhaseMetrics* p = state_->load->phases()) r.interval.phases = *p;
  }
  std::swap(r.loop_lag_us, state_->loop_lag_us);
  const std::int64_t now = now_ns();
  const std::int64_t cpu = thread_cpu_ns();
  if (now > state_->last_report_ns) {
    r.busy_fraction = static_cast<double>(cpu - state_->last_cpu_ns) /
                      static_cast<double>(now - state_->last_report_ns);
  }
  state_->last_report_ns = now;
  state_->last_cpu_ns = cpu;
  sink_(std::move(r));
}

void Worker::stop(std::uint64_t sequence, bool abort, std::int64_t end_ns) {
  boost::asio::post(io_, [this, sequence, abort, end_ns] {
    if (finished_) return;
    if (!stopping_) {
      // The load phase ends here: its last interval is reported before the drain begins,
      // so throughput counts only what completed within the planned duration.
      stopping_ = true;
      state_->load->stop(end_ns);
      send_report(sequence, false);
    }
    const std::uint64_t final_sequence = sequence + 1;
    if (abort || state_->load->in_flight() == 0) return finish(final_sequence);
    if (draining_) return;
    draining_ = true;
    // Drain: let what is in flight complete, so completed requests match what the server
    // served; give up after drain_grace and record the rest as abandoned.
    state_->drain_timer.expires_after(plan_.drain_grace);
    state_->drain_timer.async_wait([this, final_sequence](const boost::system::error_code& ec) {
      if (!ec) finish(final_sequence);
    });
    poll_drain(final_sequence);
  });
}

void Worker::poll_drain(std::uint64_t sequence) {
  if (finished_) return;
  if (state_->load->in_flight() == 0) return finish(sequence);
  state_->drain_poll.expires_after(std::chrono::milliseconds(1));
  state_->drain_poll.async_wait([this, sequence](const boost::system::error_code& ec) {
    if (!ec) poll_drain(sequence);
  });
}

void Worker::finish(std::uint64_t sequence) {
  if (finished_) return;
  // Whatever is still in flight never got its answer: a failure, with its wait so far as a
  // lower bound on its response time (never silently dropped from the figures).
  state_->load->abandon(now_ns());
  finished_ = true;
  send_report(sequence, true);
  state_->drain_timer.cancel();
  state_->drain_poll.cancel();
  state_->probe.cancel();
  state_->load->shutdown();
  work_.reset();
}

void Worker::check_script(std::chrono::nanoseconds limit) {
  const std::lock_guard lock(watch_mutex_);
  if (watched_ == nullptr || !thread_.joinable()) return;
  if (watched_->running_for_ns() < limit.count()) return;
  // The handler runs on the worker's thread, which is inside Lua: it makes the running
  // coroutine fail at its next instruction (see Watchdog::on_signal).
  ::pthread_kill(thread_.native_handle(), Watchdog::signal_number());
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace strain
