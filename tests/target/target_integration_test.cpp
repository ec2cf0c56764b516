// Starts the real strain-target on 127.0.0.1 and checks it with a small blocking client.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kIoTimeout{5000};

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// One line from a pipe, waiting at most `timeout`; empty on timeout or EOF.
std::string read_line(int fd, std::string& pending, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (const auto nl = pending.find('\n'); nl != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return {};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return {};
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

// Waits for `pid` at most `timeout`; the exit status, or nullopt if it is still running.
std::optional<int> wait_exit(pid_t pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return status;
}

// Forks strain-target with stdout and stderr on pipes. The child dies with this process.
pid_t spawn(std::vector<std::string> args, int& out_fd, int& err_fd) {
  args.insert(args.begin(), STRAIN_TARGET_BIN);
  int out[2];
  int err[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_fd = out[0];
  err_fd = err[0];
  return pid;
}

// strain-target on an ephemeral port of 127.0.0.1. Always killed by the destructor, so a failed
// check never leaves it behind; --exit-after 50s is a second guard should this process vanish.
class Target {
 public:
  explicit Target(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--host", "127.0.0.1", "--port", "0"});
    if (std::find(args.begin(), args.end(), "--exit-after") == args.end()) {
      args.insert(args.end(), {"--exit-after", "50s"});
    }
    pid_ = spawn(args, out_fd_, err_fd_);
    const std::string line = read_line(out_fd_, pending_, kIoTimeout);
    const std::string prefix = "strain-target listening on http://127.0.0.1:";
    REQUIRE_MESSAGE(line.rfind(prefix, 0) == 0, "first line was '" << line << "'");
    REQUIRE(line.back() == '/');
    port_ = static_cast<std::uint16_t>(std::stoul(line.substr(prefix.size())));
    REQUIRE(port_ != 0);
  }
  ~Target() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_fd_);
    ::close(err_fd_);
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  std::uint16_t port() const { return port_; }

  // SIGTERM; returns the line it prints on the way out, after checking it exits 0.
  std::string stop() {
    REQUIRE(pid_ > 0);
    ::kill(pid_, SIGTERM);
    return wait_for_exit_line(kIoTimeout);
  }

  // SIGTERM; every line it prints on the way out, the summary last.
  std::vector<std::string> stop_lines() {
    REQUIRE(pid_ > 0);
    ::kill(pid_, SIGTERM);
    std::vector<std::string> lines;
    for (;;) {
      std::string line = read_line(out_fd_, pending_, kIoTimeout);
      REQUIRE_MESSAGE(!line.empty(), "no summary line");
      lines.push_back(line);
      if (line.rfind("strain-target served=", 0) == 0) break;
    }
    const auto status = wait_exit(pid_, kIoTimeout);
    REQUIRE(status.has_value());
    pid_ = -1;
    CHECK(WIFEXITED(*status));
    return lines;
  }

  // For a target that stops by itself: its exit line, after checking it exits 0.
  std::string wait_for_exit_line(milliseconds timeout) {
    const std::string line = read_line(out_fd_, pending_, timeout);
    const auto status = wait_exit(pid_, timeout);
    REQUIRE_MESSAGE(status.has_value(), "strain-target did not exit");
    pid_ = -1;
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    return line;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string pending_;
  std::uint16_t port_ = 0;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string("<none>") : it->second;
  }
};

// A blocking TCP connection to 127.0.0.1:port with Nagle off and a 5 s send timeout (and a
// 5 s receive timeout when `receive_timeout`: tests that wait for a close poll instead).
int connect_loopback(std::uint16_t port, bool receive_timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  if (receive_timeout) ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// A blocking HTTP/1.1 client on 127.0.0.1 with 5s timeouts on every call.
class Client {
 public:
  explicit Client(std::uint16_t port) : fd_(connect_loopback(port, true)) {}
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE_MESSAGE(n > 0, "send failed: " << std::strerror(errno));
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Sends without asserting: false if the peer has gone.
  bool try_send(std::string_view bytes) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    return n == static_cast<ssize_t>(bytes.size());
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads one response; `head_request` means no body follows whatever the headers say.
  Response read(bool head_request = false) {
    auto r = try_read(head_request);
    REQUIRE_MESSAGE(r.has_value(), "connection closed before a response");
    return *r;
  }

  // Like read, but nullopt (not a failure) when the connection ends before the first byte.
  std::optional<Response> try_read(bool head_request = false) {
    std::size_t end = 0;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        REQUIRE_MESSAGE(buf_.empty(), "EOF in head");
        return std::nullopt;
      }
    }
    Response r;
    const std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    REQUIRE(head.rfind("HTTP/1.1 ", 0) == 0);
    r.status = std::stoi(head.substr(9, 3));
    std::size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      const auto eol = head.find("\r\n", pos);
      const auto line = head.substr(pos, eol - pos);
      const auto colon = line.find(':');
      REQUIRE(colon != std::string::npos);
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      pos = eol + 2;
    }
    const bool bodiless = head_request || r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodiless) {
      REQUIRE(r.headers.count("content-length") == 1);
      const auto length = std::stoull(r.headers["content-length"]);
      while (buf_.size() < length)
        REQUIRE_MESSAGE(fill(), "EOF in body");
      r.body = buf_.substr(0, length);
      buf_.erase(0, length);
    }
    return r;
  }

  Response get(const std::string& target, const std::string& extra_headers = "") {
    send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n");
    return read();
  }

  // Any method; a Content-Length is sent with any body, and always for POST and PUT.
  Response request(const std::string& method, const std::string& target,
                   const std::string& body = "", const std::string& extra_headers = "") {
    std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
    if (!body.empty() || method == "POST" || method == "PUT") {
      text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    send(text + "\r\n" + body);
    return read(method == "HEAD");
  }

  // True when the server closes the connection (FIN, not reset) with nothing more to read.
  bool closed_cleanly() {
    if (!buf_.empty()) return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0;
  }

 private:
  // False on EOF or reset; a timeout fails the test.
  bool fill() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    REQUIRE_MESSAGE((n >= 0 || errno == ECONNRESET), "recv failed: " << std::strerror(errno));
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

// What the test itself sent and got back: the independent truth the target's count must equal.
struct Tally {
  std::uint64_t served = 0;
  std::map<int, std::uint64_t> by_status;

  void add(const Response& r) {
    ++served;
    ++by_status[r.status];
  }
  std::string line(std::uint64_t connections) const {
    std::string out = "strain-target served=" + std::to_string(served) + " by_status=";
    bool first = true;
    for (const auto& [status, n] : by_status) {
      out.append(first ? "" : ",").append(std::to_string(status)).append(":").append(
          std::to_string(n));
      first = false;
    }
    return out + " connections=" + std::to_string(connections);
  }
};

std::string expected_body(std::size_t n) {
  std::string out;
  out.reserve(n);
  const std::string period = "hello, strain\n";
  for (std::size_t i = 0; i < n; ++i)
    out += period[i % period.size()];
  return out;
}

std::uint64_t json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":");
  REQUIRE_MESSAGE(at != std::string::npos, key << " missing from " << json);
  return std::stoull(json.substr(at + key.size() + 3));
}

}  // namespace

