#include "tools/target/limits.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace strain::target {

Capacity::Capacity(std::uint32_t workers, std::uint64_t queue_limit)
    : free_at_(workers, TimePoint{}), queue_limit_(queue_limit) {}

Capacity::Admission Capacity::admit(TimePoint now, std::chrono::nanoseconds service) {
  const std::lock_guard lock(mutex_);
  while (!starts_.empty() && starts_.front() <= now)
    starts_.pop_front();
  Admission a;
  // Requests whose service has not begun are the queue. Starts are non-decreasing (arrivals
  // come in order under the lock and the earliest free time only grows), so a deque suffices.
  // Only a request that would have to wait counts against the queue limit.
  if (free_at_.front() > now && starts_.size() >= queue_limit_) {
    ++rejected_;
    return a;
  }
  std::pop_heap(free_at_.begin(), free_at_.end(), std::greater<>{});
  auto& earliest = free_at_.back();
  a.admitted = true;
  a.start = std::max(now, earliest);
  a.end = a.start + service;
  earliest = a.end;
  std::push_heap(free_at_.begin(), free_at_.end(), std::greater<>{});
  if (a.start > now) starts_.push_back(a.start);
  queued_max_ = std::max<std::uint64_t>(queued_max_, starts_.size());
  // A server is busy now exactly when it is next free later than now; with a queue, all are.
  std::uint64_t busy = free_at_.size();
  if (starts_.empty()) {
    busy = static_cast<std::uint64_t>(
        std::count_if(free_at_.begin(), free_at_.end(), [now](TimePoint t) { return t > now; }));
  }
  in_service_max_ = std::max(in_service_max_, busy);
  return a;
}

std::uint64_t Capacity::in_service_max() const {
  const std::lock_guard lock(mutex_);
  return in_service_max_;
}
std::uint64_t Capacity::queued_max() const {
  const std::lock_guard lock(mutex_);
  return queued_max_;
}
std::uint64_t Capacity::rejected() const {
  const std::lock_guard lock(mutex_);
  return rejected_;
}

std::chrono::nanoseconds StallSchedule::stalled_until(
    std::chrono::nanoseconds since_start) const noexcept {
  if (!enabled() || since_start.count() < 0) return std::chrono::nanoseconds(0);
  const auto k = since_start / every;
  const auto window_end = (k + 1) * every;
  if (since_start >= window_end - length) return window_end;
  return std::chrono::nanoseconds(0);
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> StallSchedule::windows(
    std::chrono::nanoseconds uptime, std::size_t max) const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  if (!enabled() || max == 0) return out;
  const auto to_ms = [](std::chrono::nanoseconds d) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  // Index of the last window that began before uptime.
  const auto first_start = every - length;
  if (uptime <= first_start) return out;
  const auto last = (uptime - first_start - std::chrono::nanoseconds(1)) / every;
  const auto count = static_cast<std::uint64_t>(last) + 1;
  const auto from = count > max ? count - max : 0;
  for (auto k = static_cast<std::int64_t>(from); k <= last; ++k) {
    const auto start = k * every + first_start;
    const auto end = std::min(uptime, (k + 1) * every);
    out.emplace_back(to_ms(start), to_ms(end));
  }
  return out;
}

TokenBucket::TokenBucket(double per_second, double burst, TimePoint now)
    : per_second_(per_second), burst_(burst), tokens_(burst), last_(now) {}

bool TokenBucket::try_take(TimePoint now) {
  const std::lock_guard lock(mutex_);
  if (now > last_) {
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + seconds * per_second_);
    last_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

Leak::Leak(std::uint64_t per_request_bytes, std::uint64_t limit_bytes)
    : per_request_bytes_(per_request_bytes), limit_bytes_(limit_bytes) {}

bool Leak::on_served() {
  const std::lock_guard lock(mutex_);
  if (limit_reached_) return false;
  if (leaked_bytes_ + per_request_bytes_ > limit_bytes_) {
    limit_reached_ = true;
    return true;
  }
  const auto n = static_cast<std::size_t>(per_request_bytes_);
  std::unique_ptr<char[]> chunk(new char[n]);
  // Touched, or the pages would never become resident.
  std::memset(chunk.get(), 0x5a, n);
  chunks_.push_back(std::move(chunk));
  leaked_bytes_ += per_request_bytes_;
  return false;
}

std::uint64_t Leak::leaked_bytes() const {
  const std::lock_guard lock(mutex_);
  return leaked_bytes_;
}
bool Leak::limit_reached() const {
  const std::lock_guard lock(mutex_);
  return limit_reached_;
}

}  // namespace strain::target
