// The native HTTP/2 client against a scripted nghttp2 server (cleartext, prior knowledge): what
// goes on the wire, what the observer hears, and how each failure ends an exchange. The
// server's own record is the truth. TLS, ALPN and GOAWAY from a real server: tls_test.py.
#include "engine/transport/h2/h2_client.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/resolve.hpp"
#include "engine/transport/url.hpp"
#include "tests/transport/h2_server.hpp"
#include "tests/transport/scripted_server.hpp"

using namespace std::chrono_literals;
using strain::ErrorKind;
using strain::Exchange;
using strain::now_ns;
using strain::http::Header;
using namespace strain::test;

namespace {

struct H2Rig {
  explicit H2Rig(std::uint16_t port, std::uint32_t max_streams = 100, std::uint32_t connections = 0,
                 std::chrono::milliseconds request_timeout = 2000ms) {
    strain::NativeClientOptions t;
    t.connect_timeout = 1s;
    t.request_timeout = request_timeout;
    t.idle_timeout = 2s;
    strain::H2ClientOptions o;
    o.max_streams = max_streams;
    o.connections = connections;
    o.scheme = "http";
    o.authority = "127.0.0.1:" + std::to_string(port);
    client = strain::make_h2_client(io, strain::resolve_endpoint("127.0.0.1", port, 1000ms), t, o,
                                    nullptr);
  }
  ~H2Rig() { client->shutdown(); }

  boost::asio::io_context io{1};
  std::unique_ptr<strain::HttpClient> client;
};

class Collect final : public strain::http::ResponseObserver {
 public:
  void on_header(std::string_view name, std::string_view value) override {
    fields.emplace_back(std::string(name), std::string(value));
  }
  void on_body(std::string_view piece) override { body += piece; }
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
};

H2Action answer(int status, std::string body = {}) {
  H2Action a;
  a.status = status;
  a.body = std::move(body);
  return a;
}

}  // namespace

TEST_CASE("h2: the request's fields as HTTP/2 wants them, its body, and the response heard") {
  H2Server server([](const H2Seen&, int) {
    H2Action a = answer(201, "hello, h2");
    a.fields = {{"x-reply", "yes"}};
    return a;
  });
  H2Rig rig(server.port());
  const std::vector<Header> headers = {
      {"X-Custom", "Value 1"}, {"Connection", "keep-alive"}, {"Host", "localhost:8080"}};
  const std::string body(100 * 1024, 'b');  // past the first 64 KiB stream window
  const auto request = make_request(server.port(), "POST", "/p?q=1", headers, body);
  auto session = rig.client->open_session();
  Collect collect;
  session->set_response_observer(&collect);
  Recorder recorder;
  session->start(request, recorder, now_ns());
  REQUIRE(run_until(rig.io, [&] { return !recorder.seen.empty(); }));
  const Exchange& ex = recorder.seen[0];
  CHECK(ex.error == ErrorKind::none);
  CHECK(ex.status == 201);
  CHECK(collect.body == "hello, h2");
  CHECK(collect.fields.size() >= 1);
  bool reply_seen = false;
  for (const auto& [n, v] : collect.fields)
    reply_seen = reply_seen || (n == "x-reply" && v == "yes");
  CHECK(reply_seen);
  CHECK(ex.bytes_in > 9);
  CHECK(ex.bytes_out > body.size());
  CHECK(ex.sent_ns > 0);
  CHECK(ex.first_byte_ns >= ex.sent_ns);
  CHECK(ex.done_ns >= ex.first_byte_ns);

  const H2Record r = server.record();
  REQUIRE(r.requests.size() == 1);
  const H2Seen& seen = r.requests[0];
  CHECK(seen.value(":method") == "POST");
  CHECK(seen.value(":scheme") == "http");
  CHECK(seen.value(":path") == "/p?q=1");
  CHECK(seen.value(":authority") == "localhost:8080");  // the Host field, as HTTP/2 says
  CHECK(seen.value("x-custom") == "Value 1");           // names lowered
  CHECK_FALSE(seen.has("host"));
  CHECK_FALSE(seen.has("connection"));
  CHECK(seen.value("content-length") == std::to_string(body.size()));
  CHECK(seen.body == body);
}

TEST_CASE("h2: a 103 then a 200: the status is 200, and only the final response's fields") {
  H2Server server([](const H2Seen&, int) {
    H2Action a = answer(200, "ok");
    a.interim_status = 103;
    a.interim_fields = {{"link", "</a.css>; rel=preload"}};
    a.fields = {{"x-final", "1"}};
    return a;
  });
  H2Rig rig(server.port());
  const auto request = make_request(server.port());
  auto session = rig.client->open_session();
  Collect collect;
  session->set_response_observer(&collect);
  Recorder recorder;
  session->start(request, recorder, now_ns());
  REQUIRE(run_until(rig.io, [&] { return !recorder.seen.empty(); }));
  CHECK(recorder.seen[0].status == 200);
  for (const auto& f : collect.fields)
    CHECK(f.first != "link");
  CHECK(collect.body == "ok");
}

