#include "engine/soak/sampler.hpp"

#include <time.h>

#include <utility>

#include "engine/core/clock.hpp"

namespace strain::soak {
namespace {

double thread_cpu_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Limits (memory.max, RLIMIT_NOFILE) rarely change: read them again every this many rounds.
constexpr std::uint64_t kLimitsEvery = 60;

}  // namespace

Sampler::Sampler(std::vector<std::unique_ptr<watch::Watcher>> watchers,
                 std::chrono::nanoseconds every, SoakRecorder& recorder, SampleLog* log)
    : watchers_(std::move(watchers)), every_(every), recorder_(recorder), log_(log) {}

Sampler::~Sampler() {
  stop();
}

void Sampler::start(std::int64_t origin_ns) {
  if (thread_.joinable()) return;
  origin_ns_ = origin_ns;
  thread_ = std::thread([this] { run(); });
}

void Sampler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sampler::run() {
  std::int64_t due = origin_ns_;
  for (;;) {
    round(now_ns());
    due += every_.count();
    // A round that took longer than the period (a slow scrape) skips the rounds it overran
    // rather than firing them back to back.
    const std::int64_t now = now_ns();
    if (due < now) due = now + every_.count() - (now - due) % every_.count();
    std::unique_lock lock(mutex_);
    const auto deadline = TimePoint(Nanos(due));
    if (wake_.wait_until(lock, deadline, [this] { return stopping_; })) return;
  }
}

void Sampler::round(std::int64_t now_ns) {
  const double t_s = static_cast<double>(now_ns - origin_ns_) / 1e9;
  for (std::size_t i = 0; i < watchers_.size(); ++i) {
    watch::Watcher& w = *watchers_[i];
    std::vector<watch::Limit> limits;
    const bool limits_round = rounds_ % kLimitsEvery == 0;
    if (limits_round) {
      limits = w.limits();
      recorder_.on_limits(i, limits);
    }
    const watch::Sample sample = w.sample();
    recorder_.on_sample(t_s, i, sample);
    if (tap_) tap_(t_s, i, w, sample, limits_round ? &limits : nullptr);
    if (log_ != nullptr) log_->write(t_s, w.component(), w.source(), sample);
  }
  if (log_ != nullptr) log_->flush();
  ++rounds_;
  recorder_.on_round(thread_cpu_s());
}

}  // namespace strain::soak
