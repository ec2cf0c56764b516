#include "engine/watch/proc_watcher.hpp"

#include <unistd.h>

#include <cerrno>

#include "engine/core/error.hpp"
#include "engine/watch/file_read.hpp"

namespace strain::watch {
namespace {

// RLIMIT_NOFILE cannot exceed fs.nr_open (at most 2^30); counting stops well short of that so a
// process with a runaway descriptor count still samples in bounded time, as a lower bound.
constexpr std::uint64_t max_fds_counted = std::uint64_t{1} << 22;

bool exited(const std::optional<ProcStat>& stat, const ProcIdentity& id) {
  return !stat || stat->start_ticks != id.start_ticks || stat->state == 'Z' || stat->state == 'X';
}

double ticks_per_second() {
  static const long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? static_cast<double>(hz) : 100.0;
}

// Resident bytes from statm ("size resident shared text lib data dt", in pages); with
// `private_only`, resident less shared: the anonymous pages the process holds, without the
// file-backed ones (code and mapped files, paged in as first used and bounded by their size).
std::optional<double> rss_bytes(const std::string& dir, bool private_only) {
  static const long page = ::sysconf(_SC_PAGESIZE);
  const FileText statm = read_small_file(dir + "statm", 1024);
  if (statm.error == 0) {
    std::optional<std::uint64_t> resident;
    std::optional<std::uint64_t> shared;
    int i = 0;
    for_each_field(statm.text, [&](std::string_view f) {
      if (i == 1) resident = parse_u64(f);
      if (i == 2) shared = parse_u64(f);
      return ++i < 3;
    });
    if (resident && page > 0) {
      std::uint64_t pages = *resident;
      if (private_only && shared) pages = pages > *shared ? pages - *shared : 0;
      return static_cast<double>(pages) * static_cast<double>(page);
    }
  }
  if (private_only) return std::nullopt;  // status's VmRSS has no private share to fall back on
  const FileText status = read_small_file(dir + "status");
  if (status.error != 0) return std::nullopt;
  const auto line = find_keyed_line(status.text, "VmRSS");
  if (!line) return std::nullopt;
  const auto kib = parse_u64(*line);
  if (!kib) return std::nullopt;
  return static_cast<double>(*kib) * 1024.0;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid ...": comm is whatever the process named itself, spaces and ')'
  // included, so only the last ')' reliably ends it.
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  ProcStat st;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  int field = 3;  // the first field after comm is field 3 (state)
  bool ok = true;
  auto number = [&ok](std::string_view f, std::uint64_t& out) {
    const auto v = parse_u64(f);
    ok = ok && v.has_value();
    out = v.value_or(0);
  };
  for_each_field(text.substr(close + 1), [&](std::string_view f) {
    if (field == 3) st.state = f.front();
    if (field == 14) number(f, st.utime_ticks);
    if (field == 15) number(f, st.stime_ticks);
    if (field == 20) number(f, st.threads);
    if (field == 22) number(f, st.start_ticks);
    return ++field <= 22;
  });
  if (!ok || field <= 22) return std::nullopt;
  return st;
}

std::optional<ProcStat> read_proc_stat(const std::string& proc_root, std::int64_t pid) {
  const FileText f = read_small_file(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (f.error != 0) return std::nullopt;
  return parse_proc_stat(f.text);
}

ProcWatcher::ProcWatcher(std::int64_t pid, std::string component, std::string source,
                         std::string proc_root)
    : ProcWatcher(ProcIdentity{pid, 0}, std::move(component), std::move(source),
                  std::move(proc_root)) {
  const auto st = read_proc_stat(proc_root_, pid);
  if (!st || st->state == 'Z' || st->state == 'X') throw UsageError("no such process");
  id_.start_ticks = st->start_ticks;
}

ProcWatcher::ProcWatcher(ProcIdentity id, std::string component, std::string source,
                         std::string proc_root)
    : id_(id),
      component_(std::move(component)),
      source_(std::move(source)),
      proc_root_(std::move(proc_root)),
      dir_(proc_root_ + "/" + std::to_string(id.pid) + "/"),
      counts_itself_(proc_root_ == "/proc" && id.pid == ::getpid()) {}

std::string ProcWatcher::path(std::string_view file) const {
  return dir_ + std::string(file);
}

Sample ProcWatcher::sample() {
  Sample s;
  const std::string gone = "pid " + std::to_string(id_.pid) + " exited";
  const auto st = read_proc_stat(proc_root_, id_.pid);
  if (exited(st, id_)) {
    s.gap_reason = gone;
    return s;
  }
  if (const auto rss = rss_bytes(dir_, private_rss_))
    s.readings.push_back({"rss", "bytes", Kind::gauge, *rss});
  if (auto fds = count_dir_entries(path("fd"), max_fds_counted)) {
    // Listing our own fd/ holds one descriptor open for the listing itself.
    if (counts_itself_ && *fds > 0) --*fds;
    s.readings.push_back({"fds", "count", Kind::gauge, static_cast<double>(*fds)});
  }
  s.readings.push_back({"threads", "count", Kind::gauge, static_cast<double>(st->threads)});
  const double cpu = static_cast<double>(st->utime_ticks + st->stime_ticks) / ticks_per_second();
  s.readings.push_back({"cpu", "seconds", Kind::counter, cpu});

  // Another user's process hides its io (EACCES), and kernels without task I/O accounting have
  // no io file: both leave the two readings out, which is not a gap.
  const FileText io = read_small_file(path("io"));
  if (io.error == 0) {
    const auto rb = find_keyed_line(io.text, "read_bytes");
    const auto wb = find_keyed_line(io.text, "write_bytes");
    const auto r = rb ? parse_u64(*rb) : std::nullopt;
    const auto w = wb ? parse_u64(*wb) : std::nullopt;
    if (r) s.readings.push_back({"read_bytes", "bytes", Kind::counter, static_cast<double>(*r)});
    if (w) s.readings.push_back({"write_bytes", "bytes", Kind::counter, static_cast<double>(*w)});
  }

  // The process may have exited while the files were read: what was read may be a stranger's.
  if (exited(read_proc_stat(proc_root_, id_.pid), id_)) {
    s.readings.clear();
    s.gap_reason = gone;
  }
  return s;
}

std::vector<Limit> ProcWatcher::limits() {
  std::vector<Limit> out;
  const FileText f = read_small_file(path("limits"));
  if (f.error == 0) {
    const auto line = find_keyed_line(f.text, "Max open files");
    const auto soft = line ? parse_u64(*line) : std::nullopt;  // "unlimited": no limit
    if (soft) out.push_back(Limit{"fds", static_cast<double>(*soft), "RLIMIT_NOFILE"});
  }
  // The cores its CPU time can come from (taskset, cpusets): what "CPU-bound" is measured
  // against. A cgroup's cpu.max quota may be lower; --watch-cgroup reads that.
  const FileText status = read_small_file(path("status"));
  if (status.error == 0) {
    if (const auto list = find_keyed_line(status.text, "Cpus_allowed_list")) {
      if (const auto n = count_cpu_list(*list); n > 0)
        out.push_back(Limit{"cpu", static_cast<double>(n), "Cpus_allowed_list"});
    }
  }
  return out;
}

std::size_t count_cpu_list(std::string_view list) {
  std::size_t n = 0;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\n'))
      item.remove_suffix(1);
    if (item.empty()) continue;
    const std::size_t dash = item.find('-');
    const auto lo = parse_u64(item.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : parse_u64(item.substr(dash + 1));
    if (!lo || !hi || *hi < *lo) return 0;  // not a list we understand: no limit
    n += static_cast<std::size_t>(*hi - *lo + 1);
  }
  return n;
}

}  // namespace strain::watch
