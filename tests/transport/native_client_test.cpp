// Contract tests for NativeClient against a scripted loopback server: every count is checked
// against what the server itself saw, never against the client's own say-so.
#include "engine/transport/native_client.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/url.hpp"
#include "tests/transport/scripted_server.hpp"

using namespace std::chrono_literals;
using strain::ErrorKind;
using strain::Exchange;
using strain::NativeClient;
using strain::NativeClientOptions;
using strain::now_ns;
using namespace strain::test;  // ScriptedServer, Reply, Recorder, run_until, isolated, ...

namespace {

// [::1]:port.
strain::Endpoint loopback6(std::uint16_t port) {
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(port);
  address.sin6_addr = in6addr_loopback;
  return strain::Endpoint::of(reinterpret_cast<const sockaddr*>(&address), sizeof address);
}

// The addresses of `parts`, in order.
strain::Endpoint addresses(std::initializer_list<strain::Endpoint> parts) {
  strain::Endpoint all;
  for (const auto& part : parts) {
    for (std::size_t i = 0; i < part.count; ++i) {
      all.add(part.addresses[i].get(), part.addresses[i].length);
    }
  }
  return all;
}

// The second exchange on a kept-alive connection, started while the io_context is idle (so it
// is written at once, inside start()) and read only after the server has sent `second` and done
// what it says: the client then finds data and FIN (or RST) waiting together, as a worker busy
// elsewhere does. Timeouts are 1 s, so a client that misses the end reports timeout, not hangs.
Exchange second_exchange_after_server_is_done(const Reply& second) {
  ScriptedServer server(
      [&](const Incoming& in) { return in.index == 0 ? Reply{ok_hello} : second; });
  const auto request = make_request(server.port());
  boost::asio::io_context io{1};
  NativeClientOptions options;
  options.request_timeout = 1s;
  options.idle_timeout = 1s;
  NativeClient client(io, loopback(server.port()), options);
  auto session = client.open_session();
  Recorder recorder;
  session->start(request, recorder, now_ns());
  REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
  REQUIRE(recorder.seen[0].status == 200);
  session->start(request, recorder, now_ns());
  REQUIRE(server.wait_for([&](const ServerRecord& r) {
    return r.requests.size() == 2 && (second.bytes.empty() || r.replies == 2) &&
           (second.then == Then::keep_open || r.server_closes == 1);
  }));
  REQUIRE(run_until(io, [&] { return recorder.seen.size() == 2; }));
  CHECK(client.in_flight() == 0);
  client.shutdown();
  return recorder.seen[1];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. Keep-alive.

TEST_CASE("keep-alive: 200 exchanges share one connection and each request arrives byte-exact") {
  isolated([] {
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port(), "GET", "/keep?x=1", {{"Accept", "*/*"}});
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    std::vector<std::int64_t> started;
    std::vector<std::uint64_t> in_flight_inside;
    recorder.then = [&](const Exchange&) {
      in_flight_inside.push_back(client.in_flight());
      if (recorder.seen.size() == 200) return;
      started.push_back(now_ns());
      session->start(request, recorder, started.back());
    };
    started.push_back(now_ns());
    session->start(request, recorder, started.back());
    CHECK(client.in_flight() == 1);
    CHECK(session->busy());
    REQUIRE(run_until(
        io, [&] { return recorder.seen.size() == 200; }, 5000ms));
    CHECK_FALSE(session->busy());
    CHECK(client.in_flight() == 0);

    for (std::size_t i = 0; i < recorder.seen.size(); ++i) {
      const Exchange& e = recorder.seen[i];
      CAPTURE(i);
      CHECK(e.status == 200);
      CHECK(e.error == ErrorKind::none);
      CHECK(e.bytes_in == ok_hello.size());
      CHECK(e.bytes_out == request.bytes().size());
      CHECK(e.sent_ns >= started[i]);
      CHECK(e.done_ns >= e.sent_ns);
      CHECK(in_flight_inside[i] == 0);
      if (i == 0) {
        CHECK(e.connect_ns > 0);
      } else {
        CHECK(e.connect_ns == 0);
      }
    }

    const ServerRecord seen = server.record();
    CHECK(seen.accepts == 1);
    REQUIRE(seen.requests.size() == 200);
    for (const auto& r : seen.requests) {
      CHECK(r.connection == 0);
      CHECK((r.raw == request.bytes()));
    }
    CHECK(client.connects() == 1);
    client.shutdown();
  });
}

TEST_CASE("keep-alive: a large request body and a large response cross in pieces byte-exact") {
  isolated([] {
    // 4 MiB out fills the socket buffer (the client waits for EPOLLOUT); 3 MiB in takes many
    // reads of the 64 KiB buffer.
    const std::string body(4u << 20, 'b');
    const std::string response_body(3u << 20, 'r');
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(response_body.size()) + "\r\n\r\n" +
        response_body;
    ScriptedServer server(always(Reply{response}));
    const auto request =
        make_request(server.port(), "POST", "/upload", {{"Content-Type", "text/plain"}}, body);
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() < 3) session->start(request, recorder, now_ns());
    };
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(
        io, [&] { return recorder.seen.size() == 3; }, 8000ms));
    for (const Exchange& e : recorder.seen) {
      CHECK(e.status == 200);
      CHECK(e.error == ErrorKind::none);
      CHECK(e.bytes_out == request.bytes().size());
      CHECK(e.bytes_in == response.size());
    }
    const ServerRecord seen = server.record();
    CHECK(seen.accepts == 1);
    REQUIRE(seen.requests.size() == 3);
    for (const auto& r : seen.requests)
      CHECK((r.raw == request.bytes()));
    CHECK(client.connects() == 1);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Framing: chunked, HEAD, 204, 304, interim 1xx, all on one reused connection.

TEST_CASE(
    "chunked with extensions and trailers; HEAD; 204; 304; 100 Continue: all on one connection") {
  isolated([] {
    struct Step {
      std::string method;
      std::string response;
      int status;
    };
    const std::vector<Step> steps = {
        {"GET",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\nhello\r\n6 ; name=\"v\"\r\n world\r\n0\r\nX-Trailer: t\r\nX-More: u\r\n\r\n",
         200},
        {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/html\r\n\r\n", 200},
        {"GET", "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", 204},
        {"GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"v1\"\r\n\r\n", 304},
        {"HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200},
        {"GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
         201},
        {"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200},
        {"GET", ok_hello, 200},
    };
    ScriptedServer server(
        [&](const Incoming& in) { return Reply{steps[count(in.index) % steps.size()].response}; });
    std::vector<strain::http::RequestTemplate> requests;
    for (const auto& step : steps)
      requests.push_back(make_request(server.port(), step.method));
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 1s;  // a client waiting for a body that never comes ends in 1 s
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() < 2 * steps.size()) {
        session->start(requests[recorder.seen.size() % steps.size()], recorder, now_ns());
      }
    };
    session->start(requests[0], recorder, now_ns());
    REQUIRE(run_until(
        io, [&] { return recorder.seen.size() == 2 * steps.size(); }, 5000ms));

    for (std::size_t i = 0; i < recorder.seen.size(); ++i) {
      const Step& step = steps[i % steps.size()];
      CAPTURE(i);
      CAPTURE(step.method);
      CAPTURE(step.response);
      CHECK(recorder.seen[i].error == ErrorKind::none);
      CHECK(recorder.seen[i].status == step.status);
      CHECK(recorder.seen[i].bytes_in == step.response.size());
    }
    const ServerRecord seen = server.record();
    CHECK(seen.accepts == 1);
    CHECK(seen.requests.size() == 2 * steps.size());
    CHECK(client.connects() == 1);
    CHECK(client.in_flight() == 0);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Connection: close.

TEST_CASE(
    "Connection: close from the server: every exchange completes on a connection of its own") {
  isolated([] {
    constexpr int n = 20;
    const std::string response =
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    ScriptedServer server(always(Reply{response, Then::close}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() < n) session->start(request, recorder, now_ns());
    };
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == n; }));
    for (const Exchange& e : recorder.seen) {
      CHECK(e.status == 200);
      CHECK(e.error == ErrorKind::none);
      CHECK(e.connect_ns > 0);
    }
    const ServerRecord seen = server.record();
    CHECK(seen.accepts == n);
    REQUIRE(seen.requests.size() == n);
    for (int i = 0; i < n; ++i)
      CHECK(seen.requests[count(i)].connection == i);
    CHECK(client.connects() == n);
    client.shutdown();
  });
}

TEST_CASE("Connection: close from the client: the client closes after each response") {
  isolated([] {
    constexpr int n = 10;
    ScriptedServer server(always(Reply{ok_hello}));  // the server would keep the connection
    const auto request = make_request(server.port(), "GET", "/", {{"Connection", "close"}});
    REQUIRE(request.expects_close());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() < n) session->start(request, recorder, now_ns());
    };
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == n; }));
    for (const Exchange& e : recorder.seen)
      CHECK(e.status == 200);
    CHECK(server.wait_for([](const ServerRecord& r) { return r.peer_closes == n; }));
    const ServerRecord seen = server.record();
    CHECK(seen.accepts == n);
    CHECK(seen.requests.size() == n);
    CHECK(client.connects() == n);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 4. A body delimited by close.

