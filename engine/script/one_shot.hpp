// setup() and teardown(): one script function run once, as a lone VU on its own event loop.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <string>
#include <string_view>

#include "engine/script/script_load.hpp"
#include "engine/script/script_plan.hpp"
#include "engine/transport/client_factory.hpp"

namespace strain {

class OneShot {
 public:
  // `data_json` is what the function gets as its argument (setup's value, for teardown).
  OneShot(const ScriptPlan& plan, std::string_view function_name, std::string_view data_json,
          ClientFactory clients);
  OneShot(const OneShot&) = delete;
  OneShot& operator=(const OneShot&) = delete;

  // Runs the function to its end, its first error, its time limit (setup_timeout) or a
  // cancel(), on the calling thread. Requests still in flight at the end are abandoned.
  OneShotResult run();
  // Thread-safe, any time: makes run() end soon; its result says it was cancelled.
  void cancel();

 private:
  ScriptPlan plan_;
  std::string function_;
  ClientFactory clients_;
  boost::asio::io_context io_{1};
  std::atomic<bool> cancelled_{false};
};

}  // namespace strain
