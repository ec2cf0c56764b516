// A Prometheus text scrape (--watch-metrics): malformed lines are skipped and counted, never
// fatal; every series kept has a valid name and its labels.
#include <cstdint>

#include "engine/watch/prometheus_text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 1024 * 1024) return 0;
  const strain::watch::Exposition e =
      strain::watch::parse_prometheus_text(strain::fuzz::text_of(data, size));
  FUZZ_CHECK(e.bad_lines <= e.lines);
  FUZZ_CHECK(e.first_bad_line <= e.lines);
  FUZZ_CHECK((e.bad_lines == 0) == (e.first_bad_line == 0));
  FUZZ_CHECK(e.series.size() + e.bad_lines <= e.lines);
  for (const auto& s : e.series) {
    FUZZ_CHECK(!s.name.empty());
    (void)e.type_of(s.name);
  }
  return 0;
}
