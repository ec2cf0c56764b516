// Recorder against hand-built exchanges: every expected figure below is counted by hand.
#include "engine/exec/recorder.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

using namespace strain;

namespace {

constexpr std::int64_t kUs = 1'000;
constexpr std::int64_t kMs = 1'000'000;

Exchange response(int status, std::int64_t sent_ns, std::int64_t done_ns,
                  std::uint64_t bytes_in = 0, std::uint64_t bytes_out = 0) {
  Exchange ex;
  ex.status = status;
  ex.sent_ns = sent_ns;
  ex.done_ns = done_ns;
  ex.bytes_in = bytes_in;
  ex.bytes_out = bytes_out;
  return ex;
}

Exchange failure(ErrorKind kind, std::int64_t sent_ns, std::int64_t done_ns,
                 std::uint64_t bytes_in = 0, std::uint64_t bytes_out = 0) {
  Exchange ex = response(0, sent_ns, done_ns, bytes_in, bytes_out);
  ex.error = kind;
  return ex;
}

Histogram histogram_of(const std::vector<std::int64_t>& values_us) {
  Histogram h;
  for (const std::int64_t v : values_us)
    h.record(v);
  return h;
}

RequestMetrics take(Recorder& r) {
  RequestMetrics m;
  r.take_interval(m);
  return m;
}

std::uint64_t errors(const RequestMetrics& m, ErrorKind kind) {
  return m.errors_by_kind[static_cast<std::size_t>(kind)];
}

}  // namespace

