#include "tools/target/fd_leak.hpp"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <limits>

namespace strain::target {

FdLeak::FdLeak(std::uint64_t every, std::uint64_t limit, std::uint64_t ceiling)
    : every_(every), limit_(limit), ceiling_(ceiling) {}

FdLeak::~FdLeak() {
  for (const int fd : fds_)
    ::close(fd);
}

bool FdLeak::on_served() {
  const auto n = served_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n % every_ != 0 || stopped_.load(std::memory_order_relaxed)) return false;
  const std::lock_guard lock(mutex_);
  if (stopped_.load(std::memory_order_relaxed)) return false;
  if (fds_.size() < limit_) {
    const int fd = ::eventfd(0, EFD_CLOEXEC);
    // Descriptors are handed out lowest first: one at the ceiling means nearly every number
    // below the soft limit is taken, and the next accept would be the one to fail.
    if (fd >= 0 && static_cast<std::uint64_t>(fd) < ceiling_) {
      fds_.push_back(fd);
      held_.store(fds_.size(), std::memory_order_relaxed);
      return false;
    }
    if (fd >= 0) ::close(fd);
  }
  stopped_.store(true, std::memory_order_relaxed);
  return true;
}

std::uint64_t fd_ceiling() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  const auto soft = static_cast<std::uint64_t>(limit.rlim_cur);
  return soft > FdLeak::kHeadroom ? soft - FdLeak::kHeadroom : 0;
}

}  // namespace strain::target
