#include "engine/runtime/system_limits.hpp"

#include <sys/resource.h>

#include <fstream>

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
                   ", which strain cannot raise); lower -c/--max-vus or raise the hard limit "
                   "(ulimit -Hn, /etc/security/limits.conf, LimitNOFILE=)");
}

std::uint64_t ephemeral_ports() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint64_t low = 0, high = 0;
  if (!(in >> low >> high) || high < low) return 0;
  return high - low + 1;
}

void require_ports(std::uint64_t connections, std::uint64_t ports) {
  if (ports == 0 || connections <= ports) return;
  throw UsageError("cannot open " + std::to_string(connections) +
                   " connections to one address: the kernel has " + std::to_string(ports) +
                   " local ports for outgoing connections (net.ipv4.ip_local_port_range); lower "
                   "-c/--max-vus or widen the range");
}

}  // namespace strain
