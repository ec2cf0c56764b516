#include "tools/target/server.hpp"

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

#include "engine/core/error.hpp"

namespace strain::target {

Server::Server(TargetOptions options)
    : options_(std::move(options)),
      shared_(std::make_unique<ServerShared>(options_, options_.threads)),
      acceptor_(ctx_.get_executor()),
      signals_(ctx_, SIGINT, SIGTERM),
      exit_timer_(ctx_.get_executor()),
      retry_timer_(ctx_.get_executor()),
      transient_timer_(ctx_.get_executor()) {
  for (unsigned i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(*shared_, shared_->counters[i], i));
  }
  shared_->on_enough_requests = [this] { asio::post(ctx_, [this] { request_stop(); }); };

  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) throw UsageError("--host: '" + options_.host + "' is not an address");
  const asio::ip::tcp::endpoint endpoint(address, options_.port);
  const std::string where = options_.host + " port " + std::to_string(options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error("cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  shared_->mark_started();
}

Server::~Server() = default;

std::string Server::url() const {
  const std::string host = options_.host == "::1" ? "[::1]" : options_.host;
  return "http://" + host + ":" + std::to_string(port_) + "/";
}

StatsSnapshot Server::run() {
  std::mutex mutex;
  std::condition_variable finished_cv;
  std::size_t finished = 0;
  std::vector<std::thread> threads;
  for (auto& worker : workers_) {
    threads.emplace_back([&, w = worker.get()] {
      w->run();
      const std::lock_guard lock(mutex);
      ++finished;
      finished_cv.notify_all();
    });
  }

  start_accept();
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) request_stop();
  });
  if (options_.exit_after) {
    exit_timer_.expires_after(*options_.exit_after);
    exit_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) request_stop();
    });
  }
  // On this thread, beside accepting: touching the pages takes a few ms per 64 MiB, which would
  // be a latency spike on a worker and is only an accept delay here.
  if (shared_->transient) arm_transient(shared_->started + options_.transient_every);
  // Returns once request_stop has closed the acceptor and cancelled the timers and signals.
  ctx_.run();

  for (auto& worker : workers_)
    worker->post_stop();
  {
    std::unique_lock lock(mutex);
    const bool clean = finished_cv.wait_for(lock, std::chrono::seconds(5),
                                            [&] { return finished == workers_.size(); });
    if (!clean) {
      std::fprintf(stderr, "strain-target: workers did not stop within 5s; forcing them\n");
      for (auto& worker : workers_)
        worker->context().stop();
    }
  }
  for (auto& t : threads)
    t.join();
  return shared_->snapshot();
}

void Server::request_stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  signals_.cancel(ec);
  exit_timer_.cancel();
  retry_timer_.cancel();
  transient_timer_.cancel();
  if (shared_->transient) shared_->transient->release();
}

void Server::arm_transient(TimePoint at) {
  transient_next_ = at;
  transient_timer_.expires_at(at);
  transient_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) on_transient(true);
  });
}

void Server::on_transient(bool take) {
  auto& transient = *shared_->transient;
  const auto every = options_.transient_every;
  if (!take) {
    transient.release();
    // Scheduled from the start, not from now: the sawtooth keeps its period however long the
    // pages took to touch.
    return arm_transient(transient_next_ + every);
  }
  if (!transient.take() && !warned_transient_) {
    std::fprintf(stderr, "strain-target: --transient: could not map %llu bytes; skipping\n",
                 static_cast<unsigned long long>(transient.bytes()));
    warned_transient_ = true;
  }
  transient_timer_.expires_at(transient_next_ + transient_hold(every));
  transient_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) on_transient(false);
  });
}

void Server::start_accept() {
  Worker& worker = *workers_[next_worker_];
  acceptor_.async_accept(worker.context(),
                         [this, &worker](const boost::system::error_code& ec, Socket socket) {
                           on_accept(ec, std::move(socket), worker);
                         });
}

void Server::on_accept(const boost::system::error_code& ec, Socket socket, Worker& worker) {
  if (ec == asio::error::operation_aborted || stopping_) return;
  if (ec) {
    // Out of descriptors or memory: accepting again at once would spin. Back off briefly.
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory || ec.value() == ENFILE) {
      if (!warned_accept_) {
        std::fprintf(stderr, "strain-target: accept failed: %s (retrying every 100ms)\n",
                     ec.message().c_str());
        warned_accept_ = true;
      }
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !stopping_) start_accept();
      });
      return;
    }
    return start_accept();
  }
  next_worker_ = (next_worker_ + 1) % workers_.size();
  if (shared_->open_connections.load(std::memory_order_relaxed) >= options_.max_connections) {
    shared_->rejected_connections.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    socket.close(ignored);
    return start_accept();
  }
  shared_->open_connections.fetch_add(1, std::memory_order_relaxed);
  shared_->accepted_connections.fetch_add(1, std::memory_order_relaxed);
  worker.post_adopt(std::move(socket));
  start_accept();
}

}  // namespace strain::target
