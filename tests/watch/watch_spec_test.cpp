#include "engine/watch/watch_spec.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include "engine/core/error.hpp"
#include "tests/watch/temp_tree.hpp"
#include "tests/watch/tiny_http_server.hpp"

using namespace strain;
using namespace strain::watch;
using strain::watch::test::FakeProcess;
using strain::watch::test::TempTree;
using strain::watch::test::TinyHttpServer;
using namespace std::chrono_literals;

namespace {

// Specs against fake trees: nothing from the real /proc or /sys/fs/cgroup, strain not watched.
struct Fixture {
  TempTree proc;
  TempTree cgroups;
  TempTree dirs;
  WatchSpecs specs;

  Fixture() {
    specs.self = false;
    specs.proc_root = proc.str();
    specs.cgroup_root = cgroups.str();
    specs.scrape_timeout = 1000ms;
    FakeProcess api;
    api.pid = 4242;
    api.comm = "api-server";
    test::write_fake_process(proc, api);
    cgroups.write("system.slice/api.service/cgroup.controllers", "memory pids\n");
    cgroups.write("system.slice/api.service/memory.current", "1000\n");
    cgroups.write("not-v2/cgroup.procs", "1\n");
    dirs.write("logs/a.log", "hello");
    dirs.write("a-file", "x");
  }
};

std::string error_of(const WatchSpecs& specs) {
  try {
    make_watchers(specs);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("parse_named_value: an optional name before '='") {
  CHECK(parse_named_value("--watch-pid", "1234").name.empty());
  CHECK(parse_named_value("--watch-pid", "api=1234").name == "api");
  CHECK(parse_named_value("--watch-pid", "api=1234").value == "1234");
  CHECK(parse_named_value("--watch-process", "db.primary=postgres").name == "db.primary");
  // '=' after a '/' or ':' belongs to the value.
  const NamedValue url = parse_named_value("--watch-metrics", "http://127.0.0.1:9/m?x=1");
  CHECK(url.name.empty());
  CHECK(url.value == "http://127.0.0.1:9/m?x=1");
  CHECK(parse_named_value("--watch-metrics", "app=http://127.0.0.1:9/m?x=1").value ==
        "http://127.0.0.1:9/m?x=1");
  CHECK(parse_named_value("--watch-path", "/var/a=b").name.empty());
  CHECK_THROWS_WITH_AS(parse_named_value("--watch-pid", "=1234"),
                       "--watch-pid =1234: empty name before '='", UsageError);
  CHECK_THROWS_WITH_AS(parse_named_value("--watch-pid", "api="),
                       "--watch-pid api=: nothing to watch", UsageError);
}

TEST_CASE("make_watchers: every kind, with default and given names") {
  Fixture f;
  TinyHttpServer server(200, "process_open_fds 3\n");
  f.specs.pids = {"4242", "main=4242"};
  f.specs.processes = {"api-server"};
  f.specs.cgroups = {"system.slice/api.service", "svc=/system.slice/api.service"};
  f.specs.metrics = {server.url()};
  f.specs.paths = {f.dirs.at("logs")};
  const auto ws = make_watchers(f.specs);
  REQUIRE(ws.size() == 7);
  CHECK(ws[0]->component() == "pid 4242");
  CHECK(ws[0]->source() == "pid");
  CHECK(ws[1]->component() == "main");
  CHECK(ws[2]->component() == "api-server");
  CHECK(ws[2]->source() == "process");
  CHECK(ws[3]->component() == "api.service");
  CHECK(ws[3]->source() == "cgroup");
  CHECK(ws[4]->component() == "svc");
  CHECK(ws[5]->component() == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(ws[5]->source() == "metrics");
  CHECK(ws[6]->component() == f.dirs.at("logs"));
  CHECK(ws[6]->source() == "path");
  for (const auto& w : ws)
    CHECK(w->sample().gap_reason.empty());
}

TEST_CASE("make_watchers: strain itself first, from the real /proc") {
  WatchSpecs specs;
  const auto ws = make_watchers(specs);
  REQUIRE(ws.size() == 1);
  CHECK(ws[0]->component() == "strain");
  CHECK(ws[0]->source() == "self");
  CHECK(ws[0]->sample().gap_reason.empty());
  CHECK(make_self_watcher()->source() == "self");
}

TEST_CASE("make_watchers: each bad value is a usage error naming the flag and the value") {
  Fixture f;
  SUBCASE("pids") {
    f.specs.pids = {"abc"};
    CHECK(error_of(f.specs) == "--watch-pid abc: not a pid");
    f.specs.pids = {"999999"};
    CHECK(error_of(f.specs) == "--watch-pid 999999: no such process");
    f.specs.pids = {"api=-5"};
    CHECK(error_of(f.specs) == "--watch-pid api=-5: not a pid");
  }
  SUBCASE("processes") {
    f.specs.processes = {"nginx"};
    CHECK(error_of(f.specs) == "--watch-process nginx: no process named nginx");
  }
  SUBCASE("cgroups") {
    f.specs.cgroups = {"system.slice/gone.service"};
    CHECK(error_of(f.specs) == "--watch-cgroup system.slice/gone.service: no cgroup directory " +
                                   f.cgroups.at("system.slice/gone.service"));
    f.specs.cgroups = {"old=not-v2"};
    CHECK(error_of(f.specs) == "--watch-cgroup old=not-v2: " + f.cgroups.at("not-v2") +
                                   " is not a cgroup v2 directory (no cgroup.controllers)");
  }
  SUBCASE("metrics") {
    f.specs.metrics = {"https://127.0.0.1:9100/metrics"};
    CHECK(error_of(f.specs).find(
              "--watch-metrics https://127.0.0.1:9100/metrics: not an http://") == 0);
    // A private-network address, built from parts: its refusal is the point, nothing is sent.
    const std::string remote = std::string("10.1.2") + ".3";
    f.specs.metrics = {"app=http://" + remote + ":9100/metrics"};
    CHECK(error_of(f.specs) == "--watch-metrics app=http://" + remote + ":9100/metrics: host " +
                                   remote +
                                   " is not loopback: "
                                   "strain only scrapes loopback (127.0.0.1, localhost, [::1])");
    const std::string url = "http://127.0.0.1:" + std::to_string(test::refused_port()) + "/metrics";
    f.specs.metrics = {url};
    CHECK(error_of(f.specs) ==
          "--watch-metrics " + url + ": could not scrape " + url + ": connection refused");
    TinyHttpServer server(200, "up 1\n");
    f.specs.metrics = {server.url()};
    CHECK(error_of(f.specs) ==
          "--watch-metrics " + server.url() +
              ": no selected series in the scrape (looked for process_resident_memory_bytes "
              "process_open_fds process_cpu_seconds_total)");
    f.specs.series = {"up"};
    CHECK(error_of(f.specs) == "no error");
    f.specs.series = {"up{job=}"};
    CHECK(
        error_of(f.specs) ==
        "--metric: series selector 'up{job=}': expected '\"' opening the label value at column 8");
  }
  SUBCASE("paths") {
    f.specs.paths = {f.dirs.at("a-file")};
    CHECK(error_of(f.specs) == "--watch-path " + f.dirs.at("a-file") + ": not a directory");
    f.specs.paths = {f.dirs.at("missing")};
    CHECK(error_of(f.specs) ==
          "--watch-path " + f.dirs.at("missing") + ": No such file or directory");
  }
  SUBCASE("a component name used twice") {
    f.specs.pids = {"api=4242"};
    f.specs.paths = {"api=" + f.dirs.at("logs")};
    CHECK(error_of(f.specs) == "--watch-path api=" + f.dirs.at("logs") +
                                   ": the component name \"api\" is already used by "
                                   "--watch-pid api=4242");
    f.specs.paths = {};
    f.specs.pids = {"4242", "4242"};
    CHECK(error_of(f.specs) ==
          "--watch-pid 4242: the component name \"pid 4242\" is already used by --watch-pid 4242");
  }
}

TEST_CASE("make_watchers: a component named like strain itself is taken") {
  TempTree dirs;
  WatchSpecs specs;
  specs.paths = {"strain=" + dirs.str()};
  CHECK(error_of(specs) == "--watch-path strain=" + dirs.str() +
                               ": the component name \"strain\" is already used by strain itself");
}
