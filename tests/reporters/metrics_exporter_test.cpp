#include "reporters/metrics_exporter.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "engine/core/error.hpp"
#include "reporters/metrics_families.hpp"

using namespace strain;

namespace {

// A loopback socket bound to an ephemeral port; listening when asked (a port in use).
struct Socket {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ~Socket() { ::close(fd); }
  int bind_any(bool listen) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (listen) REQUIRE(::listen(fd, 1) == 0);
    socklen_t n = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
    return ntohs(a.sin_port);
  }
};

// A port nobody listens on now (bound, then released).
int free_port() {
  Socket s;
  return s.bind_any(false);
}

// One GET with a plain socket, HTTP/1.0 so the server closes; 5 s timeouts. Returns the raw
// response, status line included.
std::string http_get(int port, const std::string& path) {
  Socket s;
  timeval timeout{5, 0};
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(s.fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(s.fd, buf, sizeof buf, 0)) > 0;)
    response.append(buf, static_cast<std::size_t>(n));
  return response;
}

// The exposition parsed strictly: every sample's family has HELP and TYPE before it, names and
// label names are valid, label values quoted. Keyed by `name{labels}` exactly as written.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;

  double at(const std::string& series) const {
    const auto it = samples.find(series);
    if (it == samples.end()) FAIL("no sample " << series);
    return it->second;
  }
  bool has(const std::string& series) const { return samples.count(series) > 0; }
};

bool valid_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
  return true;
}

// The family a sample belongs to: summaries add _count and _sum.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_count", "_sum"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      if (types.count(base) && types.at(base) == "summary") return base;
    }
  }
  return name;
}

Scrape scrape(int port) {
  const std::string response = http_get(port, "/metrics");
  REQUIRE(response.find(" 200 ") != std::string::npos);
  const std::size_t body_at = response.find("\r\n\r\n");
  REQUIRE(body_at != std::string::npos);
  std::istringstream body(response.substr(body_at + 4));
  Scrape out;
  std::set<std::string> helped;
  for (std::string line; std::getline(body, line);) {
    INFO(line);
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      REQUIRE(valid_name(name));
      REQUIRE(helped.insert(name).second);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream in(line.substr(7));
      std::string name, type;
      in >> name >> type;
      REQUIRE(helped.count(name) == 1);
      REQUIRE((type == "counter" || type == "gauge" || type == "summary"));
      REQUIRE(out.types.emplace(name, type).second);
      continue;
    }
    REQUIRE(line[0] != '#');
    const std::size_t space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const std::string series = line.substr(0, space);
    const std::string name = series.substr(0, series.find('{'));
    REQUIRE(valid_name(name));
    REQUIRE(out.types.count(family_of(name, out.types)) == 1);
    if (series.size() > name.size()) {
      REQUIRE(series.back() == '}');
      // label="value" pairs, comma-separated; values hold no quote here.
      std::istringstream labels(series.substr(name.size() + 1, series.size() - name.size() - 2));
      for (std::string pair; std::getline(labels, pair, ',');) {
        const std::size_t eq = pair.find('=');
        REQUIRE(eq != std::string::npos);
        REQUIRE(valid_name(pair.substr(0, eq)));
        REQUIRE(pair.size() >= eq + 3);
        REQUIRE(pair[eq + 1] == '"');
        REQUIRE(pair.back() == '"');
      }
    }
    const std::string value = line.substr(space + 1);
    double v = 0;
    if (value == "Nan" || value == "NaN") {
      v = std::nan("");
    } else {
      std::size_t used = 0;
      v = std::stod(value, &used);
      REQUIRE(used == value.size());
    }
    REQUIRE(out.samples.emplace(series, v).second);
  }
  return out;
}

// `responses` answers of `latency_us` and status `status`.
void answer(RequestMetrics& m, std::uint64_t responses, std::int64_t latency_us, int status) {
  for (std::uint64_t i = 0; i < responses; ++i) {
    m.response_time_us.record(latency_us);
    m.service_time_us.record(latency_us);
  }
  m.responses += responses;
  m.status_classes[static_cast<std::size_t>(status / 100)] += responses;
  m.status_codes[status] += responses;
  m.bytes_in += 100 * responses;
  m.bytes_out += 50 * responses;
}

void fail(RequestMetrics& m, ErrorKind kind, std::uint64_t n) {
  m.errors_by_kind[static_cast<std::size_t>(kind)] += n;
}

