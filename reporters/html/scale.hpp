// Chart axes: how a value maps to a pixel, which values get a tick, and how a tick reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strain::html {

enum class ScaleKind : std::uint8_t { linear, log };

// How an axis' values read. `percentile`: the value is 1/(1-p) (HdrHistogram's plot), shown as
// p in percent; `duration`: seconds shown as 30s, 5m, 2h; `bytes`: binary prefixes.
enum class TickFormat : std::uint8_t { number, duration, percentile, bytes };

// A value-to-pixel map over [lo, hi] (log: lo > 0) onto [px_lo, px_hi] (may be reversed).
struct Scale {
  ScaleKind kind = ScaleKind::linear;
  double lo = 0;
  double hi = 1;
  double px_lo = 0;
  double px_hi = 1;

  // Values outside the domain map outside the pixel range; log clamps values <= 0 to lo.
  double to_px(double value) const;
};

struct Tick {
  double value = 0;
  std::string label;
};

// A domain covering [data_lo, data_hi] on round values: linear to multiples of the tick step
// (from zero when `from_zero`), log to powers of ten. Durations keep the data's own ends.
// Degenerate ranges (one value, or nothing positive on a log axis) are widened around the value.
void nice_domain(ScaleKind kind, TickFormat format, bool from_zero, double& data_lo,
                 double& data_hi);

// About `target` ticks inside [lo, hi], labelled in `format`.
std::vector<Tick> make_ticks(ScaleKind kind, TickFormat format, double lo, double hi,
                             int target = 6);

// A single value as an axis would label it (for read-outs and notes).
std::string format_value(TickFormat format, double value);

// The divisor and unit name bytes are shown in for values up to `max_bytes` (1, "B"; 1024,
// "KiB"; …), so a whole axis shares one unit.
double bytes_divisor(double max_bytes, const char** unit);

}  // namespace strain::html
