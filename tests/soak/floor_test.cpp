#include "engine/soak/floor.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <vector>

#include "engine/soak/drift_series.hpp"
#include "engine/soak/floor_series.hpp"
#include "synth.hpp"

// Every allocation in this test executable is counted, so a test can show that a stretch of
// code allocates nothing. Every plain form of new and delete is replaced, so they all pair up
// (the aligned forms, untouched, pair among themselves).
namespace {
std::atomic<std::size_t> g_allocations{0};
void* counted_malloc(std::size_t n) noexcept {
  ++g_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* counted_new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace
void* operator new(std::size_t n) {
  return counted_new(n);
}
void* operator new[](std::size_t n) {
  return counted_new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
// GCC 12 takes malloc/free inside a replaced operator new/delete, once inlined, for a mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

using namespace strain::soak;

TEST_CASE("window minima equal a brute-force minimum per (segment, window), never mixing") {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0, 10);
  for (int seed = 0; seed < 50; ++seed) {
    // Three segments of 40, 25 and 60 samples, 5-sample windows: 8, 5 and 12 full windows.
    std::vector<TrendPoint> p;
    double t = 0;
    const int lengths[] = {40, 25, 60};
    for (std::uint32_t seg = 0; seg < 3; ++seg) {
      for (int i = 0; i < lengths[seg]; ++i, t += 1)
        p.push_back({t, noise(rng), seg});
    }
    std::map<std::pair<std::uint32_t, int>, TrendPoint> expected;
    std::map<std::uint32_t, double> first_t;
    for (const TrendPoint& x : p) {
      if (!first_t.count(x.segment)) first_t[x.segment] = x.t_s;
      const int w = static_cast<int>((x.t_s - first_t[x.segment]) / 5);
      auto [it, fresh] = expected.try_emplace({x.segment, w}, x);
      if (!fresh && x.value < it->second.value) it->second = x;
    }
    std::shuffle(p.begin(), p.end(), rng);
    const auto got = window_minima(p, 5);
    REQUIRE(got.size() == expected.size());
    std::size_t i = 0;
    for (const auto& [key, want] : expected) {
      CHECK(got[i].segment == want.segment);
      CHECK(got[i].t_s == want.t_s);
      CHECK(got[i].value == want.value);
      ++i;
    }
  }
}

TEST_CASE("a window with fewer than half a typical window's samples is left out") {
  std::vector<TrendPoint> p;
  for (int i = 0; i < 52; ++i)
    p.push_back({double(i), 100.0 - i, 0});  // 10 windows of 5 + 2
  const auto got = window_minima(p, 5);
  REQUIRE(got.size() == 10);
  CHECK(got.back().t_s == 49);  // the ragged window at 50..51 would have shown 48
  const auto med = window_medians(p, 5);
  REQUIRE(med.size() == 10);
  CHECK(med[0].t_s == 2);
  CHECK(med[0].value == 98);
}

TEST_CASE("the sawtooth period is found, noise has none, and the window spans collections") {
  synth::Heap h;
  h.churn_bytes_per_s = 10e6;
  h.headroom_bytes = 150e6;  // a collection every ~15 s
  const auto saw = synth::heap(h, 3600, 1);
  const double period = sawtooth_period_s(saw);
  CHECK(period >= 12);
  CHECK(period <= 18);
  const double w = auto_window_s(saw, true);
  CHECK(w >= 2 * period);
  CHECK(3600 / w >= 20);
  CHECK(3600 / w <= 200);

  std::mt19937_64 rng(2);
  std::normal_distribution<double> noise(0, 1);
  std::vector<TrendPoint> flat;
  for (int i = 0; i < 3600; ++i)
    flat.push_back({double(i), noise(rng), 0});
  CHECK(sawtooth_period_s(flat) == 0);
  CHECK(auto_window_s(flat, true) == doctest::Approx(72));  // 50 windows
  CHECK(sawtooth_period_s(synth::jittery_count(64, 0.1, 3600, 3)) == 0);

  // Short series: windows at least 3 samples wide, 20 of them when there is room.
  std::vector<TrendPoint> short_run(flat.begin(), flat.begin() + 60);
  CHECK(auto_window_s(short_run, true) == doctest::Approx(3));
  CHECK(window_minima(short_run).size() == 20);
}

TEST_CASE("FloorSeries keeps the exact floor and peak of every bucket it merged") {
  FloorSeries fs(16, 1.0);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 50);
  std::vector<TrendPoint> raw;
  for (int i = 0; i < 1000; ++i) {
    const auto seg = static_cast<std::uint32_t>(i < 600 ? 0 : 1);
    raw.push_back({double(i), 1000 + noise(rng), seg});
    fs.add(raw.back().t_s, raw.back().value, seg);
  }
  CHECK(fs.samples() == 1000);
  CHECK(fs.buckets().size() <= 16);
  CHECK(fs.bucket_width_s() == 128);  // 1000 s in at most 16 buckets: 1, 2, ... 128 s wide
  std::uint64_t counted = 0;
  for (const FloorBucket& b : fs.buckets()) {
    double lo = INFINITY;
    double hi = -INFINITY;
    double t_lo = 0;
    std::uint64_t n = 0;
    for (const TrendPoint& x : raw) {
      const auto cell = static_cast<std::int64_t>(std::floor(x.t_s / fs.bucket_width_s()));
      if (x.segment != b.segment || cell != b.cell) continue;
      ++n;
      if (x.value < lo) t_lo = x.t_s;
      lo = std::min(lo, x.value);
      hi = std::max(hi, x.value);
    }
    CHECK(b.count == n);
    CHECK(b.min == lo);
    CHECK(b.t_min_s == t_lo);
    CHECK(b.max == hi);
    counted += n;
  }
  CHECK(counted == 1000);  // every sample in exactly one bucket, none across the restart
}

TEST_CASE(
    "FloorSeries and DriftSeries fed 1,000,000 points keep their memory, allocating nothing") {
  FloorSeries fs(512, 1.0);
  DriftSeries ds(256, 1.0);
  const FloorBucket* floor_data = fs.buckets().data();
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(0, 1);
  // Touch the buckets once so a lazily reserving implementation would show up below as well.
  fs.add(0, 1);
  ds.add(0, 1);
  floor_data = fs.buckets().data();
  const DriftBucket* drift_data = ds.buckets().data();
  const std::size_t before = g_allocations.load();
  for (int i = 1; i < 1'000'000; ++i) {
    const auto seg = static_cast<std::uint32_t>(i / 300'000);  // three restarts
    fs.add(double(i), u(rng), seg);
    ds.add(double(i), u(rng), seg);
  }
  CHECK(g_allocations.load() == before);
  CHECK(fs.buckets().data() == floor_data);
  CHECK(ds.buckets().data() == drift_data);
  CHECK(fs.capacity() == 512);
  CHECK(fs.buckets().size() <= 512);
  CHECK(fs.buckets().size() > 256 - 4);  // merging halves it, never empties it
  CHECK(ds.buckets().size() <= 256);
  CHECK(fs.samples() == 1'000'000);
  CHECK(ds.samples() == 1'000'000);
}

TEST_CASE("DriftSeries bucket medians stay close to the exact medians") {
  // Lognormal p99-like values; every bucket's median against the raw values it holds, in rank:
  // the sketch's rank error has a spread near 0.03 (k = 32), and no bias.
  DriftSeries ds(64, 1.0);
  std::mt19937_64 rng(4);
  std::lognormal_distribution<double> ln(3.0, 0.5);
  std::vector<TrendPoint> raw;
  for (int i = 0; i < 20000; ++i) {
    raw.push_back({double(i), ln(rng), 0});
    ds.add(raw.back().t_s, raw.back().value);
  }
  REQUIRE(ds.bucket_width_s() >= 256);
  double rank_sum = 0;
  for (const DriftBucket& b : ds.buckets()) {
    std::vector<double> in;
    for (const TrendPoint& x : raw) {
      if (static_cast<std::int64_t>(std::floor(x.t_s / ds.bucket_width_s())) == b.cell) {
        in.push_back(x.value);
      }
    }
    REQUIRE(in.size() == b.count);
    std::sort(in.begin(), in.end());
    const double m = b.median();
    const auto rank = static_cast<double>(std::lower_bound(in.begin(), in.end(), m) - in.begin());
    CHECK(rank / double(in.size()) >= 0.35);
    CHECK(rank / double(in.size()) <= 0.65);
    rank_sum += rank / double(in.size());
    CHECK(b.min == in.front());
    CHECK(b.max == in.back());
  }
  const double mean_rank = rank_sum / double(ds.buckets().size());
  CHECK(mean_rank >= 0.46);
  CHECK(mean_rank <= 0.54);
  // Few samples: exact.
  DriftSeries small(8, 100.0);
  for (double v : {5.0, 1.0, 4.0, 2.0})
    small.add(1, v);
  CHECK(small.points().at(0).value == 3.0);
}
