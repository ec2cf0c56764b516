// A temporary directory tree for watcher tests: fake /proc and cgroup trees, walked directories.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace strain::watch::test {

struct TempTree {
  std::filesystem::path path;

  TempTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strain-watch-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  std::string str() const { return path.string(); }
  std::string at(const std::string& rel) const { return (path / rel).string(); }

  // Writes `bytes` to `rel`, creating parent directories.
  std::string write(const std::string& rel, std::string_view bytes) const {
    const std::filesystem::path file = path / rel;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file.string();
  }
  std::string mkdir(const std::string& rel) const {
    std::filesystem::create_directories(path / rel);
    return at(rel);
  }
  void symlink(const std::string& target, const std::string& rel) const {
    std::filesystem::create_directories((path / rel).parent_path());
    REQUIRE(::symlink(target.c_str(), at(rel).c_str()) == 0);
  }
  void remove(const std::string& rel) const { std::filesystem::remove_all(path / rel); }
};

// The process a fake /proc/PID describes.
struct FakeProcess {
  std::int64_t pid = 1234;
  std::string comm = "a b) c";
  char state = 'S';
  std::uint64_t utime = 250;  // ticks
  std::uint64_t stime = 50;   // ticks
  std::uint64_t threads = 7;
  std::uint64_t start = 98765;  // ticks after boot
  std::uint64_t rss_pages = 3000;
  int fds = 5;
  std::string cmdline;  // argv joined with NULs; empty for none
};

// A line of /proc/PID/stat as the kernel writes it (52 fields).
inline std::string stat_line(const FakeProcess& p) {
  std::string s = std::to_string(p.pid) + " (" + p.comm + ") " + p.state +
                  " 1 1234 1234 0 -1 4194560 1000 0 0 0 " + std::to_string(p.utime) + " " +
                  std::to_string(p.stime) + " 0 0 20 0 " + std::to_string(p.threads) + " 0 " +
                  std::to_string(p.start) + " 123456789 " + std::to_string(p.rss_pages) +
                  " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
  return s;
}

// Writes ROOT/PID/{stat,statm,status,comm,cmdline,limits,io,fd/}.
inline void write_fake_process(const TempTree& root, const FakeProcess& p) {
  const std::string dir = std::to_string(p.pid) + "/";
  root.write(dir + "stat", stat_line(p));
  root.write(dir + "statm", "50000 " + std::to_string(p.rss_pages) + " 800 100 0 9000 0\n");
  root.write(dir + "status", "Name:\t" + p.comm + "\nState:\tS (sleeping)\nVmRSS:\t   " +
                                 std::to_string(p.rss_pages * 4) + " kB\nThreads:\t" +
                                 std::to_string(p.threads) + "\n");
  std::string comm = p.comm.substr(0, 15);
  root.write(dir + "comm", comm + "\n");
  root.write(dir + "cmdline", p.cmdline);
  root.write(dir + "limits",
             "Limit                     Soft Limit           Hard Limit           Units     \n"
             "Max cpu time              unlimited            unlimited            seconds   \n"
             "Max open files            1024                 524288               files     \n"
             "Max processes             63536                63536                processes \n");
  root.write(dir + "io",
             "rchar: 111\nwchar: 222\nsyscr: 3\nsyscw: 4\nread_bytes: 40960\nwrite_bytes: "
             "8192\ncancelled_write_bytes: 4096\n");
  root.remove(dir + "fd");
  root.mkdir(dir + "fd");
  for (int i = 0; i < p.fds; ++i)
    root.symlink("/dev/null", dir + "fd/" + std::to_string(i));
}

}  // namespace strain::watch::test
