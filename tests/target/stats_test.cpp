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
        "\"open_connections\":3,\"rejected_connections\":1,\"uptime_ms\":5123,"
        "\"api\":{\"requests\":0,\"logins_ok\":0,\"logins_failed\":0,\"unauthorized\":0,"
        "\"items_created\":0,\"items_updated\":0,\"items_deleted\":0,\"items_read\":0,"
        "\"carts_created\":0,\"cart_adds\":0,\"orders\":0,\"item_count\":0},"
        "\"faults\":{\"hung\":0,\"reset\":0,\"garbage\":0,\"errors_injected\":0,"
        "\"trickled\":0}}");
  const StatsSnapshot empty;
  CHECK(format_stats_line(empty) == "strain-target served=0 by_status= connections=0");
  CHECK(format_stats_json(empty).find("\"by_status\":{}") != std::string::npos);
}

TEST_CASE("API counters: summed per worker, in the JSON, and on the exit line once used") {
  WorkerCounters a;
  WorkerCounters b;
  ApiCounters::bump(a.api.requests);
  ApiCounters::bump(a.api.requests);
  ApiCounters::bump(a.api.logins_ok);
  ApiCounters::bump(a.api.unauthorized);
  ApiCounters::bump(b.api.requests);
  ApiCounters::bump(b.api.items_created);
  ApiCounters::bump(b.api.orders);
  a.count(200);
  a.count(401);
  b.count(201);
  StatsSnapshot s;
  s.add(a);
  s.add(b);
  s.connections = 2;
  s.api.item_count = 1;
  CHECK(s.api.requests == 3);
  CHECK(format_stats_line(s) ==
        "strain-target served=3 by_status=200:1,201:1,401:1 connections=2 api_requests=3 "
        "api_logins_ok=1 api_logins_failed=0 api_unauthorized=1 api_items_created=1 "
        "api_items_updated=0 api_items_deleted=0 api_items_read=0 api_carts_created=0 "
        "api_cart_adds=0 api_orders=1 api_item_count=1");
  CHECK(format_stats_json(s).find(
            "\"api\":{\"requests\":3,\"logins_ok\":1,\"logins_failed\":0,\"unauthorized\":1,"
            "\"items_created\":1,\"items_updated\":0,\"items_deleted\":0,\"items_read\":0,"
            "\"carts_created\":0,\"cart_adds\":0,\"orders\":1,\"item_count\":1},") !=
        std::string::npos);
}

TEST_CASE("the shapes in the exit line and the JSON") {
  StatsSnapshot s;
  s.capacity = CapacityStats{2, 5, 1};
  s.stalls = StallStats{1700000000000, 1000, 400, {{600, 1000}, {1600, 1700}}};
  s.leak = LeakStats{4096, true};
  CHECK(format_stats_line(s) ==
        "strain-target served=0 by_status= connections=0 in_service_max=2 queued_max=5 "
        "queue_rejected=1 leaked_bytes=4096 leak_limit_reached=1");
  const auto json = format_stats_json(s);
  CHECK(json.find(",\"capacity\":{\"in_service_max\":2,\"queued_max\":5,\"rejected\":1}") !=
        std::string::npos);
  CHECK(json.find(",\"stalls\":{\"start_epoch_ms\":1700000000000,\"every_ms\":1000,"
                  "\"for_ms\":400,\"windows\":[[600,1000],[1600,1700]]}") != std::string::npos);
  CHECK(json.find(",\"leak\":{\"leaked_bytes\":4096,\"limit_reached\":true}}") !=
        std::string::npos);
}

