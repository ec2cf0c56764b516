// Starts strain-target as a child process on 127.0.0.1 for `strain demo`, and stops it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strain {

class TargetProcess {
 public:
  // Finds strain-target beside this executable (or on PATH), starts it on an ephemeral
  // loopback port, and waits up to `timeout` for its "listening" line. Throws strain::Error.
  TargetProcess(const std::vector<std::string>& extra_args, std::chrono::milliseconds timeout);
  ~TargetProcess();
  TargetProcess(const TargetProcess&) = delete;
  TargetProcess& operator=(const TargetProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // SIGTERM, then the count it printed on exit ("served=N"); SIGKILL after `timeout`.
  std::optional<std::uint64_t> stop(std::chrono::milliseconds timeout);

 private:
  std::string read_line(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::uint16_t port_ = 0;
  std::string pending_;
};

}  // namespace strain