IntervalSnapshot interval(std::uint64_t seq) {
  IntervalSnapshot snap;
  snap.sequence = seq;
  snap.start_s = static_cast<double>(seq);
  snap.length_s = 1;
  snap.planned_s = 10;
  snap.active_vus = 4;
  snap.in_flight = 3;
  snap.busy_fraction = 0.25;
  return snap;
}

}  // namespace

TEST_CASE("counters grow by each interval, gauges follow the last, the end is the result's") {
  const int port = free_port();
  auto exporter = MetricsExporter::start(std::to_string(port));  // bare port: loopback

  const Scrape before = scrape(port);
  CHECK(before.at("strain_requests_total") == 0);
  CHECK(before.at("strain_errors_total{kind=\"connect_refused\"}") == 0);
  CHECK(before.at("strain_responses_total{class=\"5xx\"}") == 0);
  CHECK(std::isnan(before.at("strain_response_time_seconds{quantile=\"0.99\"}")));
  CHECK(before.types.at("strain_requests_total") == "counter");
  CHECK(before.types.at("strain_response_time_seconds") == "summary");
  CHECK(!before.has("strain_errors_total{kind=\"none\"}"));
  CHECK(!before.has("strain_arrivals_due_total"));  // closed model (so far)

  RunResult so_far;
  so_far.config.command = "run";
  so_far.config.executor = "constant-vus";
  IntervalSnapshot one = interval(0);
  answer(one.total, 10, 1000, 200);
  answer(one.total, 2, 1000, 503);
  answer(one.total, 1, 1000, 429);
  fail(one.total, ErrorKind::connect_refused, 3);
  so_far.total.add(one.total);
  exporter->on_interval(one, so_far, "");

  const Scrape first = scrape(port);
  CHECK(first.at("strain_requests_total") == 13);
  CHECK(first.at("strain_responses_total{class=\"2xx\"}") == 10);
  CHECK(first.at("strain_responses_total{class=\"4xx\"}") == 1);
  CHECK(first.at("strain_responses_total{class=\"5xx\"}") == 2);
  CHECK(first.at("strain_errors_total{kind=\"connect_refused\"}") == 3);
  CHECK(first.at("strain_requests_failed_total") == 5);  // 3 refused + 2 × 503; 429 is not
  CHECK(first.at("strain_responses_rate_limited_total") == 1);
  CHECK(first.at("strain_bytes_received_total") == 1300);
  CHECK(first.at("strain_bytes_sent_total") == 650);
  CHECK(first.at("strain_response_time_seconds{quantile=\"0.99\"}") == doctest::Approx(0.001));
  CHECK(first.at("strain_response_time_seconds_count") == 13);
  CHECK(first.at("strain_vus_active") == 4);
  CHECK(first.at("strain_in_flight") == 3);
  CHECK(first.at("strain_generator_busy_ratio") == 0.25);
  CHECK(first.at("strain_run_elapsed_seconds") == 1);
  CHECK(first.at("strain_run_planned_seconds") == 10);
  CHECK(first.at("strain_run_finished") == 0);
  CHECK(first.at("strain_run_info{command=\"run\",executor=\"constant-vus\"}") == 1);

  IntervalSnapshot two = interval(1);
  answer(two.total, 5, 2000, 200);
  fail(two.total, ErrorKind::timeout, 1);
  so_far.total.add(two.total);
  exporter->on_interval(two, so_far, "");
  const Scrape second = scrape(port);
  CHECK(second.at("strain_requests_total") == 18);
  CHECK(second.at("strain_errors_total{kind=\"timeout\"}") == 1);
  CHECK(second.at("strain_errors_total{kind=\"connect_refused\"}") == 3);
  CHECK(second.at("strain_requests_failed_total") == 6);
  // Quantiles are the last interval's alone: 2 ms, not a blend with the first's 1 ms.
  CHECK(second.at("strain_response_time_seconds{quantile=\"0.5\"}") == doctest::Approx(0.002));
  CHECK(second.at("strain_response_time_seconds{quantile=\"1\"}") == doctest::Approx(0.002));

  // An interval with no answers says so (NaN), rather than repeating the last figure.
  exporter->on_interval(interval(2), so_far, "");
  CHECK(std::isnan(scrape(port).at("strain_response_time_seconds{quantile=\"0.5\"}")));

  exporter->on_result(so_far);
  const Scrape end = scrape(port);
  CHECK(end.at("strain_requests_total") == static_cast<double>(so_far.total.responses));
  CHECK(end.at("strain_requests_failed_total") == static_cast<double>(so_far.total.failed()));
  CHECK(end.at("strain_run_finished") == 1);
  CHECK(end.at("strain_in_flight") == 0);

  CHECK(http_get(port, "/elsewhere").find(" 404 ") != std::string::npos);
}

