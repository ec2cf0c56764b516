#include "tools/target/metrics.hpp"

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace strain::target;

namespace {

struct Series {
  std::string help;
  std::string type;
  std::vector<std::string> values;
};

// A strict reader of the 0.0.4 text format as far as /metrics uses it: HELP and TYPE before
// each series' sample, names of [a-zA-Z_:][a-zA-Z0-9_:]*, no labels, one value per line.
std::map<std::string, Series> parse(const std::string& text) {
  std::map<std::string, Series> out;
  std::istringstream in(text);
  std::string line;
  const auto valid_name = [](const std::string& n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    for (const char c : n) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
    }
    return true;
  };
  while (std::getline(in, line)) {
    CAPTURE(line);
    REQUIRE_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      const auto rest = line.substr(7);
      const auto sp = rest.find(' ');
      REQUIRE(sp != std::string::npos);
      REQUIRE(valid_name(rest.substr(0, sp)));
      out[rest.substr(0, sp)].help = rest.substr(sp + 1);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      const auto rest = line.substr(7);
      const auto sp = rest.find(' ');
      REQUIRE(sp != std::string::npos);
      const auto name = rest.substr(0, sp);
      REQUIRE(out.count(name) == 1);  // HELP came first
      out[name].type = rest.substr(sp + 1);
    } else {
      const auto sp = line.find(' ');
      REQUIRE(sp != std::string::npos);
      const auto name = line.substr(0, sp);
      REQUIRE(valid_name(name));
      REQUIRE(out.count(name) == 1);
      REQUIRE_FALSE(out[name].type.empty());  // TYPE came before the sample
      const auto value = line.substr(sp + 1);
      std::size_t used = 0;
      std::stod(value, &used);
      REQUIRE(used == value.size());
      out[name].values.push_back(value);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("metrics: every series with HELP and TYPE, the process ones from the sample") {
  ProcessSample p;
  p.resident_bytes = 7479296;
  p.virtual_bytes = 83820544;
  p.open_fds = 25;
  p.max_fds = 20000;
  p.cpu_seconds = 0.03;
  p.start_time_s = 1796463787.81;
  StatsSnapshot s;
  s.served = 100;
  s.leak = LeakStats{1638400, false};
  s.fd_leak = FdLeakStats{10, 10000, false};
  s.transient = TransientStats{33554432, 2000, 1000, 3, 33554432};
  const auto text = format_metrics(p, s);
  CHECK(text.back() == '\n');
  const auto m = parse(text);
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"process_cpu_seconds_total", {"counter", "0.03"}},
      {"process_open_fds", {"gauge", "25"}},
      {"process_max_fds", {"gauge", "20000"}},
      {"process_virtual_memory_bytes", {"gauge", "83820544"}},
      {"process_resident_memory_bytes", {"gauge", "7479296"}},
      {"process_start_time_seconds", {"gauge", "1796463787.81"}},
      {"strain_target_requests_total", {"counter", "100"}},
      {"strain_target_leaked_bytes", {"gauge", "1638400"}},
      {"strain_target_leaked_fds", {"gauge", "10"}},
      {"strain_target_transient_bytes", {"gauge", "33554432"}},
  };
  CHECK(m.size() == expected.size());
  for (const auto& [name, tv] : expected) {
    CAPTURE(name);
    REQUIRE(m.count(name) == 1);
    CHECK_FALSE(m.at(name).help.empty());
    CHECK(m.at(name).type == tv.first);
    CHECK(m.at(name).values == std::vector<std::string>{tv.second});
  }
}

TEST_CASE("metrics: the shapes off read 0, and no process series without a sample") {
  StatsSnapshot s;
  s.served = 7;
  const auto m = parse(format_metrics(std::nullopt, s));
  CHECK(m.size() == 4);
  CHECK(m.count("process_resident_memory_bytes") == 0);
  CHECK(m.at("strain_target_requests_total").values == std::vector<std::string>{"7"});
  CHECK(m.at("strain_target_leaked_bytes").values == std::vector<std::string>{"0"});
  CHECK(m.at("strain_target_leaked_fds").values == std::vector<std::string>{"0"});
  CHECK(m.at("strain_target_transient_bytes").values == std::vector<std::string>{"0"});
  CHECK(kMetricsContentType == "text/plain; version=0.0.4");
}
