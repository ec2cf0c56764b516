#include "engine/watch/proc_watcher.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <future>
#include <thread>
#include <vector>

#include "engine/core/error.hpp"
#include "tests/watch/readings.hpp"
#include "tests/watch/temp_tree.hpp"

using namespace strain;
using namespace strain::watch;
using strain::watch::test::FakeProcess;
using strain::watch::test::find;
using strain::watch::test::TempTree;
using strain::watch::test::value;

namespace {

// Descriptors open now, probed one by one: an independent count.
int probe_open_fds() {
  rlimit rl{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
  const int top = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 16));
  int n = 0;
  for (int fd = 0; fd < top; ++fd)
    if (::fcntl(fd, F_GETFD) != -1) ++n;
  return n;
}

double status_vmrss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      in >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("parse_proc_stat: comm with spaces and ')' ends at the last ')'") {
  FakeProcess p;
  p.comm = "(a b) c) d";
  const auto st = parse_proc_stat(test::stat_line(p));
  REQUIRE(st.has_value());
  CHECK(st->comm == "(a b) c) d");
  CHECK(st->state == 'S');
  CHECK(st->utime_ticks == 250);
  CHECK(st->stime_ticks == 50);
  CHECK(st->threads == 7);
  CHECK(st->start_ticks == 98765);
  CHECK_FALSE(parse_proc_stat("1234 (x) S 1 2 3").has_value());  // too few fields
  CHECK_FALSE(parse_proc_stat("garbage").has_value());
}

TEST_CASE("proc watcher: a fake /proc tree gives exact values") {
  TempTree root;
  FakeProcess p;
  p.comm = "a b) c";
  p.fds = 9;
  test::write_fake_process(root, p);

  ProcWatcher w(1234, "api", "pid", root.str());
  CHECK(w.component() == "api");
  CHECK(w.source() == "pid");
  const Sample s = w.sample();
  CHECK(s.gap_reason.empty());
  CHECK_FALSE(s.restarted_pid.has_value());
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  CHECK(value(s, "rss") == 3000 * page);
  CHECK(find(s, "rss")->unit == "bytes");
  CHECK(find(s, "rss")->kind == Kind::gauge);
  CHECK(value(s, "fds") == 9);
  CHECK(find(s, "fds")->unit == "count");
  CHECK(value(s, "threads") == 7);
  CHECK(value(s, "cpu") == doctest::Approx(300 / hz));
  CHECK(find(s, "cpu")->unit == "seconds");
  CHECK(find(s, "cpu")->kind == Kind::counter);
  CHECK(value(s, "read_bytes") == 40960);
  CHECK(value(s, "write_bytes") == 8192);
  CHECK(find(s, "write_bytes")->kind == Kind::counter);
  CHECK(s.readings.size() == 6);

  const auto limits = w.limits();
  REQUIRE(limits.size() == 1);
  CHECK(limits[0].resource == "fds");
  CHECK(limits[0].value == 1024);
  CHECK(limits[0].source == "RLIMIT_NOFILE");
}

TEST_CASE("proc watcher: rss from status VmRSS without statm; no io file omits two readings") {
  TempTree root;
  FakeProcess p;
  test::write_fake_process(root, p);
  root.remove("1234/statm");
  root.remove("1234/io");
  ProcWatcher w(1234, "x", "pid", root.str());
  const Sample s = w.sample();
  CHECK(value(s, "rss") == 3000 * 4 * 1024);  // status says 12000 kB
  CHECK(find(s, "read_bytes") == nullptr);
  CHECK(find(s, "write_bytes") == nullptr);
  CHECK(s.readings.size() == 4);
  CHECK(s.gap_reason.empty());
}

TEST_CASE("proc watcher: private rss is resident less shared, and has no VmRSS fallback") {
  TempTree root;
  FakeProcess p;
  test::write_fake_process(root, p);  // statm: 3000 resident pages, 800 shared
  ProcWatcher w(1234, "strain", "self", root.str());
  w.read_private_rss();
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  CHECK(value(w.sample(), "rss") == (3000 - 800) * page);
  root.remove("1234/statm");
  CHECK(find(w.sample(), "rss") == nullptr);  // VmRSS counts shared pages too: not a stand-in
}

TEST_CASE("proc watcher: private rss of this process sees memory it writes, not a file it maps") {
  ProcWatcher w(static_cast<std::int64_t>(::getpid()), "strain", "self");
  w.read_private_rss();
  const double before = value(w.sample(), "rss");

  // 16 MiB of a file mapped and read: resident, but file-backed.
  constexpr std::size_t size = std::size_t{16} << 20;
  char path[] = "/tmp/strain-proc-watcher-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::unlink(path);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  REQUIRE(map != MAP_FAILED);
  volatile unsigned sum = 0;
  for (std::size_t i = 0; i < size; i += 4096)
    sum = sum + static_cast<const unsigned char*>(map)[i];
  const double mapped = value(w.sample(), "rss");
  ::munmap(map, size);
  ::close(fd);
#if !defined(__SANITIZE_THREAD__)
  // ThreadSanitizer shadows every byte the test reads with private memory of its own: there
  // the mapping's pages are followed by as many private ones, which are not the reader's doing.
  CHECK(mapped - before < 4.0 * (1 << 20));  // the 16 MiB do not count
#else
  (void)mapped;
#endif

  // 16 MiB written to the heap: counted in full.
  std::vector<char> hoard(size, 'x');
  const double hoarded = value(w.sample(), "rss");
  CHECK(hoarded - before > 15.0 * (1 << 20));
  CHECK(hoard[size / 2] == 'x');
}

