// One contract, every transport: each case runs over the native client and the libcurl transport
// (HTTP/1.1) against the same ScriptedServer and checks what the server itself saw.
//
// HTTP/2 is not here: the ScriptedServer speaks HTTP/1.1 only. The native HTTP/2 client has its
// own cases against a scripted nghttp2 server (h2_client_test.cpp); both transports' HTTP/2 is
// checked against nginx in tests/integration/tls_test.py.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/transport/curl/curl_client.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/resolve.hpp"
#include "engine/transport/response_parser.hpp"
#include "engine/transport/transport_options.hpp"
#include "engine/transport/url.hpp"
#include "tests/transport/scripted_server.hpp"

using namespace std::chrono_literals;
using strain::ErrorKind;
using strain::Exchange;
using strain::NativeClientOptions;
using strain::now_ns;
using strain::http::Header;
using strain::http::RequestTemplate;
using namespace strain::test;

namespace {

// ---------------------------------------------------------------------------------------------
// The transports under test: make(io, port, timeouts) gives a client for http://127.0.0.1:port.

struct NativeMaker {
  static constexpr bool is_curl = false;
  static std::unique_ptr<strain::HttpClient> make(boost::asio::io_context& io, std::uint16_t port,
                                                  const NativeClientOptions& timeouts) {
    const auto endpoint = strain::resolve_endpoint("127.0.0.1", port, 1000ms);
    return std::make_unique<strain::NativeClient>(io, endpoint, timeouts);
  }
};

struct CurlMaker {
  static constexpr bool is_curl = true;
  static std::unique_ptr<strain::HttpClient> make(boost::asio::io_context& io, std::uint16_t port,
                                                  const NativeClientOptions& timeouts) {
    strain::TransportOptions options;
    options.kind = strain::TransportKind::curl;  // HTTP/1.1: options.http2 stays false
    const auto origin = strain::http::parse_url("http://127.0.0.1:" + std::to_string(port) + "/");
    return strain::make_curl_client(io, origin, timeouts, options);
  }
};

}  // namespace

TYPE_TO_STRING(NativeMaker);
TYPE_TO_STRING(CurlMaker);

namespace {

// Timeouts that end any exchange a transport loses track of well inside the case's time limit.
NativeClientOptions bounded() {
  NativeClientOptions options;
  options.connect_timeout = 1s;
  options.request_timeout = 2s;
  options.idle_timeout = 2s;
  return options;
}

// One client of the transport under test and its io_context. Sessions opened from it must be
// destroyed first (declare them after the rig).
template <class Maker>
struct Rig {
  explicit Rig(std::uint16_t port, const NativeClientOptions& timeouts = bounded())
      : client(Maker::make(io, port, timeouts)) {}
  ~Rig() { client->shutdown(); }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // Runs one exchange on `session` to its end, at most `limit`.
  Exchange exchange(strain::Session& session, const RequestTemplate& request,
                    std::chrono::milliseconds limit = 3000ms) {
    Recorder recorder;
    session.start(request, recorder, now_ns());
    REQUIRE_MESSAGE(run_until(
                        io, [&] { return !recorder.seen.empty(); }, limit),
                    "the exchange never ended");
    return recorder.seen[0];
  }

  boost::asio::io_context io{1};
  std::unique_ptr<strain::HttpClient> client;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

// A request as the server read it off the wire, split into its parts.
struct WireRequest {
  std::string method;
  std::string target;
  std::string version;
  std::vector<std::pair<std::string, std::string>> fields;  // as sent, in order
  std::string body;

  // How many fields are named `name` (any case).
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& f : fields)
      if (iequals(f.first, name)) ++n;
    return n;
  }
  // The value of the first field named `name` (any case); "" when there is none.
  std::string value(std::string_view name) const {
    for (const auto& f : fields)
      if (iequals(f.first, name)) return f.second;
    return "";
  }
};

WireRequest parse_wire(const std::string& raw) {
  WireRequest r;
  const std::size_t head_end = raw.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  const std::string head = raw.substr(0, head_end + 2);
  r.body = raw.substr(head_end + 4);
  std::size_t eol = head.find("\r\n");
  const std::string line = head.substr(0, eol);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  r.version = line.substr(sp2 + 1);
  for (std::size_t at = eol + 2; at < head.size(); at = eol + 2) {
    eol = head.find("\r\n", at);
    const std::string field = head.substr(at, eol - at);
    const std::size_t colon = field.find(':');
    std::size_t v = colon + 1;
    while (v < field.size() && field[v] == ' ')
      ++v;
    r.fields.emplace_back(field.substr(0, colon), field.substr(v));
  }
  return r;
}

