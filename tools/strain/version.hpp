// What `strain --version` says: the release number and the commit it was built from.
#pragma once

#include <string>
#include <string_view>

namespace strain {

std::string_view version_number();  // "0.1.0", the project's VERSION
std::string_view version_commit();  // 12 hex digits, "-modified" for a changed tree, or "unknown"

// "strain 0.1.0 (commit 509c812a1b2c)"
inline std::string version_line() {
  return "strain " + std::string(version_number()) + " (commit " + std::string(version_commit()) +
         ")";
}

}  // namespace strain
