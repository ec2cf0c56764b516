#include "engine/runtime/worker.hpp"

#include <time.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/core/clock.hpp"
#include "engine/exec/constant_vus.hpp"
#include "engine/exec/recorder.hpp"
#include "engine/transport/native_client.hpp"

namespace strain {
namespace {
std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

struct Worker::State {
  State(boost::asio::io_context& io, const LoadPlan& plan, const http::RequestTemplate& request,
        std::uint32_t vu_count)
      : client(io, plan.endpoint, plan.client),
        vus(client, request, recorder, vu_count),
        drain_timer(io),
        drain_poll(io) {}
  NativeClient client;
  Recorder recorder;
  ConstantVus vus;
  boost::asio::steady_timer drain_timer;
  boost::asio::steady_timer drain_poll;
  std::int64_t last_report_ns = 0;
  std::int64_t last_cpu_ns = 0;
};

Worker::Worker(std::uint32_t index, const LoadPlan& plan, const http::RequestTemplate& request,
               std::uint32_t vus, Sink sink)
    // A concurrency hint of 1 lets Asio skip work meant for many threads; posts from the
    // controller still lock, as they must.
    : index_(index), plan_(plan), request_(request), vus_(vus), sink_(std::move(sink)), io_(1) {}

Worker::~Worker() {
  join();
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  try {
    state_ = std::make_unique<State>(io_, plan_, request_, vus_);
    state_->last_report_ns = now_ns();
    state_->last_cpu_ns = thread_cpu_ns();
    state_->vus.start();
  } catch (const std::exception& e) {
    // Out of descriptors or memory before the first request: tell the controller, which
    // stops the run; this worker's io_context never runs, so later posts are dropped.
    finished_ = true;
    state_.reset();
    WorkerReport r;
    r.worker = index_;
    r.final = true;
    r.fatal = std::string("worker ") + std::to_string(index_) + " could not start: " + e.what();
    sink_(std::move(r));
    return;
  }
  io_.run();
  // Sessions close their sockets before the client goes away; the io_context outlives both.
  state_.reset();
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
  state_->recorder.take_interval(r.metrics);
  r.connects = state_->client.connects();
  r.stale_retries = state_->client.stale_retries();
  r.started = state_->vus.started();
  r.in_flight = state_->client.in_flight();
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
      state_->vus.stop();
      send_report(sequence, false);
    }
    const std::uint64_t final_sequence = sequence + 1;
    if (abort || state_->client.in_flight() == 0) return finish(final_sequence);
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
  if (state_->client.in_flight() == 0) return finish(sequence);
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
  state_->client.shutdown();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace strain