TEST_CASE("statuses, sizes, HEAD, bodies, bad parameters, stats, and the count on exit") {
  Target target;
  Tally tally;
  Client c(target.port());

  auto r = c.get("/");
  tally.add(r);
  CHECK(r.status == 200);
  CHECK(r.body == "hello, strain");
  CHECK(r.header("content-length") == "13");
  CHECK(r.header("date").size() == 29);
  CHECK(r.header("connection") == "<none>");

  r = c.get("/any/path?status=503");
  tally.add(r);
  CHECK(r.status == 503);
  CHECK(r.body == "hello, strain");

  for (std::size_t size : {0ul, 1ul, 10240ul, 65535ul, 1ul << 20, 3ul << 20}) {
    CAPTURE(size);
    r = c.get("/?size=" + std::to_string(size));
    tally.add(r);
    CHECK(r.status == 200);
    REQUIRE(r.body.size() == size);
    CHECK(r.body == expected_body(size));
  }
  r = c.get("/?size=10KiB&status=201&id=7");
  tally.add(r);
  CHECK(r.status == 201);
  CHECK(r.body.size() == 10240);

  r = c.get("/?status=204");
  tally.add(r);
  CHECK(r.status == 204);
  CHECK(r.header("content-length") == "<none>");

  // HEAD: the advertised length, no body; the next response on the connection proves it.
  c.send("HEAD /?size=5000 HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read(true);
  tally.add(r);
  CHECK(r.status == 200);
  CHECK(r.header("content-length") == "5000");
  r = c.get("/?status=202");
  tally.add(r);
  CHECK(r.status == 202);
  CHECK(r.body == "hello, strain");

  // A bad parameter is a 400 naming it; the connection stays usable.
  r = c.get("/?delay=abc");
  tally.add(r);
  CHECK(r.status == 400);
  CHECK(r.body.find("delay") != std::string::npos);
  r = c.get("/?size=lots");
  tally.add(r);
  CHECK(r.status == 400);
  r = c.get("/");
  tally.add(r);
  CHECK(r.status == 200);

  // Request bodies are read and dropped, by length and chunked.
  const std::string upload(100000, 'u');
  c.send("POST /?status=201 HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(upload.size()) + "\r\n\r\n" + upload);
  r = c.read();
  tally.add(r);
  CHECK(r.status == 201);
  c.send(
      "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "186a0\r\n" +
      upload + "\r\n4;ext=1\r\nabcd\r\n0\r\nTrailer: t\r\n\r\n");
  r = c.read();
  tally.add(r);
  CHECK(r.status == 200);

  // Expect: 100-continue gets its interim response before the body is sent.
  c.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  r = c.read();
  CHECK(r.status == 100);
  c.send("hello");
  r = c.read();
  tally.add(r);
  CHECK(r.status == 200);

  // The stats endpoint tells the truth so far and does not count itself.
  for (int i = 0; i < 2; ++i) {
    r = c.get("/__strain/stats");
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    CHECK(json_number(r.body, "served") == tally.served);
    CHECK(json_number(r.body, "200") == tally.by_status[200]);
    CHECK(json_number(r.body, "connections") == 1);
    CHECK(json_number(r.body, "open_connections") == 1);
    CHECK(json_number(r.body, "rejected_connections") == 0);
  }
  // HEAD of the stats endpoint is not counted either.
  c.send("HEAD /__strain/stats HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(c.read(true).status == 200);

  CHECK(target.stop() == tally.line(1));
}

TEST_CASE("latency from the flag and from ?delay, never blocking other connections") {
  Target target({"--latency", "300ms"});
  Client slow(target.port());
  Client fast(target.port());

  auto start = Clock::now();
  auto r = slow.get("/");
  CHECK(r.status == 200);
  CHECK(ms_since(start) >= 300);

  start = Clock::now();
  r = slow.get("/?delay=50ms");
  CHECK(ms_since(start) >= 50);
  CHECK(ms_since(start) < 300);

  // A delayed request on one connection does not hold up another (timers, not sleeps).
  slow.send("GET /?delay=2s HTTP/1.1\r\nHost: x\r\n\r\n");
  start = Clock::now();
  r = fast.get("/?delay=0");
  CHECK(r.status == 200);
  CHECK(ms_since(start) < 1500);
  r = slow.read();
  CHECK(ms_since(start) >= 1900);

  // Pipelined requests with different delays are answered in request order.
  slow.send(
      "GET /?delay=200ms&status=201 HTTP/1.1\r\n\r\n"
      "GET /?delay=0&status=202 HTTP/1.1\r\n\r\n"
      "GET /?delay=50ms&status=203 HTTP/1.1\r\n\r\n");
  start = Clock::now();
  CHECK(slow.read().status == 201);
  CHECK(ms_since(start) >= 190);
  CHECK(slow.read().status == 202);
  CHECK(slow.read().status == 203);

  CHECK(target.stop() == "strain-target served=7 by_status=200:4,201:1,202:1,203:1 connections=2");
}

TEST_CASE("Connection: close, HTTP/1.0, and pipelining up to a close") {
  Target target;
  Tally tally;
  {
    Client c(target.port());
    const auto r = c.get("/", "Connection: close\r\n");
    tally.add(r);
    CHECK(r.header("connection") == "close");
    CHECK(c.closed_cleanly());
  }
  {
    Client c(target.port());
    c.send("GET / HTTP/1.0\r\n\r\n");
    const auto r = c.read();
    tally.add(r);
    CHECK(r.body == "hello, strain");
    CHECK(r.header("connection") == "close");
    CHECK(c.closed_cleanly());
  }
  {
    Client c(target.port());
    c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read();
    tally.add(r);
    CHECK(r.header("connection") == "keep-alive");
    c.send("GET /?status=202 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    r = c.read();
    tally.add(r);
    CHECK(r.status == 202);
  }
  {
    // Requests after the one that asked to close are never answered.
    Client c(target.port());
    c.send(
        "GET /?status=201 HTTP/1.1\r\n\r\nGET /?status=202 HTTP/1.1\r\nConnection: close\r\n\r\n"
        "GET /?status=203 HTTP/1.1\r\n\r\n");
    auto r = c.read();
    tally.add(r);
    CHECK(r.status == 201);
    r = c.read();
    tally.add(r);
    CHECK(r.status == 202);
    CHECK(r.header("connection") == "close");
    CHECK(c.closed_cleanly());
  }
  {
    // A client that half-closes after pipelining still gets every answer.
    Client c(target.port());
    c.send("GET /?delay=30ms HTTP/1.1\r\n\r\nGET /?status=201 HTTP/1.1\r\n\r\n");
    c.shutdown_write();
    auto r = c.read();
    tally.add(r);
    CHECK(r.status == 200);
    r = c.read();
    tally.add(r);
    CHECK(r.status == 201);
    CHECK(c.closed_cleanly());
  }
  CHECK(target.stop() == tally.line(5));
}

TEST_CASE("pipelining: many requests in one write, and requests split at every byte") {
  Target target;
  Client c(target.port());
  std::string batch;
  for (int i = 0; i < 200; ++i)
    batch += "GET /?size=" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
  c.send(batch);
  for (std::size_t i = 0; i < 200; ++i) {
    const auto r = c.read();
    REQUIRE(r.body.size() == i);
  }

  const std::string two =
      "POST /?status=201 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n"
      "GET /?status=202&size=3 HTTP/1.1\r\nHost: x\r\n\r\n";
  for (char ch : two) {
    c.send(std::string_view(&ch, 1));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  CHECK(c.read().status == 201);
  const auto r = c.read();
  CHECK(r.status == 202);
  CHECK(r.body == "hel");
  CHECK(target.stop() == "strain-target served=202 by_status=200:200,201:1,202:1 connections=1");
}

TEST_CASE("bad requests: 431 for an oversize head, 400 for garbage, then a clean close") {
  Target target;
  {
    Client c(target.port());
    c.send("GET / HTTP/1.1\r\nX-Big: " + std::string(70 * 1024, 'b') + "\r\n\r\n");
    const auto r = c.read();
    CHECK(r.status == 431);
    CHECK(r.header("connection") == "close");
    CHECK(c.closed_cleanly());
  }
  {
    Client c(target.port());
    c.send("GET / HTTP/1.1\r\n\r\nNOT HTTP AT ALL\r\n\r\n");
    CHECK(c.read().status == 200);
    const auto r = c.read();
    CHECK(r.status == 400);
    CHECK(r.body.find("bad_request_line") != std::string::npos);
    CHECK(c.closed_cleanly());
  }
  {
    Client c(target.port());
    c.send("GET / HTTP/2.0\r\n\r\n");
    CHECK(c.read().status == 505);
    CHECK(c.closed_cleanly());
  }
  CHECK(target.stop() == "strain-target served=4 by_status=200:1,400:1,431:1,505:1 connections=3");
}

TEST_CASE("idle connections are closed; a long delay is not idleness") {
  Target target({"--idle-timeout", "200ms"});
  Client idle(target.port());
  Client waiting(target.port());
  waiting.send("GET /?delay=600ms HTTP/1.1\r\n\r\n");
  const auto start = Clock::now();
  CHECK(idle.closed_cleanly());
  const auto waited = ms_since(start);
  CHECK(waited >= 150);
  CHECK(waited < 3000);
  CHECK(waiting.read().status == 200);
  CHECK(waiting.closed_cleanly());  // idle again after its response
  CHECK(target.stop() == "strain-target served=1 by_status=200:1 connections=2");
}

TEST_CASE("over --max-connections, connections are accepted and closed") {
  Target target({"--max-connections", "2"});
  auto a = std::make_unique<Client>(target.port());
  Client b(target.port());
  CHECK(a->get("/").status == 200);
  CHECK(b.get("/").status == 200);
  {
    Client over(target.port());
    CHECK(over.closed_cleanly());  // accepted, then closed without a word
  }
  a.reset();
  // The slot frees once the target has seen the close; poll its stats for it, bounded.
  std::string stats;
  for (int i = 0; i < 100 && stats.empty(); ++i) {
    Client probe(target.port());
    if (probe.try_send("GET /__strain/stats HTTP/1.1\r\n\r\n")) {
      if (auto r = probe.try_read()) stats = r->body;
    }
    if (stats.empty()) std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE_FALSE(stats.empty());
  CHECK(json_number(stats, "rejected_connections") >= 1);
  CHECK(json_number(stats, "served") == 2);
  CHECK(json_number(stats, "open_connections") == 2);
}

TEST_CASE("--exit-after-requests and --exit-after stop the target by themselves") {
  {
    Target target({"--exit-after-requests", "3"});
    Client c(target.port());
    for (int i = 0; i < 3; ++i)
      CHECK(c.get("/").status == 200);
    CHECK(target.wait_for_exit_line(kIoTimeout) ==
          "strain-target served=3 by_status=200:3 connections=1");
  }
  {
    const auto start = Clock::now();
    Target target({"--exit-after", "300ms"});
    CHECK(target.wait_for_exit_line(kIoTimeout) ==
          "strain-target served=0 by_status= connections=0");
    CHECK(ms_since(start) >= 300);
  }
}

TEST_CASE("a stop closes connections with responses still pending, promptly") {
  Target target;
  Client c(target.port());
  CHECK(c.get("/").status == 200);
  c.send("GET /?delay=30s HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(50));
  const auto start = Clock::now();
  CHECK(target.stop() == "strain-target served=1 by_status=200:1 connections=1");
  CHECK(ms_since(start) < 2000);
}

TEST_CASE("several worker threads share the load and the count") {
  Target target({"--threads", "3"});
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 9; ++i)
    clients.push_back(std::make_unique<Client>(target.port()));
  std::string batch;
  for (int i = 0; i < 50; ++i)
    batch += "GET /?size=100 HTTP/1.1\r\n\r\n";
  for (auto& c : clients)
    c->send(batch);
  for (auto& c : clients) {
    for (int i = 0; i < 50; ++i)
      REQUIRE(c->read().body.size() == 100);
  }
  const auto stats = clients[0]->get("/__strain/stats").body;
  CHECK(json_number(stats, "served") == 450);
  CHECK(json_number(stats, "open_connections") == 9);
  CHECK(target.stop() == "strain-target served=450 by_status=200:450 connections=9");
}

TEST_CASE("bad flags exit 2 with one line naming the flag") {
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  const std::vector<Case> cases = {
      {{"--host", "0.0.0.0"}, "--host"},
      {{"--port", "abc"}, "--port"},
      {{"--latency", "fast"}, "--latency"},
      {{"--bogus"}, "--bogus"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.names);
    int out = -1;
    int err = -1;
    const pid_t pid = spawn(c.args, out, err);
    const auto status = wait_exit(pid, kIoTimeout);
    if (!status) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 2);
    std::string pending;
    const std::string line = read_line(err, pending, milliseconds(1000));
    CHECK(line.find(c.names) != std::string::npos);
    CHECK(read_line(err, pending, milliseconds(100)).empty());  // one line only
    std::string out_pending;
    CHECK(read_line(out, out_pending, milliseconds(100)).empty());  // nothing on stdout
    ::close(out);
    ::close(err);
  }
}

TEST_CASE("curl agrees with the responses" * doctest::skip(::access("/usr/bin/curl", X_OK) != 0)) {
  Target target;
  auto curl = [&](const std::string& target_path, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"/usr/bin/curl", "-s", "-o",
                                     "/dev/null",     "-w", "%{http_code} %{size_download}",
                                     "--max-time",    "10"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("http://127.0.0.1:" + std::to_string(target.port()) + target_path);
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(out[1], STDOUT_FILENO);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string text;
    for (char buf[256];;) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kIoTimeout.count())) <= 0) break;
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    const auto status = wait_exit(pid, kIoTimeout);
    ::close(out[0]);
    if (!status) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    return text;
  };
  CHECK(curl("/?size=100000", {}) == "200 100000");
  CHECK(curl("/?status=503", {}) == "503 13");
  CHECK(curl("/", {"-I"}) == "200 0");
  CHECK(curl("/", {"--http1.0"}) == "200 13");
  CHECK(curl("/", {"-d", "some=body"}) == "200 13");
  CHECK(target.stop() == "strain-target served=5 by_status=200:4,503:1 connections=5");
}

TEST_CASE("the demo API end to end: login, items, checkout, body limits, and the counts") {
  using nlohmann::json;
  Target target({"--threads", "3"});
  Tally tally;
  // What the API must report, counted here from the answers.
  std::map<std::string, std::uint64_t> api;
  auto expect = [&](Response r, int status, const std::string& counter = "") {
    tally.add(r);
    ++api["requests"];
    CHECK(r.status == status);
    if (status != 204) CHECK(r.header("content-type") == "application/json");
    if (!counter.empty()) ++api[counter];
    return r;
  };

  // Three connections, handed round-robin to three workers: a token from one works on all.
  Client a(target.port());
  Client b(target.port());
  Client c(target.port());
  auto r = expect(a.request("POST", "/api/login", R"({"user":"alice","pass":"pw-alice"})",
                            "Content-Type: application/json\r\n"),
                  200, "logins_ok");
  const auto login = json::parse(r.body);
  CHECK(login["user"] == "alice");
  const std::string token = login["token"];
  const std::string auth = "Authorization: Bearer " + token + "\r\n";

  r = expect(b.request("POST", "/api/items", R"({"name":"x","price":12.5})", auth), 201,
             "items_created");
  const auto created = json::parse(r.body);
  CHECK(created["name"] == "x");
  CHECK(created["price"] == 12.5);
  CHECK(created["owner"] == "alice");
  const std::string item = "/api/items/" + std::to_string(created["id"].get<std::uint64_t>());
  r = expect(c.request("GET", item, "", auth), 200, "items_read");
  CHECK(json::parse(r.body) == created);
  r = expect(a.request("PUT", item, R"({"name":"y","price":1})", auth), 200, "items_updated");
  CHECK(json::parse(r.body)["name"] == "y");
  r = expect(b.request("DELETE", item, "", auth), 204, "items_deleted");
  CHECK(r.body.empty());
  CHECK(r.header("content-length") == "<none>");
  expect(c.request("GET", item, "", auth), 404);

  // Refusals, each on a connection that stays usable.
  r = expect(a.request("GET", item), 401, "unauthorized");
  CHECK(r.header("www-authenticate") == "Bearer");
  expect(
      a.request("GET", "/api/products", "", "Authorization: Bearer u.alice.0123456789abcdef\r\n"),
      401, "unauthorized");
  expect(b.request("POST", "/api/login", R"({"user":"alice","pass":"nope"})"), 401,
         "logins_failed");
  expect(b.request("POST", "/api/login", "{not json"), 400);
  r = expect(c.request("GET", "/api/cart", "", auth), 405);
  CHECK(r.header("allow") == "POST");
  expect(c.request("GET", "/api/nothing", "", auth), 404);

  // A chunked login pipelined with the next request; a bad ?delay= is a JSON 400.
  a.send(
      "POST /api/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "e\r\n{\"user\":\"bob\",\r\n10\r\n\"pass\":\"pw-bob\"}\r\n0\r\n\r\n"
      "GET /api/products?delay=nope HTTP/1.1\r\n" +
      auth + "\r\n");
  r = expect(a.read(), 200, "logins_ok");
  CHECK(json::parse(r.body)["user"] == "bob");
  r = a.read();
  tally.add(r);
  CHECK(r.status == 400);
  CHECK(json::parse(r.body)["error"].get<std::string>().find("delay") != std::string::npos);

  // The checkout, with ?delay= holding one answer back and Expect: 100-continue on another.
  auto start = Clock::now();
  r = expect(b.request("GET", "/api/products?delay=150ms", "", auth), 200);
  CHECK(ms_since(start) >= 150);
  const auto products = json::parse(r.body)["products"];
  REQUIRE(products.size() == 20);
  r = expect(c.request("POST", "/api/cart", "", auth), 201, "carts_created");
  const std::string cart = "/api/cart/" + std::to_string(json::parse(r.body)["cart"].get<int>());
  c.send("POST " + cart + "/items HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 23\r\n" +
         auth + "\r\n");
  CHECK(c.read().status == 100);
  c.send(R"({"product":3,"qty":10})" + std::string(" "));
  r = expect(c.read(), 200, "cart_adds");
  const double total = products[2]["price"].get<double>() * 10;
  CHECK(json::parse(r.body)["items"] == 1);
  CHECK(json::parse(r.body)["total"].get<double>() == doctest::Approx(total));
  r = expect(a.request("POST", cart + "/checkout", "", auth), 200, "orders");
  CHECK(json::parse(r.body)["order"] == 1);
  CHECK(json::parse(r.body)["total"].get<double>() == doctest::Approx(total));
  expect(b.request("POST", cart + "/checkout", "", auth), 404);

  // Bodies over 1 MiB: refused at the head when the length is declared (then closed), and
  // after reading when chunked (the connection stays open).
  {
    Client d(target.port());
    d.send("POST /api/items HTTP/1.1\r\nContent-Length: 1048577\r\n" + auth + "\r\n");
    r = d.read();
    tally.add(r);
    CHECK(r.status == 413);
    CHECK(r.header("connection") == "close");
    CHECK(c.request("GET", "/").status == 200);  // the others are unaffected
    tally.add(Response{200, {}, {}});
    CHECK(d.closed_cleanly());
  }
  {
    Client e(target.port());
    const std::string chunk(512 * 1024, ' ');
    std::string chunked = "POST /api/items HTTP/1.1\r\nTransfer-Encoding: chunked\r\n" + auth +
                          "\r\n80000\r\n" + chunk + "\r\n80000\r\n" + chunk +
                          "\r\n1\r\n \r\n0\r\n\r\n";
    e.send(chunked);
    r = e.read();
    tally.add(r);
    CHECK(r.status == 413);
    CHECK(r.header("connection") == "<none>");
    expect(e.request("GET", "/api/products", "", auth), 200);  // the cut is not remembered
    // Exactly 1 MiB is allowed (and is then judged on its content).
    chunked = "POST /api/items HTTP/1.1\r\nTransfer-Encoding: chunked\r\n" + auth +
              "\r\n80000\r\n" + chunk + "\r\n80000\r\n" + chunk + "\r\n0\r\n\r\n";
    e.send(chunked);
    expect(e.read(), 400);
    r = e.get("/");
    tally.add(r);
    CHECK(r.body == "hello, strain");
    CHECK(r.header("content-type") == "text/plain");
  }

  // "served" is bumped once a write completes, which on another worker can be just after the
  // client has read the bytes: poll briefly. The API's counts are made before the write.
  json stats;
  for (int i = 0; i < 100; ++i) {
    stats = json::parse(a.get("/__strain/stats").body);
    if (stats["served"] == tally.served) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(stats["served"] == tally.served);
  const auto& reported = stats["api"];
  for (const char* name :
       {"requests", "logins_ok", "logins_failed", "unauthorized", "items_created", "items_updated",
        "items_deleted", "items_read", "carts_created", "cart_adds", "orders"}) {
    CAPTURE(name);
    CHECK(reported[name] == api[name]);
  }
  CHECK(reported["item_count"] == 0);

  std::string line = tally.line(5);
  for (const char* name :
       {"requests", "logins_ok", "logins_failed", "unauthorized", "items_created", "items_updated",
        "items_deleted", "items_read", "carts_created", "cart_adds", "orders"}) {
    line += std::string(" api_") + name + "=" + std::to_string(api[name]);
  }
  line += " api_item_count=0";
  CHECK(target.stop() == line);
}

// ---- the shapes: capacity, stalls, rate limit, leak -----------------------------------------

TEST_CASE("--workers: at most W in service, the rest queue in order, over the limit 503") {
  {
    // Two servers of 200ms and six requests at once: three rounds, so the last answer comes
    // no sooner than ~600ms, and nothing can finish before the first 200ms.
    Target target({"--workers", "2", "--service", "200ms"});
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 6; ++i)
      clients.push_back(std::make_unique<Client>(target.port()));
    const auto start = Clock::now();
    for (auto& c : clients)
      c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    long long first_ms = -1;
    for (auto& c : clients) {
      CHECK(c->read().status == 200);
      if (first_ms < 0) first_ms = ms_since(start);
    }
    CHECK(first_ms >= 180);
    CHECK(ms_since(start) >= 550);
    const auto stats = nlohmann::json::parse(clients[0]->get("/__strain/stats").body);
    CHECK(stats["capacity"]["in_service_max"] == 2);
    CHECK(stats["capacity"]["queued_max"] >= 1);
    CHECK(stats["capacity"]["rejected"] == 0);
    // ?service= overrides per request.
    const auto t = Clock::now();
    CHECK(clients[0]->get("/?service=0").status == 200);
    CHECK(ms_since(t) < 150);
  }
  {
    Target target({"--workers", "1", "--service", "1s", "--queue-limit", "1"});
    Client a(target.port());
    Client b(target.port());
    Client c(target.port());
    a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(milliseconds(100));
    b.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(milliseconds(100));
    CHECK(c.get("/").status == 503);  // one in service, one queued: no room
    CHECK(a.read().status == 200);
    CHECK(b.read().status == 200);
    CHECK(target.stop() ==
          "strain-target served=3 by_status=200:2,503:1 connections=3 in_service_max=1 "
          "queued_max=1 queue_rejected=1");
  }
}

TEST_CASE("--stall-every: no response is written inside a logged stall window") {
  Target target({"--stall-every", "500ms", "--stall-for", "200ms"});
  Client c(target.port());
  std::vector<std::int64_t> answered_epoch_ms;
  long long longest_ms = 0;
  const auto start = Clock::now();
  while (ms_since(start) < 1800) {
    const auto t = Clock::now();
    CHECK(c.get("/").status == 200);
    longest_ms = std::max(longest_ms, ms_since(t));
    answered_epoch_ms.push_back(std::chrono::duration_cast<milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
    std::this_thread::sleep_for(milliseconds(5));
  }
  // Some request met a stall and waited most of it out.
  CHECK(longest_ms >= 100);
  const auto lines = target.stop_lines();
  std::int64_t epoch_ms = -1;
  std::vector<std::pair<std::int64_t, std::int64_t>> windows;
  for (const auto& line : lines) {
    unsigned long long a = 0, b = 0, e = 0, f = 0;
    if (std::sscanf(line.c_str(),
                    "strain-target stall_clock start_epoch_ms=%llu every_ms=%llu "
                    "for_ms=%llu",
                    &a, &e, &f) == 3) {
      epoch_ms = static_cast<std::int64_t>(a);
      CHECK(e == 500);
      CHECK(f == 200);
    } else if (std::sscanf(line.c_str(), "strain-target stall start_ms=%llu end_ms=%llu", &a, &b) ==
               2) {
      windows.emplace_back(static_cast<std::int64_t>(a), static_cast<std::int64_t>(b));
    }
  }
  REQUIRE(epoch_ms > 0);
  // ~1.8s of uptime at 500ms: windows at 300-500, 800-1000, 1300-1500 (and maybe 1800-).
  REQUIRE(windows.size() >= 3);
  CHECK(windows[0] == std::pair<std::int64_t, std::int64_t>{300, 500});
  CHECK(windows[1] == std::pair<std::int64_t, std::int64_t>{800, 1000});
  // The truth: no answer arrived well inside a window (wall clock is ms-grained: a margin).
  for (const auto at : answered_epoch_ms) {
    for (const auto& [from, to] : windows) {
      CHECK_MESSAGE(!(at > epoch_ms + from + 30 && at < epoch_ms + to - 30),
                    "answered at +" << at - epoch_ms << "ms, inside [" << from << "," << to << ")");
    }
  }
}

TEST_CASE("--rate-limit: a burst, then 429 with Retry-After: 1, counted") {
  Target target({"--rate-limit", "2/s", "--burst", "5"});
  Client c(target.port());
  int ok = 0;
  int limited = 0;
  for (int i = 0; i < 20; ++i) {
    const auto r = c.get("/");
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      CHECK(r.header("retry-after") == "1");
    }
  }
  // Five saved up, plus at most a few refilled at 2/s while the 20 went by.
  CHECK(ok >= 5);
  CHECK(ok <= 8);
  CHECK(ok + limited == 20);
  const auto stats = nlohmann::json::parse(c.get("/__strain/stats").body);
  CHECK(stats["by_status"]["429"] == limited);
}

TEST_CASE("--leak: memory kept per request, up to --leak-limit") {
  Target target({"--leak", "1MiB", "--leak-limit", "3MiB"});
  Client c(target.port());
  for (int i = 0; i < 5; ++i)
    CHECK(c.get("/").status == 200);
  const auto stats = nlohmann::json::parse(c.get("/__strain/stats").body);
  CHECK(stats["leak"]["leaked_bytes"] == 3 * 1048576);
  CHECK(stats["leak"]["limit_reached"] == true);
  CHECK(target.stop() ==
        "strain-target served=5 by_status=200:5 connections=1 leaked_bytes=3145728 "
        "leak_limit_reached=1");
}

TEST_CASE("--close-every and ?close_every: Connection: close on every Nth response") {
  Target target({"--close-every", "3"});
  Client c(target.port());
  CHECK(c.get("/").header("connection") == "<none>");
  CHECK(c.get("/").header("connection") == "<none>");
  CHECK(c.get("/").header("connection") == "close");
  CHECK(c.closed_cleanly());
  Client q(target.port());
  CHECK(q.get("/?close_every=1").header("connection") == "close");
  CHECK(q.closed_cleanly());
}

// ---- the harness shapes: latency distributions, error rates, trickle, hang, reset, garbage,
// header padding, big bodies -------------------------------------------------------------------

namespace {

// A raw client on 127.0.0.1 for answers that are not plain HTTP responses: it keeps every byte,
// when each read brought it, and how the connection ended. Every wait is bounded by poll.
class Raw {
 public:
  enum class End { open, eof, reset, error };  // open: still open when the wait ran out

  explicit Raw(std::uint16_t port) : fd_(connect_loopback(port, false)) {}
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE_MESSAGE(n > 0, "send failed: " << std::strerror(errno));
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }

  // One read, waiting at most `timeout`; what it brings is appended to `got`.
  End read_some(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return End::open;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      got.append(buf, static_cast<std::size_t>(n));
      arrivals.emplace_back(Clock::now(), static_cast<std::size_t>(n));
      return End::open;
    }
    ended = n == 0 ? End::eof : errno == ECONNRESET ? End::reset : End::error;
    return ended;
  }

  // Reads until the connection ends or `timeout` has passed.
  End read_to_end(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return End::open;
      if (const auto end = read_some(left); end != End::open) return end;
    }
  }

  // Reads until `got` holds one whole response after `from` (head, then Content-Length bytes);
  // returns where it ends, or 0 if the connection ended first or `timeout` passed.
  std::size_t read_response(std::size_t from, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto head_end = got.find("\r\n\r\n", from);
      if (head_end != std::string::npos) {
        const auto head = got.substr(from, head_end + 4 - from);
        const auto at = head.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
        if (got.size() >= head_end + 4 + length) return head_end + 4 + length;
      }
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || read_some(left) != End::open) return 0;
    }
  }

  End ended = End::open;                                            // how the connection ended
  std::string got;                                                  // every byte received
  std::vector<std::pair<Clock::time_point, std::size_t>> arrivals;  // each read's time and size

 private:
  int fd_ = -1;
};

