#include "engine/metrics/hlog_writer.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/metrics/hdr_codec.hpp"

using namespace strain;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

Histogram with(std::initializer_list<std::int64_t> values) {
  Histogram h;
  for (const auto v : values)
    h.record(v);
  return h;
}

}  // namespace

TEST_CASE("the header is Java's HistogramLogWriter header, plus BaseTime") {
  std::ostringstream out;
  HlogWriter w(out, 1717000000.25);
  CHECK(w.good());
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "#[Histogram log format version 1.3]");
  CHECK(lines[1] ==
        "#[StartTime: 1717000000.250 (seconds since epoch), Wed May 29 16:26:40 UTC 2024]");
  CHECK(lines[2] == "#[BaseTime: 1717000000.250 (seconds since epoch)]");
  CHECK(
      lines[3] ==
      "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"");
}

TEST_CASE("interval lines: [Tag=name,]start,length,max,base64") {
  std::ostringstream out;
  HlogWriter w(out, 1700000000.0);
  const Histogram a = with({100, 12345});  // max 12345 sits in [12344, 12351]: 12.351 ms
  const Histogram b = with({2'000'000});   // in [1999872, 2000895]: 2000.895 ms
  CHECK(w.write_interval(a, 0.0, 1.0));
  CHECK(w.write_interval(b, 1.0, 0.25, "items"));
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 6);
  CHECK(lines[4] == "0.000,1.000,12.351," + to_base64_compressed(a));
  CHECK(lines[5] == "Tag=items,1.000,0.250,2000.895," + to_base64_compressed(b));
}

TEST_CASE("tags cannot break the line format") {
  CHECK(HlogWriter::sanitize_tag("GET /items, page\r\n") == "GET_/items__page__");
  CHECK(HlogWriter::sanitize_tag("checkout") == "checkout");
  std::ostringstream out;
  HlogWriter w(out, 0.0);
  CHECK(w.write_interval(with({1}), 0, 1, "a b,c"));
  CHECK(w.write_comment("two\nlines"));
  const auto lines = lines_of(out.str());
  CHECK(lines[4].starts_with("Tag=a_b_c,0.000,1.000,0.001,"));
  CHECK(lines[5] == "#two lines");
}

TEST_CASE("write then read: every interval comes back exactly") {
  std::vector<Histogram> hs;
  hs.push_back(with({1, 2, 3, 1000, 5'000'000}));
  hs.emplace_back();  // an idle second
  hs.push_back(with({42}));
  Histogram other_config(1000, 10'000'000'000, 2);
  other_config.record(123'456'789);
  hs.push_back(other_config);

  std::stringstream io;
  HlogWriter w(io, 1700000000.5);
  for (std::size_t i = 0; i < hs.size(); ++i) {
    CHECK(w.write_interval(hs[i], static_cast<double>(i), 1.0, i % 2 == 0 ? "" : "api"));
  }
  const HlogLog log = hlog_read(io);
  REQUIRE(log.start_time_s.has_value());
  CHECK(*log.start_time_s == doctest::Approx(1700000000.5));
  REQUIRE(log.base_time_s.has_value());
  CHECK(*log.base_time_s == doctest::Approx(1700000000.5));
  REQUIRE(log.intervals.size() == hs.size());
  for (std::size_t i = 0; i < hs.size(); ++i) {
    CAPTURE(i);
    const HlogInterval& in = log.intervals[i];
    CHECK(in.histogram == hs[i]);
    CHECK(in.tag == (i % 2 == 0 ? "" : "api"));
    CHECK(in.start_s == doctest::Approx(static_cast<double>(i)));
    CHECK(in.length_s == doctest::Approx(1.0));
    CHECK(in.max == doctest::Approx(static_cast<double>(hs[i].max()) / 1000.0).epsilon(1e-3));
  }
}

TEST_CASE("the FILE* writer writes the same bytes and flushes each line") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  const Histogram h = with({10, 20, 30});
  {
    HlogWriter w(f, 1700000000.0);
    CHECK(w.write_interval(h, 0.0, 1.0, "x"));
    // Flushed: a second handle on the same file would see it; here the position tells.
    CHECK(std::ftell(f) > 0);
  }
  std::rewind(f);
  std::string text;
  for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f))
    text.push_back(static_cast<char>(c));
  std::fclose(f);

  std::ostringstream expected;
  HlogWriter w2(expected, 1700000000.0);
  CHECK(w2.write_interval(h, 0.0, 1.0, "x"));
  CHECK(text == expected.str());
}

TEST_CASE("a failing stream is reported, not thrown") {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  HlogWriter w(out, 0.0);
  CHECK_FALSE(w.good());
  CHECK_FALSE(w.write_interval(Histogram(), 0, 1));
}

TEST_CASE("the reader accepts Java's variations and names bad lines") {
  const Histogram h = with({7, 8, 9});
  const std::string b64 = to_base64_compressed(h);
  {
    // No BaseTime, CRLF line ends, a comment, absolute timestamps.
    std::istringstream in(
        "#[Histogram log format version 1.3]\r\n"
        "#[StartTime: 1700000000.000 (seconds since epoch), Tue Nov 14 ...]\r\n"
        "#just a comment\r\n"
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_"
        "Compressed_Histogram\"\r\n"
        "1700000000.127,1.000,0.009," +
        b64 + "\r\n");
    const HlogLog log = hlog_read(in);
    CHECK_FALSE(log.base_time_s.has_value());
    REQUIRE(log.intervals.size() == 1);
    CHECK(log.intervals[0].start_s == doctest::Approx(1700000000.127));
    CHECK(log.intervals[0].histogram == h);
  }
  for (const std::string& bad : std::vector<std::string>{
           "0.000,1.000," + b64, "x,1.000,0.009," + b64, "0.000,1.000,0.009,HISTFAAAA",
           "Tag=a,0.000,1.000,0.009", "0.000,1.000,0.009," + b64 + ",extra"}) {
    CAPTURE(bad);
    std::istringstream in("#[Histogram log format version 1.3]\n" + bad + "\n");
    try {
      (void)hlog_read(in);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).starts_with("hlog line 2: "));
    }
  }
}