TEST_CASE("a response: response time from the intended start, service time from sent, bytes") {
  Recorder r;
  // Due at 10 ms, sent at 12 ms, done at 15.5 ms: 5500 µs response time, 3500 µs service time.
  r.record(response(200, 12 * kMs, 15'500 * kUs, 300, 100), 10 * kMs);
  const RequestMetrics m = take(r);
  CHECK(m.name == "total");
  CHECK(m.responses == 1);
  CHECK(m.bytes_in == 300);
  CHECK(m.bytes_out == 100);
  CHECK(m.response_time_us == histogram_of({5'500}));
  CHECK(m.service_time_us == histogram_of({3'500}));
  CHECK(m.response_time_us.max() == m.response_time_us.highest_equivalent_value(5'500));
  CHECK(m.service_time_us.max() == m.service_time_us.highest_equivalent_value(3'500));
  CHECK(m.status_classes[2] == 1);
  CHECK(m.status_codes == std::map<int, std::uint64_t>{{200, 1}});
  CHECK(m.failed() == 0);
  CHECK(m.transport_errors() == 0);
  CHECK(m.attempts() == 1);
}

TEST_CASE("sub-microsecond remainders are truncated, never rounded up") {
  Recorder r;
  // 1999 ns after the intended start (1 µs), 999 ns after it was sent (0 µs).
  r.record(response(204, 1'000, 1'999), 0);
  const RequestMetrics m = take(r);
  CHECK(m.response_time_us == histogram_of({1}));
  CHECK(m.service_time_us == histogram_of({0}));
  CHECK(m.response_time_us.max() == 1);
  CHECK(m.service_time_us.max() == 0);
}

TEST_CASE("status classes and exact codes; outside 100..599 is class 0 and failed") {
  Recorder r;
  const std::vector<int> statuses = {100, 199, 200, 204, 200, 301, 404,
                                     429, 500, 599, 600, 999, 0,   99};
  for (const int status : statuses)
    r.record(response(status, kMs, 2 * kMs, 10, 1), 0);
  const RequestMetrics m = take(r);
  // By hand: 1xx {100, 199}; 2xx {200, 204, 200}; 3xx {301}; 4xx {404, 429}; 5xx {500, 599};
  // class 0 {600, 999, 0, 99}.
  CHECK(m.responses == 14);
  CHECK(m.status_classes[1] == 2);
  CHECK(m.status_classes[2] == 3);
  CHECK(m.status_classes[3] == 1);
  CHECK(m.status_classes[4] == 2);
  CHECK(m.status_classes[5] == 2);
  CHECK(m.status_classes[0] == 4);
  const std::map<int, std::uint64_t> codes = {{0, 1},   {99, 1},  {100, 1}, {199, 1}, {200, 2},
                                              {204, 1}, {301, 1}, {404, 1}, {429, 1}, {500, 1},
                                              {599, 1}, {600, 1}, {999, 1}};
  CHECK(m.status_codes == codes);
  CHECK(m.rate_limited() == 1);
  // Failed: 404, 500, 599, and the four of class 0; 429 is load shed, not a failure.
  CHECK(m.failed() == 7);
  CHECK(m.transport_errors() == 0);
  CHECK(m.attempts() == 14);
  CHECK(m.bytes_in == 140);
  CHECK(m.bytes_out == 14);
  // Every response has its latency, whatever its status.
  CHECK(m.response_time_us.total_count() == 14);
  CHECK(m.service_time_us.total_count() == 14);
}

TEST_CASE("timeouts and abandoned requests record their wait; other errors no latency") {
  Recorder r;
  // Due at 0, sent at 1 ms, timed out at 5 s: 5,000,000 µs and 4,999,000 µs.
  r.record(failure(ErrorKind::timeout, kMs, 5'000 * kMs, 0, 50), 0);
  // Due at 100 ms, sent at 300 ms, abandoned at 2.3 s: 2,200,000 µs and 2,000,000 µs.
  r.record(failure(ErrorKind::abandoned, 300 * kMs, 2'300 * kMs, 7, 50), 100 * kMs);
  // Failures that are not a wait: counted, no latency.
  r.record(failure(ErrorKind::reset, kMs, 3 * kMs, 5, 50), 0);
  r.record(failure(ErrorKind::connect_refused, kMs, kMs), 0);
  r.record(failure(ErrorKind::closed, kMs, 9 * kMs, 0, 50), 0);
  r.record(failure(ErrorKind::local_limit, kMs, kMs), 0);
  r.record(failure(ErrorKind::bad_response, kMs, 4 * kMs, 20, 50), 0);
  // And one good response, due 0, sent 1 ms, done 3 ms.
  r.record(response(200, kMs, 3 * kMs, 100, 50), 0);
  const RequestMetrics m = take(r);
  CHECK(m.responses == 1);
  CHECK(errors(m, ErrorKind::timeout) == 1);
  CHECK(errors(m, ErrorKind::abandoned) == 1);
  CHECK(errors(m, ErrorKind::reset) == 1);
  CHECK(errors(m, ErrorKind::connect_refused) == 1);
  CHECK(errors(m, ErrorKind::closed) == 1);
  CHECK(errors(m, ErrorKind::local_limit) == 1);
  CHECK(errors(m, ErrorKind::bad_response) == 1);
  CHECK(errors(m, ErrorKind::none) == 0);
  CHECK(m.transport_errors() == 7);
  CHECK(m.failed() == 7);
  CHECK(m.attempts() == 8);
  CHECK(m.dropped() == 0);
  // A failure's status is not counted as a response's.
  CHECK(m.status_classes[0] == 0);
  CHECK(m.status_codes == std::map<int, std::uint64_t>{{200, 1}});
  // Bytes of failed exchanges count too.
  CHECK(m.bytes_in == 7 + 5 + 20 + 100);
  CHECK(m.bytes_out == 6 * 50);
  CHECK(m.response_time_us == histogram_of({5'000'000, 2'200'000, 3'000}));
  CHECK(m.service_time_us == histogram_of({4'999'000, 2'000'000, 2'000}));
}

TEST_CASE(
    "record_dropped: a failed request of kind dropped, its wait a latency only if it waited") {
  Recorder r;
  r.record_dropped(1'000 * kMs, 1'250 * kMs, true);   // waited 250 ms
  r.record_dropped(1'000 * kMs, 1'900 * kMs, false);  // an overflow: no latency
  r.record_dropped(2'000 * kMs, 1'999 * kMs, true);   // given up before due: 0, never negative
  const RequestMetrics m = take(r);
  CHECK(m.dropped() == 3);
  CHECK(errors(m, ErrorKind::dropped) == 3);
  CHECK(m.transport_errors() == 3);
  CHECK(m.failed() == 3);
  CHECK(m.attempts() == 3);
  CHECK(m.responses == 0);
  CHECK(m.response_time_us == histogram_of({250'000, 0}));
  CHECK(m.response_time_us.min() == 0);
  CHECK(m.service_time_us.total_count() == 0);  // it was never sent
  CHECK(m.bytes_in == 0);
  CHECK(m.bytes_out == 0);
}

TEST_CASE("take_interval hands the interval over and starts an empty one, name and tags kept") {
  Recorder r("GET /cart", {{"scenario", "browse"}, {"group", "::checkout"}});
  r.record(response(200, kMs, 2 * kMs, 10, 20), 0);
  r.record(response(503, kMs, 4 * kMs, 10, 20), 0);
  r.record(failure(ErrorKind::timeout, kMs, 9 * kMs), 0);
  r.record_dropped(0, 5 * kMs, true);
  RequestMetrics first = take(r);
  CHECK(first.name == "GET /cart");
  CHECK(first.tags ==
        std::map<std::string, std::string>{{"scenario", "browse"}, {"group", "::checkout"}});
  CHECK(first.responses == 2);
  CHECK(first.status_codes == std::map<int, std::uint64_t>{{200, 1}, {503, 1}});
  CHECK(first.failed() == 3);  // the 503, the timeout, the drop
  CHECK(first.response_time_us.total_count() == 4);
  CHECK(first.service_time_us.total_count() == 3);

  // The next interval starts from nothing.
  const RequestMetrics empty = take(r);
  CHECK(empty.name == "GET /cart");
  CHECK(empty.tags == first.tags);
  CHECK(empty.responses == 0);
  CHECK(empty.status_codes.empty());
  CHECK(empty.attempts() == 0);
  CHECK(empty.bytes_in == 0);
  CHECK(empty.bytes_out == 0);
  CHECK(empty.response_time_us.total_count() == 0);
  CHECK(empty.service_time_us.total_count() == 0);

  // Codes counted after a take are those of the new interval only.
  r.record(response(200, kMs, 2 * kMs), 0);
  const RequestMetrics second = take(r);
  CHECK(second.status_codes == std::map<int, std::uint64_t>{{200, 1}});
  CHECK(second.status_classes[2] == 1);
  CHECK(second.status_classes[5] == 0);
}
