#include "engine/core/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "engine/core/error.hpp"

namespace strain {
namespace {

[[noreturn]] void fail_file(const std::string& path, const std::string& what) {
  throw UsageError(path + ": " + what);
}

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { ::close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string read_regular_file(const std::string& path, std::uint64_t max_bytes) {
  // O_NONBLOCK so that opening a FIFO returns at once; fstat then rejects it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail_file(path, "cannot open: " + errno_text(errno));
  const FileDescriptor file(fd);
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) fail_file(path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(status.st_mode)) fail_file(path, "not a regular file");
  const auto size = static_cast<std::uint64_t>(status.st_size);
  const std::string limit = "more than the limit of " + std::to_string(max_bytes) + " bytes";
  if (size > max_bytes) fail_file(path, std::to_string(size) + " bytes, " + limit);

  // One byte of slack shows whether the file grew past its stat size; /proc files report 0.
  std::string data(static_cast<std::size_t>(size) + 1, '\0');
  std::size_t used = 0;
  while (true) {
    if (used == data.size()) {
      if (used > max_bytes) fail_file(path, "grew to " + limit);
      data.resize(std::max<std::size_t>(data.size() * 2, 4096));
    }
    const ssize_t n = ::read(file.get(), data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_file(path, "cannot read: " + errno_text(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_bytes) fail_file(path, "grew to " + limit);
  data.resize(used);
  return data;
}

}  // namespace strain
