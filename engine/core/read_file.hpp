// Reading a whole file a user named (a data file, a saved result) without trusting it: bounded
// in size, and never blocking on a FIFO or a device.
#pragma once

#include <cstdint>
#include <string>

namespace strain {

// The whole of a regular file of at most `max_bytes`. Opens without blocking (a FIFO returns at
// once and is refused), refuses anything but a regular file, and stops reading past the limit
// even when the file grows while it is read. Throws UsageError "<path>: <reason>" when it is
// missing, not a regular file, unreadable or too big.
std::string read_regular_file(const std::string& path, std::uint64_t max_bytes);

}  // namespace strain