TEST_CASE("a body delimited by close completes with every byte counted") {
  isolated([] {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
    const std::string response = head + std::string(200'000, 'z');
    ScriptedServer server(always(Reply{response, Then::close}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 1s;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() < 5) session->start(request, recorder, now_ns());
    };
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(
        io, [&] { return recorder.seen.size() == 5; }, 8000ms));
    for (const Exchange& e : recorder.seen) {
      CAPTURE(describe(e));
      CHECK(e.error == ErrorKind::none);
      CHECK(e.status == 200);
      CHECK(e.bytes_in == response.size());
    }
    CHECK(server.record().accepts == 5);
    CHECK(client.connects() == 5);
    client.shutdown();
  });
}

TEST_CASE("a body delimited by close completes when data and FIN arrive together") {
  isolated([] {
    const std::string response = "HTTP/1.1 200 OK\r\n\r\n0123456789";
    const Exchange e = second_exchange_after_server_is_done(Reply{response, Then::close});
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::none);
    CHECK(e.status == 200);
    CHECK(e.bytes_in == response.size());
  });
}

// ---------------------------------------------------------------------------------------------
// 5. Timeouts.

TEST_CASE("request timeout: a server that never answers ends the exchange as timeout") {
  isolated([] {
    ScriptedServer server(always(Reply{}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 200ms;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    const std::int64_t start = now_ns();
    session->start(request, recorder, start);
    REQUIRE(run_until(
        io, [&] { return !recorder.seen.empty(); }, 3000ms));
    const Exchange e = recorder.seen[0];
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::timeout);
    CHECK(e.status == 0);
    CHECK(ms(e.done_ns - start) >= 200);
    CHECK(ms(e.done_ns - start) < 1000);
    CHECK(client.in_flight() == 0);
    CHECK(server.record().requests.size() == 1);  // it was sent, and not answered
    run_for(io, 100ms);
    CHECK(recorder.seen.size() == 1);  // exactly once
    client.shutdown();
  });
}

TEST_CASE("request timeout on a reused connection fires once and leaves the client sound") {
  isolated([] {
    ScriptedServer server(
        [](const Incoming& in) { return in.index == 0 ? Reply{ok_hello} : Reply{}; });
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 200ms;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
    const std::int64_t start = now_ns();
    session->start(request, recorder, start);
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 2; }));
    MESSAGE("timeout reported after " << ms(recorder.seen[1].done_ns - start) << " ms");
    run_for(io, 300ms);  // the sweep keeps running
    CHECK(recorder.seen.size() == 2);
    CHECK(recorder.seen[1].error == ErrorKind::timeout);
    CHECK(ms(recorder.seen[1].done_ns - start) >= 200);
    CHECK(client.in_flight() == 0);
    client.shutdown();
  });
}

TEST_CASE("a client idle for longer than request_timeout after an exchange stays sound") {
  isolated([] {
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 100ms;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    for (std::size_t i = 1; i <= 3; ++i) {
      CAPTURE(i);
      session->start(request, recorder, now_ns());
      REQUIRE(run_until(io, [&] { return recorder.seen.size() == i; }));
      CHECK(recorder.seen.back().status == 200);
      run_for(io, 300ms);  // idle: the sweep runs past the old request deadline
    }
    CHECK(recorder.seen.size() == 3);
    client.shutdown();
  });
}

