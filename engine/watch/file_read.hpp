// Bounded reads of the small files /proc and cgroupfs expose: one read loop, no streams, no throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strain::watch {

// A file's text, or the errno that stopped the read (ENOENT, EACCES, ESRCH...).
struct FileText {
  std::string text;  // at most the max_bytes asked for
  int error = 0;     // 0 when read
};

// Reads at most `max_bytes` of `path`. Never throws except std::bad_alloc.
FileText read_small_file(const std::string& path, std::size_t max_bytes = 64 * 1024);

// The first unsigned integer of `text` after optional blanks; nullopt when there is none.
std::optional<std::uint64_t> parse_u64(std::string_view text);

// The whitespace-separated fields of `text`, as views into it.
template <typename Fn>
void for_each_field(std::string_view text, Fn&& fn) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
      ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\n')
      ++j;
    if (j > i && !fn(text.substr(i, j - i))) return;
    i = j;
  }
}

// The value of the line "key<sep>value" (as in /proc/PID/status, cpu.stat); nullopt if absent.
std::optional<std::string_view> find_keyed_line(std::string_view text, std::string_view key);

// Counts the entries of a directory (not "." and ".."), stopping at `max_entries`.
// nullopt with `error` set when it cannot be opened.
std::optional<std::uint64_t> count_dir_entries(const std::string& path, std::uint64_t max_entries,
                                               int* error = nullptr);

}  // namespace strain::watch
