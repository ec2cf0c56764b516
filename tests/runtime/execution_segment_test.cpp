// --segment, STRAIN_SEGMENT, JOB_COMPLETION_INDEX with --segments, --start-at, and the
// fingerprint that tells one test's segments from another's.
#include "engine/runtime/execution_segment.hpp"

#include <doctest/doctest.h>

#include <string>

#include "engine/core/error.hpp"
#include "engine/runtime/planning.hpp"

using namespace strain;

namespace {

// The UsageError's message, or "" when there was none.
template <class F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// 2026-12-06T04:00:00Z in ms since 1970, worked out by hand: 56 years of 365 days and 14 leap
// days to 2026-01-01 (20,454 days), then 334 days to December 1 and 5 more, plus 4 h.
constexpr double kDec6At4 = ((20'454.0 + 334 + 5) * 86'400 + 4 * 3600) * 1000;

}  // namespace

TEST_CASE("--segment I/N: 1-based on the command line, Share{I-1, N} inside") {
  CHECK(parse_segment("1/1", "--segment") == Share{0, 1});
  CHECK(parse_segment("1/4", "--segment") == Share{0, 4});
  CHECK(parse_segment("4/4", "--segment") == Share{3, 4});
  CHECK(parse_segment("7/10000", "--segment") == Share{6, 10000});
}

TEST_CASE("--segment: bad strings exit 2 with a message naming them") {
  struct Bad {
    const char* text;
    const char* says;
  };
  for (const Bad b : {Bad{"3/2", "I counts from 1 to N"}, Bad{"0/4", "I counts from 1 to N"},
                      Bad{"1/0", "N must be at least 1"}, Bad{"", "not I/N"}, Bad{"2", "not I/N"},
                      Bad{"a/b", "not I/N"}, Bad{"1/2/3", "not I/N"}, Bad{"-1/2", "not I/N"},
                      Bad{"+1/2", "not I/N"}, Bad{" 1/2", "not I/N"}, Bad{"1/ 2", "not I/N"},
                      Bad{"1.5/2", "not I/N"}, Bad{"/2", "not I/N"}, Bad{"1/", "not I/N"},
                      Bad{"99999999999/2", "not I/N"}, Bad{"1/10001", "at most 10000"}}) {
    CAPTURE(b.text);
    const std::string e = usage_error([&] { (void)parse_segment(b.text, "--segment"); });
    CHECK(contains(e, std::string("--segment '") + b.text + "'"));
    CHECK(contains(e, b.says));
  }
  try {
    (void)parse_segment("3/2", "--segment");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::bad_usage);
  }
}

TEST_CASE("choose_segment: the flag, else STRAIN_SEGMENT, else JOB_COMPLETION_INDEX") {
  SegmentSources s;
  CHECK(choose_segment(s) == Share::whole());
  s.job_index_env = "2";
  s.segments = 4;
  CHECK(choose_segment(s) == Share{2, 4});  // 0-based
  s.strain_env = "1/4";
  CHECK(choose_segment(s) == Share{0, 4});  // the environment's own wins over the index
  s.flag = "4/4";
  CHECK(choose_segment(s) == Share{3, 4});  // the flag wins over both
  s.segments = 0;
  CHECK(choose_segment(s) == Share{3, 4});  // the index is not looked at, so --segments is optional
  // A bad STRAIN_SEGMENT is named as such; a flag given hides it.
  s.flag.clear();
  s.strain_env = "5/4";
  CHECK(contains(usage_error([&] { (void)choose_segment(s); }), "STRAIN_SEGMENT '5/4'"));
  s.flag = "2/4";
  CHECK(choose_segment(s) == Share{1, 4});
}

TEST_CASE("choose_segment: JOB_COMPLETION_INDEX and --segments must come together and agree") {
  SegmentSources s;
  s.job_index_env = "0";
  CHECK(contains(usage_error([&] { (void)choose_segment(s); }),
                 "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but --segments is not"));
  s.segments = 4;
  s.job_index_env = "4";
  CHECK(contains(usage_error([&] { (void)choose_segment(s); }), "must be below 4"));
  s.job_index_env = "x";
  CHECK(contains(usage_error([&] { (void)choose_segment(s); }), "not a whole number"));
  s.job_index_env.reset();
  CHECK(contains(usage_error([&] { (void)choose_segment(s); }),
                 "--segments 4 needs JOB_COMPLETION_INDEX"));
  s.flag = "1/3";
  CHECK(contains(usage_error([&] { (void)choose_segment(s); }),
                 "--segments 4 disagrees with --segment 1/3"));
  s.flag = "1/4";
  CHECK(choose_segment(s) == Share{0, 4});
}