// Keeps the fields and body a ResponseObserver is given, one exchange at a time.
class Collector final : public strain::http::ResponseObserver {
 public:
  void on_header(std::string_view name, std::string_view value) override {
    fields.emplace_back(name, value);
  }
  void on_body(std::string_view piece) override { body.append(piece); }

  void clear() {
    fields.clear();
    body.clear();
  }
  // How many fields are named `name` (any case), and the first one's value ("" when none).
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& f : fields)
      if (iequals(f.first, name)) ++n;
    return n;
  }
  std::string value(std::string_view name) const {
    for (const auto& f : fields)
      if (iequals(f.first, name)) return f.second;
    return "";
  }

  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
};

std::string with_length(std::string_view status_line, std::string_view body) {
  return std::string(status_line) + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. What goes on the wire.

TEST_CASE_TEMPLATE("methods: the server sees each request line, body and Content-Length", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    struct Step {
      std::string method;
      std::string body;
    };
    // HEAD is followed by OPTIONS here; a body method right after HEAD has a case of its own.
    const std::vector<Step> steps = {
        {"GET", ""},  {"POST", "a=1&b=2"}, {"PUT", "put body"}, {"DELETE", ""},     {"PATCH", "{}"},
        {"HEAD", ""}, {"OPTIONS", ""},     {"POST", ""},        {"DELETE", "gone"},
    };
    ScriptedServer server([](const Incoming& in) {
      // A HEAD response carries the length of the body it does not send.
      if (in.raw.starts_with("HEAD ")) return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"};
      return Reply{ok_hello};
    });
    std::vector<RequestTemplate> requests;
    for (const auto& step : steps) {
      // A Content-Type of the user's own: libcurl's default one has a case of its own.
      std::vector<Header> headers;
      if (!step.body.empty() || step.method == "POST" || step.method == "PUT" ||
          step.method == "PATCH") {
        headers.push_back({"Content-Type", "text/plain"});
      }
      requests.push_back(make_request(server.port(), step.method, "/m/" + step.method + "?q=1",
                                      headers, step.body));
    }
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    std::vector<Exchange> seen;
    for (const auto& request : requests)
      seen.push_back(rig.exchange(*session, request));

    const ServerRecord record = server.record();
    REQUIRE(record.requests.size() == steps.size());
    CHECK(record.accepts == 1);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Step& step = steps[i];
      CAPTURE(i);
      CAPTURE(step.method);
      CAPTURE(record.requests[i].raw);
      CAPTURE(describe(seen[i]));
      CHECK(seen[i].error == ErrorKind::none);
      CHECK(seen[i].status == 200);
      const WireRequest wire = parse_wire(record.requests[i].raw);
      CHECK(wire.method == step.method);
      CHECK(wire.target == "/m/" + step.method + "?q=1");
      CHECK(wire.version == "HTTP/1.1");
      CHECK(wire.body == step.body);
      // A body, or a method that defines one, goes with its length; others go without one.
      const bool framed = !step.body.empty() || step.method == "POST" || step.method == "PUT" ||
                          step.method == "PATCH";
      if (framed) {
        CHECK(wire.count("Content-Length") == 1);
        CHECK(wire.value("Content-Length") == std::to_string(step.body.size()));
      } else {
        CHECK(wire.count("Content-Length") == 0);
      }
      CHECK(wire.count("Transfer-Encoding") == 0);
      CHECK(wire.count("Host") == 1);
      CHECK(wire.value("Host") == "127.0.0.1:" + std::to_string(server.port()));
    }
  });
}

