// One Lua VU: a coroutine that runs its scenario's function once per iteration, yielding while
// its requests and sleeps are pending. The VuBody the executor engine drives for scripts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/exec/iteration.hpp"
#include "engine/schedule/scenario.hpp"
#include "engine/script/vu_timers.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/request_view.hpp"
#include "engine/transport/response_parser.hpp"

struct lua_State;

namespace strain {

struct ScriptContext;

// Where a scenario's VUs take their code from.
struct LuaScenario {
  const Scenario* scenario = nullptr;  // outlives the VUs
  std::uint32_t index = 0;             // in the plan (series keys carry it)
  int exec_ref = -2;                   // registry reference of the function it runs
};

// Worker thread only. Lifetime: made by ScriptLoad's factories, destroyed before the context.
class LuaVu final : public VuBody,
                    private ExchangeObserver,
                    private http::ResponseObserver,
                    private ResponseCapture,
                    private TimerClient {
 public:
  LuaVu(ScriptContext& ctx, const LuaScenario& scenario, std::uint32_t id, std::uint32_t slot,
        IterationSink& sink);
  ~LuaVu() override;

  void begin(std::int64_t intended_ns, std::int64_t now_ns) override;
  void wind_down(std::int64_t now_ns) override;
  void interrupt(std::int64_t now_ns) override;

  // --- for the bindings, while this VU runs
  lua_State* co() const noexcept { return co_; }
  std::uint32_t id() const noexcept { return id_; }
  std::uint64_t iteration() const noexcept { return iteration_; }
  const std::string& scenario_name() const noexcept { return scenario_.scenario->name; }
  const LuaScenario& scenario() const noexcept { return scenario_; }
  std::string& request_buffer() noexcept { return request_; }  // the request is built here
  // Starts the request `view` (its bytes in request_buffer()) to `origin`, recorded in
  // `series`; the coroutine yields until it completes. `timeout` > 0: the script's own.
  void start_request(std::uint32_t origin, std::uint32_t series, const http::RequestView& view,
                     std::chrono::nanoseconds timeout);
  // sleep(): the coroutine yields until `due_ns`.
  void start_sleep(std::int64_t due_ns);

  std::uint16_t group = 0;                  // the group the running code is in (0: none)
  std::string last_key;                     // the series key of this VU's last request …
  std::uint32_t last_series = UINT32_MAX;   // … and that series: a VU mostly repeats them

 private:
  enum class State : std::uint8_t {
    idle,      // between iterations
    running,   // Lua is running
    awaiting,  // a request is in flight
    sleeping,  // in sleep()
  };
  enum class TimerPurpose : std::uint8_t { none, sleep, request_timeout };

  void on_exchange(const Exchange& ex) override;
  void on_header(std::string_view name, std::string_view value) override;
  void on_body(std::string_view piece) override;
  void on_response_bytes(std::string_view bytes) override;
  void on_response_restart() override;
  void on_timer(std::int64_t now_ns) override;

  void resume(int nargs);
  void end_iteration(IterationEnd end, std::int64_t now_ns);
  void record_error();
  void discard_coroutine();
  void reset_coroutine();
  void push_response(const Exchange& ex);

  ScriptContext& ctx_;
  const LuaScenario& scenario_;
  IterationSink& sink_;
  std::uint32_t id_;    // 1-based, unique in the run
  std::uint32_t slot_;  // in its runner
  std::uint64_t iteration_ = 0;
  lua_State* co_ = nullptr;
  int co_ref_ = -2;  // LUA_NOREF
  State state_ = State::idle;
  bool yielded_ = false;       // this iteration waited at least once
  bool winding_down_ = false;  // the load phase ended: finish the request, run nothing more
  bool interrupting_ = false;  // inside interrupt(): the abandoned exchange is only recorded
  std::vector<std::unique_ptr<Session>> sessions_;  // by origin, opened on first use
  std::vector<std::uint8_t> raw_mode_;              // by origin: its session captures raw bytes
  std::uint32_t origin_ = 0;      // of the request in flight
  std::uint32_t series_ = 0;      // of the request in flight
  std::int64_t intended_ns_ = 0;  // of the request in flight: response time counts from it
  std::int64_t issued_ns_ = 0;    // when the script issued it
  // How late this iteration began (open model). Every request in it is that much late, so its
  // response time counts from (issued − lag): the iteration as if it had begun on time.
  std::int64_t lag_ns_ = 0;
  std::string request_;  // the request in flight's bytes
  std::string head_;     // its response's fields: name\0value\0 …
  std::string body_;     // its response's body, as far as kept
  std::string raw_;      // its raw response (transports with capture), as far as kept
  bool head_request_ = false;
  std::uint64_t body_received_ = 0;
  std::uint64_t raw_dropped_ = 0;  // raw bytes beyond the capture limit: all body
  bool body_truncated_ = false;
  TimerNode timer_;
  TimerPurpose purpose_ = TimerPurpose::none;
};

}  // namespace strain