TEST_CASE("h2: 12 sessions on max_streams 4 and one connection: at most 4 open, all answered") {
  H2Server server([](const H2Seen&, int) {
    H2Action a = answer(200, "x");
    a.delay = 30ms;
    return a;
  });
  H2Rig rig(server.port(), 4, 1);
  const auto request = make_request(server.port());
  std::vector<std::unique_ptr<strain::Session>> sessions;
  Recorder recorder;
  const std::int64_t t0 = now_ns();
  for (int i = 0; i < 12; ++i) {
    sessions.push_back(rig.client->open_session());
    sessions.back()->start(request, recorder, t0);
  }
  REQUIRE(run_until(rig.io, [&] { return recorder.seen.size() == 12; }));
  for (const Exchange& ex : recorder.seen)
    CHECK(ex.status == 200);
  const H2Record r = server.record();
  CHECK(r.accepts == 1);
  CHECK(r.requests.size() == 12);
  CHECK(r.most_open == 4);
  CHECK(rig.client->connects() == 1);
  // The last four waited two rounds of 30 ms for a stream before their send: `blocked`.
  std::int64_t longest_blocked = 0;
  for (const Exchange& ex : recorder.seen)
    longest_blocked = std::max(longest_blocked, strain::phases_of(ex, t0).blocked_ns);
  CHECK(longest_blocked >= 55'000'000);
  CHECK(recorder.max_depth == 1);
}

namespace {

H2Action act(H2Action::Kind kind, std::uint32_t rst_code = NGHTTP2_INTERNAL_ERROR) {
  H2Action a;
  a.kind = kind;
  a.rst_code = rst_code;
  return a;
}

// One GET / on a fresh client for `port`, to its end; the body heard goes to `body`.
Exchange one_exchange(std::uint16_t port, std::string* body = nullptr) {
  H2Rig rig(port);
  auto session = rig.client->open_session();
  Collect collect;
  session->set_response_observer(&collect);
  Recorder recorder;
  const auto request = make_request(port);
  session->start(request, recorder, now_ns());
  REQUIRE(run_until(rig.io, [&] { return !recorder.seen.empty(); }));
  if (body != nullptr) *body = collect.body;
  return recorder.seen[0];
}

}  // namespace

TEST_CASE("h2: failures end the exchange as what they are") {
  SUBCASE("the server resets the stream: reset") {
    H2Server server([](const H2Seen&, int) { return act(H2Action::Kind::rst); });
    const Exchange ex = one_exchange(server.port());
    CHECK(ex.error == ErrorKind::reset);
    CHECK(ex.status == 0);
  }
  SUBCASE("the server refuses the stream once: sent again, answered") {
    H2Server server([](const H2Seen&, int index) {
      return index > 0 ? answer(200, "second") : act(H2Action::Kind::rst, NGHTTP2_REFUSED_STREAM);
    });
    std::string body;
    const Exchange ex = one_exchange(server.port(), &body);
    CHECK(ex.status == 200);
    CHECK(body == "second");
    CHECK(server.record().requests.size() == 2);
  }
  SUBCASE("the server closes the connection mid-stream: closed") {
    H2Server server([](const H2Seen&, int) { return act(H2Action::Kind::close_connection); });
    CHECK(one_exchange(server.port()).error == ErrorKind::closed);
  }
  SUBCASE("nothing listening: connect_refused") {
    std::uint16_t port = 0;
    {
      H2Server gone([](const H2Seen&, int) { return answer(200); });
      port = gone.port();
    }
    CHECK(one_exchange(port).error == ErrorKind::connect_refused);
  }
}

TEST_CASE("h2: a stream never answered times out; its neighbour on the connection is answered") {
  H2Server server([](const H2Seen& s, int) {
    return s.value(":path") == "/hang" ? act(H2Action::Kind::silent) : answer(200, "fine");
  });
  H2Rig rig(server.port(), 100, 1, 300ms);
  const auto hang = make_request(server.port(), "GET", "/hang");
  const auto fine = make_request(server.port(), "GET", "/fine");
  auto a = rig.client->open_session();
  auto b = rig.client->open_session();
  Recorder ra;
  Recorder rb;
  const std::int64_t start = now_ns();
  a->start(hang, ra, start);
  b->start(fine, rb, start);
  REQUIRE(run_until(rig.io, [&] { return !ra.seen.empty() && !rb.seen.empty(); }));
  CHECK(rb.seen[0].status == 200);
  CHECK(ra.seen[0].error == ErrorKind::timeout);
  const double waited_ms = static_cast<double>(ra.seen[0].done_ns - start) / 1e6;
  CHECK(waited_ms >= 300);
  CHECK(waited_ms < 1500);
  // The timed-out stream was reset (CANCEL), the connection kept.
  CHECK(server.record().accepts == 1);
  REQUIRE(run_until(
      rig.io, [&] { return !server.record().resets_in.empty(); }, 1000ms));
  CHECK(server.record().resets_in[0] == NGHTTP2_CANCEL);
}

TEST_CASE("h2: abandon reports abandoned and resets the stream") {
  H2Server server([](const H2Seen&, int) { return act(H2Action::Kind::silent); });
  H2Rig rig(server.port());
  auto session = rig.client->open_session();
  Recorder recorder;
  const auto request = make_request(server.port());
  session->start(request, recorder, now_ns());
  REQUIRE(run_until(rig.io, [&] { return server.record().requests.size() == 1; }));
  session->abandon(now_ns());
  REQUIRE(recorder.seen.size() == 1);
  CHECK(recorder.seen[0].error == ErrorKind::abandoned);
  CHECK_FALSE(session->busy());
  CHECK(rig.client->in_flight() == 0);
  REQUIRE(run_until(
      rig.io, [&] { return !server.record().resets_in.empty(); }, 1000ms));
  CHECK(server.record().resets_in[0] == NGHTTP2_CANCEL);
}
