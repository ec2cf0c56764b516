#include "engine/watch/path_watcher.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "engine/core/error.hpp"

namespace strain::watch {
namespace {

struct Walk {
  std::uint64_t entries = 0;  // every entry seen, of any type
  std::uint64_t files = 0;    // regular files
  std::uint64_t bytes = 0;    // their st_size, summed
};

}  // namespace

PathWatcher::PathWatcher(std::string dir, std::string component, std::uint64_t max_entries,
                         std::chrono::milliseconds budget)
    : dir_(std::move(dir)),
      component_(std::move(component)),
      max_entries_(max_entries),
      budget_(budget) {
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) throw UsageError(std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw UsageError("not a directory");
}

Sample PathWatcher::sample() {
  Sample s;
  const auto deadline = std::chrono::steady_clock::now() + budget_;
  const int root = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    s.gap_reason = errno == ENOENT ? dir_ + " is gone" : dir_ + ": " + std::strerror(errno);
    return s;
  }
  // Directories still to read, relative to the root; one descriptor open at a time, so a deep
  // tree costs memory (bounded by the entry bound), never descriptors.
  std::vector<std::string> pending{"."};
  Walk w;
  while (!pending.empty() && s.gap_reason.empty()) {
    const std::string rel = std::move(pending.back());
    pending.pop_back();
    const int fd = ::openat(root, rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;  // unreadable, or replaced since it was listed: skipped
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      continue;
    }
    while (const dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (++w.entries > max_entries_) {
        s.gap_reason = "more than " + std::to_string(max_entries_) + " entries under " + dir_;
        break;
      }
      if ((w.entries & 255) == 0 && std::chrono::steady_clock::now() > deadline) {
        s.gap_reason =
            "walking " + dir_ + " took more than " + std::to_string(budget_.count()) + " ms";
        break;
      }
      unsigned char type = e->d_type;
      struct stat st {};
      if (type == DT_UNKNOWN || type == DT_REG) {
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
      }
      if (type == DT_REG) {
        ++w.files;
        w.bytes += static_cast<std::uint64_t>(st.st_size);
      } else if (type == DT_DIR) {
        pending.push_back(rel + "/" + e->d_name);
      }
    }
    ::closedir(d);
  }
  ::close(root);
  if (!s.gap_reason.empty()) return s;
  s.readings.push_back({"disk_bytes", "bytes", Kind::gauge, static_cast<double>(w.bytes)});
  s.readings.push_back({"files", "count", Kind::gauge, static_cast<double>(w.files)});
  return s;
}

}  // namespace strain::watch
