#include "tools/target/worker.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <ctime>

#include "tools/target/connection.hpp"
#include "tools/target/metrics.hpp"
#include "tools/target/process_sample.hpp"
#include "tools/target/response.hpp"

namespace strain::target {
namespace {

std::uint64_t ticks_for(std::chrono::nanoseconds d, std::chrono::nanoseconds period) {
  return std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>((d + period - std::chrono::nanoseconds(1)) / period));
}

// Separates the churn's random streams from the latency and fault draws of the same seed.
constexpr std::uint64_t kChurnSalt = 0x636875726e000000ull;  // "churn"

}  // namespace

ServerShared::ServerShared(const TargetOptions& opts, std::size_t workers)
    : options(opts), counters(new WorkerCounters[workers]), worker_count(workers) {
  if (opts.workers > 0) capacity = std::make_unique<Capacity>(opts.workers, opts.queue_limit);
  stalls.every = opts.stall_every;
  stalls.length = opts.stall_for;
  if (opts.rate_limit_per_s > 0) {
    rate = std::make_unique<TokenBucket>(opts.rate_limit_per_s, opts.burst, Clock::now());
  }
  if (opts.leak_bytes > 0) leak = std::make_unique<Leak>(opts.leak_bytes, opts.leak_limit_bytes);
  if (opts.fd_leak_every > 0) {
    fd_leak = std::make_unique<FdLeak>(opts.fd_leak_every, opts.fd_leak_limit, fd_ceiling());
  }
  if (opts.transient_bytes > 0) transient = std::make_unique<Transient>(opts.transient_bytes);
  mark_started();
}

void ServerShared::mark_started() {
  started = Clock::now();
  started_epoch_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

StatsSnapshot ServerShared::snapshot() const {
  StatsSnapshot s;
  if (options.churn) s.churn.emplace();
  if (options.defaults.cpu_work.count() > 0) s.cpu_work.emplace();
  const auto uptime = Clock::now() - started;
  if (const auto& phases = options.phases; phases.enabled()) {
    const auto ms = [](std::chrono::nanoseconds d) {
      return static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    };
    PhasesStats ph;
    ph.start_epoch_ms = started_epoch_ms;
    ph.cycle_ms = ms(phases.cycle);
    ph.current = phases.at(uptime);
    for (std::size_t i = 0; i < phases.phases.size(); ++i) {
      const auto& p = phases.phases[i];
      PhaseStats st;
      st.name = p.name;
      st.query = p.query;
      st.offset_ms = ms(p.offset);
      st.for_ms = ms(p.length);
      st.entered = phases.entered(i, uptime);
      ph.list.push_back(std::move(st));
    }
    s.phases = std::move(ph);
  }
  for (std::size_t i = 0; i < worker_count; ++i)
    s.add(counters[i]);
  s.connections = accepted_connections.load(std::memory_order_relaxed);
  s.open_connections = open_connections.load(std::memory_order_relaxed);
  s.rejected_connections = rejected_connections.load(std::memory_order_relaxed);
  s.api.item_count = api.item_count();
  s.uptime_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count());
  if (capacity) {
    s.capacity =
        CapacityStats{capacity->in_service_max(), capacity->queued_max(), capacity->rejected()};
  }
  if (stalls.enabled()) {
    StallStats st;
    st.start_epoch_ms = started_epoch_ms;
    st.every_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(stalls.every).count());
    st.for_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(stalls.length).count());
    // Bounded: a long run at a short period would otherwise grow the JSON without end.
    st.windows = stalls.windows(Clock::now() - started, 10000);
    s.stalls = std::move(st);
  }
  if (leak) s.leak = LeakStats{leak->leaked_bytes(), leak->limit_reached()};
  if (transient) {
    const auto ms = [](std::chrono::nanoseconds d) {
      return static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    };
    s.transient = TransientStats{transient->bytes(), ms(options.transient_every),
                                 ms(transient_hold(options.transient_every)), transient->cycles(),
                                 transient->held_bytes()};
  }
  if (fd_leak) {
    s.fd_leak = FdLeakStats{fd_leak->leaked_fds(), fd_leak->limit(), fd_leak->limit_reached()};
  }
  const auto& d = options.defaults;
  s.faults_enabled = d.hang_rate > 0 || d.reset_rate > 0 || d.garbage_rate > 0 ||
                     d.error_rates.count > 0 || d.trickle.on() || options.phases.any_faults();
  return s;
}

