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

}  // namespace strain
