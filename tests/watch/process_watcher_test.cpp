#include "engine/watch/process_watcher.hpp"

#include <doctest/doctest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "tests/watch/temp_tree.hpp"

using namespace strain::watch;
using strain::watch::test::FakeProcess;
using strain::watch::test::TempTree;

namespace {

FakeProcess named(std::int64_t pid, const std::string& comm, std::uint64_t start) {
  FakeProcess p;
  p.pid = pid;
  p.comm = comm;
  p.start = start;
  return p;
}

double threads_of(const Sample& s) {
  for (const Reading& r : s.readings)
    if (r.resource == "threads") return r.value;
  return -1;
}

}  // namespace

TEST_CASE("process watcher: resolves a name by comm, the oldest of several") {
  TempTree root;
  test::write_fake_process(root, named(300, "api", 5000));
  test::write_fake_process(root, named(200, "api", 1000));  // oldest
  test::write_fake_process(root, named(100, "apix", 10));
  test::write_fake_process(root, named(400, "worker", 1));
  root.write("self", "not a pid dir");
  ProcessWatcher w("api", "api", root.str());
  REQUIRE(w.tracked().has_value());
  CHECK(w.tracked()->pid == 200);
  CHECK(w.tracked()->start_ticks == 1000);
  CHECK(w.source() == "process");
  const Sample s = w.sample();
  CHECK(s.gap_reason.empty());
  CHECK_FALSE(s.restarted_pid.has_value());
  CHECK(threads_of(s) == 7);
  CHECK(w.limits().size() == 1);
}

TEST_CASE("process watcher: a name longer than comm matches argv[0]'s basename") {
  TempTree root;
  FakeProcess p = named(500, "inventory-service-daemon", 10);
  using namespace std::string_literals;
  p.cmdline =
      "/opt/inv/bin/inventory-service-daemon\0--port\0"
      "8080\0"s;
  test::write_fake_process(root, p);
  FakeProcess decoy = named(501, "inventory-service-other", 5);  // same 15-byte comm
  decoy.cmdline = "/opt/inv/bin/inventory-service-other\0"s;
  test::write_fake_process(root, decoy);

  ProcessWatcher w("inventory-service-daemon", "inv", root.str());
  REQUIRE(w.tracked().has_value());
  CHECK(w.tracked()->pid == 500);
  ProcessWatcher none("inventory-service", "x", root.str());
  CHECK_FALSE(none.tracked().has_value());  // comm is "inventory-servi", argv[0] differs
}

TEST_CASE("process watcher: zombies do not match") {
  TempTree root;
  FakeProcess z = named(10, "api", 1);
  z.state = 'Z';
  test::write_fake_process(root, z);
  ProcessWatcher w("api", "api", root.str());
  CHECK_FALSE(w.tracked().has_value());
  CHECK(w.sample().gap_reason == "no process named api");
}

TEST_CASE("process watcher: gone is a gap; back under a new pid sets restarted_pid once") {
  TempTree root;
  test::write_fake_process(root, named(700, "api", 1000));
  ProcessWatcher w("api", "api", root.str());
  REQUIRE(!w.sample().readings.empty());

  root.remove("700");
  Sample s = w.sample();
  CHECK(s.readings.empty());
  CHECK(s.gap_reason == "no process named api");
  CHECK_FALSE(w.tracked().has_value());
  CHECK(w.sample().gap_reason == "no process named api");

  FakeProcess back = named(812, "api", 2000);
  back.threads = 3;
  test::write_fake_process(root, back);
  s = w.sample();
  CHECK(s.gap_reason.empty());
  REQUIRE(s.restarted_pid.has_value());
  CHECK(*s.restarted_pid == 812);
  CHECK(threads_of(s) == 3);
  s = w.sample();
  CHECK_FALSE(s.restarted_pid.has_value());
  CHECK(threads_of(s) == 3);
}

TEST_CASE("process watcher: the same pid reused by a new process is a restart too") {
  TempTree root;
  test::write_fake_process(root, named(700, "api", 1000));
  ProcessWatcher w("api", "api", root.str());
  REQUIRE(!w.sample().readings.empty());
  test::write_fake_process(root, named(700, "api", 9000));
  // The old process is gone and the new one is found in the same sample.
  const Sample s = w.sample();
  REQUIRE(s.restarted_pid.has_value());
  CHECK(*s.restarted_pid == 700);
  CHECK(w.tracked()->start_ticks == 9000);
}

TEST_CASE("process watcher: a rescan reads a bounded number of /proc entries per sample") {
  TempTree root;
  test::write_fake_process(root, named(700, "api", 1000));
  ProcessWatcher w("api", "api", root.str(), 3);
  REQUIRE(!w.sample().readings.empty());
  root.remove("700");
  for (int pid = 100; pid < 112; ++pid)
    test::write_fake_process(root, named(pid, "other", 1));
  test::write_fake_process(root, named(900, "api", 3000));
  // 13 pid directories plus "." and "..": 15 entries, 3 a sample, so 5 or 6 samples.
  int gaps = 0;
  Sample s;
  for (int i = 0; i < 10; ++i) {
    s = w.sample();
    if (!s.readings.empty()) break;
    ++gaps;
  }
  CHECK(s.gap_reason.empty());
  REQUIRE(s.restarted_pid.has_value());
  CHECK(*s.restarted_pid == 900);
  CHECK(gaps >= 4);
  CHECK(gaps <= 6);
}

TEST_CASE("process watcher on the real /proc: a child with a long name, found and lost") {
  // A copy of cat under a name longer than comm's 15 bytes: found through argv[0].
  TempTree dir;
  const std::string name = "strain-watch-test-" + std::to_string(::getpid());
  std::string exe = dir.at(name);
  std::filesystem::copy_file("/bin/cat", exe);
  std::filesystem::permissions(exe, std::filesystem::perms::owner_all);
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, in[1]);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  char* argv[] = {exe.data(), nullptr};
  pid_t child = 0;
  REQUIRE(::posix_spawn(&child, exe.c_str(), &actions, nullptr, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  // posix_spawn may return mid-exec, before the new argv is in place: a byte echoed back says
  // cat is running.
  char byte = 'x';
  REQUIRE(::write(in[1], &byte, 1) == 1);
  REQUIRE(::read(out[0], &byte, 1) == 1);
  ProcessWatcher w(name, name);
  REQUIRE(w.tracked().has_value());
  CHECK(w.tracked()->pid == child);
  const Sample s = w.sample();
  CHECK(s.gap_reason.empty());
  CHECK(threads_of(s) == 1);

  ::close(in[1]);  // cat sees end of input and exits
  ::close(out[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(w.sample().gap_reason == "no process named " + name);
}
