#include "engine/script/lua_vu.hpp"

#include <algorithm>
#include <lua.hpp>
#include <string_view>

#include "engine/core/clock.hpp"
#include "engine/script/lua_json.hpp"
#include "engine/script/response_object.hpp"
#include "engine/script/script_context.hpp"

namespace strain {

LuaVu::LuaVu(ScriptContext& ctx, const LuaScenario& scenario, std::uint32_t id, std::uint32_t slot,
             IterationSink& sink)
    : ctx_(ctx), scenario_(scenario), sink_(sink), id_(id), slot_(slot) {
  timer_.client = this;
}

LuaVu::~LuaVu() {
  ctx_.timers.disarm(timer_);
  sessions_.clear();  // close connections before the clients go
  if (co_ref_ != LUA_NOREF && ctx_.L != nullptr) luaL_unref(ctx_.L, LUA_REGISTRYINDEX, co_ref_);
}

// --- the iteration's life

void LuaVu::begin(std::int64_t intended_ns, std::int64_t now_ns) {
  lag_ns_ = std::max<std::int64_t>(0, now_ns - intended_ns);
  yielded_ = false;
  winding_down_ = false;
  group = 0;
  if (co_ == nullptr) {
    co_ = lua_newthread(ctx_.L);
    co_ref_ = luaL_ref(ctx_.L, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(co_, LUA_REGISTRYINDEX, scenario_.exec_ref);
  lua_rawgeti(co_, LUA_REGISTRYINDEX, ctx_.data_ref);
  resume(1);
}

void LuaVu::resume(int nargs) {
  state_ = State::running;
  ctx_.current = this;
  ctx_.watchdog->enter(co_);
  int nres = 0;
  const int status = lua_resume(co_, ctx_.L, nargs, &nres);
  ctx_.watchdog->leave();
  ctx_.current = nullptr;
  if (status == LUA_YIELD) {
    if (state_ != State::running) return;  // waiting for a response or a timer
    // A bare coroutine.yield() in VU code: nothing would ever resume it.
    lua_settop(co_, 0);
    luaL_traceback(ctx_.L, co_, "coroutine.yield() outside a coroutine the script created", 0);
    lua_xmove(ctx_.L, co_, 1);
    record_error();
    discard_coroutine();
    return end_iteration(IterationEnd::failed, now_ns());
  }
  if (status == LUA_OK) {
    if (ctx_.one_shot && nres > 0 &&
        !script::encode_json(co_, -nres, ctx_.one_shot_value, ctx_.error)) {
      ctx_.one_shot_error =
          scenario_.scenario->exec + "() returned a value that cannot be passed on: " + ctx_.error;
      lua_settop(co_, 0);
      return end_iteration(IterationEnd::failed, now_ns());
    }
    lua_settop(co_, 0);
    return end_iteration(IterationEnd::completed, now_ns());
  }
  record_error();
  discard_coroutine();
  end_iteration(IterationEnd::failed, now_ns());
}

void LuaVu::end_iteration(IterationEnd end, std::int64_t now) {
  ++iteration_;
  state_ = State::idle;
  // Last: the runner may begin the next iteration from inside the call.
  sink_.on_iteration_end(slot_, end, yielded_, now);
}

void LuaVu::wind_down(std::int64_t now) {
  if (state_ == State::awaiting) {
    winding_down_ = true;  // the response is recorded when it comes; then the iteration ends
    return;
  }
  if (state_ == State::sleeping) {
    ctx_.timers.disarm(timer_);
    purpose_ = TimerPurpose::none;
    reset_coroutine();
    end_iteration(IterationEnd::interrupted, now);
  }
}

void LuaVu::interrupt(std::int64_t now) {
  ctx_.timers.disarm(timer_);
  purpose_ = TimerPurpose::none;
  if (state_ == State::awaiting) {
    // Never answered: recorded as abandoned (its wait a lower bound), through on_exchange.
    interrupting_ = true;
    sessions_[origin_]->abandon(now);
    interrupting_ = false;
    if (state_ == State::awaiting) {
      // A transport that closed without telling us: record the abandonment here.
      Exchange ex;
      ex.error = ErrorKind::abandoned;
      ex.sent_ns = issued_ns_;
      ex.done_ns = now;
      ctx_.series.at(series_).record(ex, intended_ns_);
      if (ex.error == ErrorKind::none) record_phases(ctx_.phases, phases_of(ex, issued_ns_));
    }
  }
  reset_coroutine();
  ++iteration_;
  state_ = State::idle;
}

// A coroutine cut short: its stack is dropped and its to-be-closed variables closed (a group
// is left), so the next iteration starts clean.
void LuaVu::reset_coroutine() {
  if (co_ == nullptr) return;
  lua_settop(co_, 0);
  ctx_.current = this;
  lua_resetthread(co_);
  ctx_.current = nullptr;
}

// A coroutine that died of an error is not reused: an error raised from a hook (the endless-
// loop guard) leaves hooks disabled on it, so the next iteration gets a fresh one.
void LuaVu::discard_coroutine() {
  lua_settop(co_, 0);
  luaL_unref(ctx_.L, LUA_REGISTRYINDEX, co_ref_);
  co_ = nullptr;
  co_ref_ = LUA_NOREF;
}

void LuaVu::record_error() {
  std::size_t len = 0;
  const char* m = lua_tolstring(co_, -1, &len);
  const std::string_view message =
      m != nullptr ? std::string_view(m, len) : std::string_view("(error object is not a string)");
  // The first line is the key: the same error in another iteration reports once.
  const std::string_view key = message.substr(0, message.find('\n'));
  if (ScriptErrorTally* tally = ctx_.tallies.count_error(key)) {
    if (key.size() != message.size()) {
      tally->traceback = std::string(message.substr(key.size() + 1));
    } else {
      luaL_traceback(ctx_.L, co_, nullptr, 0);
      tally->traceback = lua_tostring(ctx_.L, -1);
      lua_pop(ctx_.L, 1);
    }
    if (ctx_.one_shot && ctx_.one_shot_error.empty()) {
      ctx_.one_shot_error = std::string(message);
      if (!tally->traceback.empty() && key.size() == message.size())
        ctx_.one_shot_error += "\n" + tally->traceback;
    }
  } else if (ctx_.one_shot && ctx_.one_shot_error.empty()) {
    ctx_.one_shot_error = std::string(message);
  }
  lua_settop(co_, 0);
}

// --- requests and sleeps

void LuaVu::start_request(std::uint32_t origin, std::uint32_t series, const http::RequestView& view,
                          std::chrono::nanoseconds timeout) {
  if (sessions_.size() <= origin) {
    sessions_.resize(origin + 1);
    raw_mode_.resize(origin + 1, 0);
  }
  auto& session = sessions_[origin];
  if (!session) {
    session = ctx_.origins.client(origin).open_session();
    // Raw capture (one copy, parsed only if read) where the transport offers it.
    raw_mode_[origin] = session->set_response_capture(this) ? 1 : 0;
    if (raw_mode_[origin] == 0) session->set_response_observer(this);
  }
  origin_ = origin;
  series_ = series;
  head_.clear();
  body_.clear();
  raw_.clear();
  raw_dropped_ = 0;
  head_request_ = view.head;
  body_received_ = 0;
  body_truncated_ = false;
  const std::int64_t now = now_ns();
  issued_ns_ = now;
  intended_ns_ = now - lag_ns_;
  state_ = State::awaiting;
  yielded_ = true;
  ++ctx_.requests_started;
  if (timeout.count() > 0 && timeout < ctx_.plan.settings.request_timeout) {
    purpose_ = TimerPurpose::request_timeout;
    ctx_.timers.arm(timer_, now + timeout.count());
  }
  session->start(view, *this, now);  // the session keeps its own copy of the view
}

void LuaVu::start_sleep(std::int64_t due_ns) {
  yielded_ = true;
  state_ = State::sleeping;
  purpose_ = TimerPurpose::sleep;
  ctx_.timers.arm(timer_, due_ns);
}

void LuaVu::on_exchange(const Exchange& ex) {
  ctx_.timers.disarm(timer_);
  purpose_ = TimerPurpose::none;
  ctx_.series.at(series_).record(ex, intended_ns_);
  if (interrupting_) {
    state_ = State::running;  // interrupt() goes on from here
    return;
  }
  if (winding_down_) {
    // The drain: the response counts, the iteration goes no further.
    reset_coroutine();
    return end_iteration(IterationEnd::interrupted, ex.done_ns);
  }
  push_response(ex);
  resume(1);
}

void LuaVu::on_timer(std::int64_t now) {
  const TimerPurpose purpose = purpose_;
  purpose_ = TimerPurpose::none;
  if (purpose == TimerPurpose::sleep) {
    if (state_ == State::sleeping) resume(0);
    return;
  }
  if (purpose != TimerPurpose::request_timeout || state_ != State::awaiting) return;
  // The script's own timeout, shorter than the transport's: abandon the exchange and hand the
  // script a timed-out response, recorded like any other timeout.
  sessions_[origin_]->close();
  Exchange ex;
  ex.error = ErrorKind::timeout;
  ex.sent_ns = issued_ns_;
  ex.done_ns = now;
  on_exchange(ex);
}

// --- the response

// The raw response, bounded: parsed into fields only if the script reads them.
void LuaVu::on_response_bytes(std::string_view bytes) {
  const auto& settings = ctx_.plan.settings;
  const std::uint64_t limit =
      (settings.discard_response_bodies ? 0 : settings.max_body_bytes) + 64 * 1024;
  const std::uint64_t room = limit - std::min<std::uint64_t>(raw_.size(), limit);
  if (bytes.size() > room) {
    body_truncated_ = true;
    raw_dropped_ += bytes.size() - room;
    bytes = bytes.substr(0, static_cast<std::size_t>(room));
  }
  raw_.append(bytes);
}

void LuaVu::on_response_restart() {
  raw_.clear();
  raw_dropped_ = 0;
  body_truncated_ = false;
}

// Transports without raw capture (test fakes) report fields and body pieces instead.
void LuaVu::on_header(std::string_view name, std::string_view value) {
  head_.append(name).append(1, '\0').append(value).append(1, '\0');
}

void LuaVu::on_body(std::string_view piece) {
  const auto& settings = ctx_.plan.settings;
  body_received_ += piece.size();
  if (settings.discard_response_bodies) return;
  const std::uint64_t room =
      settings.max_body_bytes - std::min<std::uint64_t>(body_.size(), settings.max_body_bytes);
  if (piece.size() > room) {
    body_truncated_ = true;
    piece = piece.substr(0, static_cast<std::size_t>(room));
  }
  body_.append(piece);
}

void LuaVu::push_response(const Exchange& ex) {
  ResponseParts p;
  p.intended_ns = intended_ns_;
  p.sent_ns = ex.sent_ns;
  p.done_ns = ex.done_ns;
  p.phases = phases_of(ex, issued_ns_);
  p.status = ex.status;
  p.error = ex.error;
  p.body_kept = !ctx_.plan.settings.discard_response_bodies;
  p.body_truncated = body_truncated_;
  p.head_request = head_request_;
  p.raw = raw_mode_.size() > origin_ && raw_mode_[origin_] != 0;
  if (p.raw) {
    p.head = raw_;
    p.body_bytes = raw_dropped_;
  } else {
    p.head = head_;
    p.body = body_;
    p.body_bytes = body_received_;
  }
  strain::push_response(co_, ctx_.response_meta_ref, p);
  // A VU that once fetched a large body does not keep that much memory for ever.
  if (raw_.capacity() > 256 * 1024) std::string().swap(raw_);
  if (body_.capacity() > 256 * 1024) std::string().swap(body_);
}

}  // namespace strain