TEST_CASE("a hung request times out while another session keeps completing exchanges") {
  isolated([] {
    // Connection 0 (session a) is answered; connection 1 (session b) never is.
    ScriptedServer server(
        [](const Incoming& in) { return in.connection == 0 ? Reply{ok_hello} : Reply{}; });
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 300ms;
    NativeClient client(io, loopback(server.port()), options);
    auto a = client.open_session();
    auto b = client.open_session();
    Recorder ra;
    Recorder rb;
    a->start(request, ra, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() == 1; }));
    const std::int64_t b_start = now_ns();
    b->start(request, rb, b_start);
    REQUIRE(run_until(io, [&] { return server.record().requests.size() == 2; }));
    run_for(io, 100ms);
    a->start(request, ra, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() == 2; }));
    CHECK(ra.seen[1].status == 200);
    // b's 300 ms are up ~200 ms from here; allow 2 s.
    REQUIRE_MESSAGE(run_until(
                        io, [&] { return !rb.seen.empty(); }, 2000ms),
                    "b's request_timeout never fired");
    CAPTURE(describe(rb.seen[0]));
    CHECK(rb.seen[0].error == ErrorKind::timeout);
    CHECK(ms(rb.seen[0].done_ns - b_start) >= 300);
    CHECK(ms(rb.seen[0].done_ns - b_start) < 1000);
    client.shutdown();
  });
}

TEST_CASE("idle timeout: a response that stalls half-way ends as timeout") {
  isolated([] {
    ScriptedServer server(always(Reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf"}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.idle_timeout = 200ms;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    const std::int64_t start = now_ns();
    session->start(request, recorder, start);
    REQUIRE(run_until(
        io, [&] { return !recorder.seen.empty(); }, 3000ms));
    CAPTURE(describe(recorder.seen[0]));
    CHECK(recorder.seen[0].error == ErrorKind::timeout);
    CHECK(ms(recorder.seen[0].done_ns - start) >= 200);
    CHECK(ms(recorder.seen[0].done_ns - start) < 1000);
    CHECK(client.in_flight() == 0);
    client.shutdown();
  });
}

TEST_CASE("connect timeout: a listener whose accept queue is full ends the exchange") {
  isolated([] {
    BlackHole hole;
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.connect_timeout = 200ms;
    NativeClient client(io, loopback(hole.port()), options);
    auto session = client.open_session();
    const auto request = make_request(hole.port());
    Recorder recorder;
    const std::int64_t start = now_ns();
    session->start(request, recorder, start);
    const bool reported = run_until(
        io, [&] { return !recorder.seen.empty(); }, 3000ms);
    client.shutdown();
    session.reset();
    REQUIRE(reported);
    CAPTURE(describe(recorder.seen[0]));
    CHECK(recorder.seen[0].error == ErrorKind::connect_timeout);
    CHECK(ms(recorder.seen[0].done_ns - start) >= 200);
    CHECK(ms(recorder.seen[0].done_ns - start) < 1000);
  });
}

// ---------------------------------------------------------------------------------------------
// 6. Connect refused.

TEST_CASE(
    "connect refused, back-off off: 1000 retries from the observer neither recurse nor stall") {
  isolated([] {
    RefusingPort refusing;
    const auto request = make_request(refusing.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.connect_backoff_first = 0ms;  // every retry connects at once, as before back-off
    NativeClient client(io, loopback(refusing.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() <= 1000) session->start(request, recorder, now_ns());
    };
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(
        io, [&] { return recorder.seen.size() == 1001; }, 5000ms));
    for (const Exchange& e : recorder.seen) {
      CHECK(e.error == ErrorKind::connect_refused);
      CHECK(e.status == 0);
      CHECK(e.done_ns >= e.sent_ns);
    }
    CHECK(recorder.max_depth == 1);  // the observer was never re-entered
    CHECK(client.in_flight() == 0);
    CHECK(client.connects() == 1001);
    CHECK(client.connect_backoffs() == 0);
    run_for(io, 50ms);
    CHECK(recorder.seen.size() == 1001);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 7, 8. The server misbehaves.

namespace {

const std::string half_body =
    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(50, 'h');

// One exchange against a server that answers every request with `reply`.
Exchange one_exchange(const Reply& reply) {
  ScriptedServer server(always(reply));
  const auto request = make_request(server.port());
  boost::asio::io_context io{1};
  NativeClientOptions options;
  options.request_timeout = 1s;
  NativeClient client(io, loopback(server.port()), options);
  auto session = client.open_session();
  Recorder recorder;
  session->start(request, recorder, now_ns());
  REQUIRE(run_until(io, [&] { return !recorder.seen.empty(); }));
  CHECK(client.in_flight() == 0);
  client.shutdown();
  return recorder.seen[0];
}

}  // namespace

TEST_CASE("the server closes half-way through the body: closed") {
  isolated([] {
    const Exchange e = one_exchange(Reply{half_body, Then::close});
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::closed);
    CHECK(e.status == 0);
  });
}

TEST_CASE("the server closes half-way through the body as seen by a busy client: closed") {
  isolated([] {
    const Exchange e = second_exchange_after_server_is_done(Reply{half_body, Then::close});
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::closed);
  });
}

TEST_CASE("the server resets the connection half-way: reset or closed") {
  isolated([] {
    const Exchange e = one_exchange(Reply{half_body, Then::reset});
    CAPTURE(describe(e));
    CHECK((e.error == ErrorKind::reset || e.error == ErrorKind::closed));
  });
}

TEST_CASE("the server resets the connection half-way as seen by a busy client: reset or closed") {
  isolated([] {
    const Exchange e = second_exchange_after_server_is_done(Reply{half_body, Then::reset});
    CAPTURE(describe(e));
    CHECK((e.error == ErrorKind::reset || e.error == ErrorKind::closed));
  });
}

TEST_CASE("garbage instead of HTTP: bad_response and no reuse of the connection") {
  isolated([] {
    ScriptedServer server(always(Reply{"SSH-2.0-OpenSSH_9.2\r\n\r\n"}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 1s;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() < 3) session->start(request, recorder, now_ns());
    };
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 3; }));
    for (const Exchange& e : recorder.seen) {
      CHECK(e.error == ErrorKind::bad_response);
      CHECK(e.status == 0);
    }
    CHECK(server.record().accepts == 3);
    CHECK(client.connects() == 3);
    client.shutdown();
  });
}

