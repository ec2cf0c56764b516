// The soak verdict's false alarms and power, scenario by scenario: how many seeded runs of each
// synthetic heap end `leak`, `stable` or `inconclusive`. Prints a table; asserts nothing (a
// bench: `ctest -L bench`, or run it directly from a release build).
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "engine/soak/verdict.hpp"
#include "synth.hpp"

using namespace strain::soak;
using synth::kMiB;

namespace {

void row(const char* name, const synth::Heap& h, double duration_s, double warmup_s, int runs,
         std::uint64_t seed0) {
  TrendOptions o;
  o.warmup_end_s = warmup_s;
  o.unit = "bytes";
  std::map<Verdict, int> n;
  for (int i = 0; i < runs; ++i) {
    ++n[judge_trend(synth::heap(h, duration_s, seed0 + static_cast<std::uint64_t>(i)), o).verdict];
  }
  std::printf("%-56s %5d %6d %7d %12d\n", name, runs, n[Verdict::leak], n[Verdict::stable],
              n[Verdict::inconclusive]);
}

}  // namespace

int main() {
  const auto start = std::chrono::steady_clock::now();
  std::printf("%-56s %5s %6s %7s %12s\n", "scenario (no leak unless marked LEAK)", "runs", "leak",
              "stable", "inconclusive");
  const synth::Heap h = synth::churning_heap();

  synth::Heap periodic = h;
  periodic.hump_period_s = 600;
  periodic.hump_bytes = 200 * kMiB;
  periodic.hump_length_s = 120;
  row("1 h, +200 MiB for 2 min every 10 min", periodic, 3600, 300, 300, 1000);
  synth::Heap random = periodic;
  random.hump_period_s = 0;
  random.hump_chance_per_s = 1.0 / 600;
  row("1 h, +200 MiB for 2 min at random (1 per 10 min)", random, 3600, 300, 300, 2000);
  random.hump_length_s = 400;
  row("1 h, +200 MiB for 7 min at random (1 per 10 min)", random, 3600, 300, 300, 3000);
  synth::Heap big = h;
  big.floating_bytes = 200 * kMiB;
  big.headroom_bytes = 400 * kMiB;
  row("1 h, 200 MiB of floating garbage", big, 3600, 300, 300, 4000);
  for (double tau : {120.0, 600.0, 1800.0}) {
    for (double sd : {5.0, 20.0, 50.0}) {
      synth::Heap w = h;
      w.wander_bytes = sd * kMiB;
      w.wander_tau_s = tau;
      char name[80];
      std::snprintf(name, sizeof name, "1 h, live set wanders: sd %.0f MiB, tau %.0f s", sd, tau);
      row(name, w, 3600, 300, 300, 5000 + static_cast<std::uint64_t>(tau + sd) * 1000);
    }
  }
  synth::Heap old_gen = h;
  old_gen.tenured_bytes_per_s = 100 * kMiB / 1200;
  old_gen.old_headroom_bytes = 100 * kMiB;
  row("1 h, old generation: +100 MiB, full GC every ~20 min", old_gen, 3600, 300, 300, 6000);
  row("8 h, old generation: +100 MiB, full GC every ~20 min", old_gen, 8 * 3600, 600, 60, 7000);
  synth::Heap fill = h;
  fill.fill_bytes = 200 * kMiB;
  fill.fill_tau_s = 900;
  row("1 h, a cache fills +200 MiB, tau 15 min", fill, 3600, 300, 300, 7100);
  fill.fill_tau_s = 1800;
  row("1 h, a cache fills +200 MiB, tau 30 min", fill, 3600, 300, 300, 7200);
  fill.fill_tau_s = 3600;
  row("1 h, a cache fills +200 MiB, tau 60 min", fill, 3600, 300, 300, 7300);
  fill.floating_bytes = 4 * kMiB;
  fill.fill_tau_s = 900;
  row("1 h, a cache fills +200 MiB, tau 15 min, 4 MiB floating", fill, 3600, 300, 300, 7400);
  synth::Heap w8 = h;
  w8.wander_bytes = 20 * kMiB;
  w8.wander_tau_s = 1800;
  row("8 h, live set wanders: sd 20 MiB, tau 1800 s", w8, 8 * 3600, 600, 60, 8000);

  synth::Heap leak = synth::steady_heap();
  leak.leak_bytes_per_s = 10 * kMiB / 3600;
  row("LEAK 1 h, 10 MiB/h (2%/h), 8 MiB floating", leak, 3600, 300, 100, 9000);
  leak.floating_bytes = 40 * kMiB;
  row("LEAK 1 h, 10 MiB/h (2%/h), 40 MiB floating", leak, 3600, 300, 100, 10000);
  leak.leak_bytes_per_s = 30 * kMiB / 3600;
  row("LEAK 1 h, 30 MiB/h (6%/h), 40 MiB floating", leak, 3600, 300, 100, 11000);
  leak.wander_bytes = 5 * kMiB;
  leak.leak_bytes_per_s = 50 * kMiB / 3600;
  row("LEAK 1 h, 50 MiB/h, wander sd 5 MiB tau 600 s", leak, 3600, 300, 100, 12000);
  synth::Heap hinge = h;
  hinge.leak_start_s = 1440;
  hinge.leak_bytes_per_s = 30 * kMiB / 3600;
  row("LEAK 1 h, 30 MiB/h from 24 min, 40 MiB floating", hinge, 3600, 300, 100, 13000);
  synth::Heap fill_leak = h;
  fill_leak.fill_bytes = 200 * kMiB;
  fill_leak.fill_tau_s = 300;
  fill_leak.leak_bytes_per_s = 50 * kMiB / 3600;
  row("LEAK 1 h, 50 MiB/h after a cache fills (tau 5 min)", fill_leak, 3600, 300, 100, 13500);
  old_gen.leak_bytes_per_s = 50 * kMiB / 3600;
  row("LEAK 1 h, 50 MiB/h under the old generation", old_gen, 3600, 300, 100, 14000);
  row("LEAK 8 h, 50 MiB/h under the old generation", old_gen, 8 * 3600, 600, 30, 15000);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("(%.1f s)\n", took.count());
  return 0;
}
