// Process limits strain adjusts before a run: the open-file limit that caps connections.
#pragma once

#include <cstdint>
#include <string>

namespace strain {

struct FdLimit {
  std::uint64_t soft = 0;  // limit in force after raising
  std::uint64_t hard = 0;  // ceiling set by the administrator
};

// Raises the soft RLIMIT_NOFILE to the hard limit (where allowed) and returns both.
FdLimit raise_fd_limit();

// Throws UsageError with advice when `connections` (plus strain's own descriptors) cannot fit.
void require_fds(std::uint64_t connections, const FdLimit& limit);

// Local ports the kernel hands out for outgoing connections (net.ipv4.ip_local_port_range);
// 0 when it cannot be read.
std::uint64_t ephemeral_ports();

// Throws UsageError with advice when `connections` to one address and port cannot each get a
// local port of their own (`ports` as from ephemeral_ports(); 0 skips the check).
void require_ports(std::uint64_t connections, std::uint64_t ports);

}  // namespace strain