TEST_CASE("a stress search's state and an open model's arrivals are served") {
  const int port = free_port();
  auto exporter = MetricsExporter::start("127.0.0.1:" + std::to_string(port));
  RunResult so_far;
  IntervalSnapshot snap = interval(0);
  snap.schedules.resize(1);
  snap.schedule.due = 100;
  snap.schedule.started = 98;
  snap.schedule.schedule_lag_us.record(250);
  fail(snap.total, ErrorKind::dropped, 2);
  exporter->on_interval(snap, so_far, "step 3 at 800.0/s: judging");
  const Scrape s = scrape(port);
  CHECK(s.at("strain_arrivals_due_total") == 100);
  CHECK(s.at("strain_arrivals_started_total") == 98);
  CHECK(s.at("strain_arrivals_dropped_total") == 2);
  CHECK(s.at("strain_schedule_lag_seconds{quantile=\"0.99\"}") == doctest::Approx(250e-6));
  CHECK(s.at("strain_stress_step") == 3);
  CHECK(s.at("strain_stress_offered_requests_per_second") == 800);
  CHECK(s.at("strain_stress_phase{phase=\"judging\"}") == 1);
  CHECK(s.at("strain_stress_phase{phase=\"warming\"}") == 0);
}

TEST_CASE("the stress state line parses in both shapes, and nothing else does") {
  auto rate = live_metrics::parse_stress_state("step 5 at 812.5/s: cooling");
  REQUIRE(rate);
  CHECK(rate->step == 5);
  CHECK(rate->level == 812.5);
  CHECK(!rate->vus);
  CHECK(rate->phase == "cooling");
  auto vus = live_metrics::parse_stress_state("step 2 at 64 VUs: warming");
  REQUIRE(vus);
  CHECK(vus->vus);
  CHECK(vus->level == 64);
  CHECK(!live_metrics::parse_stress_state(""));
  CHECK(!live_metrics::parse_stress_state("step 2 at 64 rps: warming"));
}

TEST_CASE("a malformed address or a port in use is a usage error naming the address") {
  for (const char* bad : {"", "nonsense", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:99999",
                          "localhost:", "[::1]:9464", "127.0.0.1:94a4", "127.0.0:9464"}) {
    INFO(bad);
    try {
      MetricsExporter::start(bad);
      FAIL("started");
    } catch (const UsageError& e) {
      CHECK(std::string(e.what()).find(std::string("'") + bad + "'") != std::string::npos);
    }
  }
  Socket taken;
  const int port = taken.bind_any(true);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  try {
    MetricsExporter::start(":" + std::to_string(port));
    FAIL("started on a port in use");
  } catch (const UsageError& e) {
    const std::string what = e.what();
    CHECK(what.find(address) != std::string::npos);
    CHECK(what.find("in use") != std::string::npos);
  }
}

TEST_CASE("a soak's slopes so far are served, then the report's with each series' last bucket") {
  const int port = free_port();
  auto exporter = MetricsExporter::start("localhost:" + std::to_string(port));
  SoakVerdict rss;
  rss.component = "api";
  rss.resource = "rss";
  rss.unit = "bytes";
  rss.slope_per_hour = 1024;
  exporter->on_soak_verdicts({rss});
  const std::string series = "{component=\"api\",resource=\"rss\",unit=\"bytes\"}";
  CHECK(scrape(port).at("strain_soak_slope_per_hour" + series) == 1024);

  RunResult result;
  SoakReport report;
  rss.slope_per_hour = 2048;
  report.verdicts = {rss};
  SoakSeries timeline;
  timeline.component = "api";
  timeline.resource = "rss";
  timeline.unit = "bytes";
  timeline.t_s = {0, 60};
  timeline.min = {100, 110};
  timeline.max = {150, 160};
  report.series = {timeline};
  result.soak = report;
  exporter->on_result(result);
  const Scrape end = scrape(port);
  CHECK(end.at("strain_soak_slope_per_hour" + series) == 2048);
  CHECK(end.at("strain_soak_floor" + series) == 110);
  CHECK(end.at("strain_soak_peak" + series) == 160);
}
