#include "tools/strain/target_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"

extern char** environ;

namespace strain {
namespace {

std::string find_target_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate : {self.parent_path() / "strain-target",
                                  self.parent_path().parent_path() / "target" / "strain-target"}) {
      if (std::filesystem::exists(candidate, ec)) return candidate.string();
    }
  }
  return "strain-target";  // resolved on PATH by posix_spawnp
}

}  // namespace

TargetProcess::TargetProcess(const std::vector<std::string>& extra_args,
                             std::chrono::milliseconds timeout) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error("demo: cannot create a pipe");
  const std::string binary = find_target_binary();
  std::vector<std::string> args = {binary, "--host", "127.0.0.1", "--port", "0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  const int rc = ::posix_spawnp(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  out_fd_ = pipe_fds[0];
  if (rc != 0) {
    pid_ = -1;
    throw Error("demo: cannot start " + binary + ": " + std::strerror(rc) +
                " (build it: cmake --build --preset release)");
  }
  const std::string line = read_line(timeout);
  const auto colon = line.rfind(':');
  if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
    stop(std::chrono::milliseconds(1000));
    throw Error("demo: strain-target did not start (it said: '" + line + "')");
  }
  port_ = static_cast<std::uint16_t>(std::strtoul(line.c_str() + colon + 1, nullptr, 10));
}

TargetProcess::~TargetProcess() {
  if (pid_ > 0) stop(std::chrono::milliseconds(2000));
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::string TargetProcess::read_line(std::chrono::milliseconds timeout) {
  const std::int64_t deadline = now_ns() + timeout.count() * 1'000'000;
  for (;;) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const std::int64_t left_ms = (deadline - now_ns()) / 1'000'000;
    if (left_ms <= 0 || pending_.size() > 4096) return pending_;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left_ms)) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return std::exchange(pending_, {});
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<std::uint64_t> TargetProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, SIGTERM);
  std::optional<std::uint64_t> served;
  // The exit line may follow others (stall windows with --stall-every): read a bounded number.
  for (int lines = 0; lines < 1000 && !served; ++lines) {
    const std::string line = read_line(timeout);
    if (line.empty()) break;
    if (auto at = line.find("served="); at != std::string::npos) {
      served = std::strtoull(line.c_str() + at + 7, nullptr, 10);
    }
  }
  const std::int64_t deadline = now_ns() + timeout.count() * 1'000'000;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (now_ns() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return served;
}

}  // namespace strain
