// --fd-leak N: one descriptor kept open per N served requests, up to a limit.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace strain::target {

// Server-wide, any thread: an atomic count per request, a mutex only every Nth. The descriptors
// are eventfds (no file system involved), closed when the FdLeak is destroyed.
class FdLeak {
 public:
  // Below this many descriptors of the open-file limit the leak stops, so connections can still
  // be accepted and answered.
  static constexpr std::uint64_t kHeadroom = 64;

  // Keeps one per `every` served requests, at most `limit` of them, and never one numbered
  // `ceiling` or above (the open-file soft limit less kHeadroom; see fd_ceiling()).
  FdLeak(std::uint64_t every, std::uint64_t limit, std::uint64_t ceiling);
  ~FdLeak();
  FdLeak(const FdLeak&) = delete;
  FdLeak& operator=(const FdLeak&) = delete;

  // Counts one served request; every Nth opens one more. Returns true the first time the leak
  // stops growing (the limit, the ceiling, or no descriptor to be had).
  bool on_served();
  // Descriptors held now.
  std::uint64_t leaked_fds() const noexcept { return held_.load(std::memory_order_relaxed); }
  bool limit_reached() const noexcept { return stopped_.load(std::memory_order_relaxed); }
  std::uint64_t limit() const noexcept { return limit_; }

 private:
  std::uint64_t every_;
  std::uint64_t limit_;
  std::uint64_t ceiling_;
  std::atomic<std::uint64_t> served_{0};
  std::atomic<std::uint64_t> held_{0};
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::vector<int> fds_;
};

// The open-file soft limit (RLIMIT_NOFILE) less FdLeak::kHeadroom, as of now.
std::uint64_t fd_ceiling();

}  // namespace strain::target
