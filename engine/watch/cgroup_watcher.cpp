#include "engine/watch/cgroup_watcher.hpp"

#include <sys/stat.h>

#include "engine/core/error.hpp"
#include "engine/watch/file_read.hpp"
#include "engine/watch/proc_watcher.hpp"

namespace strain::watch {
namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string joined(const std::string& root, const std::string& path) {
  std::string out = root;
  while (!out.empty() && out.back() == '/')
    out.pop_back();
  if (!path.empty() && path.front() != '/') out += '/';
  return out + path;
}

std::optional<std::uint64_t> read_u64(const std::string& file) {
  const FileText f = read_small_file(file, 256);
  if (f.error != 0) return std::nullopt;
  return parse_u64(f.text);
}

// "max" (no limit) does not parse as a number: no Limit.
void add_limit(std::vector<Limit>& out, const std::string& file, const char* resource,
               const char* source) {
  if (const auto v = read_u64(file)) out.push_back({resource, static_cast<double>(*v), source});
}

// The cores the cgroup's processes may use at once: cpu.max's quota over its period ("200000
// 100000" is 2 cores), else (quota "max", or no cpu controller) the CPUs of its cpuset.
void add_cpu_limit(std::vector<Limit>& out, const std::string& dir) {
  const FileText max = read_small_file(dir + "/cpu.max", 256);
  if (max.error == 0) {
    std::optional<std::uint64_t> quota, period;
    int field = 0;
    for_each_field(max.text, [&](std::string_view f) {
      (field == 0 ? quota : period) = parse_u64(f);  // "max" does not parse: no quota
      return ++field < 2;
    });
    if (quota && period && *period > 0) {
      out.push_back({"cpu", static_cast<double>(*quota) / static_cast<double>(*period), "cpu.max"});
      return;
    }
  }
  const FileText cpus = read_small_file(dir + "/cpuset.cpus.effective", 4096);
  if (cpus.error != 0) return;
  if (const std::size_t n = count_cpu_list(cpus.text); n > 0)
    out.push_back({"cpu", static_cast<double>(n), "cpuset.cpus.effective"});
}

// io.stat: one line per device, "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6".
void sum_io(std::string_view text, std::uint64_t& rbytes, std::uint64_t& wbytes) {
  for_each_field(text, [&](std::string_view f) {
    if (f.substr(0, 7) == "rbytes=") rbytes += parse_u64(f.substr(7)).value_or(0);
    if (f.substr(0, 7) == "wbytes=") wbytes += parse_u64(f.substr(7)).value_or(0);
    return true;
  });
}

}  // namespace

CgroupWatcher::CgroupWatcher(const std::string& path, std::string component,
                             const std::string& cgroup_root)
    : component_(std::move(component)) {
  if (!path.empty() && path.front() == '/' && is_directory(path)) {
    dir_ = path;
  } else {
    dir_ = joined(cgroup_root, path);
    if (!is_directory(dir_)) throw UsageError("no cgroup directory " + dir_);
  }
  while (dir_.size() > 1 && dir_.back() == '/')
    dir_.pop_back();
  if (read_small_file(dir_ + "/cgroup.controllers", 4096).error != 0)
    throw UsageError(dir_ + " is not a cgroup v2 directory (no cgroup.controllers)");
}

Sample CgroupWatcher::sample() {
  Sample s;
  if (const auto v = read_u64(dir_ + "/memory.current"))
    s.readings.push_back({"memory.current", "bytes", Kind::gauge, static_cast<double>(*v)});
  if (const auto v = read_u64(dir_ + "/pids.current"))
    s.readings.push_back({"pids.current", "count", Kind::gauge, static_cast<double>(*v)});
  const FileText cpu = read_small_file(dir_ + "/cpu.stat");
  if (cpu.error == 0) {
    const auto line = find_keyed_line(cpu.text, "usage_usec");
    if (const auto usec = line ? parse_u64(*line) : std::nullopt)
      s.readings.push_back({"cpu", "seconds", Kind::counter, static_cast<double>(*usec) / 1e6});
  }
  // One line per device: a host with many disks still fits well within 256 KiB.
  const FileText io = read_small_file(dir_ + "/io.stat", 256 * 1024);
  if (io.error == 0) {
    std::uint64_t rbytes = 0, wbytes = 0;
    sum_io(io.text, rbytes, wbytes);
    s.readings.push_back({"read_bytes", "bytes", Kind::counter, static_cast<double>(rbytes)});
    s.readings.push_back({"write_bytes", "bytes", Kind::counter, static_cast<double>(wbytes)});
  }
  // A cgroup removed while its files were read leaves some readings: none of them count.
  if (!is_directory(dir_)) {
    s.readings.clear();
    s.gap_reason = "cgroup " + dir_ + " is gone";
  } else if (s.readings.empty()) {
    s.gap_reason = "nothing readable in cgroup " + dir_;
  }
  return s;
}

std::vector<Limit> CgroupWatcher::limits() {
  std::vector<Limit> out;
  add_limit(out, dir_ + "/memory.max", "memory.current", "memory.max");
  add_limit(out, dir_ + "/pids.max", "pids.current", "pids.max");
  add_cpu_limit(out, dir_);
  return out;
}

}  // namespace strain::watch
