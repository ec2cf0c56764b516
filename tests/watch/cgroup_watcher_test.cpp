#include "engine/watch/cgroup_watcher.hpp"

#include <doctest/doctest.h>

#include <optional>

#include "engine/core/error.hpp"
#include "tests/watch/readings.hpp"
#include "tests/watch/temp_tree.hpp"

using namespace strain;
using namespace strain::watch;
using strain::watch::test::find;
using strain::watch::test::TempTree;

namespace {

// A cgroup v2 directory as the kernel lays it out, with the memory, pids, cpu and io
// controllers enabled.
void write_cgroup(const TempTree& root, const std::string& rel) {
  root.write(rel + "/cgroup.controllers", "cpu io memory pids\n");
  root.write(rel + "/cgroup.procs", "4242\n");
  root.write(rel + "/memory.current", "734003200\n");
  root.write(rel + "/memory.max", "2147483648\n");
  root.write(rel + "/pids.current", "37\n");
  root.write(rel + "/pids.max", "max\n");
  root.write(rel + "/cpu.stat",
             "usage_usec 91500000\nuser_usec 80000000\nsystem_usec 11500000\n"
             "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
  root.write(rel + "/io.stat",
             "8:0 rbytes=1048576 wbytes=4096 rios=256 wios=1 dbytes=0 dios=0\n"
             "259:0 rbytes=2000 wbytes=3000000 rios=2 wios=700 dbytes=512 dios=1\n");
}

}  // namespace

TEST_CASE("cgroup watcher: exact values from the interface files, io summed over devices") {
  TempTree root;
  write_cgroup(root, "system.slice/api.service");
  CgroupWatcher w("system.slice/api.service", "api.service", root.str());
  CHECK(w.directory() == root.at("system.slice/api.service"));
  CHECK(w.source() == "cgroup");
  const Sample s = w.sample();
  CHECK(s.gap_reason.empty());
  REQUIRE(s.readings.size() == 5);
  CHECK(find(s, "memory.current")->value == 734003200);
  CHECK(find(s, "memory.current")->unit == "bytes");
  CHECK(find(s, "memory.current")->kind == Kind::gauge);
  CHECK(find(s, "pids.current")->value == 37);
  CHECK(find(s, "pids.current")->unit == "count");
  CHECK(find(s, "cpu")->value == doctest::Approx(91.5));
  CHECK(find(s, "cpu")->unit == "seconds");
  CHECK(find(s, "cpu")->kind == Kind::counter);
  CHECK(find(s, "read_bytes")->value == 1048576 + 2000);
  CHECK(find(s, "write_bytes")->value == 4096 + 3000000);
  CHECK(find(s, "read_bytes")->kind == Kind::counter);

  // pids.max says "max": no limit on pids.current.
  const auto limits = w.limits();
  REQUIRE(limits.size() == 1);
  CHECK(limits[0].resource == "memory.current");
  CHECK(limits[0].value == 2147483648.0);
  CHECK(limits[0].source == "memory.max");

  root.write("system.slice/api.service/pids.max", "512\n");
  root.write("system.slice/api.service/memory.max", "max\n");
  const auto again = w.limits();
  REQUIRE(again.size() == 1);
  CHECK(again[0].resource == "pids.current");
  CHECK(again[0].value == 512);
  CHECK(again[0].source == "pids.max");
}

TEST_CASE("cgroup watcher: the cpu limit is cpu.max's quota, else the cpuset's CPUs") {
  TempTree root;
  write_cgroup(root, "db");
  CgroupWatcher w("db", "db", root.str());
  const auto cpu_limit = [&]() -> std::optional<Limit> {
    for (const Limit& l : w.limits())
      if (l.resource == "cpu") return l;
    return std::nullopt;
  };
  CHECK_FALSE(cpu_limit());  // neither file: no limit
  root.write("db/cpuset.cpus.effective", "0-3,6\n");
  REQUIRE(cpu_limit());
  CHECK(cpu_limit()->value == 5);
  CHECK(cpu_limit()->source == "cpuset.cpus.effective");
  root.write("db/cpu.max", "max 100000\n");  // no quota: still the cpuset
  CHECK(cpu_limit()->value == 5);
  root.write("db/cpu.max", "150000 100000\n");  // a quota of 1.5 cores wins
  CHECK(cpu_limit()->value == doctest::Approx(1.5));
  CHECK(cpu_limit()->source == "cpu.max");
}

TEST_CASE("cgroup watcher: controllers not enabled leave their readings out") {
  TempTree root;
  root.write("job/cgroup.controllers", "\n");
  root.write("job/cpu.stat", "usage_usec 250\nuser_usec 200\nsystem_usec 50\n");
  CgroupWatcher w(root.at("job"), "job", "/nonexistent-root");
  const Sample s = w.sample();
  REQUIRE(s.readings.size() == 1);
  CHECK(s.readings[0].resource == "cpu");
  CHECK(s.readings[0].value == doctest::Approx(0.00025));
  CHECK(w.limits().empty());
}

TEST_CASE(
    "cgroup watcher: an absolute path as /proc/PID/cgroup prints it is found under the root") {
  TempTree root;
  write_cgroup(root, "user.slice/job.scope");
  CgroupWatcher w("/user.slice/job.scope", "job.scope", root.str());
  CHECK(w.directory() == root.at("user.slice/job.scope"));
}

TEST_CASE("cgroup watcher: the directory removed is a gap") {
  TempTree root;
  write_cgroup(root, "a");
  CgroupWatcher w("a", "a", root.str());
  REQUIRE(!w.sample().readings.empty());
  root.remove("a");
  const Sample s = w.sample();
  CHECK(s.readings.empty());
  CHECK(s.gap_reason == "cgroup " + root.at("a") + " is gone");
}

TEST_CASE("cgroup watcher: missing or not cgroup v2 is a usage error") {
  TempTree root;
  CHECK_THROWS_AS(CgroupWatcher("nope", "nope", root.str()), UsageError);
  root.write("v1/cgroup.procs", "1\n");  // a v1 hierarchy has no cgroup.controllers
  CHECK_THROWS_WITH_AS(CgroupWatcher("v1", "v1", root.str()),
                       doctest::Contains("not a cgroup v2 directory"), UsageError);
}