// GET /__strain/stats on `probe` until `done` holds, for at most 3s; the last answer.
template <typename Pred>
nlohmann::json stats_when(Client& probe, Pred done) {
  nlohmann::json stats;
  for (int i = 0; i < 150; ++i) {
    stats = nlohmann::json::parse(probe.get("/__strain/stats").body);
    if (done(stats)) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return stats;
}

// Whether a binomial(n, p) count is within five standard deviations of its mean.
bool within_5_sigma(std::uint64_t observed, std::uint64_t n, double p) {
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
  return std::fabs(static_cast<double>(observed) - mean) <= 5 * sd;
}

// The statuses of `n` GETs of `target` on one connection, pipelined 50 at a time.
std::vector<int> statuses(Client& c, const std::string& target, int n,
                          std::map<int, std::string>* a_body = nullptr) {
  std::vector<int> out;
  std::string batch;
  for (int i = 0; i < 50; ++i)
    batch += "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  while (static_cast<int>(out.size()) < n) {
    c.send(batch);
    for (int i = 0; i < 50; ++i) {
      const auto r = c.read();
      out.push_back(r.status);
      if (a_body != nullptr) (*a_body)[r.status] = r.body;
    }
  }
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("--latency distributions and ?latency=, by timers") {
  Target target({"--latency", "uniform:100ms..150ms"});
  Client c(target.port());
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    CHECK(c.get("/").status == 200);
    CHECK(ms_since(start) >= 100);
  }
  auto start = Clock::now();
  CHECK(c.get("/?latency=bimodal:1ms,300ms@100%").status == 200);
  CHECK(ms_since(start) >= 300);
  start = Clock::now();
  CHECK(c.get("/?latency=fixed:0").status == 200);
  CHECK(ms_since(start) < 1000);
  // A slow draw on one connection does not hold up another.
  Client other(target.port());
  c.send("GET /?latency=lognormal:1500ms,p99=1800ms HTTP/1.1\r\n\r\n");
  start = Clock::now();
  CHECK(other.get("/?delay=0").status == 200);
  CHECK(ms_since(start) < 1000);
  CHECK(c.read().status == 200);
  const auto r = c.get("/?latency=lognormal:10ms,p99=1ms");
  CHECK(r.status == 400);
  CHECK(r.body.rfind("latency: 'lognormal:10ms,p99=1ms'", 0) == 0);
}

