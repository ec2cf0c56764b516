// Every string a user types into a flag: durations, sizes, rates, thresholds, SLOs, growth
// budgets and limits, warm-ups, metric selectors and URLs. The first byte picks the parser, the
// rest is the text. A refusal is a UsageError with one line naming the flag; a value parsed is
// one the rest of strain can use (finite, not negative, a URL it can send).
#include <cmath>
#include <cstdint>
#include <string>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "engine/results/thresholds.hpp"
#include "engine/soak/soak_options.hpp"
#include "engine/stress/slo.hpp"
#include "engine/transport/url.hpp"
#include "engine/watch/prometheus_text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace strain;

namespace {

void check_threshold(const ThresholdSpec& t) {
  FUZZ_CHECK(!t.metric.empty());
  FUZZ_CHECK(!std::isnan(t.limit));
}

void parse_one(unsigned which, std::string_view text) {
  switch (which % 10) {
    case 0:
      FUZZ_CHECK(parse_duration(text, "--duration").count() >= 0);
      break;
    case 1:
      (void)parse_size_bytes(text, "--max-body");
      break;
    case 2: {
      const Rate r = parse_rate(text, "--rate");
      FUZZ_CHECK(std::isfinite(r.per_second) && r.per_second >= 0);
      break;
    }
    case 3: {
      // "key\ncondition", as a script's thresholds table or --threshold KEY=COND give them.
      const std::size_t nl = text.find('\n');
      const std::string_view key = text.substr(0, nl);
      const std::string_view cond = nl == std::string_view::npos ? "" : text.substr(nl + 1);
      check_threshold(parse_threshold(key, cond));
      break;
    }
    case 4: {
      const stress::Slo slo = stress::parse_slo(text, "--slo");
      FUZZ_CHECK(!slo.specs.empty());
      for (const ThresholdSpec& t : slo.specs)
        check_threshold(t);
      break;
    }
    case 5:
      for (const soak::ResourceValue& v : soak::parse_budgets(text, "--max-growth"))
        FUZZ_CHECK(!v.key.empty() && std::isfinite(v.value) && v.value >= 0);
      break;
    case 6:
      for (const soak::ResourceValue& v : soak::parse_limits(text, "--limit"))
        FUZZ_CHECK(!v.key.empty() && std::isfinite(v.value) && v.value >= 0);
      break;
    case 7: {
      soak::SoakOptions o;
      soak::parse_warmup(text, "--warmup", o);
      break;
    }
    case 8: {
      const watch::SeriesSelector s = watch::parse_series_selector(text);
      FUZZ_CHECK(!s.name.empty());
      break;
    }
    case 9: {
      const http::Url u = http::parse_url(text);
      FUZZ_CHECK(u.scheme == "http" || u.scheme == "https");
      FUZZ_CHECK(!u.host.empty() && u.port != 0);
      FUZZ_CHECK(!u.target.empty() && u.target.front() == '/');
      FUZZ_CHECK(u.target.find_first_of(" \r\n") == std::string::npos);
      FUZZ_CHECK(u.host_header.find_first_of(" \r\n") == std::string::npos);
      // What strain sends parses back to the same place (a refusal now would be a finding).
      const std::string again = u.scheme + "://" + u.host_header + u.target;
      try {
        const http::Url v = http::parse_url(again);
        FUZZ_CHECK(v.host == u.host && v.port == u.port && v.target == u.target);
      } catch (const UsageError&) {
        const bool parses_again = false;  // a URL strain parsed must parse as it would send it
        FUZZ_CHECK(parses_again);
      }
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    parse_one(data[0], text);
  } catch (const UsageError& e) {
    fuzz::check_message(e.what());
  }
  return 0;
}