TEST_CASE_TEMPLATE("headers: the user's fields arrive as given, and no Accept or Expect of its own",
                   Maker, NativeMaker, CurlMaker) {
  isolated([] {
    ScriptedServer server(always(Reply{ok_hello}));
    const std::vector<Header> plain = {
        {"X-Trace-Id", "abc-123"}, {"x-lower-case", "v"}, {"X-Spaces", "a  b;c=d, e"}};
    std::vector<Header> with_accept = plain;
    with_accept.push_back({"Accept", "application/json"});
    std::vector<Header> with_type = plain;
    with_type.push_back({"Content-Type", "application/octet-stream"});
    // 2 MiB: over the size from which libcurl adds an Expect: 100-continue of its own.
    const std::string large_body((2u << 20) + 7, 'x');
    struct Step {
      RequestTemplate request;
      std::vector<Header> headers;
    };
    const std::vector<Step> steps = {
        {make_request(server.port(), "GET", "/plain", plain), plain},
        {make_request(server.port(), "GET", "/accept", with_accept), with_accept},
        {make_request(server.port(), "POST", "/small", with_type, "small body"), with_type},
        {make_request(server.port(), "POST", "/large", with_type, large_body), with_type},
        {make_request(server.port(), "PUT", "/large", with_type, large_body), with_type},
    };
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    for (const auto& step : steps) {
      const Exchange e = rig.exchange(*session, step.request);
      CAPTURE(describe(e));
      CHECK(e.status == 200);
    }

    const ServerRecord record = server.record();
    REQUIRE(record.requests.size() == steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
      CAPTURE(i);
      const WireRequest wire = parse_wire(record.requests[i].raw);
      CAPTURE(wire.method + " " + wire.target);
      for (const Header& h : steps[i].headers) {
        CAPTURE(h.name);
        CHECK(wire.count(h.name) == 1);
        CHECK(wire.value(h.name) == h.value);
        bool exact_name = false;  // the name's case as the user wrote it
        for (const auto& f : wire.fields)
          exact_name = exact_name || f.first == h.name;
        CHECK(exact_name);
      }
      // Nothing the user did not ask for beyond Host, User-Agent and the body's length.
      for (const auto& f : wire.fields) {
        CAPTURE(f.first + ": " + f.second);
        bool users = false;
        for (const Header& h : steps[i].headers)
          users = users || iequals(h.name, f.first);
        CHECK((users || iequals(f.first, "Host") || iequals(f.first, "User-Agent") ||
               iequals(f.first, "Content-Length")));
      }
      bool users_accept = false;
      for (const Header& h : steps[i].headers)
        users_accept = users_accept || iequals(h.name, "Accept");
      CHECK(wire.count("Accept") == (users_accept ? 1u : 0u));
      CHECK(wire.count("Expect") == 0);
      CHECK(wire.count("User-Agent") == 1);
      CHECK(wire.value("User-Agent") == "strain/0.1");
    }
    CHECK(record.requests[3].raw.size() > large_body.size());
    CHECK(record.accepts == 1);
  });
}

TEST_CASE_TEMPLATE("a body without a Content-Type goes without one: no form type of libcurl's",
                   Maker, NativeMaker, CurlMaker) {
  isolated([] {
    // BUG (curl transport): libcurl adds "Content-Type: application/x-www-form-urlencoded" to
    // every CURLOPT_POSTFIELDS request that has none, and prepare() does not remove it (an empty
    // "Content-Type:" in the header list would); the native client sends only what the user gave.
    ScriptedServer server(always(Reply{ok_hello}));
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    for (const std::string method : {"POST", "PUT", "PATCH", "DELETE"}) {
      const auto request = make_request(server.port(), method, "/untyped", {}, "a=1");
      CHECK(rig.exchange(*session, request).status == 200);
    }
    const ServerRecord record = server.record();
    REQUIRE(record.requests.size() == 4);
    for (const auto& seen : record.requests) {
      CAPTURE(seen.raw);
      CHECK(parse_wire(seen.raw).count("Content-Type") == 0);
    }
  });
}

TEST_CASE_TEMPLATE("a body method right after HEAD on the same session is sent as itself", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    // BUG (curl transport): prepare() sets CURLOPT_NOBODY for HEAD and nothing clears it for a
    // body method (CURLOPT_POSTFIELDS leaves it; only CURLOPT_HTTPGET resets it). libcurl 7.88
    // then sends a POST as "HEAD" without its body, a PUT or PATCH without body or
    // Content-Length, and drops the response's body.
    ScriptedServer server([](const Incoming& in) {
      if (in.raw.starts_with("HEAD ")) return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"};
      return Reply{ok_hello};
    });
    const std::vector<Header> typed = {{"Content-Type", "text/plain"}};
    const auto head = make_request(server.port(), "HEAD", "/head");
    const std::vector<std::string> methods = {"POST", "PUT", "PATCH", "GET"};
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    Collector collector;
    session->set_response_observer(&collector);
    for (const auto& method : methods) {
      CAPTURE(method);
      const std::string body = method == "GET" ? "" : "body of " + method;
      const auto request = make_request(server.port(), method, "/after-head", typed, body);
      CHECK(rig.exchange(*session, head).status == 200);
      collector.clear();
      const Exchange e = rig.exchange(*session, request);
      CAPTURE(describe(e));
      CHECK(e.error == ErrorKind::none);
      CHECK(e.status == 200);
      CHECK(collector.body == "hello");  // the response to a non-HEAD request has its body
    }
    const ServerRecord record = server.record();
    REQUIRE(record.requests.size() == 2 * methods.size());
    for (std::size_t i = 0; i < methods.size(); ++i) {
      const WireRequest wire = parse_wire(record.requests[2 * i + 1].raw);
      CAPTURE(record.requests[2 * i + 1].raw);
      CHECK(wire.method == methods[i]);
      CHECK(wire.body == (methods[i] == "GET" ? "" : "body of " + methods[i]));
    }
    CHECK(record.accepts == 1);
  });
}

