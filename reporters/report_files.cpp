#include "reporters/report_files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace strain {

namespace {

std::string temporary_name(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

std::string reason() {
  return std::strerror(errno);
}

}  // namespace

std::string write_file_atomically(const std::string& path, std::string_view content) {
  const std::string tmp = temporary_name(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return "cannot write '" + path + "': " + reason();
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const int saved_errno = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    errno = written ? errno : saved_errno;
    const std::string why = reason();
    std::remove(tmp.c_str());
    return "cannot write '" + path + "': " + why;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = reason();
    std::remove(tmp.c_str());
    return "cannot rename '" + tmp + "' to '" + path + "': " + why;
  }
  return {};
}

std::string check_writable(const std::string& path) {
  if (path.empty()) return "an empty file name";
  const std::string tmp = temporary_name(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return "cannot write '" + path + "': " + reason();
  std::fclose(f);
  std::remove(tmp.c_str());
  return {};
}

}  // namespace strain
