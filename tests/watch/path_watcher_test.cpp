#include "engine/watch/path_watcher.hpp"

#include <doctest/doctest.h>

#include <filesystem>

#include "engine/core/error.hpp"
#include "tests/watch/readings.hpp"
#include "tests/watch/temp_tree.hpp"

using namespace strain;
using namespace strain::watch;
using strain::watch::test::TempTree;
using strain::watch::test::value;

namespace {}  // namespace

TEST_CASE("path watcher: sizes and counts of regular files, nested, symlinks not followed") {
  TempTree tree;
  TempTree outside;
  tree.write("a.log", std::string(10, 'a'));
  tree.write("b.bin", std::string(1000, 'b'));
  tree.write("sub/c", std::string(123, 'c'));
  tree.write("sub/deeper/d", "");
  tree.mkdir("empty");
  outside.write("big", std::string(50'000, 'x'));
  outside.write("dir/more", std::string(70'000, 'y'));
  tree.symlink(outside.at("big"), "link-to-file");
  tree.symlink(outside.at("dir"), "sub/link-to-dir");
  tree.symlink("/nonexistent", "dangling");

  PathWatcher w(tree.str(), "logs");
  CHECK(w.source() == "path");
  CHECK(w.limits().empty());
  const Sample s = w.sample();
  CHECK(s.gap_reason.empty());
  CHECK(value(s, "disk_bytes") == 10 + 1000 + 123 + 0);
  CHECK(value(s, "files") == 4);
  CHECK(s.readings[0].unit == "bytes");
  CHECK(s.readings[1].unit == "count");

  // The same walk by std::filesystem, which does not follow directory symlinks either.
  std::uintmax_t bytes = 0, files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tree.path)) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    ++files;
    bytes += e.file_size();
  }
  CHECK(value(s, "disk_bytes") == static_cast<double>(bytes));
  CHECK(value(s, "files") == static_cast<double>(files));

  tree.write("sub/deeper/e", std::string(7, 'e'));
  CHECK(value(w.sample(), "disk_bytes") == 1140);
}

TEST_CASE("path watcher: past the entry bound is a gap") {
  TempTree tree;
  for (int i = 0; i < 5; ++i)
    tree.write("f" + std::to_string(i), "x");
  PathWatcher w(tree.str(), "t", 4);
  const Sample s = w.sample();
  CHECK(s.readings.empty());
  CHECK(s.gap_reason == "more than 4 entries under " + tree.str());
  PathWatcher enough(tree.str(), "t", 5);
  CHECK(value(enough.sample(), "files") == 5);
}

TEST_CASE("path watcher: the directory gone is a gap; not a directory is a usage error") {
  TempTree tree;
  tree.write("d/x", "1");
  tree.write("file", "1");
  PathWatcher w(tree.at("d"), "d");
  REQUIRE(!w.sample().readings.empty());
  tree.remove("d");
  CHECK(w.sample().gap_reason == tree.at("d") + " is gone");
  CHECK_THROWS_AS(PathWatcher(tree.at("file"), "f"), UsageError);
  CHECK_THROWS_AS(PathWatcher(tree.at("missing"), "m"), UsageError);
}
