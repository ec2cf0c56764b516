#include "tools/target/process_sample.hpp"

#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "tests/target/proc_reading.hpp"

using namespace strain::target;

TEST_CASE("/proc/<pid>/stat: fields counted from the last parenthesis") {
  // A command name with spaces and parentheses in it, as the kernel writes it.
  const auto s = parse_proc_stat(
      "4242 (a b) (c)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 37 12 0 0 20 0 3 0 8675309 "
      "83820544 1136 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n");
  REQUIRE(s);
  CHECK(s->utime_ticks == 37);
  CHECK(s->stime_ticks == 12);
  CHECK(s->start_ticks == 8675309);
  CHECK(s->vsize_bytes == 83820544);
  CHECK(s->rss_pages == 1136);
  CHECK_FALSE(parse_proc_stat(""));
  CHECK_FALSE(parse_proc_stat("1 (x) S 1 2 3"));
  CHECK_FALSE(parse_proc_stat("no parenthesis at all"));
}

TEST_CASE("/proc/stat: the btime line") {
  CHECK(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1767225600\nprocesses 9\n") == 1767225600u);
  CHECK(parse_boot_time("btime 7") == 7u);
  CHECK_FALSE(parse_boot_time("cpu 1 2 3\n"));
  CHECK_FALSE(parse_boot_time("btime x\n"));
}

TEST_CASE("a sample agrees with this process as the test reads it") {
  const auto before = read_process_sample();
  REQUIRE(before);
  // Resident memory: statm says the same, give or take the pages touched in between.
  const auto statm = testing::statm_resident_bytes();
  CHECK(before->resident_bytes + (1 << 20) >= statm);
  CHECK(before->resident_bytes <= statm + (1 << 20));
  CHECK(before->virtual_bytes >= before->resident_bytes);
  // Descriptors: the count moves by exactly what is opened, and matches the test's own listing.
  CHECK(before->open_fds == testing::open_fd_count());
  std::vector<int> fds;
  for (int i = 0; i < 7; ++i)
    fds.push_back(::eventfd(0, EFD_CLOEXEC));
  const auto after = read_process_sample();
  REQUIRE(after);
  CHECK(after->open_fds == before->open_fds + 7);
  for (const int fd : fds)
    ::close(fd);
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  CHECK(after->max_fds == limit.rlim_cur);
  // Started in the last hour (this test binary), not in the future; some CPU spent.
  const double now_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(after->start_time_s <= now_s + 1);
  CHECK(after->start_time_s > now_s - 3600);
  CHECK(after->cpu_seconds >= 0);
  CHECK(after->cpu_seconds >= before->cpu_seconds);
}
