// HistogramStock: reports' histograms come back empty and are reused, within the bound.
#include "engine/metrics/histogram_stock.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <utility>

using strain::Histogram;
using strain::HistogramStock;

TEST_CASE("a given histogram comes back empty, and taking it costs no new one") {
  HistogramStock stock(4);
  Histogram h;
  for (std::int64_t v = 1; v <= 1000; ++v)
    h.record(v * 37);
  stock.give(std::move(h));
  CHECK(stock.size() == 1);
  Histogram again = stock.take();
  CHECK(stock.misses() == 0);
  CHECK(again.total_count() == 0);
  // Every bucket is zero again: recording one value gives exactly that value back.
  again.record(5);
  CHECK(again.total_count() == 1);
  CHECK(again.value_at_percentile(100.0) == 5);
  CHECK(again.value_at_percentile(0.0) == 5);
}

TEST_CASE("an empty stock makes a histogram and counts the miss") {
  HistogramStock stock(4);
  const Histogram h = stock.take();
  CHECK(h.total_count() == 0);
  CHECK(stock.misses() == 1);
}

TEST_CASE("the stock keeps at most its capacity, only default layouts, never moved-from ones") {
  HistogramStock stock(2);
  for (int i = 0; i < 5; ++i)
    stock.give(Histogram());
  CHECK(stock.size() == 2);
  HistogramStock other(8);
  other.give(Histogram(1, 3'600'000'000'000, 3));  // a trend's layout: not the reports'
  CHECK(other.size() == 0);
  Histogram moved;
  moved.record(3);
  Histogram keeper = std::move(moved);
  other.give(std::move(moved));  // NOLINT: a moved-from histogram has no counts to reuse
  CHECK(other.size() == 0);
  other.give(std::move(keeper));
  CHECK(other.size() == 1);
}

TEST_CASE("take and give from two threads") {
  HistogramStock stock(16);
  std::thread giver([&] {
    for (int i = 0; i < 200; ++i)
      stock.give(Histogram());
  });
  for (int i = 0; i < 200; ++i) {
    Histogram h = stock.take();
    h.record(i + 1);
    CHECK(h.total_count() == 1);
  }
  giver.join();
  CHECK(stock.size() <= 16);
}
