// Looking up a watcher's reading by resource name, for the watcher tests.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "engine/watch/watcher.hpp"

namespace strain::watch::test {

inline const Reading* find(const Sample& s, const std::string& resource) {
  for (const Reading& r : s.readings)
    if (r.resource == resource) return &r;
  return nullptr;
}

// The reading's value; fails the test when there is none.
inline double value(const Sample& s, const std::string& resource) {
  const Reading* r = find(s, resource);
  REQUIRE_MESSAGE(r != nullptr, "no reading " << resource);
  return r->value;
}

}  // namespace strain::watch::test
