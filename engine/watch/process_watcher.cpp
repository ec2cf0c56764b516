#include "engine/watch/process_watcher.hpp"

#include <dirent.h>

#include <tuple>

#include "engine/watch/file_read.hpp"

namespace strain::watch {
namespace {

// TASK_COMM_LEN is 16 with the terminating NUL: longer names are cut to 15 bytes in comm.
constexpr std::size_t comm_max = 15;

std::optional<std::int64_t> pid_of(const char* name) {
  std::int64_t pid = 0;
  for (const char* p = name; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9' || pid > 100'000'000) return std::nullopt;
    pid = pid * 10 + (*p - '0');
  }
  if (pid <= 0) return std::nullopt;
  return pid;
}

}  // namespace

ProcessScan::ProcessScan(std::string name, std::string proc_root)
    : name_(std::move(name)), proc_root_(std::move(proc_root)) {}

ProcessScan::~ProcessScan() {
  if (dir_ != nullptr) ::closedir(static_cast<DIR*>(dir_));
}

bool ProcessScan::step(std::size_t max_entries) {
  if (finished_) {
    best_.reset();
    finished_ = false;
  }
  if (dir_ == nullptr) {
    dir_ = ::opendir(proc_root_.c_str());
    if (dir_ == nullptr) {
      finished_ = true;
      return true;
    }
  }
  // /proc's directory offsets are pids, so a scan resumed a second later continues where it
  // stopped; processes started meanwhile below that point are seen by the next scan.
  for (std::size_t n = 0; n < max_entries; ++n) {
    const dirent* e = ::readdir(static_cast<DIR*>(dir_));
    if (e == nullptr) {
      ::closedir(static_cast<DIR*>(dir_));
      dir_ = nullptr;
      finished_ = true;
      return true;
    }
    if (const auto pid = pid_of(e->d_name)) consider(*pid);
  }
  return false;
}

void ProcessScan::consider(std::int64_t pid) {
  const std::string dir = proc_root_ + "/" + std::to_string(pid) + "/";
  FileText comm = read_small_file(dir + "comm", 64);
  if (comm.error != 0) return;
  if (!comm.text.empty() && comm.text.back() == '\n') comm.text.pop_back();
  bool match = comm.text == name_;
  // cmdline is read only where comm may be a truncation of the name: reading it takes the
  // target's mmap lock, and a process stuck in D state would stall the sampler on every pid.
  if (!match && name_.size() > comm_max && comm.text == name_.substr(0, comm_max)) {
    const FileText cmdline = read_small_file(dir + "cmdline", 4096);
    if (cmdline.error != 0) return;
    const std::string argv0 = cmdline.text.substr(0, cmdline.text.find('\0'));
    const std::size_t slash = argv0.rfind('/');
    match = (slash == std::string::npos ? argv0 : argv0.substr(slash + 1)) == name_;
  }
  if (!match) return;
  const auto st = read_proc_stat(proc_root_, pid);
  if (!st || st->state == 'Z' || st->state == 'X') return;
  const ProcIdentity id{pid, st->start_ticks};
  if (!best_ || std::tie(id.start_ticks, id.pid) < std::tie(best_->start_ticks, best_->pid))
    best_ = id;
}

ProcessWatcher::ProcessWatcher(std::string name, std::string component, std::string proc_root,
                               std::size_t max_scan_entries)
    : name_(std::move(name)),
      component_(std::move(component)),
      proc_root_(std::move(proc_root)),
      max_scan_entries_(max_scan_entries == 0 ? 1 : max_scan_entries),
      scan_(name_, proc_root_) {
  while (!scan_.step(max_scan_entries_)) {
  }
  if (scan_.result()) adopt(*scan_.result());
}

void ProcessWatcher::adopt(const ProcIdentity& id) {
  current_ = std::make_unique<ProcWatcher>(id, component_, source_, proc_root_);
  announce_ = last_ && (last_->pid != id.pid || last_->start_ticks != id.start_ticks);
}

std::optional<Sample> ProcessWatcher::read_current() {
  Sample s = current_->sample();
  if (s.readings.empty()) return std::nullopt;
  if (announce_) s.restarted_pid = current_->identity().pid;
  announce_ = false;
  return s;
}

Sample ProcessWatcher::sample() {
  if (current_) {
    if (auto s = read_current()) return std::move(*s);
    last_ = current_->identity();
    current_.reset();
  }
  if (scan_.step(max_scan_entries_) && scan_.result()) {
    adopt(*scan_.result());
    if (auto s = read_current()) return std::move(*s);
    current_.reset();  // gone as soon as found: keep looking
  }
  Sample gap;
  gap.gap_reason = "no process named " + name_;
  return gap;
}

std::vector<Limit> ProcessWatcher::limits() {
  return current_ ? current_->limits() : std::vector<Limit>{};
}

std::optional<ProcIdentity> ProcessWatcher::tracked() const {
  if (!current_) return std::nullopt;
  return current_->identity();
}

}  // namespace strain::watch