TEST_CASE("garbage after a good exchange as seen by a busy client: bad_response") {
  isolated([] {
    const Exchange e = second_exchange_after_server_is_done(Reply{"HTTP/1.1 abc\r\n\r\n"});
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::bad_response);
  });
}

// ---------------------------------------------------------------------------------------------
// 9. The server closes a keep-alive connection.

TEST_CASE("the server closes an idle connection: the next exchange reconnects and succeeds") {
  isolated([] {
    // As a server's keep-alive timeout does: the FIN comes while the client sits idle.
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    for (int i = 0; i < 5; ++i) {
      CAPTURE(i);
      session->start(request, recorder, now_ns());
      REQUIRE(run_until(io, [&] { return recorder.seen.size() == count(i + 1); }));
      run_for(io, 20ms);
      server.close_connections();
      REQUIRE(server.wait_for([&](const ServerRecord& r) { return r.server_closes == i + 1; }));
      run_for(io, 50ms);  // the client's loop sees the FIN while idle
    }
    for (const Exchange& e : recorder.seen) {
      CAPTURE(describe(e));
      CHECK(e.error == ErrorKind::none);
      CHECK(e.status == 200);
    }
    CHECK(server.record().accepts == 5);
    CHECK(client.connects() == 5);
    client.shutdown();
  });
}

TEST_CASE("a FIN right behind a keep-alive response: the next exchange reconnects and succeeds") {
  isolated([] {
    // The server closes right after each response, whose headers say nothing of closing: by the
    // time a busy client reads the response, the FIN is in the socket too (EPOLLRDHUP in the
    // same event). The 50 ms delay lets the test stop its loop once the request has arrived.
    ScriptedServer server(always(Reply{ok_hello, Then::close, 50ms}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 1s;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      session->start(request, recorder, now_ns());
      REQUIRE(run_until(io, [&] { return server.record().requests.size() == count(i + 1); }));
      REQUIRE(server.wait_for([&](const ServerRecord& r) { return r.server_closes == i + 1; }));
      REQUIRE(run_until(io, [&] { return recorder.seen.size() == count(i + 1); }));
      run_for(io, 20ms);
    }
    for (const Exchange& e : recorder.seen) {
      CAPTURE(describe(e));
      CHECK(e.error == ErrorKind::none);
      CHECK(e.status == 200);
    }
    CHECK(server.record().accepts == 3);
    CHECK(client.connects() == 3);
    client.shutdown();
  });
}

TEST_CASE("a FIN the client has not read yet when the next exchange starts") {
  isolated([] {
    // start() on an idle connection whose FIN is queued but not yet seen by the loop: the
    // request is written into a half-closed socket and gets EOF with nothing received. The
    // server closed an idle keep-alive, so the client resends once on a fresh connection.
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 1s;
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
    run_for(io, 20ms);
    server.close_connections();
    REQUIRE(server.wait_for([](const ServerRecord& r) { return r.server_closes == 1; }));
    session->start(request, recorder, now_ns());  // the FIN is waiting, unread
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 2; }));
    const Exchange stale = recorder.seen[1];
    MESSAGE("an exchange started on a connection with an unread FIN: " << describe(stale));
    CHECK(stale.error == ErrorKind::none);
    CHECK(stale.status == 200);
    CHECK(client.stale_retries() == 1);
    CHECK(ms(stale.done_ns - stale.sent_ns) < 500);  // not a timeout in disguise
    CHECK(client.in_flight() == 0);
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 3; }));
    CHECK(recorder.seen[2].status == 200);
    CHECK(server.record().accepts == 2);  // the retry's connection is kept for the third
    CHECK(server.record().requests.size() == 3);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 10. in_flight() and close().

namespace {

// Starts an exchange the server never answers, closes the session (once the request has arrived,
// or at once, while connecting), runs past every timeout, then reuses the session.
void close_during_exchange(bool after_request_arrived) {
  // "/hold" is never answered, "/answer" is.
  ScriptedServer server([](const Incoming& in) {
    return in.raw.starts_with("GET /hold ") ? Reply{} : Reply{ok_hello};
  });
  const auto held = make_request(server.port(), "GET", "/hold");
  const auto answered = make_request(server.port(), "GET", "/answer");
  boost::asio::io_context io{1};
  NativeClientOptions options;
  options.request_timeout = 100ms;
  options.idle_timeout = 100ms;
  options.connect_timeout = 100ms;
  NativeClient client(io, loopback(server.port()), options);
  auto session = client.open_session();
  Recorder recorder;
  session->start(held, recorder, now_ns());
  if (after_request_arrived) {
    REQUIRE(run_until(io, [&] { return !server.record().requests.empty(); }));
  }
  CHECK(client.in_flight() == 1);
  session->close();
  CHECK(client.in_flight() == 0);
  CHECK_FALSE(session->busy());
  run_for(io, 300ms);  // past every timeout
  CHECK(recorder.seen.empty());
  CHECK(client.in_flight() == 0);

  // The session is usable again, on a new connection.
  recorder.seen.clear();
  session->start(answered, recorder, now_ns());
  REQUIRE(run_until(io, [&] { return !recorder.seen.empty(); }));
  run_for(io, 300ms);
  CHECK(recorder.seen.size() == 1);
  CHECK(recorder.seen[0].status == 200);
  CHECK(client.in_flight() == 0);
  client.shutdown();
}

}  // namespace

TEST_CASE("close() while awaiting the response: observer never called and in_flight() drops") {
  isolated([] { close_during_exchange(true); });
}

TEST_CASE("close() while connecting: observer never called and in_flight() drops") {
  isolated([] { close_during_exchange(false); });
}