TEST_CASE("--start-at: RFC 3339 in UTC, with offsets and fractions, or +DURATION") {
  const double now = kDec6At4 - 60'000;  // a minute before
  CHECK(parse_start_at("2026-12-06T04:00:00Z", now) == kDec6At4);
  CHECK(parse_start_at("2026-12-06t04:00:00z", now) == kDec6At4);
  CHECK(parse_start_at("2026-12-06 04:00:00Z", now) == kDec6At4);
  CHECK(parse_start_at("2026-12-06T05:00:00+01:00", now) == kDec6At4);
  CHECK(parse_start_at("2026-12-05T23:30:00-04:30", now) == kDec6At4);
  CHECK(parse_start_at("2026-12-06T04:00:00.25Z", now) == kDec6At4 + 250);
  CHECK(parse_start_at("2026-12-06T04:00:01.125+00:00", now) == kDec6At4 + 1125);
  CHECK(parse_start_at("+30s", now) == now + 30'000);
  CHECK(parse_start_at("+0s", now) == now);
  CHECK(parse_start_at("+1h", now) == now + 3'600'000);
  // Just passed (within a second) still counts as now.
  CHECK(parse_start_at("2026-12-06T04:00:00Z", kDec6At4 + 900) == kDec6At4);
  CHECK(format_unix_ms(kDec6At4) == "2026-12-06T04:00:00.000Z");
  CHECK(format_unix_ms(kDec6At4 + 1125) == "2026-12-06T04:00:01.125Z");
  CHECK(format_unix_ms(0) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("--start-at: bad, passed and too far ahead exit 2 naming it") {
  const double now = kDec6At4;
  for (const char* bad : {"", "now", "2026-12-06", "2026-12-06T04:00Z", "2026-12-06T04:00:00",
                          "2026-13-06T04:00:00Z", "2026-02-30T04:00:00Z", "2026-12-06T24:00:00Z",
                          "2026-12-06T04:60:00Z", "2026-12-06T04:00:00.Z",
                          "2026-12-06T04:00:00+0100", "2026-12-06T04:00:00Z ", "+", "+x", "30s"}) {
    CAPTURE(bad);
    const std::string e = usage_error([&] { (void)parse_start_at(bad, now); });
    CHECK(contains(e, std::string("--start-at")));
  }
  CHECK(contains(usage_error([&] { (void)parse_start_at("2026-12-06T03:59:58Z", now); }),
                 "has passed (2.0 s ago)"));
  CHECK(contains(usage_error([&] { (void)parse_start_at("2026-12-07T04:00:01Z", now); }),
                 "more than 24 h ahead"));
  CHECK(contains(usage_error([&] { (void)parse_start_at("+25h", now); }), "more than 24 h ahead"));
  CHECK(parse_start_at("2026-12-07T04:00:00Z", now) == now + 86'400'000);
}

TEST_CASE("fingerprint: the same test on any segment, thread count or output; not another test") {
  RunRequest r;
  r.url = "http://127.0.0.1:8080/";
  r.rate = "400/s";
  r.duration = "5s";
  r.duration_given = true;
  const std::string base = load_fingerprint(r, "", "");
  CHECK(base.size() == 16);
  CHECK(base.find_first_not_of("0123456789abcdef") == std::string::npos);
  RunRequest same = r;
  same.segment.flag = "2/4";
  same.segment.strain_env = "1/4";
  same.start_at = "+30s";
  same.threads = 7;
  CHECK(load_fingerprint(same, "", "") == base);
  RunRequest faster = r;
  faster.rate = "401/s";
  CHECK(load_fingerprint(faster, "", "") != base);
  RunRequest seeded = r;
  seeded.seed_given = true;  // the same value, but given: it is the default no longer
  CHECK(load_fingerprint(seeded, "", "") != base);
  CHECK(load_fingerprint(r, "function default() end", "") != base);
  CHECK(load_fingerprint(r, "", "x") != base);
  // Length-prefixed fields: moving a character between fields changes it.
  RunRequest a = r, b = r;
  a.method = "GETX";
  a.url = "http://127.0.0.1:8080";
  b.method = "GET";
  b.url = "Xhttp://127.0.0.1:8080";
  CHECK(load_fingerprint(a, "", "") != load_fingerprint(b, "", ""));
}

TEST_CASE("make_plan: a segment with no VUs is refused; others get their share") {
  RunRequest r;
  r.url = "http://127.0.0.1:9/";
  r.vus = 2;
  r.vus_given = true;
  r.threads = 4;
  r.segment.flag = "3/4";
  const std::string e = usage_error([&] { (void)make_plan(r); });
  CHECK(contains(e, "--segment 3/4: this segment gets none of the test's 2 VUs"));
  r.segment.flag = "2/2";
  const LoadPlan plan = make_plan(r);
  CHECK(plan.segment == Share{1, 2});
  CHECK(plan.peak_vus() == 2);
  CHECK(plan.segment_vus() == 1);
  CHECK(plan.fingerprint.size() == 16);
  CHECK_FALSE(plan.start_at_unix_ms.has_value());
}
