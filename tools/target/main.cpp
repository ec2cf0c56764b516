// strain-target: a fast, configurable HTTP/1.1 test server on loopback, for strain's tests and
// demo.
#include <sys/resource.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>

#include "engine/core/error.hpp"
#include "tools/target/options.hpp"
#include "tools/target/server.hpp"
#include "tools/target/stats.hpp"

namespace {

// Every connection is a descriptor: take all the soft limit the hard limit allows, then keep
// the connection cap below it, so that a connection over the cap can still be accepted and
// closed cleanly instead of failing accept() with EMFILE.
std::uint32_t raise_fd_limit(std::uint32_t max_connections, bool explicit_cap) {
  constexpr std::uint64_t kSpareDescriptors = 64;  // listener, epoll, timers, stdio, accept
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return max_connections;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= max_connections + kSpareDescriptors) {
    return max_connections;
  }
  const auto cap = static_cast<std::uint32_t>(
      limit.rlim_cur > 2 * kSpareDescriptors ? limit.rlim_cur - kSpareDescriptors : 64);
  if (explicit_cap) {
    std::fprintf(stderr,
                 "strain-target: warning: the open-file limit is %llu; serving at most %u "
                 "connections, not %u\n",
                 static_cast<unsigned long long>(limit.rlim_cur), cap, max_connections);
  }
  return cap;
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that went away must not kill us while we print the final count.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    auto options = strain::target::parse_options(argc, argv, std::cout);
    if (!options) return 0;
    options->max_connections =
        raise_fd_limit(options->max_connections,
                       options->max_connections != strain::target::TargetOptions{}.max_connections);
    strain::target::Server server(*options);
    std::printf("strain-target listening on %s\n", server.url().c_str());
    std::fflush(stdout);
    const auto stats = server.run();
    if (const auto& st = stats.stalls) {
      // The truth for a test: windows in ms since the server started, and that start's wall time.
      std::printf("strain-target stall_clock start_epoch_ms=%llu every_ms=%llu for_ms=%llu\n",
                  static_cast<unsigned long long>(st->start_epoch_ms),
                  static_cast<unsigned long long>(st->every_ms),
                  static_cast<unsigned long long>(st->for_ms));
      for (const auto& [from, to] : st->windows) {
        std::printf("strain-target stall start_ms=%llu end_ms=%llu\n",
                    static_cast<unsigned long long>(from), static_cast<unsigned long long>(to));
      }
    }
    std::printf("%s\n", strain::target::format_stats_line(stats).c_str());
    if (const auto& ph = stats.phases) {
      // After the count line, so a reader of its first "served=" still finds the total.
      std::printf("strain-target phase_clock start_epoch_ms=%llu cycle_ms=%llu\n",
                  static_cast<unsigned long long>(ph->start_epoch_ms),
                  static_cast<unsigned long long>(ph->cycle_ms));
      for (std::size_t i = 0; i < ph->list.size(); ++i)
        std::printf("%s\n", strain::target::format_phase_line(*ph, i).c_str());
    }
    std::fflush(stdout);
    return 0;
  } catch (const strain::Error& e) {
    std::fprintf(stderr, "strain-target: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strain-target: %s\n", e.what());
    return static_cast<int>(strain::ExitCode::run_failed);
  }
}
