#include "engine/core/units.hpp"

#include <doctest/doctest.h>

#include "engine/core/error.hpp"

using namespace strain;
using namespace std::chrono_literals;

TEST_CASE("durations parse in every unit and in combinations") {
  CHECK(parse_duration("500ms", "d") == 500ms);
  CHECK(parse_duration("30s", "d") == 30s);
  CHECK(parse_duration("2m", "d") == 120s);
  CHECK(parse_duration("1h", "d") == 3600s);
  CHECK(parse_duration("1h30m", "d") == 5400s);
  CHECK(parse_duration("1.5s", "d") == 1500ms);
  CHECK(parse_duration("250us", "d") == 250us);
  CHECK(parse_duration("10", "d") == 10s);
}

TEST_CASE("bad durations name the flag and the text") {
  for (auto text : {"", "abc", "10x", "-5s", "5s5", "ms", "1.2.3s"}) {
    CAPTURE(text);
    try {
      (void)parse_duration(text, "--duration");
      FAIL("accepted");
    } catch (const UsageError& e) {
      CHECK(std::string(e.what()).find("--duration") != std::string::npos);
      CHECK(e.code() == ExitCode::bad_usage);
    }
  }
}

TEST_CASE("sizes are binary with i and decimal without") {
  CHECK(parse_size_bytes("512", "s") == 512);
  CHECK(parse_size_bytes("512B", "s") == 512);
  CHECK(parse_size_bytes("10KiB", "s") == 10240);
  CHECK(parse_size_bytes("4MiB", "s") == 4u * 1024 * 1024);
  CHECK(parse_size_bytes("1GiB", "s") == 1024ull * 1024 * 1024);
  CHECK(parse_size_bytes("10KB", "s") == 10000);
  CHECK(parse_size_bytes("1.5MB", "s") == 1500000);
  CHECK_THROWS_AS(parse_size_bytes("10QB", "s"), UsageError);
  CHECK_THROWS_AS(parse_size_bytes("", "s"), UsageError);
}

TEST_CASE("rates") {
  CHECK(parse_rate("2000/s", "r").per_second == doctest::Approx(2000));
  CHECK(parse_rate("2000", "r").per_second == doctest::Approx(2000));
  CHECK(parse_rate("120/m", "r").per_second == doctest::Approx(2));
  CHECK(parse_rate("10k/s", "r").per_second == doctest::Approx(10000));
  CHECK(parse_rate("3/ms", "r").per_second == doctest::Approx(3000));
  CHECK_THROWS_AS(parse_rate("0/s", "r"), UsageError);
  CHECK_THROWS_AS(parse_rate("5/y", "r"), UsageError);
}

TEST_CASE("formatting picks the unit by magnitude") {
  CHECK(format_duration(1500us) == "1.5ms");
  CHECK(format_duration(42ns) == "42ns");
  CHECK(format_duration(2500ms) == "2.5s");
  CHECK(format_duration(150s) == "2m30s");
  CHECK(format_size(512) == "512 B");
  CHECK(format_size(2048) == "2.00 KiB");
  CHECK(format_count(123456) == "123.5k");
}

TEST_CASE("values just under a unit boundary move to the next unit") {
  CHECK(format_duration(std::chrono::nanoseconds(999'600'000)) == "1s");
  CHECK(format_duration(std::chrono::nanoseconds(999'600)) == "1ms");
  CHECK(format_duration(std::chrono::nanoseconds(999'400)) == "999us");
  CHECK(format_duration(std::chrono::nanoseconds(999)) == "999ns");
}