TEST_CASE("shutdown() abandons exchanges in flight unreported; start() after it fails once") {
  isolated([] {
    ScriptedServer server(always(Reply{}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto a = client.open_session();
    auto b = client.open_session();
    Recorder recorder;
    a->start(request, recorder, now_ns());
    b->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return server.record().requests.size() == 2; }));
    CHECK(client.in_flight() == 2);
    client.shutdown();
    CHECK(client.in_flight() == 0);
    run_for(io, 50ms);
    CHECK(recorder.seen.empty());
    a->start(request, recorder, now_ns());
    run_for(io, 50ms);
    REQUIRE(recorder.seen.size() == 1);
    CHECK(recorder.seen[0].error != ErrorKind::none);
    CHECK(client.in_flight() == 0);
  });
}

TEST_CASE("close() then start() while a failure inside start() is still to be reported") {
  isolated([] {
    // The server resets the idle connection after the first exchange; the client does not run
    // its loop in between, so the next start() fails inside send(), and its report is posted.
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
    run_for(io, 20ms);
    server.close_connections(Then::reset);
    REQUIRE(server.wait_for([](const ServerRecord& r) { return r.server_closes == 1; }));
    session->start(request, recorder, now_ns());  // fails at once: ECONNRESET
    session->close();                             // abandoned: must never be reported
    int premature = 0;
    recorder.then = [&](const Exchange& e) {
      if (e.status == 0 && e.error == ErrorKind::none) {
        ++premature;
        session->close();  // or the real completion would call a null observer
      }
    };
    session->start(request, recorder, now_ns());
    run_until(io, [&] { return recorder.seen.size() >= 2; });
    run_for(io, 100ms);
    CHECK_MESSAGE(premature == 0,
                  "the observer was called for an exchange still in progress (status 0, no error)");
    REQUIRE(recorder.seen.size() == 2);  // once, for the exchange after close()
    CAPTURE(describe(recorder.seen[1]));
    CHECK(recorder.seen[1].status == 200);
    CHECK(client.in_flight() == 0);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 11. Many sessions.

TEST_CASE("200 sessions on one client with 5 exchanges each") {
  isolated([] {
    constexpr std::size_t sessions = 200;
    constexpr std::size_t per_session = 5;
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port(), "GET", "/many");
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    struct User {
      std::unique_ptr<strain::Session> session;
      Recorder recorder;
    };
    std::vector<User> users(sessions);
    std::size_t done = 0;
    for (auto& user : users) {
      user.session = client.open_session();
      user.recorder.then = [&, u = &user](const Exchange&) {
        ++done;
        if (u->recorder.seen.size() < per_session) {
          u->session->start(request, u->recorder, now_ns());
        }
      };
    }
    for (auto& user : users)
      user.session->start(request, user.recorder, now_ns());
    CHECK(client.in_flight() == sessions);
    REQUIRE(run_until(
        io, [&] { return done == sessions * per_session; }, 8000ms));
    for (const auto& user : users) {
      REQUIRE(user.recorder.seen.size() == per_session);
      for (const Exchange& e : user.recorder.seen) {
        CHECK(e.status == 200);
        CHECK(e.error == ErrorKind::none);
      }
    }
    CHECK(client.in_flight() == 0);
    const ServerRecord seen = server.record();
    CHECK(seen.accepts == static_cast<int>(sessions));
    CHECK(seen.requests.size() == sessions * per_session);
    for (const auto& r : seen.requests)
      CHECK((r.raw == request.bytes()));
    CHECK(client.connects() == sessions);
    client.shutdown();
    users.clear();
  });
}

// ---------------------------------------------------------------------------------------------
// Lifetimes. Asio's way to stop is to cancel and let the aborted handlers run; they must not
// touch freed objects. Only a sanitizer build sees the difference.

TEST_CASE("the io_context may run after the client and its sessions are destroyed") {
  isolated([] {
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    {
      NativeClient client(io, loopback(server.port()), {});
      auto session = client.open_session();
      Recorder recorder;
      session->start(request, recorder, now_ns());
      REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
      client.shutdown();
    }
    io.restart();
    io.poll();
  });
}

TEST_CASE("a session destroyed while the failure of its start() is still to be reported") {
  isolated([] {
    RefusingPort refusing;
    const auto request = make_request(refusing.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(refusing.port()), {});
    Recorder recorder;
    {
      auto session = client.open_session();
      client.shutdown();
      session->start(request, recorder, now_ns());  // fails inside start(): report posted
    }
    io.restart();
    io.poll();
    CHECK(recorder.seen.empty());
  });
}

// ---------------------------------------------------------------------------------------------
// 12. Back-off after a failed connect.

namespace {

// A closed-loop user: starts again as soon as an exchange ends, until told to stop.
struct LoopingUser {
  std::unique_ptr<strain::Session> session;
  Recorder recorder;
  std::vector<std::int64_t> started;  // start() time of each exchange, in order
};

}  // namespace

TEST_CASE(
    "refused: closed loops back off (at most 9 connects each in 1 s), then recover within the "
    "cap") {
  isolated([] {
    constexpr std::size_t kSessions = 20;
    RefusingPort refusing;
    const std::uint16_t port = refusing.port();
    const auto request = make_request(port);
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(port), {});  // 5 ms doubling to a 1 s cap, equal jitter
    std::vector<LoopingUser> users(kSessions);
    bool stop = false;
    for (auto& user : users) {
      user.session = client.open_session();
      user.recorder.then = [&, u = &user](const Exchange&) {
        if (stop) return;
        u->started.push_back(now_ns());
        u->session->start(request, u->recorder, u->started.back());
      };
    }
    const std::int64_t begin = now_ns();
    for (auto& user : users) {
      user.started.push_back(now_ns());
      user.session->start(request, user.recorder, user.started.back());
    }
    run_for(io, 1000ms);
    const std::int64_t phase_ms = ms(now_ns() - begin);
    const std::uint64_t connects = client.connects();
    const std::uint64_t backoffs = client.connect_backoffs();

    // Without a back-off each session made thousands of connects a second. With it, connect
    // k+1 waits at least half of min(1 s, 5 ms x 2^(k-1)) after connect k fails, so the 10th
    // comes no sooner than 1137.5 ms (see connect_backoff_test.cpp).
    REQUIRE(phase_ms < 1137);
    std::size_t reported = 0;
    for (const auto& user : users) {
      const auto& seen = user.recorder.seen;
      CAPTURE(seen.size());
      CHECK(seen.size() >= 2);
      CHECK(seen.size() <= 9);
      CHECK(user.recorder.max_depth == 1);
      for (const Exchange& e : seen)
        CHECK(e.error == ErrorKind::connect_refused);
      reported += seen.size();
    }
    MESSAGE(kSessions << " sessions, " << phase_ms << " ms refused: " << connects << " connects, "
                      << backoffs << " after a back-off");
    // One connect per refused exchange; a connect still to be reported is at most one a session.
    CHECK(connects >= reported);
    CHECK(connects <= reported + kSessions);
    CHECK(connects <= 9 * kSessions);
    CHECK(backoffs == connects - kSessions);  // every connect but each session's first waited

    // The target comes back: every session is answered within the cap (each wait still pending
    // is at most 1 s long), and keeps its connection from then on.
    const std::int64_t listening_at = now_ns();
    ScriptedServer server(always(Reply{ok_hello}), refusing.release());
    REQUIRE(server.port() == port);
    auto answered = [](const LoopingUser& user) {
      return std::any_of(user.recorder.seen.begin(), user.recorder.seen.end(),
                         [](const Exchange& e) { return e.status == 200; });
    };
    REQUIRE(run_until(
        io, [&] { return std::all_of(users.begin(), users.end(), answered); }, 3000ms));
    const std::int64_t recovery_ms = ms(now_ns() - listening_at);
    MESSAGE("every session answered " << recovery_ms << " ms after the port began to listen");
    CHECK(recovery_ms <= 1300);  // the 1 s cap, a connect, and scheduling slack
    stop = true;
    REQUIRE(run_until(io, [&] { return client.in_flight() == 0; }));

    for (const auto& user : users) {
      const auto& seen = user.recorder.seen;
      const auto first_ok =
          std::find_if(seen.begin(), seen.end(), [](const Exchange& e) { return e.status == 200; });
      REQUIRE(first_ok != seen.end());
      for (auto it = first_ok; it != seen.end(); ++it) {
        CHECK(it->error == ErrorKind::none);
        CHECK(it->status == 200);
      }
      // The wait was part of the exchange (from its start) but not of its connect or service.
      const std::int64_t started = user.started[static_cast<std::size_t>(first_ok - seen.begin())];
      CHECK(first_ok->sent_ns - started > first_ok->connect_ns);
      CHECK(ms(first_ok->connect_ns) < 100);
    }
    // The server's own count: one connection a session since it began to listen.
    CHECK(server.record().accepts == static_cast<int>(kSessions));
    CHECK(client.connect_backoffs() >= backoffs);
    client.shutdown();
    users.clear();
  });
}

TEST_CASE("close(), abandon() and shutdown() cancel a pending back-off cleanly") {
  isolated([] {
    RefusingPort refusing;
    const auto request = make_request(refusing.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(refusing.port()), {});
    auto a = client.open_session();
    auto b = client.open_session();
    auto c = client.open_session();
    Recorder ra;
    Recorder rb;
    Recorder rc;
    // One refused exchange each, so that each next connect waits first.
    a->start(request, ra, now_ns());
    b->start(request, rb, now_ns());
    c->start(request, rc, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() + rb.seen.size() + rc.seen.size() == 3; }));
    const std::uint64_t connects = client.connects();
    CHECK(connects == 3);

    a->start(request, ra, now_ns());
    b->start(request, rb, now_ns());
    c->start(request, rc, now_ns());
    CHECK(client.in_flight() == 3);
    CHECK(client.connects() == connects);  // all three wait; none connects yet
    a->close();
    CHECK(client.in_flight() == 2);
    const std::int64_t at = now_ns();
    b->abandon(at);
    REQUIRE(rb.seen.size() == 2);
    CHECK(rb.seen[1].error == ErrorKind::abandoned);
    CHECK(rb.seen[1].done_ns == at);
    CHECK(client.in_flight() == 1);
    client.shutdown();
    CHECK(client.in_flight() == 0);
    run_for(io, 100ms);  // far past any 5 ms back-off
    CHECK(ra.seen.size() == 1);
    CHECK(rb.seen.size() == 2);
    CHECK(rc.seen.size() == 1);
    CHECK(client.connects() == connects);
    CHECK(client.connect_backoffs() == 0);
  });
}