TEST_CASE_TEMPLATE("a GET with a body is sent as a GET with its body", Maker, NativeMaker,
                   CurlMaker) {
  isolated([] {
    // BUG (curl transport): prepare() leaves GET to libcurl's own method (no
    // CURLOPT_CUSTOMREQUEST), and CURLOPT_POSTFIELDS makes that a POST.
    ScriptedServer server(always(Reply{ok_hello}));
    const std::vector<Header> typed = {{"Content-Type", "application/json"}};
    const std::string query = R"({"query":{"match_all":{}}})";
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    const Exchange e =
        rig.exchange(*session, make_request(server.port(), "GET", "/_search", typed, query));
    CAPTURE(describe(e));
    CHECK(e.status == 200);
    const ServerRecord record = server.record();
    REQUIRE(record.requests.size() == 1);
    CAPTURE(record.requests[0].raw);
    const WireRequest wire = parse_wire(record.requests[0].raw);
    CHECK(wire.method == "GET");
    CHECK(wire.body == query);
    CHECK(wire.value("Content-Length") == std::to_string(query.size()));
  });
}

TEST_CASE_TEMPLATE("byte counts: bytes_out is what the server read, bytes_in what it sent", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    // BUG (curl transport): bytes_out is CURLINFO_SIZE_UPLOAD + CURLINFO_REQUEST_SIZE, and a
    // small body, sent in one buffer with the head, is in both: counted twice. A large body
    // (200 kB here) goes after the head and is counted once.
    const std::vector<Header> typed = {{"Content-Type", "text/plain"}};
    const std::string small_body = "small body";
    const std::string large_body(200'000, 'L');
    const std::vector<std::string> replies = {
        ok_hello,
        with_length("HTTP/1.1 201 Created", "created"),
        "HTTP/1.1 100 Continue\r\n\r\n" + with_length("HTTP/1.1 200 OK", "after 100"),
    };
    ScriptedServer server(
        [&](const Incoming& in) { return Reply{replies[count(in.index) % replies.size()]}; });
    const std::vector<RequestTemplate> requests = {
        make_request(server.port(), "GET", "/get"),
        make_request(server.port(), "POST", "/small", typed, small_body),
        make_request(server.port(), "PUT", "/large", typed, large_body),
    };
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    std::vector<Exchange> seen;
    for (const auto& request : requests)
      seen.push_back(rig.exchange(*session, request));
    const ServerRecord record = server.record();
    REQUIRE(record.requests.size() == requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      CAPTURE(i);
      CAPTURE(describe(seen[i]));
      CHECK(seen[i].error == ErrorKind::none);
      CHECK(seen[i].bytes_out == record.requests[i].raw.size());
      CHECK(seen[i].bytes_in == replies[i].size());
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Response framing.

TEST_CASE_TEMPLATE(
    "bodies: Content-Length, chunked, HEAD, 204, 304, 4 MiB, close-delimited; reuse where legal",
    Maker, NativeMaker, CurlMaker) {
  isolated([] {
    struct Step {
      std::string method;
      std::string response;
      Then then;
      int status;
      std::string body;  // what the observer must be given
    };
    const std::string big(4u << 20, 'B');
    const std::string tail(100'000, 'z');
    const std::vector<Step> steps = {
        {"GET", with_length("HTTP/1.1 200 OK", "hello world"), Then::keep_open, 200, "hello world"},
        {"GET",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\nhello\r\n6 ; name=\"v\"\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
         Then::keep_open, 200, "hello world"},
        {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/html\r\n\r\n",
         Then::keep_open, 200, ""},
        {"GET", "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", Then::keep_open, 204, ""},
        {"GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"v1\"\r\n\r\n",
         Then::keep_open, 304, ""},
        {"GET", with_length("HTTP/1.1 200 OK", big), Then::keep_open, 200, big},
        // HTTP/1.0 style: no length, the body ends with the connection.
        {"GET", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + tail, Then::close, 200,
         tail},
        {"GET", ok_hello, Then::keep_open, 200, "hello"},
    };
    ScriptedServer server([&](const Incoming& in) {
      const Step& step = steps[count(in.index) % steps.size()];
      return Reply{step.response, step.then};
    });
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    Collector collector;
    session->set_response_observer(&collector);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Step& step = steps[i];
      CAPTURE(i);
      CAPTURE(step.response.substr(0, 60));
      collector.clear();
      const Exchange e = rig.exchange(*session, make_request(server.port(), step.method));
      CAPTURE(describe(e));
      CHECK(e.error == ErrorKind::none);
      CHECK(e.status == step.status);
      CHECK(collector.body.size() == step.body.size());
      CHECK((collector.body == step.body));
      CHECK(e.bytes_in >= step.body.size());
      // Chunked: the native client counts the bytes read, framing and trailers included;
      // libcurl counts the body after de-chunking, plus the head. Every other response is
      // counted byte for byte by both.
      if (step.response.find("chunked") == std::string::npos) {
        CHECK(e.bytes_in == step.response.size());
      }
    }
    // Only the close-delimited body ends its connection.
    const ServerRecord record = server.record();
    CHECK(record.accepts == 2);
    REQUIRE(record.requests.size() == steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
      CAPTURE(i);
      CHECK(record.requests[i].connection == (i + 1 < steps.size() ? 0 : 1));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// 3. The ResponseObserver.

TEST_CASE_TEMPLATE("ResponseObserver: the final response's fields, not a 100's, and its whole body",
                   Maker, NativeMaker, CurlMaker) {
  isolated([] {
    const std::vector<std::string> responses = {
        "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final:   padded value  \r\n"
        "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello",
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-Second: 2\r\n\r\n"
        "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nX-Empty: 1\r\n\r\n",
    };
    ScriptedServer server(
        [&](const Incoming& in) { return Reply{responses[count(in.index) % responses.size()]}; });
    const auto request = make_request(server.port());
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    Collector collector;
    session->set_response_observer(&collector);

    Exchange e = rig.exchange(*session, request);
    CHECK(e.status == 200);
    CHECK(collector.count("X-Interim") == 0);
    CHECK(collector.value("X-Final") == "padded value");
    CHECK(collector.value("Content-Length") == "5");
    CHECK(collector.count("Set-Cookie") == 2);
    CHECK(collector.body == "hello");

    collector.clear();
    e = rig.exchange(*session, request);
    CHECK(e.status == 201);
    CHECK(collector.value("X-Second") == "2");
    CHECK(collector.count("X-Final") == 0);
    CHECK(collector.body == "abcdefg");

    collector.clear();
    e = rig.exchange(*session, request);
    CHECK(e.status == 204);
    CHECK(collector.value("X-Empty") == "1");
    CHECK(collector.body.empty());

    session->set_response_observer(nullptr);  // null stops: no more calls
    collector.clear();
    e = rig.exchange(*session, request);
    CHECK(e.status == 200);
    CHECK(collector.fields.empty());
    CHECK(collector.body.empty());
    CHECK(server.record().accepts == 1);
  });
}

TEST_CASE_TEMPLATE("ResponseObserver: a chunked response's trailers come after its body", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    // http::ResponseObserver's contract: "one field of the final response, then its trailers
    // if chunked". BUG (curl transport): libcurl hands trailers to the header callback after the
    // body; on_header() adds them to the header block, already delivered, and they are lost.
    ScriptedServer server(
        always(Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\nX-Trailer: t\r\nX-Checksum: 42\r\n\r\n"}));
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    Collector collector;
    session->set_response_observer(&collector);
    const Exchange e = rig.exchange(*session, make_request(server.port()));
    CHECK(e.status == 200);
    CHECK(collector.body == "hello");
    CHECK(collector.value("Transfer-Encoding") == "chunked");
    CHECK(collector.value("X-Trailer") == "t");
    CHECK(collector.value("X-Checksum") == "42");
  });
}

// ---------------------------------------------------------------------------------------------
// 4. Status classes.

TEST_CASE_TEMPLATE("status classes: 1xx then 200, 2xx, 3xx (not followed), 4xx, 5xx are statuses",
                   Maker, NativeMaker, CurlMaker) {
  isolated([] {
    const std::vector<std::pair<std::string, int>> cases = {
        {"/100", 200}, {"/201", 201}, {"/301", 301}, {"/302", 302},
        {"/404", 404}, {"/500", 500}, {"/503", 503},
    };
    ScriptedServer server([](const Incoming& in) {
      const std::string target = in.raw.substr(4, in.raw.find(' ', 4) - 4);
      if (target == "/100") {
        return Reply{"HTTP/1.1 100 Continue\r\n\r\n" + with_length("HTTP/1.1 200 OK", "ok")};
      }
      if (target == "/201") return Reply{with_length("HTTP/1.1 201 Created", "")};
      if (target == "/301" || target == "/302") {
        return Reply{"HTTP/1.1 " + target.substr(1) +
                     " Moved\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"};
      }
      if (target == "/404") return Reply{with_length("HTTP/1.1 404 Not Found", "not found")};
      if (target == "/500") return Reply{with_length("HTTP/1.1 500 Internal Server Error", "")};
      if (target == "/503") {
        return Reply{"HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy"};
      }
      return Reply{with_length("HTTP/1.1 200 OK", "followed")};  // /elsewhere
    });
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    for (const auto& [target, status] : cases) {
      CAPTURE(target);
      const Exchange e = rig.exchange(*session, make_request(server.port(), "GET", target));
      CAPTURE(describe(e));
      CHECK(e.error == ErrorKind::none);
      CHECK(e.status == status);
    }
    const ServerRecord record = server.record();
    REQUIRE(record.requests.size() == cases.size());  // no redirect was followed
    for (std::size_t i = 0; i < cases.size(); ++i)
      CHECK(parse_wire(record.requests[i].raw).target == cases[i].first);
    CHECK(record.accepts == 1);
  });
}

// ---------------------------------------------------------------------------------------------
// 5. Keep-alive.

TEST_CASE_TEMPLATE("keep-alive: 20 exchanges in a row on one session use one connection", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    constexpr std::size_t n = 20;
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port(), "GET", "/again");
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    Recorder recorder;
    // The next exchange starts from inside the observer, as a VU does.
    recorder.then = [&](const Exchange&) {
      if (recorder.seen.size() < n) session->start(request, recorder, now_ns());
    };
    session->start(request, recorder, now_ns());
    REQUIRE(run_until(rig.io, [&] { return recorder.seen.size() == n; }));
    for (const Exchange& e : recorder.seen)
      CHECK(e.status == 200);
    const ServerRecord record = server.record();
    CHECK(record.accepts == 1);
    REQUIRE(record.requests.size() == n);
    for (const auto& r : record.requests)
      CHECK(r.connection == 0);
    CHECK(rig.client->in_flight() == 0);
  });
}

TEST_CASE_TEMPLATE("keep-alive: 8 busy sessions hold 8 connections, and keep them for more rounds",
                   Maker, NativeMaker, CurlMaker) {
  isolated([] {
    // HTTP/1.1: one connection per busy session. The native client keeps a connection per
    // session; libcurl keeps them in one pool per client, which any idle session may take.
    // BUG (curl transport): libcurl's pool holds 4 x the easy handles in the multi unless
    // CURLMOPT_MAXCONNECTS says otherwise; sessions leave the multi after each exchange, so the
    // last of a round to finish finds the pool over its size and closes the oldest idle
    // connection: one new connect per round (accepts 9, then 10).
    constexpr int sessions = 8;
    constexpr int rounds = 3;
    ScriptedServer server(always(Reply{ok_hello, Then::keep_open, 5ms}));
    const auto request = make_request(server.port(), "GET", "/busy");
    Rig<Maker> rig(server.port());
    std::vector<std::unique_ptr<strain::Session>> open;
    std::vector<Recorder> recorders(sessions);
    for (int i = 0; i < sessions; ++i)
      open.push_back(rig.client->open_session());
    for (int round = 1; round <= rounds; ++round) {
      CAPTURE(round);
      // Every session starts before any can finish: all eight are busy at once.
      for (int i = 0; i < sessions; ++i)
        open[count(i)]->start(request, recorders[count(i)], now_ns());
      CHECK(rig.client->in_flight() == count(sessions));
      REQUIRE(run_until(rig.io, [&] {
        for (const auto& r : recorders)
          if (r.seen.size() < count(round)) return false;
        return true;
      }));
      for (const auto& r : recorders)
        CHECK(r.seen.back().status == 200);
      CHECK(server.record().accepts == sessions);
    }
    CHECK(server.record().requests.size() == count(sessions * rounds));
  });
}

TEST_CASE_TEMPLATE("the server closed an idle keep-alive: the next exchange reconnects, sent once",
                   Maker, NativeMaker, CurlMaker) {
  isolated([] {
    // The FIN arrives while the client is idle (its loop running). Both notice before reuse:
    // the native client sees the FIN on the idle socket, libcurl checks a pooled connection
    // before it takes it.
    ScriptedServer server(always(Reply{ok_hello}));
    const auto request = make_request(server.port());
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    CHECK(rig.exchange(*session, request).status == 200);
    run_for(rig.io, 20ms);
    server.close_connections();
    REQUIRE(server.wait_for([](const ServerRecord& r) { return r.server_closes == 1; }));
    run_for(rig.io, 50ms);
    const Exchange e = rig.exchange(*session, request);
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::none);
    CHECK(e.status == 200);
    CHECK(e.connect_ns > 0);
    const ServerRecord record = server.record();
    CHECK(record.accepts == 2);
    CHECK(record.requests.size() == 2);
  });
}

// ---------------------------------------------------------------------------------------------
// 6. Failures.

TEST_CASE_TEMPLATE("connect refused: connect_refused", Maker, NativeMaker, CurlMaker) {
  isolated([] {
    RefusingPort refusing;  // bound, not listening: refused, and nobody else takes the port
    Rig<Maker> rig(refusing.port());
    auto session = rig.client->open_session();
    const std::int64_t start = now_ns();
    const Exchange e = rig.exchange(*session, make_request(refusing.port()));
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::connect_refused);
    CHECK(e.status == 0);
    CHECK(e.done_ns >= start);
    CHECK(ms(e.done_ns - start) < 1000);
    CHECK(rig.client->in_flight() == 0);
  });
}

TEST_CASE_TEMPLATE("reset with no reply on a fresh connection: reset or closed, sent once", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    // The native client reports ECONNRESET as reset, and may see the RST as an end of stream
    // (closed) as its test of the same accepts. libcurl's recv() gets ECONNRESET:
    // CURLE_RECV_ERROR, mapped to reset; a plain end of stream would be CURLE_GOT_NOTHING,
    // mapped to closed.
    ScriptedServer server(always(Reply{"", Then::reset}));
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    const Exchange e = rig.exchange(*session, make_request(server.port()));
    CAPTURE(describe(e));
    CHECK((e.error == ErrorKind::reset || e.error == ErrorKind::closed));
    CHECK(e.status == 0);
    run_for(rig.io, 50ms);
    const ServerRecord record = server.record();
    CHECK(record.requests.size() == 1);
    CHECK(record.accepts == 1);
  });
}