Worker::Worker(ServerShared& shared, WorkerCounters& counters, std::size_t index)
    : shared_(shared),
      counters_(counters),
      rng_(shared.options.seed, index),
      // Its own stream: turning --churn on changes no latency or fault draw.
      churn_(shared.options.churn
                 ? std::make_unique<Churn>(Rng(shared.options.seed ^ kChurnSalt, index))
                 : nullptr),
      guard_(ctx_.get_executor()),
      tick_timer_(ctx_.get_executor()) {
  // One sweep per quarter of the idle timeout (10ms to 1s) finds idle connections without a
  // timer per connection being re-armed on every request.
  const auto idle = shared.options.idle_timeout;
  tick_period_ = std::clamp<std::chrono::nanoseconds>(idle / 4, std::chrono::milliseconds(10),
                                                      std::chrono::seconds(1));
  idle_ticks_ = ticks_for(idle, tick_period_);
  linger_ticks_ =
      ticks_for(std::min<std::chrono::nanoseconds>(idle, std::chrono::seconds(2)), tick_period_);
  update_date();
}

Worker::~Worker() = default;

void Worker::run() {
  arm_tick();
  ctx_.run();
}

void Worker::post_stop() {
  asio::post(ctx_, [this] { stop(); });
}

void Worker::post_adopt(Socket socket) {
  asio::post(ctx_, [this, s = std::move(socket)]() mutable { adopt(std::move(s)); });
}

void Worker::adopt(Socket socket) {
  if (stopping_) {
    boost::system::error_code ec;
    socket.close(ec);
    shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  auto connection = std::make_unique<Connection>(*this, std::move(socket), connections_.size());
  Connection& c = *connection;
  connections_.push_back(std::move(connection));
  c.start();
}

void Worker::destroy(Connection& connection) {
  const std::size_t i = connection.index();
  if (i + 1 != connections_.size()) {
    std::swap(connections_[i], connections_.back());
    connections_[i]->set_index(i);
  }
  connections_.pop_back();
  shared_.open_connections.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::stop() {
  stopping_ = true;
  guard_.reset();
  tick_timer_.cancel();
  // Backwards: close() may remove connection i by moving the last one (already seen) into it.
  for (std::size_t i = connections_.size(); i-- > 0;) {
    if (i < connections_.size()) connections_[i]->close();
  }
}

void Worker::arm_tick() {
  if (stopping_) return;
  tick_timer_.expires_after(tick_period_);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
}

void Worker::on_tick() {
  if (stopping_) return;
  ++tick_;
  update_date();
  for (std::size_t i = connections_.size(); i-- > 0;) {
    if (i < connections_.size()) connections_[i]->on_tick(tick_);
  }
  arm_tick();
}

void Worker::update_date() {
  const std::time_t now = std::time(nullptr);
  if (now == date_second_) return;
  date_second_ = now;
  date_ = http_date(now);
}

void Worker::count(int status) {
  counters_.count(status);
  if (shared_.leak) [[unlikely]] {
    if (shared_.leak->on_served()) {
      std::fprintf(stderr, "strain-target: --leak-limit reached; the leak stops growing\n");
    }
  }
  if (shared_.fd_leak) [[unlikely]] {
    if (shared_.fd_leak->on_served()) {
      std::fprintf(stderr,
                   "strain-target: --fd-leak-limit or the open-file limit reached; the fd leak "
                   "stops growing at %llu\n",
                   static_cast<unsigned long long>(shared_.fd_leak->leaked_fds()));
    }
  }
  if (churn_) [[unlikely]] {
    const auto round = churn_->on_served();
    WorkerCounters::bump_by(counters_.churn_blocks, round.blocks);
    WorkerCounters::bump_by(counters_.churn_bytes, round.bytes);
  }
  if (const auto& limit = shared_.options.exit_after_requests) {
    if (shared_.served_total.fetch_add(1, std::memory_order_relaxed) + 1 == *limit) {
      shared_.on_enough_requests();
    }
  }
}

std::string Worker::stats_json() const {
  return format_stats_json(shared_.snapshot());
}

std::string Worker::metrics_text() const {
  return format_metrics(read_process_sample(), shared_.snapshot());
}

}  // namespace strain::target