// ---------------------------------------------------------------------------------------------
// 13. A name with several addresses.

TEST_CASE("[::1] refused, then 127.0.0.1: success, and later connects go straight to 127.0.0.1") {
  isolated([] {
    ScriptedServer server(always(Reply{ok_hello}));  // listens on 127.0.0.1 only
    RefusingPort six(server.port());                 // [::1], same port: refused
    MESSAGE(std::string(six.held() ? "[::1] bound, refusing" : "no IPv6: [::1] fails otherwise"));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClient client(io, addresses({loopback6(server.port()), loopback(server.port())}), {});
    auto a = client.open_session();
    auto b = client.open_session();
    Recorder ra;
    Recorder rb;
    a->start(request, ra, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() == 1; }));
    CAPTURE(describe(ra.seen[0]));
    CHECK(ra.seen[0].error == ErrorKind::none);
    CHECK(ra.seen[0].status == 200);
    CHECK(ra.seen[0].connect_ns > 0);
    CHECK(client.connects() == 2);  // [::1], then 127.0.0.1

    b->start(request, rb, now_ns());
    REQUIRE(run_until(io, [&] { return rb.seen.size() == 1; }));
    CHECK(rb.seen[0].status == 200);
    CHECK(client.connects() == 3);  // straight to the address that worked

    // A reconnect after the server closed the idle connections: again one attempt.
    run_for(io, 20ms);
    server.close_connections();
    REQUIRE(server.wait_for([](const ServerRecord& r) { return r.server_closes == 2; }));
    run_for(io, 20ms);
    a->start(request, ra, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() == 2; }));
    CHECK(ra.seen[1].status == 200);
    CHECK(client.connects() == 4);
    CHECK(server.record().accepts == 3);
    CHECK(client.connect_backoffs() == 0);
    CHECK(client.in_flight() == 0);
    client.shutdown();
  });
}