TEST_CASE_TEMPLATE("closed with no reply on a fresh connection: closed, sent once", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    // libcurl: CURLE_GOT_NOTHING ("Empty reply from server"), mapped to closed.
    ScriptedServer server(always(Reply{"", Then::close}));
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    const Exchange e = rig.exchange(*session, make_request(server.port(), "POST", "/", {}, "x"));
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::closed);
    CHECK(e.status == 0);
    run_for(rig.io, 50ms);
    const ServerRecord record = server.record();
    CHECK(record.requests.size() == 1);
    CHECK(record.accepts == 1);
  });
}

// One answered request, then `method` /again on the same connection, which the server closes
// unanswered. Checks the exchange ends as closed; returns what the server saw.
template <typename Maker>
ServerRecord closed_on_reuse(const std::string& method) {
  ScriptedServer server([](const Incoming& in) {
    return in.index == 0 ? Reply{ok_hello} : Reply{"", Then::close};
  });
  Rig<Maker> rig(server.port());
  auto session = rig.client->open_session();
  CHECK(rig.exchange(*session, make_request(server.port())).status == 200);
  run_for(rig.io, 5ms);
  const std::string body = method == "POST" ? "body" : "";
  const Exchange e =
      rig.exchange(*session, make_request(server.port(), method, "/again", {}, body));
  CAPTURE(describe(e));
  CHECK(e.error == ErrorKind::closed);
  run_for(rig.io, 50ms);
  return server.record();
}

