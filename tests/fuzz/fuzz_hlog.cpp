// .hlog files (HdrHistogram interval logs, ours or Java's): intervals with histograms, or a
// strain::Error naming the line. Decoding is bounded (kMaxDecodedCountsLen).
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "engine/core/error.hpp"
#include "engine/metrics/hlog_writer.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 1024 * 1024) return 0;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const strain::HlogLog log = strain::hlog_read(in);
    for (const strain::HlogInterval& i : log.intervals) {
      FUZZ_CHECK(i.histogram.total_count() >= 0);
      FUZZ_CHECK(!std::isnan(i.start_s) && !std::isnan(i.length_s));
    }
  } catch (const strain::Error& e) {
    strain::fuzz::check_message(e.what());
  }
  return 0;
}
