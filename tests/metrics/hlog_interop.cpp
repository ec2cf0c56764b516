// Driver of the .hlog interop test (see hlog_interop.sh): writes an .hlog from seeded data, then
// checks the Java reader's figures and the Java writer's output against brute force.
//   hlog_interop write DIR   -> DIR/strain.hlog, DIR/expected.txt (for humans)
//   hlog_interop check DIR   <- DIR/java.txt (HlogCheck's figures), DIR/java.hlog
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/metrics/hlog_writer.hpp"
#include "tests/metrics/samples.hpp"

namespace {

using strain::Histogram;
namespace test = strain::test;

constexpr double kStartTime = 1700000000.0;

struct Interval {
  std::string tag;                    // "" for none
  std::vector<std::int64_t> samples;  // raw µs values
};

// The same data on every call: write and check run in separate processes.
std::vector<Interval> intervals() {
  std::vector<Interval> out;
  out.push_back({"", test::make_samples(test::Shape::uniform, 200'000, 101)});
  out.push_back({"checkout", test::make_samples(test::Shape::lognormal, 200'000, 102)});
  out.push_back({"", test::make_samples(test::Shape::bimodal, 200'000, 103)});
  out.push_back({"idle", {}});
  out.push_back({"edges", {0, 1, 1, 2, 1023, 2047, 2048, 2049, 4095, 4096}});
  return out;
}

Histogram histogram_of(const Interval& in) {
  Histogram h;
  for (const auto v : in.samples)
    h.record(v);
  return h;
}

// Brute-force figures: total, nearest-rank p50/p90/p99/p99.9, max.
struct Figures {
  std::int64_t total = 0;
  std::int64_t p[4] = {0, 0, 0, 0};
  std::int64_t max = 0;
};
constexpr std::int64_t kPpm[4] = {500'000, 900'000, 990'000, 999'000};
constexpr double kPercent[4] = {50.0, 90.0, 99.0, 99.9};
constexpr const char* kName[4] = {"p50", "p90", "p99", "p99.9"};

Figures brute_force(const Interval& in) {
  Figures f;
  f.total = static_cast<std::int64_t>(in.samples.size());
  if (in.samples.empty()) return f;
  const auto exact = test::exact_stats(in.samples);
  for (int i = 0; i < 4; ++i)
    f.p[i] = test::nearest_rank(exact.sorted, kPpm[i]);
  f.max = exact.sorted.back();
  return f;
}

int write(const std::string& dir) {
  std::ofstream hlog(dir + "/strain.hlog");
  std::ofstream expected(dir + "/expected.txt");
  strain::HlogWriter writer(hlog, kStartTime);
  const auto all = intervals();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!writer.write_interval(histogram_of(all[i]), static_cast<double>(i), 1.0, all[i].tag)) {
      std::cerr << "FAIL: cannot write " << dir << "/strain.hlog\n";
      return 1;
    }
    const Figures f = brute_force(all[i]);
    expected << (all[i].tag.empty() ? "-" : all[i].tag) << ' ' << i << " 1.000 " << f.total;
    for (const auto v : f.p)
      expected << ' ' << v;
    expected << ' ' << f.max << '\n';
  }
  return expected.good() ? 0 : 1;
}

int check(const std::string& dir) {
  const auto all = intervals();
  int failures = 0;
  auto fail = [&](std::size_t i, const std::string& what) {
    std::cerr << "FAIL interval " << i << ": " << what << '\n';
    ++failures;
  };

  // 1. The Java reader's figures against brute force (and against our own histogram, which
  //    must agree with the reference implementation exactly).
  std::ifstream figures(dir + "/java.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(figures, line);)
    lines.push_back(line);
  if (lines.size() != all.size()) {
    std::cerr << "FAIL: Java read " << lines.size() << " intervals, strain wrote " << all.size()
              << '\n';
    return 1;
  }
  std::printf("%-9s %7s %9s %9s %9s %9s %9s  (Java's figures / brute force)\n", "tag", "count",
              "p50", "p90", "p99", "p99.9", "max");
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::istringstream in(lines[i]);
    std::string tag;
    double start = 0;
    double length = 0;
    Figures java;
    in >> tag >> start >> length >> java.total >> java.p[0] >> java.p[1] >> java.p[2] >>
        java.p[3] >> java.max;
    if (!in) {
      fail(i, "unparseable line from Java: " + lines[i]);
      continue;
    }
    const Figures truth = brute_force(all[i]);
    const Histogram ours = histogram_of(all[i]);
    if (tag != (all[i].tag.empty() ? "-" : all[i].tag)) fail(i, "tag " + tag);
    if (std::abs(start - static_cast<double>(i)) > 0.002) fail(i, "start " + std::to_string(start));
    if (std::abs(length - 1.0) > 0.002) fail(i, "length " + std::to_string(length));
    if (java.total != truth.total) fail(i, "total " + std::to_string(java.total));
    for (int k = 0; k < 4; ++k) {
      if (truth.total == 0 ? java.p[k] != 0 : !test::upper_within_3_digits(java.p[k], truth.p[k])) {
        fail(i, std::string(kName[k]) + ": Java " + std::to_string(java.p[k]) + ", brute force " +
                    std::to_string(truth.p[k]));
      }
      if (java.p[k] != ours.value_at_percentile(kPercent[k])) {
        fail(i, std::string(kName[k]) + ": Java " + std::to_string(java.p[k]) + ", strain " +
                    std::to_string(ours.value_at_percentile(kPercent[k])));
      }
    }
    if (truth.total == 0 ? java.max != 0 : !test::upper_within_3_digits(java.max, truth.max)) {
      fail(i,
           "max: Java " + std::to_string(java.max) + ", brute force " + std::to_string(truth.max));
    }
    if (java.max != ours.max())
      fail(i, "max: Java " + std::to_string(java.max) + ", strain " + std::to_string(ours.max()));
    std::printf("%-9s %7lld", tag.c_str(), static_cast<long long>(java.total));
    for (int k = 0; k < 4; ++k) {
      std::printf(" %9lld", static_cast<long long>(java.p[k]));
    }
    std::printf(" %9lld\n%-9s %7s", static_cast<long long>(java.max), "", "");
    for (int k = 0; k < 4; ++k)
      std::printf(" %9lld", static_cast<long long>(truth.p[k]));
    std::printf(" %9lld\n", static_cast<long long>(truth.max));
  }

  // 2. What Java's HistogramLogWriter wrote must read back, bucket for bucket, as the
  //    histograms of the raw data.
  std::ifstream java_hlog(dir + "/java.hlog");
  strain::HlogLog log;
  try {
    log = strain::hlog_read(java_hlog);
  } catch (const strain::Error& e) {
    std::cerr << "FAIL: strain cannot read Java's .hlog: " << e.what() << '\n';
    return 1;
  }
  if (log.intervals.size() != all.size()) {
    std::cerr << "FAIL: Java wrote " << log.intervals.size() << " intervals\n";
    return 1;
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& in = log.intervals[i];
    if (!(in.histogram == histogram_of(all[i]))) fail(i, "Java-written histogram differs");
    if (in.tag != all[i].tag) fail(i, "Java-written tag '" + in.tag + "'");
    if (std::abs(in.start_s - static_cast<double>(i)) > 0.002) fail(i, "Java-written start");
  }
  if (failures == 0) std::printf("OK: Java reads strain's .hlog and strain reads Java's\n");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: hlog_interop write|check DIR\n";
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "write") return write(argv[2]);
  if (mode == "check") return check(argv[2]);
  std::cerr << "usage: hlog_interop write|check DIR\n";
  return 2;
}