TEST_CASE("every address refuses: connect_refused once both were tried, then a back-off") {
  isolated([] {
    RefusingPort four;
    RefusingPort six(four.port());
    const auto request = make_request(four.port());
    boost::asio::io_context io{1};
    NativeClient client(io, addresses({loopback6(four.port()), loopback(four.port())}), {});
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
    CAPTURE(describe(recorder.seen[0]));
    CHECK(recorder.seen[0].error == ErrorKind::connect_refused);  // 127.0.0.1's, the last
    CHECK(recorder.seen[0].status == 0);
    CHECK(client.connects() == 2);
    CHECK(client.in_flight() == 0);

    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 2; }));
    CHECK(recorder.seen[1].error == ErrorKind::connect_refused);
    CHECK(client.connects() == 4);
    CHECK(client.connect_backoffs() == 1);
    client.shutdown();
  });
}

TEST_CASE("the first address times out, the second answers: success, later connects skip it") {
  isolated([] {
    BlackHole hole;
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.connect_timeout = 200ms;
    NativeClient client(io, addresses({loopback(hole.port()), loopback(server.port())}), options);
    auto a = client.open_session();
    auto b = client.open_session();
    Recorder ra;
    Recorder rb;
    a->start(request, ra, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() == 1; }));
    CAPTURE(describe(ra.seen[0]));
    CHECK(ra.seen[0].status == 200);
    CHECK(ms(ra.seen[0].connect_ns) >= 200);  // the first address's timeout, then the second
    CHECK(ms(ra.seen[0].connect_ns) < 1000);
    CHECK(client.connects() == 2);
    b->start(request, rb, now_ns());
    REQUIRE(run_until(io, [&] { return rb.seen.size() == 1; }));
    CHECK(rb.seen[0].status == 200);
    CHECK(ms(rb.seen[0].connect_ns) < 100);
    CHECK(client.connects() == 3);
    CHECK(server.record().accepts == 2);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 14. Resending after a closed keep-alive connection: only when it cannot hide a failure.

namespace {

// A first exchange, `idle` of the client's loop running, then a second with `second_method`
// that the server answers as `second` says. Returns the second exchange; `client_out` gets the
// client's stale_retries() and `server_out` the server's record.
Exchange second_after_idle(std::string_view second_method, const Reply& second,
                           std::chrono::milliseconds idle, std::uint64_t& stale_retries,
                           ServerRecord& server_out) {
  ScriptedServer server(
      [&](const Incoming& in) { return in.index == 0 ? Reply{ok_hello} : second; });
  const auto first = make_request(server.port());
  const auto again = make_request(server.port(), second_method, "/again",
                                  {{"Content-Type", "text/plain"}}, "body");
  boost::asio::io_context io{1};
  NativeClientOptions options;
  options.request_timeout = 2s;
  NativeClient client(io, loopback(server.port()), options);
  auto session = client.open_session();
  Recorder recorder;
  session->start(first, recorder, now_ns());
  REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
  REQUIRE(recorder.seen[0].status == 200);
  run_for(io, idle);
  session->start(again, recorder, now_ns());
  REQUIRE(run_until(io, [&] { return recorder.seen.size() == 2; }));
  run_for(io, 100ms);  // a resend, had there been one, would reach the server by now
  CHECK(recorder.seen.size() == 2);
  CHECK(client.in_flight() == 0);
  stale_retries = client.stale_retries();
  server_out = server.record();
  client.shutdown();
  return recorder.seen[1];
}

}  // namespace

TEST_CASE("held 50 ms then closed (or reset), on a connection idle 5 ms: an error, never resent") {
  isolated([] {
    // strain-target --hang-for does this: the server read the request, so the close is its
    // answer to it; resending would hide it (82 of 84 were hidden before the round-trip rule).
    for (const Then then : {Then::close, Then::reset}) {
      CAPTURE((then == Then::close ? "close" : "reset"));
      std::uint64_t stale_retries = 0;
      ServerRecord seen;
      const Exchange e = second_after_idle("GET", Reply{"", then, 50ms}, 5ms, stale_retries, seen);
      CAPTURE(describe(e));
      CHECK(e.error == (then == Then::close ? ErrorKind::closed : ErrorKind::reset));
      CHECK(e.status == 0);
      CHECK(ms(e.done_ns - e.sent_ns) >= 50);
      CHECK(stale_retries == 0);
      CHECK(seen.requests.size() == 2);  // the server's count: it came once
      CHECK(seen.accepts == 1);
    }
  });
}

TEST_CASE("read and dropped at once, GET or POST, on a reused connection: closed, never resent") {
  isolated([] {
    // No delay at all: the close still comes at least a round trip after the send.
    for (const char* method : {"GET", "POST"}) {
      CAPTURE(method);
      std::uint64_t stale_retries = 0;
      ServerRecord seen;
      const Exchange e =
          second_after_idle(method, Reply{"", Then::close}, 5ms, stale_retries, seen);
      CAPTURE(describe(e));
      CHECK(e.error == ErrorKind::closed);
      CHECK(stale_retries == 0);
      REQUIRE(seen.requests.size() == 2);
      CHECK(seen.requests[1].raw.starts_with(std::string(method) + " /again "));
      CHECK(seen.accepts == 1);
    }
  });
}

TEST_CASE("the server closes an idle keep-alive after 2 ms, the send comes at 10 ms: reconnect") {
  isolated([] {
    // The close reached the client before its send, so the request never reached the server:
    // the probe before reuse sees the FIN and reconnects first. A stale retry, not an error.
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
    const auto idle_since = std::chrono::steady_clock::now();
    // The client's loop does not run meanwhile: the FIN waits unread, as on a busy worker.
    std::this_thread::sleep_for(2ms);
    server.close_connections();
    REQUIRE(server.wait_for([](const ServerRecord& r) { return r.server_closes == 1; }));
    std::this_thread::sleep_until(idle_since + 10ms);
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 2; }));
    CAPTURE(describe(recorder.seen[1]));
    CHECK(recorder.seen[1].error == ErrorKind::none);
    CHECK(recorder.seen[1].status == 200);
    CHECK(client.stale_retries() == 1);
    const ServerRecord seen = server.record();
    CHECK(seen.accepts == 2);
    CHECK(seen.requests.size() == 2);  // the first connection got one, the new one the other
    CHECK(client.in_flight() == 0);
    client.shutdown();
  });
}