// The native client never resends a request the server may have read (its round-trip rule):
// the close is the server's answer, and hiding it would flatter the error count.
TEST_CASE_TEMPLATE("closed with no reply on a reused connection: an error, the request sent once",
                   Maker, NativeMaker) {
  isolated([] {
    for (const std::string method : {"GET", "POST"}) {
      CAPTURE(method);
      const ServerRecord record = closed_on_reuse<Maker>(method);
      CHECK(record.requests.size() == 2);  // the server's count: it came once
      CHECK(record.accepts == 1);
    }
  });
}

// libcurl 7.88 resends (any method, POST included) a request whose reused connection died with
// nothing received, on a new connection, and has no option to stop it: the server sees it twice
// and the exchange still ends as closed. Pinned here so a change in libcurl shows; the README's
// transport table says so.
TEST_CASE("curl: closed with no reply on a reused connection: libcurl resends it once") {
  isolated([] {
    for (const std::string method : {"GET", "POST"}) {
      CAPTURE(method);
      const ServerRecord record = closed_on_reuse<CurlMaker>(method);
      CHECK(record.requests.size() == 3);  // the first request, then /again twice
      CHECK(record.accepts == 2);
    }
  });
}

TEST_CASE_TEMPLATE("a server that never answers: timeout after request_timeout", Maker, NativeMaker,
                   CurlMaker) {
  isolated([] {
    // 300 ms: libcurl takes CURLOPT_TIMEOUT_MS in whole ms, and its stall detector
    // (LOW_SPEED_TIME, from idle_timeout) in whole seconds, so idle_timeout stays out of reach.
    ScriptedServer server(always(Reply{}));
    NativeClientOptions timeouts = bounded();
    timeouts.request_timeout = 300ms;
    Rig<Maker> rig(server.port(), timeouts);
    auto session = rig.client->open_session();
    Recorder recorder;
    const auto request = make_request(server.port());  // outlives the exchange, as it must
    const std::int64_t start = now_ns();
    session->start(request, recorder, start);
    REQUIRE(run_until(rig.io, [&] { return !recorder.seen.empty(); }));
    const Exchange e = recorder.seen[0];
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::timeout);
    CHECK(e.status == 0);
    CHECK(ms(e.done_ns - start) >= 300);
    CHECK(ms(e.done_ns - start) < 1000);
    run_for(rig.io, 100ms);
    CHECK(recorder.seen.size() == 1);  // reported once
    CHECK(rig.client->in_flight() == 0);
    CHECK(server.record().requests.size() == 1);
  });
}

