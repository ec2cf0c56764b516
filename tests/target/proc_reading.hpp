// Test-side reads of /proc/self, independent of tools/target/process_sample.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>

namespace strain::target::testing {

// Resident bytes from /proc/self/statm (the second field, in pages).
inline std::uint64_t statm_resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0;
  std::uint64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Entries of /proc/self/fd, less the one listing them.
inline std::uint64_t open_fd_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;
}

}  // namespace strain::target::testing