// ---------------------------------------------------------------------------------------------
// 15. abandon() in every state.

namespace {

// abandon(at) on a busy session: exactly one report, abandoned at `at`, one fewer in flight,
// and nothing more while the loop runs on past every timeout.
void check_abandon(boost::asio::io_context& io, NativeClient& client, strain::Session& session,
                   Recorder& recorder) {
  const std::size_t before = recorder.seen.size();
  REQUIRE(session.busy());
  const std::uint64_t in_flight = client.in_flight();
  const std::int64_t at = now_ns();
  session.abandon(at);
  REQUIRE(recorder.seen.size() == before + 1);
  const Exchange& e = recorder.seen.back();
  CAPTURE(describe(e));
  CHECK(e.error == ErrorKind::abandoned);
  CHECK(e.status == 0);
  CHECK(e.done_ns == at);
  CHECK_FALSE(session.busy());
  CHECK(client.in_flight() == in_flight - 1);
  run_for(io, 300ms);
  CHECK(recorder.seen.size() == before + 1);
  session.abandon(now_ns());  // nothing in flight: nothing happens
  CHECK(recorder.seen.size() == before + 1);
}

}  // namespace

TEST_CASE("abandon() while connecting") {
  isolated([] {
    BlackHole hole;
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.connect_timeout = 200ms;  // check_abandon runs past it
    NativeClient client(io, loopback(hole.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    session->start(make_request(hole.port()), recorder, now_ns());
    run_for(io, 20ms);
    REQUIRE(recorder.seen.empty());
    check_abandon(io, client, *session, recorder);
    client.shutdown();
  });
}

TEST_CASE("abandon() while writing a request the server does not read") {
  isolated([] {
    // A listener that never accepts: the kernel takes the connection and a socket buffer of the
    // body, then the client waits for EPOLLOUT with most of 16 MiB still to write.
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&address), length) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const std::uint16_t port = ntohs(address.sin_port);
    const std::string body(16u << 20, 'w');
    const auto request = make_request(port, "POST", "/big", {}, body);
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(port), {});
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    run_for(io, 50ms);
    REQUIRE(recorder.seen.empty());
    CHECK(client.connects() == 1);
    check_abandon(io, client, *session, recorder);
    client.shutdown();
    ::close(listener);
  });
}

TEST_CASE("abandon() while awaiting the response: reported once and the connection closes") {
  isolated([] {
    ScriptedServer server(always(Reply{}));  // never answers
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClientOptions options;
    options.request_timeout = 200ms;  // check_abandon runs past it
    NativeClient client(io, loopback(server.port()), options);
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return server.record().requests.size() == 1; }));
    check_abandon(io, client, *session, recorder);
    CHECK(server.wait_for([](const ServerRecord& r) { return r.peer_closes == 1; }));
    client.shutdown();
  });
}

TEST_CASE("abandon() while waiting out a back-off: no connect follows") {
  isolated([] {
    RefusingPort refusing;
    const auto request = make_request(refusing.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(refusing.port()), {});
    auto session = client.open_session();
    Recorder recorder;
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(io, [&] { return recorder.seen.size() == 1; }));
    REQUIRE(recorder.seen[0].error == ErrorKind::connect_refused);
    session->start(request, recorder, now_ns());  // waits 2.5 to 5 ms first
    check_abandon(io, client, *session, recorder);
    CHECK(client.connects() == 1);
    CHECK(client.connect_backoffs() == 0);
    client.shutdown();
  });
}

TEST_CASE("abandon() of a send held for the end of a batch: it never goes out") {
  isolated([] {
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    boost::asio::io_context io{1};
    NativeClient client(io, loopback(server.port()), {});
    auto a = client.open_session();
    auto b = client.open_session();
    Recorder ra;
    Recorder rb;
    a->start(request, ra, now_ns());
    b->start(request, rb, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() == 1 && rb.seen.size() == 1; }));
    // a's second response is read in a batch of events; from its observer, b starts (the send
    // is held for the batch's end) and is abandoned at once.
    std::int64_t at = 0;
    std::uint64_t in_flight_after = 99;
    ra.then = [&](const Exchange&) {
      b->start(request, rb, now_ns());
      at = now_ns();
      b->abandon(at);
      in_flight_after = client.in_flight();
    };
    a->start(request, ra, now_ns());
    REQUIRE(run_until(io, [&] { return ra.seen.size() == 2; }));
    REQUIRE(rb.seen.size() == 2);
    CAPTURE(describe(rb.seen[1]));
    CHECK(rb.seen[1].error == ErrorKind::abandoned);
    CHECK(rb.seen[1].done_ns == at);
    CHECK(in_flight_after == 0);
    CHECK_FALSE(b->busy());
    run_for(io, 100ms);
    CHECK(rb.seen.size() == 2);
    CHECK(server.record().requests.size() == 3);  // b's held request never went out
    CHECK(server.wait_for([](const ServerRecord& r) { return r.peer_closes == 1; }));
    client.shutdown();
  });
}

TEST_CASE("abandon() after a failure inside start() whose report is still posted") {
  isolated([] {
    // An empty endpoint fails inside start(), so the report is posted; abandon() delivers it
    // now, as it ended (the run gave up after it had already failed), and only once.
    boost::asio::io_context io{1};
    NativeClient client(io, strain::Endpoint{}, {});
    auto session = client.open_session();
    Recorder recorder;
    const std::int64_t started = now_ns();
    session->start(make_request(80), recorder, started);
    REQUIRE(recorder.seen.empty());
    REQUIRE(session->busy());
    session->abandon(now_ns());
    REQUIRE(recorder.seen.size() == 1);
    CHECK(recorder.seen[0].error == ErrorKind::connect_error);
    CHECK(recorder.seen[0].done_ns == started);
    CHECK(client.in_flight() == 0);
    CHECK_FALSE(session->busy());
    run_for(io, 50ms);
    CHECK(recorder.seen.size() == 1);
    client.shutdown();
  });
}