TEST_CASE("the fault counts: summed, always in the JSON, on the line once used or enabled") {
  WorkerCounters a;
  WorkerCounters b;
  WorkerCounters::bump(a.hung);
  WorkerCounters::bump(b.hung);
  WorkerCounters::bump(a.reset);
  WorkerCounters::bump(b.garbage);
  WorkerCounters::bump(b.errors_injected);
  a.count(503);
  WorkerCounters::bump(a.trickled);
  a.count(200);
  StatsSnapshot s;
  s.add(a);
  s.add(b);
  CHECK(s.served == 2);
  CHECK(s.faults.hung == 2);
  CHECK(s.faults.reset == 1);
  CHECK(s.faults.garbage == 1);
  CHECK(s.faults.errors_injected == 1);
  CHECK(s.faults.trickled == 1);
  CHECK(format_stats_line(s) ==
        "strain-target served=2 by_status=200:1,503:1 connections=0 hung=2 reset=1 garbage=1 "
        "errors_injected=1 trickled=1");
  CHECK(format_stats_json(s).find(",\"faults\":{\"hung\":2,\"reset\":1,\"garbage\":1,"
                                  "\"errors_injected\":1,\"trickled\":1}}") != std::string::npos);
  // A fault flag on and nothing counted yet: the zeros are shown, so a parser finds them.
  StatsSnapshot enabled;
  enabled.faults_enabled = true;
  CHECK(format_stats_line(enabled) ==
        "strain-target served=0 by_status= connections=0 hung=0 reset=0 garbage=0 "
        "errors_injected=0 trickled=0");
  // After the other shapes, never before them.
  enabled.leak = LeakStats{1, false};
  CHECK(format_stats_line(enabled).find("leak_limit_reached=0 hung=0") != std::string::npos);
}

TEST_CASE("the soak shapes: churn summed when on, appended to the line, in the JSON") {
  WorkerCounters a;
  WorkerCounters b;
  a.churn_blocks.store(3);
  a.churn_bytes.store(300);
  b.churn_blocks.store(4);
  b.churn_bytes.store(4000);
  a.count(200);
  StatsSnapshot off;
  off.add(a);
  CHECK_FALSE(off.churn);
  StatsSnapshot s;
  s.churn.emplace();
  s.add(a);
  s.add(b);
  REQUIRE(s.churn);
  CHECK(s.churn->blocks == 7);
  CHECK(s.churn->bytes == 4300);
  s.transient = TransientStats{1 << 20, 2000, 1000, 5, 0};
  s.fd_leak = FdLeakStats{12, 100, true};
  s.leak = LeakStats{1, false};
  s.faults_enabled = true;
  // After everything that was there before, so older parsers of the line keep working.
  CHECK(format_stats_line(s) ==
        "strain-target served=1 by_status=200:1 connections=0 leaked_bytes=1 "
        "leak_limit_reached=0 hung=0 reset=0 garbage=0 errors_injected=0 trickled=0 "
        "churn_blocks=7 churn_bytes=4300 transient_cycles=5 leaked_fds=12 "
        "fd_leak_limit_reached=1");
  const auto json = format_stats_json(s);
  CHECK(json.find(",\"leak\":{\"leaked_bytes\":1,\"limit_reached\":false},"
                  "\"churn\":{\"blocks\":7,\"bytes\":4300},"
                  "\"transient\":{\"bytes\":1048576,\"every_ms\":2000,\"hold_ms\":1000,"
                  "\"cycles\":5,\"held_bytes\":0},"
                  "\"fd_leak\":{\"leaked_fds\":12,\"limit\":100,\"limit_reached\":true}}") !=
        std::string::npos);
}

TEST_CASE("cpu work: summed once on or once burnt, appended last to the line, in the JSON") {
  WorkerCounters a;
  WorkerCounters b;
  a.count(200);
  StatsSnapshot off;
  off.add(a);
  CHECK_FALSE(off.cpu_work);
  CHECK(format_stats_line(off).find("cpu_work") == std::string::npos);
  CHECK(format_stats_json(off).find("cpu_work") == std::string::npos);
  // --cpu-work on: shown even before any request burnt.
  StatsSnapshot on;
  on.cpu_work.emplace();
  on.add(a);
  REQUIRE(on.cpu_work);
  CHECK(on.cpu_work->requests == 0);
  // Only ?cpu_work=: shown once a worker burnt some.
  b.cpu_work_requests.store(3);
  b.cpu_work_ns.store(6'100'000);
  a.cpu_work_requests.store(1);
  a.cpu_work_ns.store(2'000'000);
  StatsSnapshot s;
  s.add(a);
  s.add(b);
  REQUIRE(s.cpu_work);
  CHECK(s.cpu_work->requests == 4);
  CHECK(s.cpu_work->cpu_ns == 8'100'000);
  s.fd_leak = FdLeakStats{1, 100, false};
  CHECK(format_stats_line(s) ==
        "strain-target served=1 by_status=200:1 connections=0 leaked_fds=1 "
        "fd_leak_limit_reached=0 cpu_work_requests=4 cpu_work_ns=8100000");
  const auto json = format_stats_json(s);
  CHECK(json.find("\"limit_reached\":false},\"cpu_work\":{\"requests\":4,\"cpu_ns\":8100000}}") !=
        std::string::npos);
}
