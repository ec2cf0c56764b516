#include "reporters/metrics_exporter.hpp"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "engine/core/error.hpp"
#include "reporters/metrics_families.hpp"

namespace strain {
namespace {

// CivetWeb's settings. Every one bounds something: a scrape is one small GET, so two threads
// serve it, a few connections may wait, and a client that stalls mid-request is cut off after
// 5 s (Prometheus's default scrape timeout is 10 s). No document_root: nothing but /metrics.
constexpr const char* kServingThreads = "2";
constexpr const char* kConnectionQueue = "8";      // accepted, waiting for a thread
constexpr const char* kListenBacklog = "16";       // not yet accepted
constexpr const char* kRequestTimeoutMs = "5000";  // reading a request and writing the answer
constexpr const char* kMaxRequestBytes = "8192";   // request line and headers

[[noreturn]] void bad_address(const std::string& listen, const std::string& why) {
  throw UsageError("--metrics-listen '" + listen + "': " + why);
}

// "host:port", ":port" or "port" to CivetWeb's "a.b.c.d:port"; loopback when no host is given.
struct ListenAddress {
  std::string text;  // "a.b.c.d:port"
  in_addr host{};    // a.b.c.d
};

ListenAddress parse_listen(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  const std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    bad_address(listen, "expected HOST:PORT, :PORT or PORT");
  const unsigned long number = std::stoul(port);
  if (number < 1 || number > 65535) bad_address(listen, "the port must be 1 to 65535");
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  // Debian's CivetWeb is built without IPv6 (it rejects "[::1]:port").
  if (host.front() == '[') bad_address(listen, "IPv6 is not supported here: use an IPv4 address");
  ListenAddress out;
  if (::inet_pton(AF_INET, host.c_str(), &out.host) != 1)
    bad_address(listen, "the host must be an IPv4 address (or localhost)");
  out.text = host + ":" + std::to_string(number);
  return out;
}

// CivetWeb reports why it could not start only through this callback; the constructor's
// exception says "null context". Collected on the starting thread, silenced everywhere (a
// scraper's bad request must not write into strain's output).
thread_local std::string* t_start_log = nullptr;

int on_civetweb_log(const mg_connection*, const char* message) {
  if (t_start_log != nullptr && t_start_log->empty() && message != nullptr) *t_start_log = message;
  return 1;  // handled: nothing on stderr
}

// CivetWeb's stop waits for its accept loop, which polls the listening socket in 2 s quanta:
// unwoken, every run with --metrics-listen would end up to 2 s late. So a thread knocks
// (a non-blocking loopback connect: it cannot hang on a full backlog) until the stop is done.
void stop_server(std::unique_ptr<prometheus::Exposer> exposer, in_addr host) {
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) return;
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<std::uint16_t>(ports.front()));
  at.sin_addr = host.s_addr == htonl(INADDR_ANY) ? in_addr{htonl(INADDR_LOOPBACK)} : host;
  std::atomic<bool> stopped{false};
  std::thread knocker;
  try {
    knocker = std::thread([&stopped, at] {
      while (!stopped.load()) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
          (void)::connect(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at);
          ::close(fd);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  } catch (const std::system_error&) {
    // No thread: the stop merely takes its 2 s.
  }
  exposer.reset();
  stopped = true;
  if (knocker.joinable()) knocker.join();
}

// What the exposer's threads read: the state, under one lock, so a scrape sees whole intervals.
class LiveStore final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    live_metrics::State copy;
    {
      std::lock_guard lock(mutex_);
      copy = state_;
    }
    return live_metrics::render(copy);
  }

  template <class F>
  auto update(F&& f) {
    std::lock_guard lock(mutex_);
    return f(state_);
  }

 private:
  mutable std::mutex mutex_;
  live_metrics::State state_;  // guarded by mutex_
};

class PrometheusExporter final : public MetricsExporter {
 public:
  PrometheusExporter(std::string address, in_addr host, std::shared_ptr<LiveStore> store,
                     std::unique_ptr<prometheus::Exposer> exposer)
      : address_(std::move(address)),
        host_(host),
        store_(std::move(store)),
        exposer_(std::move(exposer)) {}
  ~PrometheusExporter() override { stop_server(std::move(exposer_), host_); }
  PrometheusExporter(const PrometheusExporter&) = delete;
  PrometheusExporter& operator=(const PrometheusExporter&) = delete;

  void on_interval(const IntervalSnapshot& snap, const RunResult& so_far,
                   const std::string& stress_state) override {
    store_->update([&](live_metrics::State& s) {
      if (!s.finished) live_metrics::fold_interval(s, snap, so_far, stress_state);
    });
  }

  void on_soak_verdicts(const std::vector<SoakVerdict>& so_far) override {
    store_->update([&](live_metrics::State& s) {
      if (!s.finished) live_metrics::fold_soak_verdicts(s, so_far);
    });
  }

  void on_result(const RunResult& result) override {
    const bool added_up = store_->update(
        [&](live_metrics::State& s) { return live_metrics::fold_result(s, result); });
    // Served as the result says either way; a difference means an interval was lost between
    // the controller and here, and whoever reads the dashboard should know.
    if (!added_up) {
      std::fprintf(stderr,
                   "strain: --metrics-listen %s: the intervals did not add up to the result's "
                   "totals; serving the result's\n",
                   address_.c_str());
    }
  }

 private:
  std::string address_;  // as CivetWeb listens: "a.b.c.d:port"
  in_addr host_;         // its host
  std::shared_ptr<LiveStore> store_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // stopped first, in the destructor
};

}  // namespace

std::unique_ptr<MetricsExporter> MetricsExporter::start(const std::string& listen) {
  const ListenAddress at = parse_listen(listen);
  std::vector<std::string> options{"listening_ports",    at.text,
                                   "num_threads",        kServingThreads,
                                   "connection_queue",   kConnectionQueue,
                                   "listen_backlog",     kListenBacklog,
                                   "request_timeout_ms", kRequestTimeoutMs,
                                   "max_request_size",   kMaxRequestBytes,
                                   "enable_keep_alive",  "no"};
  CivetCallbacks callbacks{};
  callbacks.log_message = on_civetweb_log;
  std::string why;
  t_start_log = &why;
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(std::move(options), &callbacks);
  } catch (const std::exception& e) {
    t_start_log = nullptr;
    throw UsageError("--metrics-listen " + at.text +
                     ": cannot listen: " + (why.empty() ? std::string(e.what()) : why));
  }
  t_start_log = nullptr;
  auto store = std::make_shared<LiveStore>();
  exposer->RegisterCollectable(store);
  return std::make_unique<PrometheusExporter>(at.text, at.host, std::move(store),
                                              std::move(exposer));
}

}  // namespace strain
