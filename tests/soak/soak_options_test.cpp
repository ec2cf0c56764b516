// --max-growth, --limit and --warmup as typed: values in the resource's unit per hour, and a
// message naming the flag and the entry for anything else.
#include "engine/soak/soak_options.hpp"

#include <doctest/doctest.h>

#include <string>

#include "engine/core/error.hpp"

using namespace strain;
using namespace strain::soak;

namespace {
std::string message_of(void (*f)()) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("budgets are per hour in the resource's unit") {
  const auto b = parse_budgets("rss=20MiB/h, fds=10/h,disk=1GiB/h,threads=2/min", "--max-growth");
  REQUIRE(b.size() == 4);
  CHECK(b[0].key == "rss");
  CHECK(b[0].value == 20.0 * 1024 * 1024);
  CHECK(b[1].value == 10.0);
  CHECK(b[2].value == 1024.0 * 1024 * 1024);
  CHECK(b[3].value == 120.0);
}

TEST_CASE("bad budgets name the flag and the entry") {
  CHECK(message_of([] {
          parse_budgets("rss=lots", "--max-growth");
        }).find("--max-growth 'rss=lots'") != std::string::npos);
  CHECK(message_of([] { parse_budgets("rss=lots/h", "--max-growth"); }).find("rss=lots/h") !=
        std::string::npos);
  CHECK(message_of([] {
          parse_budgets("bogus=1MiB/h", "--max-growth");
        }).find("unknown resource 'bogus'") != std::string::npos);
  CHECK(message_of([] { parse_budgets("fds=10/day", "--max-growth"); }).find("period 'day'") !=
        std::string::npos);
  CHECK(message_of([] { parse_budgets("rss", "--max-growth"); }).find("key=value") !=
        std::string::npos);
  CHECK(message_of([] { parse_budgets("rss=1MiB/h,rss=2MiB/h", "--max-growth"); }).find("twice") !=
        std::string::npos);
}

TEST_CASE("limits and their errors") {
  const auto l = parse_limits("rss=2GiB,fds=1000", "--limit");
  REQUIRE(l.size() == 2);
  CHECK(l[0].value == 2.0 * 1024 * 1024 * 1024);
  CHECK(l[1].value == 1000.0);
  CHECK(message_of([] { parse_limits("rss=-1", "--limit"); }).find("--limit 'rss=-1'") !=
        std::string::npos);
  CHECK(message_of([] { parse_limits("fds=0", "--limit"); }).find("above 0") != std::string::npos);
}

TEST_CASE("warm-up: a share or a duration; 10% of the run at most 10 minutes by default") {
  SoakOptions o;
  CHECK(warmup_seconds(o, 60) == doctest::Approx(6));
  CHECK(warmup_seconds(o, 8 * 3600) == doctest::Approx(600));
  parse_warmup("25%", "--warmup", o);
  CHECK(warmup_seconds(o, 8 * 3600) == doctest::Approx(7200));
  parse_warmup("30s", "--warmup", o);
  CHECK(warmup_seconds(o, 60) == doctest::Approx(30));
  CHECK(message_of([] {
          SoakOptions x;
          parse_warmup("200%", "--warmup", x);
        }).find("--warmup '200%'") != std::string::npos);
}

TEST_CASE("keys cover their resources") {
  CHECK(key_matches("rss", "rss"));
  CHECK(key_matches("rss", "memory.current"));
  CHECK(key_matches("disk", "disk_bytes"));
  CHECK(key_matches("fds", "fds"));
  CHECK_FALSE(key_matches("fds", "rss"));
}