TEST_CASE("--error-rate with a seed: the fraction over 2000 requests, the same on a rerun") {
  auto run = [](std::map<int, std::string>& bodies) {
    Target target({"--error-rate", "503:5%,500:1%", "--seed", "42"});
    Client c(target.port());
    const auto got = statuses(c, "/", 2000, &bodies);
    Tally tally;
    for (const int s : got)
      tally.add(Response{s, {}, {}});
    const auto injected = tally.by_status[503] + tally.by_status[500];
    // The target's own count agrees with what arrived, and says which were injected.
    CHECK(target.stop() == tally.line(1) + " hung=0 reset=0 garbage=0 errors_injected=" +
                               std::to_string(injected) + " trickled=0");
    return got;
  };
  std::map<int, std::string> bodies;
  const auto first = run(bodies);
  const auto n503 = std::count(first.begin(), first.end(), 503);
  const auto n500 = std::count(first.begin(), first.end(), 500);
  const auto n200 = std::count(first.begin(), first.end(), 200);
  CAPTURE(n503);
  CAPTURE(n500);
  CHECK(n503 + n500 + n200 == 2000);
  CHECK(within_5_sigma(static_cast<std::uint64_t>(n503), 2000, 0.05));
  CHECK(within_5_sigma(static_cast<std::uint64_t>(n500), 2000, 0.01));
  CHECK(bodies[503].find("injected 503") != std::string::npos);
  CHECK(bodies[500].find("injected 500") != std::string::npos);
  CHECK(bodies[200] == "hello, strain");
  // Same seed, same requests, same order: the same statuses, one for one.
  std::map<int, std::string> ignored;
  CHECK(run(ignored) == first);

  // Per request, without the flag: ?error_rate= (percent-encoded or not).
  Target target({"--seed", "7"});
  Client c(target.port());
  const auto got = statuses(c, "/?error_rate=418:10%25", 2000);
  const auto n418 = std::count(got.begin(), got.end(), 418);
  CAPTURE(n418);
  CHECK(within_5_sigma(static_cast<std::uint64_t>(n418), 2000, 0.10));
  CHECK(c.get("/?error_rate=418:5").status == 400);
  const auto stats = stats_when(c, [&](const nlohmann::json& s) { return s["served"] == 2001; });
  CHECK(stats["faults"]["errors_injected"] == n418);
}

