// strain-target's server: the listening socket, the workers, signals, and the final count.
#pragma once

#include <boost/asio/signal_set.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/target/asio_types.hpp"
#include "tools/target/options.hpp"
#include "tools/target/stats.hpp"
#include "tools/target/worker.hpp"

namespace strain::target {

// Lifecycle: construct (binds, catches SIGINT/SIGTERM), run (serves, then stops and joins),
// read the count. One acceptor on the calling thread hands connections round-robin to the
// workers; each worker owns its connections on its own thread.
class Server {
 public:
  // Binds and listens on options.host:options.port. Throws strain::Error if it cannot.
  explicit Server(TargetOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // "http://127.0.0.1:PORT/" or "http://[::1]:PORT/".
  std::string url() const;

  // Serves until SIGINT or SIGTERM, --exit-after or --exit-after-requests; then closes every
  // connection and timer, joins the workers (forcing them after 5s) and returns the count.
  StatsSnapshot run();

 private:
  void start_accept();
  void on_accept(const boost::system::error_code& ec, Socket socket, Worker& worker);
  void request_stop();
  // --transient: take the buffer at `at`, give it back a hold later, and again each period.
  void arm_transient(TimePoint at);
  void on_transient(bool take);

  TargetOptions options_;
  asio::io_context ctx_{1};
  std::unique_ptr<ServerShared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Acceptor acceptor_;
  asio::signal_set signals_;
  Timer exit_timer_;
  Timer retry_timer_;
  Timer transient_timer_;
  TimePoint transient_next_{};  // when the next buffer is taken
  bool warned_transient_ = false;
  std::size_t next_worker_ = 0;
  std::uint16_t port_ = 0;
  bool stopping_ = false;
  bool warned_accept_ = false;
};

}  // namespace strain::target
