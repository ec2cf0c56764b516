#include "engine/metrics/interval_recorder.hpp"

#include <doctest/doctest.h>

#include "tests/metrics/samples.hpp"

using namespace strain;

TEST_CASE("swap_out hands over each interval and starts an empty one") {
  IntervalRecorder rec;
  rec.record(100);
  rec.record(200);
  rec.record_n(300, 3);
  CHECK(rec.active().total_count() == 5);

  const Histogram& first = rec.swap_out();
  CHECK(first.total_count() == 5);
  CHECK(first.count_at_value(300) == 3);
  CHECK(rec.active().total_count() == 0);
  const Histogram first_copy = first;  // what a worker would post upward

  rec.record(7);
  const Histogram& second = rec.swap_out();
  CHECK(second.total_count() == 1);
  CHECK(second.count_at_value(7) == 1);
  CHECK(second.count_at_value(300) == 0);  // nothing of the first interval leaks in
  CHECK(first_copy.total_count() == 5);

  CHECK(rec.swap_out().total_count() == 0);  // an idle interval is empty, not stale
}

TEST_CASE("intervals add up to the whole run, exactly") {
  const auto samples = test::make_samples(test::Shape::bimodal, 50'000, 11);
  Histogram whole;
  for (const auto v : samples)
    whole.record(v);

  IntervalRecorder rec;
  Histogram by_swap;
  Histogram by_take;
  IntervalRecorder rec2;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    rec.record(samples[i]);
    rec2.record(samples[i]);
    if (i % 7'000 == 6'999) {  // "one second" boundaries
      by_swap.add(rec.swap_out());
      rec2.take_interval(by_take);
      CHECK(rec2.active().total_count() == 0);
    }
  }
  by_swap.add(rec.swap_out());
  rec2.take_interval(by_take);

  CHECK(by_swap == whole);
  CHECK(by_take == whole);
  CHECK(by_take.max() == whole.max());
  CHECK(by_take.min() == whole.min());
}

TEST_CASE("an interval recorder keeps its configuration") {
  IntervalRecorder rec(1000, 10'000'000'000, 2);
  rec.record(20'000'000'000);
  const Histogram& h = rec.swap_out();
  CHECK(h.lowest_discernible() == 1000);
  CHECK(h.significant_digits() == 2);
  CHECK(h.saturated_count() == 1);
  CHECK(rec.active().same_config(h));
}