TEST_CASE("?trickle: the head, then the body in pieces over time") {
  Target target;
  Raw c(target.port());
  const auto start = Clock::now();
  c.send("GET /?size=1000&trickle=100/40ms HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto end = c.read_response(0, milliseconds(10000));
  REQUIRE(end > 0);
  const auto head_end = c.got.find("\r\n\r\n") + 4;
  CHECK(c.got.find("Content-Length: 1000\r\n") < head_end);
  CHECK(c.got.substr(head_end) == expected_body(1000));
  // Ten pieces 40ms apart, the first 40ms after the head: at least 400ms in all (timers never
  // fire early), in many separate reads. The upper bound is only a sanity check.
  const auto took = ms_since(start);
  CHECK(took >= 395);
  CHECK(took < 10000);
  CHECK(c.arrivals.size() >= 3);
  CHECK(c.arrivals.front().second < 1000);  // never the whole body in the first read

  // Pipelined behind a trickle, the next answer waits its turn; HEAD is not trickled.
  Client p(target.port());
  p.send(
      "GET /?size=300&trickle=100/30ms HTTP/1.1\r\n\r\n"
      "HEAD /?size=300&trickle=1/1s HTTP/1.1\r\n\r\n"
      "GET /?status=201 HTTP/1.1\r\n\r\n");
  auto r = p.read();
  CHECK(r.body == expected_body(300));
  CHECK(p.read(true).header("content-length") == "300");
  CHECK(p.read().status == 201);
  const auto stats = stats_when(p, [](const nlohmann::json& s) { return s["served"] == 4; });
  CHECK(stats["faults"]["trickled"] == 2);

  // Too long in all: a 400 that says why.
  r = p.get("/?size=100000&trickle=1/10ms");
  CHECK(r.status == 400);
  CHECK(r.body.find("longer than 10m") != std::string::npos);
}

TEST_CASE("--trickle from the flag applies to every body") {
  Target target({"--trickle", "5/30ms", "--body-size", "20"});
  Client c(target.port());
  const auto start = Clock::now();
  CHECK(c.get("/").body == expected_body(20));
  CHECK(ms_since(start) >= 115);  // four pieces
  CHECK(target.stop() ==
        "strain-target served=1 by_status=200:1 connections=1 hung=0 reset=0 garbage=0 "
        "errors_injected=0 trickled=1");
}

TEST_CASE("?hang: not a byte, then a close after the time; a bare ?hang waits, bounded") {
  Target target;
  Client probe(target.port());
  {
    Raw c(target.port());
    const auto start = Clock::now();
    c.send("GET /?hang=600ms HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto end = c.read_to_end(milliseconds(10000));
    CHECK(end == Raw::End::eof);
    CHECK(c.got.empty());
    CHECK(ms_since(start) >= 590);
    CHECK(ms_since(start) < 10000);
  }
  {
    // Answers before it are sent; requests after it are never answered.
    Raw c(target.port());
    c.send(
        "GET /?status=201 HTTP/1.1\r\n\r\n"
        "GET /?hang=300ms HTTP/1.1\r\n\r\n"
        "GET /?status=202 HTTP/1.1\r\n\r\n");
    const auto first = c.read_response(0, milliseconds(5000));
    REQUIRE(first > 0);
    CHECK(c.got.rfind("HTTP/1.1 201 ", 0) == 0);
    CHECK(c.read_to_end(milliseconds(10000)) == Raw::End::eof);
    CHECK(c.got.size() == first);
  }
  {
    // A bare ?hang holds for 10m; the client gives up first and the target lets go at once.
    Raw c(target.port());
    c.send("GET /?hang HTTP/1.1\r\n\r\n");
    CHECK(c.read_to_end(milliseconds(300)) == Raw::End::open);
    CHECK(c.got.empty());
    const auto stats =
        stats_when(probe, [](const nlohmann::json& s) { return s["faults"]["hung"] == 3; });
    CHECK(stats["faults"]["hung"] == 3);
    CHECK(stats["open_connections"] == 2);
    c.close();
    const auto after =
        stats_when(probe, [](const nlohmann::json& s) { return s["open_connections"] == 1; });
    CHECK(after["open_connections"] == 1);
  }
  CHECK(probe.get("/").status == 200);
  // A stop does not wait for a hang.
  Raw held(target.port());
  held.send("GET /?hang=10m HTTP/1.1\r\n\r\n");
  CHECK(stats_when(probe, [](const nlohmann::json& s) {
          return s["faults"]["hung"] == 4;
        })["faults"]["hung"] == 4);
  const auto start = Clock::now();
  CHECK(target.stop() ==
        "strain-target served=2 by_status=200:1,201:1 connections=5 hung=4 reset=0 garbage=0 "
        "errors_injected=0 trickled=0");
  CHECK(ms_since(start) < 2000);
  CHECK(held.read_to_end(milliseconds(5000)) != Raw::End::open);
  CHECK(held.got.empty());
}

TEST_CASE("?reset=1: part of a head, then ECONNRESET") {
  Target target;
  {
    Raw c(target.port());
    c.send("GET /?reset=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(c.read_to_end(milliseconds(5000)) == Raw::End::reset);
    // Whatever arrived before the reset is the start of a head, never a whole one.
    CHECK(std::string("HTTP/1.1 200 OK\r\n").rfind(c.got.substr(0, 17), 0) == 0);
    CHECK(c.got.find("\r\n\r\n") == std::string::npos);
  }
  {
    Raw c(target.port());
    c.send("GET /?status=202 HTTP/1.1\r\n\r\nGET /?reset HTTP/1.1\r\n\r\n");
    const auto first = c.read_response(0, milliseconds(5000));
    REQUIRE(first > 0);
    CHECK(c.got.rfind("HTTP/1.1 202 ", 0) == 0);
    CHECK(c.read_to_end(milliseconds(5000)) == Raw::End::reset);
  }
  CHECK(target.stop() ==
        "strain-target served=1 by_status=202:1 connections=2 hung=0 reset=2 garbage=0 "
        "errors_injected=0 trickled=0");
}

TEST_CASE("?garbage=1: bytes that are not HTTP, then a close") {
  Target target;
  {
    Raw c(target.port());
    c.send("GET /?garbage=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(c.read_to_end(milliseconds(5000)) == Raw::End::eof);
    CHECK(c.got.size() == 20 + 256);
    CHECK(c.got.rfind("NOT-HTTP garbage\r\n\r\n", 0) == 0);
    CHECK(c.got.rfind("HTTP/", 0) != 0);
  }
  {
    Raw c(target.port());
    c.send("GET / HTTP/1.1\r\n\r\nGET /?garbage HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    const auto first = c.read_response(0, milliseconds(5000));
    REQUIRE(first > 0);
    CHECK(c.read_to_end(milliseconds(5000)) == Raw::End::eof);
    CHECK(c.got.substr(first).rfind("NOT-HTTP garbage\r\n\r\n", 0) == 0);
    CHECK(c.got.size() == first + 276);
  }
  CHECK(target.stop() ==
        "strain-target served=1 by_status=200:1 connections=2 hung=0 reset=0 garbage=2 "
        "errors_injected=0 trickled=0");
}

TEST_CASE("--hang-rate, --reset-rate, --garbage-rate: what the client saw is what was counted") {
  Target target({"--hang-rate", "10%", "--hang-for", "100ms", "--reset-rate", "20%",
                 "--garbage-rate", "20%", "--seed", "5"});
  std::uint64_t ok = 0, hung = 0, reset = 0, garbage = 0;
  constexpr std::uint64_t n = 100;
  for (std::uint64_t i = 0; i < n; ++i) {
    Raw c(target.port());
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // Garbage ends in a blank line too: only a status line makes it a response.
    if (c.read_response(0, milliseconds(5000)) > 0 && c.got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0) {
      ++ok;
      continue;
    }
    const auto end = c.ended != Raw::End::open ? c.ended : c.read_to_end(milliseconds(5000));
    if (end == Raw::End::reset) {
      ++reset;
    } else if (end == Raw::End::eof && c.got.empty()) {
      ++hung;
    } else if (end == Raw::End::eof && c.got.rfind("NOT-HTTP", 0) == 0) {
      ++garbage;
    } else {
      FAIL("an ending that is none of the shapes: " << c.got.size() << " bytes");
    }
  }
  CAPTURE(ok);
  CAPTURE(hung);
  CAPTURE(reset);
  CAPTURE(garbage);
  CHECK(ok + hung + reset + garbage == n);
  CHECK(within_5_sigma(hung, n, 0.1));
  CHECK(within_5_sigma(reset, n, 0.2));
  CHECK(within_5_sigma(garbage, n, 0.2));
  CHECK(target.stop() ==
        "strain-target served=" + std::to_string(ok) + " by_status=200:" + std::to_string(ok) +
            " connections=" + std::to_string(n) + " hung=" + std::to_string(hung) +
            " reset=" + std::to_string(reset) + " garbage=" + std::to_string(garbage) +
            " errors_injected=0 trickled=0");
}

TEST_CASE("?header_bytes: padding fields of about N bytes, up to 1 MiB") {
  Target target;
  for (const std::size_t n : {100ul, 100000ul, 1048576ul}) {
    CAPTURE(n);
    Raw c(target.port());
    c.send("GET /?header_bytes=" + std::to_string(n) + " HTTP/1.1\r\n\r\n");
    const auto end = c.read_response(0, milliseconds(10000));
    REQUIRE(end > 0);
    const auto head_bytes = c.got.find("\r\n\r\n") + 4;
    CHECK(head_bytes >= n);
    CHECK(head_bytes < n + 400);
    CHECK(c.got.substr(head_bytes) == "hello, strain");
    CHECK(c.got.find("X-Strain-Pad: ppp") != std::string::npos);
  }
  Client c(target.port());
  const auto r = c.get("/?header_bytes=2MiB");
  CHECK(r.status == 400);
  CHECK(r.body.rfind("header_bytes:", 0) == 0);
  Target padded({"--header-bytes", "5000"});
  Client p(padded.port());
  CHECK(p.get("/").body == "hello, strain");
  CHECK(p.get("/?status=503").header("x-strain-pad").size() > 100);
}

TEST_CASE("?size=64MiB streams from the pattern") {
  Target target;
  Raw c(target.port());
  c.send("GET /?size=64MiB HTTP/1.1\r\n\r\n");
  // Counted and checked as it arrives: never held whole here either.
  const std::string period = "hello, strain\n";
  std::uint64_t body = 0;
  bool in_body = false;
  bool matches = true;
  const auto deadline = Clock::now() + milliseconds(30000);
  while (body < (64ull << 20) && Clock::now() < deadline) {
    if (c.read_some(milliseconds(5000)) != Raw::End::open) break;
    std::size_t from = 0;
    if (!in_body) {
      const auto head_end = c.got.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      CHECK(c.got.find("Content-Length: 67108864\r\n") < head_end);
      from = head_end + 4;
      in_body = true;
    }
    for (std::size_t i = from; i < c.got.size(); ++i, ++body)
      matches = matches && c.got[i] == period[body % period.size()];
    c.got.clear();
  }
  CHECK(body == (64ull << 20));
  CHECK(matches);
}

TEST_CASE("faults and error rates on /api: the API never sees the request") {
  Target target;
  Client c(target.port());
  const auto login =
      c.request("POST", "/api/login?error_rate=503:100%", R"({"user":"alice","pass":"pw-alice"})");
  CHECK(login.status == 503);
  CHECK(login.header("content-type") == "application/json");
  CHECK(nlohmann::json::parse(login.body)["error"] == "injected 503 (error rate)");
  {
    Raw r(target.port());
    const std::string body = R"({"user":"alice","pass":"pw-alice"})";
    r.send("POST /api/login?reset=1 HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    CHECK(r.read_to_end(milliseconds(5000)) == Raw::End::reset);
  }
  const auto stats = nlohmann::json::parse(c.get("/__strain/stats").body);
  CHECK(stats["api"]["requests"] == 0);
  CHECK(stats["api"]["logins_ok"] == 0);
  CHECK(stats["faults"]["errors_injected"] == 1);
  CHECK(stats["faults"]["reset"] == 1);
  // Without them, the same login works.
  CHECK(c.request("POST", "/api/login", R"({"user":"alice","pass":"pw-alice"})").status == 200);
}
