// Server-wide shapes of strain-target: capacity (W servers, FIFO queue), stalls, rate limit, leak.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/clock.hpp"

namespace strain::target {

// W servers with a shared FIFO queue, as a schedule: each admitted request is given the start
// and end of its service on the earliest-free server. Times are passed in (fake clocks in tests).
// Any thread; one mutex, taken only when --workers is set.
class Capacity {
 public:
  Capacity(std::uint32_t workers, std::uint64_t queue_limit);

  struct Admission {
    bool admitted = false;  // false: the queue is full, answer 503
    TimePoint start{};      // service begins (== now when a server was free)
    TimePoint end{};        // service ends: the response may be written from here
  };
  // Admits a request arriving at `now` that needs `service`. FIFO: starts never go backwards.
  Admission admit(TimePoint now, std::chrono::nanoseconds service);

  std::uint64_t in_service_max() const;
  std::uint64_t queued_max() const;
  std::uint64_t rejected() const;

 private:
  mutable std::mutex mutex_;
  std::vector<TimePoint> free_at_;  // min-heap: when each server is next free
  std::deque<TimePoint> starts_;    // starts still in the future at the last admission
  std::uint64_t queue_limit_;
  std::uint64_t in_service_max_ = 0;
  std::uint64_t queued_max_ = 0;
  std::uint64_t rejected_ = 0;
};

// Stall windows, relative to the server start: window k is
// [k*every + (every - length), (k+1)*every), k = 0, 1, ... So the first stall begins
// `every - length` after start and each lasts `length`. Pure arithmetic, any thread.
struct StallSchedule {
  std::chrono::nanoseconds every{0};   // period; zero: no stalls
  std::chrono::nanoseconds length{0};  // stall length, 0 < length < every

  bool enabled() const noexcept { return every.count() > 0; }
  // If `since_start` falls in a window, the time since start at which that window ends;
  // otherwise zero.
  std::chrono::nanoseconds stalled_until(std::chrono::nanoseconds since_start) const noexcept;
  // Windows that began before `uptime`, the last clipped to it, as [start_ms, end_ms) since
  // start. At most `max` of them (the latest ones).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> windows(std::chrono::nanoseconds uptime,
                                                               std::size_t max) const;
};

// A token bucket: `per_second` tokens a second, at most `burst` saved. Any thread (a mutex).
class TokenBucket {
 public:
  TokenBucket(double per_second, double burst, TimePoint now);
  // Takes one token if there is one.
  bool try_take(TimePoint now);

 private:
  std::mutex mutex_;
  double per_second_;
  double burst_;
  double tokens_;
  TimePoint last_;
};

// Memory kept on purpose, a chunk per served request, up to a limit. Any thread (a mutex).
class Leak {
 public:
  Leak(std::uint64_t per_request_bytes, std::uint64_t limit_bytes);
  // Keeps per_request_bytes more (touched, so RSS grows). Returns true the first time the limit
  // stops it from growing.
  bool on_served();
  std::uint64_t leaked_bytes() const;
  bool limit_reached() const;

 private:
  mutable std::mutex mutex_;
  std::uint64_t per_request_bytes_;
  std::uint64_t limit_bytes_;
  std::uint64_t leaked_bytes_ = 0;
  bool limit_reached_ = false;
  std::vector<std::unique_ptr<char[]>> chunks_;
};

}  // namespace strain::target
