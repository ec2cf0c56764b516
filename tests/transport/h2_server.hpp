// A scripted HTTP/2 server (cleartext, prior knowledge) on 127.0.0.1 for the native HTTP/2
// client's tests: nghttp2's server side in one thread, poll() over blocking-free sockets. What
// it saw (every stream's fields and body, resets, the most streams open at once) is the truth.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace strain::test {

using namespace std::chrono_literals;

// One request stream as the server read it.
struct H2Seen {
  int connection = 0;
  std::int32_t stream_id = 0;
  std::vector<std::pair<std::string, std::string>> fields;  // pseudo-headers first, as sent
  std::string body;

  std::string value(const std::string& name) const {
    for (const auto& [n, v] : fields)
      if (n == name) return v;
    return {};
  }
  bool has(const std::string& name) const {
    for (const auto& f : fields)
      if (f.first == name) return true;
    return false;
  }
};

// What the server does with a complete request.
struct H2Action {
  enum class Kind : unsigned char { answer, silent, rst, close_connection } kind = Kind::answer;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> fields;  // response fields
  std::string body;
  int interim_status = 0;  // a 1xx sent first (with interim_fields) when nonzero
  std::vector<std::pair<std::string, std::string>> interim_fields;
  std::uint32_t rst_code = NGHTTP2_INTERNAL_ERROR;
  std::chrono::milliseconds delay = 0ms;  // held this long before the answer
};

using H2Script = std::function<H2Action(const H2Seen&, int index)>;

struct H2Record {
  int accepts = 0;
  std::vector<H2Seen> requests;          // complete requests, in arrival order
  std::vector<std::uint32_t> resets_in;  // RST_STREAM codes the client sent
  int most_open = 0;                     // most request streams open at once, over all connections
};

