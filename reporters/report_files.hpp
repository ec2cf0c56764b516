// Report files written whole or not at all.
#pragma once

#include <string>
#include <string_view>

namespace strain {

// Writes `content` to a temporary file beside `path` and renames it into place: a kill leaves
// the old file or the new one, never half of one. Returns an error message; empty on success.
std::string write_file_atomically(const std::string& path, std::string_view content);

// Whether a file can be written at `path` (its directory exists and takes a new file): tried
// by creating and removing a temporary file beside it, so an existing file is left alone.
// Returns an error message; empty when it can.
std::string check_writable(const std::string& path);

}  // namespace strain