TEST_CASE_TEMPLATE("a truncated body (Content-Length 100, 10 bytes, close): closed, not a 200",
                   Maker, NativeMaker, CurlMaker) {
  isolated([] {
    // libcurl: CURLE_PARTIAL_FILE, mapped to closed.
    ScriptedServer server(
        always(Reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", Then::close}));
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    const Exchange e = rig.exchange(*session, make_request(server.port()));
    CAPTURE(describe(e));
    CHECK(e.error == ErrorKind::closed);
    CHECK(e.status == 0);
    CHECK(server.record().requests.size() == 1);
  });
}

// ---------------------------------------------------------------------------------------------
// 7. Timing fields.

TEST_CASE_TEMPLATE("timing: a reply held 50 ms; connect_ns on a new connection only", Maker,
                   NativeMaker, CurlMaker) {
  isolated([] {
    ScriptedServer server(always(Reply{ok_hello, Then::keep_open, 50ms}));
    const auto request = make_request(server.port());
    Rig<Maker> rig(server.port());
    auto session = rig.client->open_session();
    for (int i = 0; i < 2; ++i) {
      CAPTURE(i);
      Recorder recorder;
      const std::int64_t start = now_ns();
      session->start(request, recorder, start);
      REQUIRE(run_until(rig.io, [&] { return !recorder.seen.empty(); }));
      const Exchange e = recorder.seen[0];
      CAPTURE(describe(e));
      CAPTURE(e.connect_ns);
      CAPTURE(e.dns_ns);
      CHECK(e.status == 200);
      CHECK(e.sent_ns >= start);
      CHECK(e.done_ns - e.sent_ns >= 50'000'000);
      CHECK(e.first_byte_ns - e.sent_ns >= 50'000'000);  // nothing came before the hold ended
      CHECK(e.first_byte_ns <= e.done_ns);
      CHECK(e.tls_ns == 0);
      if (i == 0) {
        CHECK(e.connect_ns > 0);
        CHECK(e.dns_ns + e.connect_ns <= e.sent_ns - start);  // both came before the send
      } else {
        CHECK(e.connect_ns == 0);
        CHECK(e.dns_ns == 0);
      }
      // An IP literal is never looked up. The native client says 0; libcurl's NAMELOOKUP time
      // runs from its own start of the transfer to the literal's address, about 0.2 ms here,
      // which the curl transport reports as dns_ns on a new connection.
      if constexpr (Maker::is_curl) {
        if (e.dns_ns != 0) MESSAGE("curl: dns_ns " << e.dns_ns << " ns for an IP literal");
      } else {
        CHECK(e.dns_ns == 0);
      }
    }
    CHECK(server.record().accepts == 1);
  });
}
