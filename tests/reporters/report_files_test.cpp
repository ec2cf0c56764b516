// JUnit, CSV, the live view and the atomic file writer, against hand-built results.
#include "reporters/report_files.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "reporters/csv_timeline.hpp"
#include "reporters/junit.hpp"
#include "reporters/live_view.hpp"
#include "reporters/soak_summary.hpp"

using namespace strain;

namespace {

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

RunResult result_with_thresholds() {
  RunResult r;
  r.config.command = "run";
  r.config.url = "http://127.0.0.1:8080/a?b=1&c=<2>";
  r.started_at = "2026-12-06T03:00:00.000Z";
  r.duration_s = 10;
  r.thresholds.push_back({"latency{p99}", "< 1ms", 2.345, false, ""});
  r.thresholds.push_back({"errors{rate}", "< 1%", 0.0, true, ""});
  r.thresholds.push_back({"checks{rate}", "> 99%", std::nullopt, false, "no checks ran"});
  return r;
}

}  // namespace

TEST_CASE("junit: a case per threshold, the failure names the measured value") {
  const std::string x = render_junit(result_with_thresholds());
  CHECK(count(x, "<testcase ") == 5);  // completed, schedule kept, three thresholds
  CHECK(count(x, "<failure ") == 2);
  CHECK(x.find("failures=\"2\"") != std::string::npos);
  CHECK(x.find("latency{p99} &lt; 1ms failed: observed 2.345") != std::string::npos);
  CHECK(x.find("no checks ran") != std::string::npos);
  // The URL's & and < are escaped in the suite's name.
  CHECK(x.find("a?b=1&amp;c=&lt;2&gt;") != std::string::npos);
  CHECK(x.find("<c=") == std::string::npos);
}

TEST_CASE("junit: soak verdicts and budgets, a generator-bound and an aborted run") {
  RunResult r = result_with_thresholds();
  r.thresholds.clear();
  SoakReport soak;
  SoakVerdict leak;
  leak.component = "api";
  leak.resource = "rss";
  leak.verdict = "leak";
  leak.unit = "bytes";
  leak.slope_per_hour = 1.5e9;
  leak.fails_run = true;
  SoakVerdict budgeted = leak;
  budgeted.resource = "fds";
  budgeted.verdict = "growth";
  budgeted.budget_per_hour = 10;
  budgeted.budget_broken = true;
  soak.verdicts = {leak, budgeted};
  r.soak = soak;
  r.generator.generator_bound = true;
  r.generator.notes.push_back("strain could not keep its schedule");
  r.aborted_reason = "worker 1 failed";
  const std::string x = render_junit(r);
  CHECK(count(x, "<testcase ") == 5);  // completed, schedule kept, 2 verdicts, 1 budget
  CHECK(count(x, "<error ") == 1);
  // The leak fails its verdict case; the broken budget fails the budget case, not both.
  CHECK(count(x, "<failure ") == 3);
  CHECK(x.find("over the budget of 10 count/h") == std::string::npos);  // unit is bytes here
  CHECK(x.find("over the budget of 10 bytes/h") != std::string::npos);
  CHECK(x.find("could not keep its schedule") != std::string::npos);
}

TEST_CASE("csv: a row per point, error kinds that occur get a column") {
  RunResult r;
  IntervalPoint a;
  a.start_s = 0;
  a.length_s = 1;
  a.responses = 100;
  a.p99_ms = 12.5;
  IntervalPoint b = a;
  b.start_s = 1;
  b.errors_by_kind[static_cast<std::size_t>(ErrorKind::timeout)] = 3;
  r.timeline = {a, b};
  const std::string csv = render_csv_timeline(r);
  CHECK(count(csv, "\n") == 3);
  CHECK(csv.find(",errors_timeout\n") != std::string::npos);
  CHECK(csv.find("errors_reset") == std::string::npos);
  CHECK(csv.find("1.000,1.000,100,100.000,") != std::string::npos);
  CHECK(csv.substr(csv.size() - 3) == ",3\n");
}

TEST_CASE("live view: bar, times, rates; cut to the terminal's width") {
  LiveFigures f;
  f.elapsed_s = 30;
  f.planned_s = 120;
  f.rate_rps = 1234;
  f.offered_rps = 1250;
  f.p50_ms = 1.5;
  f.p99_ms = 12;
  f.requests = 36000;
  f.failed = 36;
  f.active_vus = 50;
  const auto lines = render_live_view(f, 200);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("[========>                     ]  25%") == 0);
  CHECK(lines[0].find("0:30 of 2:00, 1:30 left") != std::string::npos);
  CHECK(lines[1].find("1234 req/s (offered 1250/s)") != std::string::npos);
  CHECK(lines[1].find("failed 36 (0.10%") != std::string::npos);
  f.mode = "step 3: 800/s";
  const auto narrow = render_live_view(f, 40);
  REQUIRE(narrow.size() == 3);
  for (const std::string& l : narrow)
    CHECK(l.size() <= 40);
  CHECK(render_live_line(f).find("[  0:30/2:00]") == 0);
}

TEST_CASE(
    "live figures: every failure so far, drops included; offered only when arrivals were due") {
  IntervalSnapshot snap;
  snap.point = IntervalPoint{4, 1, 1000, 0, 1.0, 4.0, 9.0};
  snap.planned_s = 10;
  snap.active_vus = 50;
  RunResult so_far;
  so_far.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::dropped)] = 7;
  LiveFigures f = live_figures(snap, so_far);
  CHECK(f.elapsed_s == 5);
  CHECK(f.rate_rps == 1000);
  CHECK(f.failed == 7);
  CHECK(f.active_vus == 50);
  CHECK_FALSE(f.offered_rps.has_value());  // closed model: nothing was due
  snap.schedule.due = 1250;
  f = live_figures(snap, so_far);
  REQUIRE(f.offered_rps.has_value());
  CHECK(*f.offered_rps == 1250);
  CHECK(render_live_line(f).find("failed 7 ") != std::string::npos);
}

TEST_CASE("soak progress: the most worrying verdict first, at most three") {
  std::vector<SoakVerdict> v(5);
  for (std::size_t i = 0; i < v.size(); ++i) {
    v[i].component = "api";
    v[i].resource = "r" + std::to_string(i);
    v[i].verdict = "stable";
    v[i].source = "pid";
    v[i].unit = "count";
  }
  v[3].verdict = "leak";
  v[3].fails_run = true;
  const std::string line = render_soak_progress(v);
  CHECK(line.find("soak so far: api r3") == 0);
  CHECK(count(line, "api ") == 3);
  CHECK(render_soak_progress({}).find("judging") != std::string::npos);
}

TEST_CASE("atomic files: whole or not at all, checks leave nothing") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("strain-files-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "a.txt").string();
  CHECK(check_writable(file).empty());
  CHECK(!std::filesystem::exists(file));
  CHECK(write_file_atomically(file, "hello").empty());
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  CHECK(text == "hello");
  const std::string bad = (dir / "no" / "b.txt").string();
  CHECK(check_writable(bad).find("cannot write") == 0);
  CHECK(write_file_atomically(bad, "x").find("cannot write") == 0);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir))
    ++files;
  CHECK(files == 1);
  std::filesystem::remove_all(dir);
}