TEST_CASE("proc watcher: an unlimited open-file limit is no limit") {
  TempTree root;
  test::write_fake_process(root, FakeProcess{});
  root.write("1234/limits", "Max open files            unlimited            unlimited files\n");
  ProcWatcher w(1234, "x", "pid", root.str());
  CHECK(w.limits().empty());
}

TEST_CASE("proc watcher: exit, zombie and pid reuse are gaps") {
  TempTree root;
  FakeProcess p;
  test::write_fake_process(root, p);
  ProcWatcher w(1234, "pid 1234", "pid", root.str());
  REQUIRE_FALSE(w.sample().readings.empty());

  SUBCASE("a new process with the same pid (another start time)") {
    FakeProcess other = p;
    other.start = p.start + 5000;
    root.write("1234/stat", test::stat_line(other));
    const Sample s = w.sample();
    CHECK(s.readings.empty());
    CHECK(s.gap_reason == "pid 1234 exited");
  }
  SUBCASE("the pid gone from /proc") {
    root.remove("1234");
    const Sample s = w.sample();
    CHECK(s.readings.empty());
    CHECK(s.gap_reason == "pid 1234 exited");
  }
  SUBCASE("a zombie") {
    FakeProcess z = p;
    z.state = 'Z';
    root.write("1234/stat", test::stat_line(z));
    CHECK(w.sample().gap_reason == "pid 1234 exited");
  }
}

TEST_CASE("proc watcher: a pid that does not exist is a usage error") {
  TempTree root;
  CHECK_THROWS_AS(ProcWatcher(4321, "x", "pid", root.str()), UsageError);
}

TEST_CASE("proc watcher on the real self: rss agrees with /proc/self/status") {
  ProcWatcher w(::getpid(), "strain", "self");
  const Sample s = w.sample();
  REQUIRE(s.gap_reason.empty());
  const double vmrss = status_vmrss_bytes();
  REQUIRE(vmrss > 0);
  CHECK(value(s, "rss") >= 0.8 * vmrss);
  CHECK(value(s, "rss") <= 1.2 * vmrss);
  rusage ru{};
  REQUIRE(::getrusage(RUSAGE_SELF, &ru) == 0);
  CHECK(value(s, "rss") <= 1.2 * static_cast<double>(ru.ru_maxrss) * 1024);  // peak, in KiB
  CHECK(value(s, "cpu") > 0);
}

TEST_CASE("proc watcher on the real self: fds counts exactly the descriptors open") {
  ProcWatcher w(::getpid(), "strain", "self");
  const double before = value(w.sample(), "fds");
  CHECK(before == probe_open_fds());

  constexpr int k = 7;
  std::vector<int> fds;
  for (int i = 0; i < k; ++i) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  const double after = value(w.sample(), "fds");
  CHECK(after - before == k);
  CHECK(after == probe_open_fds());
  for (const int fd : fds)
    ::close(fd);
  CHECK(value(w.sample(), "fds") == before);
}

TEST_CASE("proc watcher on the real self: a new thread is one more thread") {
  ProcWatcher w(::getpid(), "strain", "self");
  const double before = value(w.sample(), "threads");
  std::promise<void> started, release;
  std::thread t([&] {
    started.set_value();
    release.get_future().wait();
  });
  started.get_future().wait();
  const double during = value(w.sample(), "threads");
  release.set_value();
  t.join();
  CHECK(during == before + 1);
  // join() returns when the thread has cleared its tid, a moment before the kernel takes it
  // out of the count /proc shows: wait for that (bounded), as a sampler would see it next.
  double after = value(w.sample(), "threads");
  for (int i = 0; i < 200 && after != before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = value(w.sample(), "threads");
  }
  CHECK(after == before);
}

TEST_CASE("proc watcher on the real self: limits give the soft RLIMIT_NOFILE and the cores") {
  rlimit rl{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &rl) == 0);
  ProcWatcher w(::getpid(), "strain", "self");
  const auto limits = w.limits();
  const auto of = [&](const char* resource) -> const Limit* {
    for (const Limit& l : limits)
      if (l.resource == resource) return &l;
    return nullptr;
  };
  if (rl.rlim_cur == RLIM_INFINITY) {
    CHECK(of("fds") == nullptr);
  } else {
    REQUIRE(of("fds") != nullptr);
    CHECK(of("fds")->value == static_cast<double>(rl.rlim_cur));
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  REQUIRE(of("cpu") != nullptr);
  CHECK(of("cpu")->value == CPU_COUNT(&set));
  CHECK(of("cpu")->source == "Cpus_allowed_list");
}

TEST_CASE("proc watcher: the cores a process may use, from Cpus_allowed_list") {
  CHECK(count_cpu_list("0-3") == 4);
  CHECK(count_cpu_list("0-1,3,8-9\n") == 5);
  CHECK(count_cpu_list(" 5") == 1);
  CHECK(count_cpu_list("") == 0);
  CHECK(count_cpu_list("3-1") == 0);
  CHECK(count_cpu_list("a-b") == 0);
  TempTree root;
  FakeProcess p;
  test::write_fake_process(root, p);
  root.write("1234/status", "Name:\tx\nVmRSS:\t 12000 kB\nCpus_allowed_list:\t0-1,3\n");
  ProcWatcher w(1234, "x", "pid", root.str());
  const auto limits = w.limits();
  REQUIRE(limits.size() == 2);
  CHECK(limits[1].resource == "cpu");
  CHECK(limits[1].value == 3);
}
