// What the steps say once a search is over, on steps made here with known figures: how the
// target fails (sheds, queues, collapses), the headroom in rates and in VUs, the verdict's
// words, and the stress section's JSON round trip (the --vus-search fields included).
#include "engine/stress/analysis.hpp"

#include <doctest/doctest.h>

#include "engine/results/stress_json.hpp"

using namespace strain;
using namespace strain::stress;

namespace {

StressStep step(std::uint32_t index, double offered, double ok_rps, double p99_ms, bool ok,
                std::vector<std::pair<std::string, std::uint64_t>> errors = {}) {
  StressStep s;
  s.index = index;
  s.offered_rps = offered;
  s.achieved_rps = ok_rps;
  s.ok_rps = ok_rps;
  s.p50_ms = p99_ms / 2;
  s.p99_ms = p99_ms;
  s.concurrency = ok_rps * p99_ms / 2000;
  s.judged_s = 10;
  s.ok = ok;
  s.errors = std::move(errors);
  return s;
}

// Growth to 400/s held, 800/s broke; what 800/s looked like decides the mode.
StressReport search_with_broken(StressStep broken) {
  StressReport r;
  r.slo = "p99<100ms,errors<1%";
  r.end = "precise";
  r.steps = {step(0, 100, 100, 20, true), step(1, 200, 200, 22, true), step(2, 400, 400, 30, true)};
  broken.index = 3;
  r.steps.push_back(broken);
  r.max_sustainable_rps = 400;
  r.first_bad_rps = 800;
  r.precision = 1.0;
  return r;
}

}  // namespace

TEST_CASE("fast 429s while successes hold: the target sheds") {
  StressReport r = search_with_broken(step(3, 800, 410, 15, false, {{"429", 3900}}));
  std::string reason;
  CHECK(std::string(failure_mode(r, reason)) == "sheds");
  CHECK(reason.find("3900 fast refusals") != std::string::npos);
}

TEST_CASE("latency climbs with successes at the last good step's: the target queues") {
  StressReport r = search_with_broken(step(3, 800, 400, 900, false));
  std::string reason;
  CHECK(std::string(failure_mode(r, reason)) == "queues");
}

TEST_CASE("timeouts and successes falling: the target collapses") {
  StressReport r = search_with_broken(step(3, 800, 120, 5000, false, {{"timeout", 2000}}));
  std::string reason;
  CHECK(std::string(failure_mode(r, reason)) == "collapses");
  r = search_with_broken(step(3, 800, 200, 900, false, {{"500", 10}}));
  CHECK(std::string(failure_mode(r, reason)) == "collapses");  // successes fell to half
}

TEST_CASE("nothing broke: no failure mode") {
  StressReport r = search_with_broken(step(3, 800, 800, 40, true));
  std::string reason;
  CHECK(std::string(failure_mode(r, reason)).empty());
}

TEST_CASE("headroom against a rate: share of the sustainable rate, exceeds past it") {
  StressReport r = search_with_broken(step(3, 800, 400, 900, false));
  analyse(r, 300.0);
  REQUIRE(r.headroom);
  CHECK(r.headroom->share_of_sustainable == doctest::Approx(0.75));
  CHECK_FALSE(r.headroom->exceeds);
  CHECK_FALSE(r.failed());
  CHECK(r.verdict.find("The target sustains 400/s") != std::string::npos);
  CHECK(r.verdict.find("75% of the sustainable rate") != std::string::npos);
  analyse(r, 500.0);
  CHECK(r.headroom->exceeds);
  CHECK(r.failed());
}

TEST_CASE("--vus-search: levels are VUs; the failure mode and headroom compare VUs") {
  StressReport r;
  r.slo = "p99<100ms";
  r.end = "precise";
  r.vus_search = true;
  // Offered rates are 0 in a VU search: a rate comparison would call every step "above".
  for (std::uint32_t vus : {10u, 20u, 40u}) {
    StressStep s = step(0, 0, 800, 12.5 * vus / 10, true);
    s.vus = vus;
    r.steps.push_back(s);
  }
  StressStep broken = step(3, 0, 800, 101, false);
  broken.vus = 80;
  r.steps.push_back(broken);
  r.max_sustainable_vus = 40;
  r.first_bad_vus = 80;
  r.max_sustainable_rps = 800;
  r.precision = 1.0;
  analyse(r, 60.0);
  CHECK(r.failure_mode == "queues");
  REQUIRE(r.headroom);
  CHECK(r.headroom->expected_peak_vus == 60u);
  CHECK(r.headroom->share_of_sustainable == doctest::Approx(1.5));
  CHECK(r.headroom->exceeds);
  CHECK(r.verdict.find("The target sustains 40 VUs within the SLO (p99<100ms), serving 800/s; "
                       "it broke at 80 VUs.") != std::string::npos);
  CHECK(r.verdict.find("The expected 60 VUs is 150% of the sustainable count") !=
        std::string::npos);
}

TEST_CASE("the stress section survives its JSON round trip, VU fields included") {
  StressReport r = search_with_broken(step(3, 800, 410, 15, false, {{"429", 3900}}));
  r.vus_search = true;
  r.max_sustainable_vus = 75;
  r.first_bad_vus = 80;
  r.steps[1].vus = 20;
  analyse(r, 120.0);
  const StressReport back =
      result_json::stress_from_json(result_json::stress_json(r), "result.stress.");
  CHECK(back.vus_search);
  CHECK(back.max_sustainable_vus == 75u);
  CHECK(back.first_bad_vus == 80u);
  REQUIRE(back.headroom);
  CHECK(back.headroom->expected_peak_vus == 120u);
  CHECK(back.steps.size() == r.steps.size());
  CHECK(back.steps[1].vus == 20u);
  CHECK(back.steps[3].errors == r.steps[3].errors);
  CHECK(back.failure_mode == r.failure_mode);
  CHECK(back.verdict == r.verdict);
  // A VU count is a whole number in the file, not 75.0.
  CHECK(result_json::stress_json(r)["max_sustainable_vus"].is_number_unsigned());
}
