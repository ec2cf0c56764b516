#include "engine/runtime/system_limits.hpp"

#include <sys/resource.h>

#include "engine/core/error.hpp"

namespace strain {

FdLimit raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return FdLimit{static_cast<std::uint64_t>(rl.rlim_cur), static_cast<std::uint64_t>(rl.rlim_max)};
}

void require_fds(std::uint64_t connections, const FdLimit& limit) {
  // Stdio, epoll sets, timers, signal pipes and output files need a few dozen beyond sockets.
  constexpr std::uint64_t reserve = 64;
  if (limit.soft == 0 || connections + reserve <= limit.soft) return;
  throw UsageError("cannot open " + std::to_string(connections) +
                   " connections: the open-file limit is " + std::to_string(limit.soft) +
                   " (hard limit " + std::to_string(limit.hard) +
                   ", which strain cannot raise); lower -c or raise the hard limit "
                   "(ulimit -Hn, /etc/security/limits.conf, LimitNOFILE=)");
}

}  // namespace strain