class H2Server {
 public:
  explicit H2Server(H2Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("h2 server: cannot listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~H2Server() {
    stop_ = true;
    thread_.join();
    for (auto& c : connections_)
      drop(*c);
    ::close(listen_fd_);
  }
  H2Server(const H2Server&) = delete;
  H2Server& operator=(const H2Server&) = delete;

  std::uint16_t port() const { return port_; }
  H2Record record() const {
    std::lock_guard lock(mutex_);
    return record_;
  }

 private:
  struct Pending {
    std::int32_t stream_id;
    H2Action action;
    std::chrono::steady_clock::time_point due;
  };
  struct Connection {
    H2Server* server = nullptr;
    int fd = -1;
    int index = 0;
    nghttp2_session* session = nullptr;
    std::map<std::int32_t, H2Seen> streams;      // open request streams
    std::map<std::int32_t, std::string> bodies;  // response bodies being sent
    std::map<std::int32_t, std::size_t> sent;
    std::vector<Pending> pending;
    bool close_now = false;
  };

  static Connection& conn(void* p) { return *static_cast<Connection*>(p); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) {
    Connection& c = conn(p);
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
      H2Seen& s = c.streams[f->hd.stream_id];
      s.connection = c.index;
      s.stream_id = f->hd.stream_id;
      c.server->count_open();
    }
    return 0;
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n,
                       std::size_t nl, const std::uint8_t* v, std::size_t vl, std::uint8_t,
                       void* p) {
    auto it = conn(p).streams.find(f->hd.stream_id);
    if (it != conn(p).streams.end())
      it->second.fields.emplace_back(std::string(reinterpret_cast<const char*>(n), nl),
                                     std::string(reinterpret_cast<const char*>(v), vl));
    return 0;
  }
  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d,
                     std::size_t len, void* p) {
    auto it = conn(p).streams.find(id);
    if (it != conn(p).streams.end()) it->second.body.append(reinterpret_cast<const char*>(d), len);
    return 0;
  }
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) {
    Connection& c = conn(p);
    if (f->hd.type == NGHTTP2_RST_STREAM) {
      std::lock_guard lock(c.server->mutex_);
      c.server->record_.resets_in.push_back(f->rst_stream.error_code);
      c.server->changed_.notify_all();
    }
    const bool ends = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (!ends || (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)) return 0;
    auto it = c.streams.find(f->hd.stream_id);
    if (it == c.streams.end()) return 0;
    int index = 0;
    {
      std::lock_guard lock(c.server->mutex_);
      index = static_cast<int>(c.server->record_.requests.size());
      c.server->record_.requests.push_back(it->second);
      c.server->changed_.notify_all();
    }
    H2Action a = c.server->script_(it->second, index);
    c.pending.push_back(
        {f->hd.stream_id, std::move(a), std::chrono::steady_clock::now() + a.delay});
    return 0;
  }
  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* p) {
    Connection& c = conn(p);
    if (c.streams.erase(id) > 0) c.server->count_close();
    c.bodies.erase(id);
    c.sent.erase(id);
    return 0;
  }
  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t len,
                           std::uint32_t* flags, nghttp2_data_source*, void* p) {
    Connection& c = conn(p);
    const std::string& body = c.bodies[id];
    std::size_t& at = c.sent[id];
    const std::size_t n = std::min(len, body.size() - at);
    std::memcpy(buf, body.data() + at, n);
    at += n;
    if (at == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  void count_open() {
    std::lock_guard lock(mutex_);
    ++open_;
    record_.most_open = std::max(record_.most_open, open_);
  }
  void count_close() {
    std::lock_guard lock(mutex_);
    --open_;
  }

  static std::vector<nghttp2_nv> to_nv(const std::vector<std::pair<std::string, std::string>>& f,
                                       const std::string& status) {
    std::vector<nghttp2_nv> nv;
    auto add = [&](const std::string& n, const std::string& v) {
      nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(),
                    v.size(), NGHTTP2_NV_FLAG_NONE});
    };
    static const std::string kStatus = ":status";
    add(kStatus, status);
    for (const auto& [n, v] : f)
      add(n, v);
    return nv;
  }

  void act(Connection& c, Pending& p) {
    const H2Action& a = p.action;
    switch (a.kind) {
      case H2Action::Kind::silent:
        return;
      case H2Action::Kind::rst:
        nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, p.stream_id, a.rst_code);
        return;
      case H2Action::Kind::close_connection:
        c.close_now = true;
        return;
      case H2Action::Kind::answer:
        break;
    }
    if (a.interim_status != 0) {
      const std::string s = std::to_string(a.interim_status);
      auto nv = to_nv(a.interim_fields, s);
      nghttp2_submit_headers(c.session, NGHTTP2_FLAG_NONE, p.stream_id, nullptr, nv.data(),
                             nv.size(), nullptr);
    }
    const std::string s = std::to_string(a.status);
    auto nv = to_nv(a.fields, s);
    c.bodies[p.stream_id] = a.body;
    c.sent[p.stream_id] = 0;
    nghttp2_data_provider prd{};
    prd.read_callback = &read_body;
    nghttp2_submit_response(c.session, p.stream_id, nv.data(), nv.size(),
                            a.body.empty() ? nullptr : &prd);
  }

  // close_connection means a FIN: a close() with the client's late frames (its SETTINGS ack,
  // a WINDOW_UPDATE) still unread would send a reset instead, and the client would rightly
  // count `reset`. So: FIN first, then read and drop until the client closes (at most 1 s).
  static void close_gracefully(int fd) {
    ::shutdown(fd, SHUT_WR);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    char buf[4096];
    while (std::chrono::steady_clock::now() < until) {
      pollfd pf{fd, POLLIN, 0};
      if (::poll(&pf, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
    }
  }

  void accept_one() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Connection>();
    c->server = this;
    c->fd = fd;
    {
      std::lock_guard lock(mutex_);
      c->index = record_.accepts++;
    }
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, &on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &on_stream_close);
    nghttp2_session_server_new(&c->session, cb, c.get());
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry s{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, &s, 1);
    connections_.push_back(std::move(c));
  }

  void drop(Connection& c) {
    if (c.session != nullptr) nghttp2_session_del(c.session);
    c.session = nullptr;
    if (c.fd >= 0 && c.close_now) close_gracefully(c.fd);
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    std::lock_guard lock(mutex_);
    open_ -= static_cast<int>(c.streams.size());
    c.streams.clear();
  }

  // Reads what there is, runs due actions, writes what nghttp2 has. False: the connection ended.
  bool serve(Connection& c, bool readable) {
    if (readable) {
      char buf[16384];
      for (;;) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n == 0) return false;
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          return false;
        }
        if (nghttp2_session_mem_recv(c.session, reinterpret_cast<std::uint8_t*>(buf),
                                     static_cast<std::size_t>(n)) < 0)
          return false;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < c.pending.size();) {
      if (c.pending[i].due > now) {
        ++i;
        continue;
      }
      Pending p = std::move(c.pending[i]);
      c.pending.erase(c.pending.begin() + static_cast<std::ptrdiff_t>(i));
      act(c, p);
    }
    if (c.close_now) return false;
    for (;;) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(c.session, &data);
      if (n <= 0) break;
      std::size_t off = 0;
      while (off < static_cast<std::size_t>(n)) {
        const ssize_t w = ::send(c.fd, data + off, static_cast<std::size_t>(n) - off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          pollfd pf{c.fd, POLLOUT, 0};
          ::poll(&pf, 1, 100);
          continue;
        }
        if (w < 0) return false;
        off += static_cast<std::size_t>(w);
      }
    }
    return true;
  }

  void run() {
    const auto give_up = std::chrono::steady_clock::now() + 30s;  // never outlive a broken test
    std::vector<pollfd> fds;
    while (!stop_ && std::chrono::steady_clock::now() < give_up) {
      fds.clear();
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const auto& c : connections_)
        fds.push_back({c->fd, POLLIN, 0});
      ::poll(fds.data(), fds.size(), 5);
      if ((fds[0].revents & POLLIN) != 0) accept_one();
      for (std::size_t i = 0; i < connections_.size();) {
        Connection& c = *connections_[i];
        const bool readable = i + 1 < fds.size() && (fds[i + 1].revents & (POLLIN | POLLHUP)) != 0;
        if (serve(c, readable)) {
          ++i;
          continue;
        }
        drop(c);
        connections_.erase(connections_.begin() + static_cast<std::ptrdiff_t>(i));
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      }
    }
  }

  H2Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::unique_ptr<Connection>> connections_;  // server thread only
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  H2Record record_;
  int open_ = 0;
};

}  // namespace strain::test
