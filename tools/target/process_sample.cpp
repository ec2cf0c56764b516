#include "tools/target/process_sample.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <string>

namespace strain::target {
namespace {

// The whole of a small /proc file; empty if it cannot be read.
std::string read_small_file(const char* path) {
  std::string out;
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  std::fclose(f);
  return out;
}

bool take_field(std::string_view& text, std::uint64_t& value) {
  const auto start = text.find_first_not_of(' ');
  if (start == std::string_view::npos) return false;
  text.remove_prefix(start);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

bool skip_field(std::string_view& text) {
  const auto start = text.find_first_not_of(' ');
  if (start == std::string_view::npos) return false;
  const auto end = text.find(' ', start);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  return true;
}

std::optional<std::uint64_t> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  // The listing's own descriptor is in it; it is not one the server holds.
  const int own = ::dirfd(dir);
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    int fd = -1;
    const std::string_view name = e->d_name;
    std::from_chars(name.data(), name.data() + name.size(), fd);
    if (fd != own) ++n;
  }
  ::closedir(dir);
  return n;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid ...": comm is free text, so fields count from the last ')'.
  const auto paren = text.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  text.remove_prefix(paren + 1);
  ProcStat s;
  // Field 3 (state) is a letter; 4..13 are numbers not needed here.
  if (!skip_field(text)) return std::nullopt;
  for (int field = 4; field <= 13; ++field)
    if (!skip_field(text)) return std::nullopt;
  if (!take_field(text, s.utime_ticks) || !take_field(text, s.stime_ticks)) return std::nullopt;
  for (int field = 16; field <= 21; ++field)
    if (!skip_field(text)) return std::nullopt;
  if (!take_field(text, s.start_ticks) || !take_field(text, s.vsize_bytes) ||
      !take_field(text, s.rss_pages)) {
    return std::nullopt;
  }
  return s;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto eol = text.find('\n', at);
    auto line = text.substr(at, eol == std::string_view::npos ? text.npos : eol - at);
    if (line.substr(0, 6) == "btime ") {
      line.remove_prefix(6);
      std::uint64_t t = 0;
      if (take_field(line, t)) return t;
      return std::nullopt;
    }
    if (eol == std::string_view::npos) break;
    at = eol + 1;
  }
  return std::nullopt;
}

std::optional<ProcessSample> read_process_sample() {
  const auto stat = parse_proc_stat(read_small_file("/proc/self/stat"));
  const auto boot = parse_boot_time(read_small_file("/proc/stat"));
  const auto fds = count_open_fds();
  if (!stat || !boot || !fds) return std::nullopt;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const auto hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  ProcessSample s;
  s.resident_bytes = stat->rss_pages * page;
  s.virtual_bytes = stat->vsize_bytes;
  s.open_fds = *fds;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  s.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / hz;
  s.start_time_s = static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / hz;
  return s;
}

}  // namespace strain::target
