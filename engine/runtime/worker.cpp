#include "engine/runtime/worker.hpp"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/core/clock.hpp"
#include "engine/exec/arrival_vus.hpp"
#include "engine/exec/constant_vus.hpp"
#include "engine/exec/recorder.hpp"
#include "engine/script/script_load.hpp"
#include "engine/transport/native_client.hpp"

namespace strain {
namespace {
std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

// What a worker runs: one URL's constant VUs, or a script's scenarios.
class WorkerLoad {
 public:
  virtual ~WorkerLoad() = default;
  virtual void start(std::int64_t origin_ns) = 0;  // the run's start (now_ns() clock)
  virtual void stop() = 0;
  virtual void shutdown() = 0;
  virtual std::uint64_t in_flight() const = 0;
  virtual void fill(WorkerReport& r) = 0;  // the interval's figures
  virtual const ScriptLoad* script() const { return nullptr; }
};

namespace {

// A single-URL run: one client and one recorder, and the VUs of its load model.
template <class Vus>
class UrlLoad final : public WorkerLoad {
 public:
  // `make` builds the VUs on the client and recorder.
  template <class Make>
  UrlLoad(boost::asio::io_context& io, const LoadPlan& plan, Make make)
      : client_(io, plan.endpoint, plan.client), vus_(make(client_, recorder_)) {}
  void start(std::int64_t origin_ns) override { vus_->start(origin_ns); }
  void stop() override { vus_->stop(); }
  void shutdown() override { client_.shutdown(); }
  std::uint64_t in_flight() const override { return client_.in_flight(); }
  void fill(WorkerReport& r) override {
    recorder_.take_interval(r.metrics);
    vus_->take_interval(r.schedule);
    r.connects = client_.connects();
    r.stale_retries = client_.stale_retries();
    r.started = vus_->started();
    r.in_flight = client_.in_flight();
    r.active_vus = vus_->busy();
  }

 private:
  NativeClient client_;
  Recorder recorder_;
  std::unique_ptr<Vus> vus_;
};

class ScriptedLoad final : public WorkerLoad {
 public:
  ScriptedLoad(boost::asio::io_context& io, const LoadPlan& plan, std::uint32_t index,
               std::uint32_t count, std::function<void()> on_done)
      : load_(io, *plan.script, index, count, native_client_factory(plan.client),
              std::move(on_done)) {}
  void start(std::int64_t origin_ns) override { load_.start(origin_ns); }
  void stop() override { load_.stop(); }
  void shutdown() override { load_.shutdown(); }
  std::uint64_t in_flight() const override { return load_.in_flight(); }
  void fill(WorkerReport& r) override {
    load_.take_interval(r.metrics, r.series, r.script);
    load_.take_schedule(r.schedule);
    r.connects = load_.connects();
    r.stale_retries = load_.stale_retries();
    r.started = load_.started();
    r.in_flight = load_.in_flight();
    r.active_vus = load_.active_vus();
  }
  const ScriptLoad* script() const override { return &load_; }

 private:
  ScriptLoad load_;
};

}  // namespace

// The event-loop lag probe: a timer that should fire every kProbeNs; how late it fires is
// how long anything ready (a due arrival, a response) may have waited for this thread.
constexpr std::int64_t kProbeNs = 10'000'000;

struct Worker::State {
  State(boost::asio::io_context& io) : drain_timer(io), drain_poll(io), probe(io) {}
  std::unique_ptr<WorkerLoad> load;
  boost::asio::steady_timer drain_timer;
  boost::asio::steady_timer drain_poll;
  boost::asio::steady_timer probe;
  std::int64_t probe_due_ns = 0;
  Histogram loop_lag_us;
  std::int64_t last_report_ns = 0;
  std::int64_t last_cpu_ns = 0;
};

Worker::Worker(std::uint32_t index, std::uint32_t count, const LoadPlan& plan,
               const http::RequestTemplate& request, std::uint32_t vus, Sink sink, DoneSink on_done)
    // A concurrency hint of 1 lets Asio skip work meant for many threads; posts from the
    // controller still lock, as they must.
    : index_(index),
      count_(count),
      plan_(plan),
      request_(request),
      vus_(vus),
      sink_(std::move(sink)),
      on_done_(std::move(on_done)),
      io_(1) {}

Worker::~Worker() {
  join();
}

void Worker::start(std::int64_t origin_ns) {
  origin_ns_ = origin_ns;
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  try {
    state_ = std::make_unique<State>(io_);
    if (plan_.script) {
      state_->load = std::make_unique<ScriptedLoad>(io_, plan_, index_, count_, [this] {
        if (on_done_) on_done_(index_);
      });
    } else if (plan_.arrivals) {
      state_->load = std::make_unique<UrlLoad<ArrivalVus>>(
          io_, plan_, [this](HttpClient& client, Recorder& recorder) {
            return std::make_unique<ArrivalVus>(io_, client, request_, recorder, *plan_.arrivals,
                                                index_, count_);
          });
    } else {
      state_->load = std::make_unique<UrlLoad<ConstantVus>>(
          io_, plan_, [this](HttpClient& client, Recorder& recorder) {
            return std::make_unique<ConstantVus>(client, request_, recorder, vus_);
          });
    }
    {
      const std::lock_guard lock(watch_mutex_);
      watched_ = state_->load->script();
    }
    state_->last_report_ns = now_ns();
    state_->last_cpu_ns = thread_cpu_ns();
    state_->load->start(origin_ns_);
    state_->probe_due_ns = now_ns();
    probe();
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
    r.worker = index_;
    r.final = true;
    r.fatal = std::string("worker ") + std::to_string(index_) + " could not start: " + e.what();
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

void Worker::send_report(std::uint64_t sequence, bool final) {
  WorkerReport r;
  r.worker = index_;
  r.sequence = sequence;
  r.final = final;
  state_->load->fill(r);
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

void Worker::stop(std::uint64_t sequence, bool abort) {
  boost::asio::post(io_, [this, sequence, abort] {
    if (finished_) return;
    if (!stopping_) {
      // The load phase ends here: its last interval is reported before the drain begins,
      // so throughput counts only what completed within the planned duration.
      stopping_ = true;
      state_->load->stop();
      send_report(sequence, false);
    }
    const std::uint64_t final_sequence = sequence + 1;
    if (abort || state_->load->in_flight() == 0) return finish(final_sequence);
    if (draining_) return;
    draining_ = true;
    // Drain: let what is in flight complete, so completed requests match what the server
    // served; give up after drain_grace and count the rest as in flight at stop.
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
  // coroutine fail at its next instruction (see ScriptLoad::on_watchdog_signal).
  ::pthread_kill(thread_.native_handle(), ScriptLoad::watchdog_signal());
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace strain
