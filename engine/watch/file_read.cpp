#include "engine/watch/file_read.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace strain::watch {

FileText read_small_file(const std::string& path, std::size_t max_bytes) {
  FileText out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    out.error = errno;
    return out;
  }
  // Kernel files may hand back less than asked per read(); loop to EOF or the bound.
  char buf[4096];
  while (out.text.size() < max_bytes) {
    const std::size_t want = std::min(sizeof buf, max_bytes - out.text.size());
    const ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = errno;
      break;
    }
    if (n == 0) break;
    out.text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
    ++i;
  std::uint64_t v = 0;
  const char* first = text.data() + i;
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || ptr == first) return std::nullopt;
  return v;
}

std::optional<std::string_view> find_keyed_line(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        (line[key.size()] == ' ' || line[key.size()] == '\t' || line[key.size()] == ':')) {
      std::string_view rest = line.substr(key.size());
      if (rest.front() == ':') rest.remove_prefix(1);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
        rest.remove_prefix(1);
      return rest;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> count_dir_entries(const std::string& path, std::uint64_t max_entries,
                                               int* error) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    if (error != nullptr) *error = errno;
    return std::nullopt;
  }
  std::uint64_t n = 0;
  while (n < max_entries) {
    const dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    ++n;
  }
  ::closedir(dir);
  return n;
}

}  // namespace strain::watch
