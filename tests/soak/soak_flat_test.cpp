// strain stays flat over a long soak: a million simulated intervals (fake clock, no sleeping)
// through the soak's recorder, the timeline and the durable logs leave the heap where it was.
#include <doctest/doctest.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>

#include "engine/results/run_result.hpp"
#include "engine/soak/soak_recorder.hpp"
#include "engine/soak/timeline_files.hpp"

using namespace strain;
using namespace strain::soak;

namespace {

std::size_t heap_in_use() {
  return mallinfo2().uordblks;
}

watch::Sample sample_at(std::uint64_t i) {
  watch::Sample s;
  // A flat sawtooth RSS, a constant fd count, a CPU counter.
  s.readings.push_back(
      {"rss", "bytes", watch::Kind::gauge, 100e6 + static_cast<double>(i % 60) * 1e6});
  s.readings.push_back({"fds", "count", watch::Kind::gauge, 40});
  s.readings.push_back({"cpu", "seconds", watch::Kind::counter, static_cast<double>(i) * 0.01});
  if (i % 100'000 == 99'999) {
    s.readings.clear();
    s.gap_reason = "scrape timed out";
  }
  return s;
}

}  // namespace

TEST_CASE("a million intervals of a soak keep strain's heap flat") {
  SoakOptions options;
  options.judged = true;
  SoakRecorder recorder({{"strain", "self"}, {"api", "pid"}, {"db", "metrics"}}, options);
  SampleLog samples(open_for_writing("/dev/null", "test"));
  IntervalLog intervals(open_for_writing("/dev/null", "test"),
                        open_for_writing("/dev/null", "test"));
  RunResult so_far;
  so_far.timeline.reserve(kMaxTimelinePoints);
  IntervalSnapshot snap;
  snap.total.name = "total";
  for (int v = 1; v <= 200; ++v) {
    snap.total.response_time_us.record(1000 + v);
    snap.total.service_time_us.record(900 + v);
  }
  snap.total.responses = 200;

  const auto start = std::chrono::steady_clock::now();
  constexpr std::uint64_t kIntervals = 1'000'000;
  constexpr std::uint64_t kWarm = 20'000;  // every bounded structure has reached its size
  std::size_t heap_warm = 0;
  std::size_t heap_peak = 0;
  for (std::uint64_t i = 0; i < kIntervals; ++i) {
    const double t = static_cast<double>(i);
    for (std::size_t w = 0; w < 3; ++w) {
      const watch::Sample s = sample_at(i + w);
      recorder.on_sample(t, w, s);
      // Formatting rows is the slow part of a round: every 10th keeps the test within seconds.
      if (i % 10 == 0) samples.write(t, "api", "pid", s);
    }
    if (i % 10 == 0) samples.flush();
    recorder.on_round(0);
    snap.sequence = i;
    snap.start_s = t;
    snap.length_s = 1;
    snap.point = IntervalPoint{t, 1, 200, 0, 1.0, 9.0, 10.0, 0, 0};
    recorder.on_interval(t, 1, snap.total, false);
    append_point(so_far.timeline, snap.point);
    // The interval log encodes histograms: every 100th interval keeps the test within seconds.
    if (i % 100 == 0) intervals.append(snap, so_far);
    if (i == kWarm) heap_warm = heap_in_use();
    if (i > kWarm && i % 1000 == 0) heap_peak = std::max(heap_peak, heap_in_use());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("heap after warm-up " << heap_warm << " B, peak after " << heap_peak << " B, "
                                << so_far.timeline.size() << " timeline points, " << secs << " s");
  CHECK(so_far.timeline.size() <= kMaxTimelinePoints);
  CHECK(so_far.timeline.capacity() <= kMaxTimelinePoints);
  // Flat: no more than 64 KiB above the warm-up level after 980,000 more intervals (a leak
  // of even one byte per interval would be 980 KB).
  CHECK(heap_peak <= heap_warm + 64 * 1024);
  // The whole run is still in the timeline, at coarser steps.
  CHECK(so_far.timeline.front().start_s == 0.0);
  std::uint64_t responses = 0;
  for (const IntervalPoint& p : so_far.timeline)
    responses += p.responses;
  CHECK(responses == 200 * kIntervals);
  // And the verdicts still come: the run is judged on bounded series.
  const SoakReport report = recorder.report(static_cast<double>(kIntervals));
  CHECK(report.sample_rounds == kIntervals);
  CHECK(!report.verdicts.empty());
  CHECK(report.gaps.size() >= 9);
}
