#include "tools/target/stats.hpp"

#include <doctest/doctest.h>

using namespace strain::target;

TEST_CASE("worker counters add up into a snapshot") {
  WorkerCounters a;
  WorkerCounters b;
  for (int i = 0; i < 5; ++i)
    a.count(200);
  a.count(503);
  b.count(200);
  b.count(404);
  StatsSnapshot s;
  s.add(a);
  s.add(b);
  CHECK(s.served == 8);
  CHECK(s.by_status == std::map<int, std::uint64_t>{{200, 6}, {404, 1}, {503, 1}});
}

TEST_CASE("the exit line and the JSON") {
  StatsSnapshot s;
  s.served = 12345;
  s.by_status = {{503, 5}, {200, 12340}};
  s.connections = 50;
  s.open_connections = 3;
  s.rejected_connections = 1;
  s.uptime_ms = 5123;
  CHECK(format_stats_line(s) ==
        "strain-target served=12345 by_status=200:12340,503:5 connections=50");
  CHECK(format_stats_json(s) ==
        "{\"served\":12345,\"by_status\":{\"200\":12340,\"503\":5},\"connections\":50,"
        "\"open_connections\":3,\"rejected_connections\":1,\"uptime_ms\":5123}");
  const StatsSnapshot empty;
  CHECK(format_stats_line(empty) == "strain-target served=0 by_status= connections=0");
  CHECK(format_stats_json(empty).find("\"by_status\":{}") != std::string::npos);
}
