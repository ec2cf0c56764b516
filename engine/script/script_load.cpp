#include "engine/script/script_load.hpp"

#include <signal.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <lua.hpp>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "engine/exec/arrival_pacer.hpp"
#include "engine/exec/recorder.hpp"
#include "engine/script/data_files.hpp"
#include "engine/script/lua_json.hpp"
#include "engine/transport/resolve.hpp"
#include "engine/transport/response_parser.hpp"
#include "engine/transport/url.hpp"

namespace strain {

extern const char* const prelude_lua;  // scenarios/prelude.lua, embedded at build time

namespace {

constexpr const char* kResponseMeta = "strain.response";
constexpr std::size_t kMaxHeaders = 64;   // request headers a script may set per request
constexpr std::size_t kMaxOrigins = 32;   // distinct scheme://host:port per run
constexpr std::size_t kMaxGroups = 1000;  // distinct group paths
constexpr std::size_t kMaxChecks = 1000;  // distinct check names
constexpr std::size_t kMaxMetrics = 200;  // custom metrics
constexpr std::uint64_t kMaxDataFileBytes = 256u << 20;
constexpr std::int64_t kTickNs = 20'000'000;  // scenario clock: start, ramp, end, graceful stop

// Strings hashed and compared without building a std::string on lookup.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using StringIndex = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

enum class VuState : std::uint8_t {
  idle,      // between iterations, or not needed now
  queued,    // its next iteration is posted to the event loop
  running,   // Lua is running
  awaiting,  // a request is in flight
  sleeping,  // in sleep()
};

enum class TimerPurpose : std::uint8_t { none, sleep, request_timeout };

// What a response userdata holds: fixed fields, then the header block and the body bytes.
struct ResponseHead {
  std::int64_t intended_ns = 0;
  std::int64_t sent_ns = 0;
  std::int64_t done_ns = 0;
  std::int64_t connect_ns = 0;
  std::uint64_t body_bytes = 0;  // as received, even when not kept
  std::uint32_t headers_len = 0;
  std::uint32_t body_len = 0;  // bytes kept
  int status = 0;
  ErrorKind error = ErrorKind::none;
  bool body_kept = false;
  bool body_truncated = false;
  bool raw = false;           // the bytes are the raw response, parsed when first read
  bool head_request = false;  // a response to HEAD (no body, whatever the headers say)
};

struct ScenarioRun;
class Vu;

int raise(lua_State* L, int level, std::string_view message) {
  luaL_where(L, level);
  lua_pushlstring(L, message.data(), message.size());
  lua_concat(L, 2);
  return lua_error(L);
}

}  // namespace

class ScriptLoad::Impl {
 public:
  Impl(boost::asio::io_context& io, const ScriptPlan& plan, std::uint32_t worker_index,
       std::uint32_t worker_count, ClientFactory clients, std::function<void()> on_done,
       const Scenario* one_shot);
  ~Impl();

  // --- lifecycle (see ScriptLoad)
  void start(std::int64_t origin_ns);
  void stop();
  void shutdown();
  void take_interval(RequestMetrics& total, std::vector<RequestMetrics>& series,
                     ScriptStats& stats);
  void take_schedule(ScheduleStats& out);

  // --- for the Lua bindings
  lua_State* L_ = nullptr;
  Vu* current_ = nullptr;  // the VU whose coroutine is running
  std::string error_;      // a binding's error message, raised once its C++ work is done
  std::string scratch_;    // JSON text and other per-call bytes
  std::string target_;     // a request target that needed a "/" in front
  std::array<http::HeaderView, kMaxHeaders + 1> headers_{};

  // Parses a raw response when a script first reads its fields or body. Members, so no C++
  // object with a destructor is live in the Lua C function that uses them.
  struct RawFields final : http::ResponseObserver {
    std::string head;  // name\0value\0 …
    std::string body;
    void on_header(std::string_view name, std::string_view value) override {
      head.append(name).append(1, '\0').append(value).append(1, '\0');
    }
    void on_body(std::string_view piece) override { body.append(piece); }
  };
  RawFields raw_fields_;
  http::ResponseParser raw_parser_;
  void parse_raw(std::string_view raw, bool head_request);

  int http_request(lua_State* L, std::string_view method, int url_index, int body_index,
                   int params_index);
  bool prepare_request(lua_State* L, Vu& vu, std::string_view method, std::string_view url,
                       std::string_view body, int params_index);
  int sleep(lua_State* L);
  bool record_check(Vu* vu, std::string_view name, bool held);
  int group_enter(Vu& vu, std::string_view name);
  int metric_define(std::string_view name, std::string_view kind);
  bool metric_add(lua_State* L, lua_Integer id);
  bool load_data(lua_State* L, std::string_view path, bool csv);

  // --- VU machinery
  void begin(Vu& vu);
  bool dispatch_arrival(ScenarioRun& sc, std::int64_t intended_ns);
  void begin_arrival(Vu& vu, std::int64_t intended_ns, std::int64_t now);
  void end_arrival_iteration(Vu& vu, bool failed);
  void resume(Vu& vu, int nargs);
  void end_iteration(Vu& vu, bool failed);
  bool may_begin(Vu& vu);
  void interrupt(Vu& vu);
  void on_exchange(Vu& vu, const Exchange& ex);
  void on_timer(Vu& vu, std::int64_t now);
  void push_response(Vu& vu, const Exchange& ex);
  void record_error(Vu& vu, int status);
  void discard_coroutine(Vu& vu);
  void tick();
  void update_scenario(ScenarioRun& sc, std::int64_t now);
  void check_done();

  // --- timers: an indexed min-heap of VUs by due time, one Asio timer at its top
  void arm(Vu& vu, std::int64_t due_ns, TimerPurpose purpose);
  void disarm(Vu& vu);
  void heap_up(std::size_t i);
  void heap_down(std::size_t i);
  void rearm_timer();
  void on_timer_fired();

  boost::asio::io_context& io_;
  const ScriptPlan& plan_;
  std::uint32_t worker_index_;
  std::uint32_t worker_count_;
  ClientFactory clients_;
  std::chrono::nanoseconds request_timeout_;  // the transport's; per-request ones are shorter
  std::function<void()> on_done_;
  const Scenario* one_shot_;  // set for setup()/teardown() runs

  struct Origin {
    std::string prefix;       // "http://host:port" as the script wrote it
    std::string host_header;  // Host value
    std::unique_ptr<HttpClient> client;
  };
  std::vector<Origin> origins_;

  std::vector<std::unique_ptr<Recorder>> series_;
  StringIndex series_index_;
  std::string key_;  // series and check keys are built here: no allocation once warm
  std::uint32_t other_series_ = UINT32_MAX;
  std::uint64_t untracked_ = 0;

  std::vector<std::string> groups_{""};  // group paths; id 0 is the root
  StringIndex group_index_;
  std::vector<CheckTally> checks_;  // interval counts; names kept across intervals
  StringIndex check_index_;
  std::vector<CustomMetric> metrics_;
  StringIndex metric_index_;
  std::vector<ScriptErrorTally> errors_;  // this interval's
  StringIndex errors_seen_;               // messages whose traceback was already sent
  std::uint64_t iterations_ = 0;
  std::uint64_t iterations_failed_ = 0;
  std::uint64_t iterations_interrupted_ = 0;

  std::vector<std::unique_ptr<ScenarioRun>> scenarios_;
  int data_ref_ = LUA_NOREF;
  int response_meta_ref_ = LUA_NOREF;

  std::vector<Vu*> heap_;
  boost::asio::steady_timer timer_;
  std::int64_t timer_due_ns_ = INT64_MAX;  // what timer_ is armed for
  boost::asio::steady_timer tick_timer_;

  std::uint64_t started_ = 0;
  bool stopping_ = false;
  bool done_ = false;
  bool shut_down_ = false;

  // Watchdog, read by the controller thread and this thread's signal handler.
  std::atomic<std::int64_t> running_since_ns_{0};
  std::atomic<lua_State*> running_co_{nullptr};
  std::int64_t limit_ns_ = 0;
  char limit_text_[32] = {};

  // One-shot results.
  std::string one_shot_value_ = "null";
  std::string one_shot_error_;
  bool one_shot_ok_ = false;
};

namespace {

thread_local ScriptLoad::Impl* tls_impl = nullptr;

struct ScenarioRun {
  const Scenario* scenario = nullptr;
  std::uint32_t index = 0;
  int exec_ref = LUA_NOREF;
  std::vector<std::unique_ptr<Vu>> vus;  // this worker's share at the peak
  enum class Phase : std::uint8_t { waiting, running, ending, done } phase = Phase::waiting;
  std::uint32_t target = 0;       // VUs that may run now (ramping-vus follows the stages)
  std::uint64_t pool = 0;         // shared-iterations: iterations this worker has left
  std::int64_t start_ns = 0;      // when it starts
  std::int64_t end_ns = 0;        // when it stops starting iterations
  std::int64_t hard_stop_ns = 0;  // when iterations still running are interrupted
  std::uint32_t busy = 0;         // VUs not idle
  // Arrival-rate executors: the schedule, the idle VUs (most recently used last) and how far
  // the pool may grow (this worker's share of max_vus) and from which VU id.
  std::unique_ptr<ArrivalPacer> pacer;
  std::vector<Vu*> free;
  std::uint32_t max_vus = 0;
  std::uint32_t first_id = 0;
  std::uint32_t peak_busy = 0;
};

class Vu final : public ExchangeObserver, public http::ResponseObserver, public ResponseCapture {
 public:
  Vu(ScriptLoad::Impl& impl, ScenarioRun& scenario, std::uint32_t id, std::uint32_t index)
      : impl_(impl), scenario_(scenario), id_(id), index_(index) {}
  ~Vu() override = default;

  void on_exchange(const Exchange& ex) override { impl_.on_exchange(*this, ex); }
  // The raw response, bounded: parsed into fields only if the script reads them.
  void on_response_bytes(std::string_view bytes) override {
    const std::uint64_t limit =
        (impl_.plan_.settings.discard_response_bodies ? 0 : impl_.plan_.settings.max_body_bytes) +
        64 * 1024;
    const std::uint64_t room = limit - std::min<std::uint64_t>(raw_.size(), limit);
    if (bytes.size() > room) {
      body_truncated_ = true;
      raw_dropped_ += bytes.size() - room;
      bytes = bytes.substr(0, static_cast<std::size_t>(room));
    }
    raw_.append(bytes);
  }
  void on_response_restart() override {
    raw_.clear();
    raw_dropped_ = 0;
    body_truncated_ = false;
  }

  // Transports without raw capture (test fakes) report fields and body pieces instead.
  // Kept as received (names lower-cased only if the script reads r.headers): four appends.
  void on_header(std::string_view name, std::string_view value) override {
    head_.append(name).append(1, '\0').append(value).append(1, '\0');
  }
  void on_body(std::string_view piece) override {
    body_received_ += piece.size();
    if (impl_.plan_.settings.discard_response_bodies) return;
    const std::uint64_t room =
        impl_.plan_.settings.max_body_bytes -
        std::min<std::uint64_t>(body_.size(), impl_.plan_.settings.max_body_bytes);
    if (piece.size() > room) {
      body_truncated_ = true;
      piece = piece.substr(0, static_cast<std::size_t>(room));
    }
    body_.append(piece);
  }

  ScriptLoad::Impl& impl_;
  ScenarioRun& scenario_;
  std::uint32_t id_;     // 1-based, unique in the run
  std::uint32_t index_;  // within this worker's share of the scenario
  std::uint64_t iteration_ = 0;
  lua_State* co_ = nullptr;
  int co_ref_ = LUA_NOREF;
  VuState state_ = VuState::idle;
  bool yielded_ = false;  // this iteration yielded at least once
  std::uint16_t group_ = 0;
  std::vector<std::unique_ptr<Session>> sessions_;  // by origin index, opened on first use
  std::uint32_t origin_ = 0;                        // of the request in flight
  std::uint32_t series_ = 0;                        // of the request in flight
  std::int64_t intended_ns_ = 0;  // of the request in flight (response time counts from it)
  std::int64_t issued_ns_ = 0;    // when the script issued it
  // Arrival-rate: how late this iteration began. Every request in it is that much late, so
  // its response time counts from (issued − lag): the iteration as if it had begun on time.
  std::int64_t lag_ns_ = 0;
  std::string request_;   // the request in flight's bytes
  std::string last_key_;  // the series key of its last request, and that series
  std::uint32_t last_series_ = UINT32_MAX;
  std::string head_;  // its response's fields: name\0value\0 ...
  std::string body_;  // its response's body, as far as kept
  std::string raw_;   // its raw response (transports with capture), as far as kept
  std::vector<std::uint8_t> raw_mode_;  // by origin: the session captures raw bytes
  bool head_request_ = false;           // the request in flight is a HEAD
  std::uint64_t body_received_ = 0;
  std::uint64_t raw_dropped_ = 0;  // raw bytes beyond the capture limit: all body
  bool body_truncated_ = false;
  // Timer heap membership.
  std::size_t heap_pos_ = SIZE_MAX;
  std::int64_t due_ns_ = 0;
  TimerPurpose purpose_ = TimerPurpose::none;
};

ScriptLoad::Impl* impl_of(lua_State* L) {
  return static_cast<ScriptLoad::Impl*>(lua_touserdata(L, lua_upvalueindex(1)));
}

// The running VU, or a Lua error when called outside one (at the script's top level).
Vu* vu_of(lua_State* L, ScriptLoad::Impl& impl, const char* what) {
  Vu* vu = impl.current_;
  if (vu == nullptr) {
    luaL_error(L, "%s may only be called inside a VU function, setup() or teardown()", what);
    return nullptr;
  }
  if (vu->co_ != L) {
    luaL_error(L, "%s cannot be called from a coroutine the script created", what);
    return nullptr;
  }
  return vu;
}

// --- the core.* functions (upvalue 1: the Impl)

int l_request(lua_State* L) {
  auto& impl = *impl_of(L);
  const std::string_view method = luaL_checkstring(L, 1);
  return impl.http_request(L, method, 2, 3, 4);
}

// http.get(url, params) and friends; upvalue 2: the method, upvalue 3: true when it has a body.
int l_http_method(lua_State* L) {
  auto& impl = *impl_of(L);
  const std::string_view method = lua_tostring(L, lua_upvalueindex(2));
  const bool has_body = lua_toboolean(L, lua_upvalueindex(3)) != 0;
  // http.post(url, params) with no body reads as k6 users expect: a table there is params.
  if (has_body && lua_istable(L, 2) && lua_isnoneornil(L, 3))
    return impl.http_request(L, method, 1, 0, 2);
  return has_body ? impl.http_request(L, method, 1, 2, 3) : impl.http_request(L, method, 1, 0, 2);
}

int l_sleep(lua_State* L) {
  return impl_of(L)->sleep(L);
}

int l_record_check(lua_State* L) {
  auto& impl = *impl_of(L);
  if (lua_type(L, 1) != LUA_TSTRING) return raise(L, 2, "check names must be strings");
  const std::string_view name = lua_tostring(L, 1);
  if (!impl.record_check(impl.current_, name, lua_toboolean(L, 2) != 0))
    return raise(L, 2, impl.error_);
  return 0;
}

int l_group_enter(lua_State* L) {
  auto& impl = *impl_of(L);
  Vu* vu = vu_of(L, impl, "group()");
  const std::string_view name = luaL_checkstring(L, 1);
  const int previous = impl.group_enter(*vu, name);
  if (previous < 0) return raise(L, 2, impl.error_);
  lua_pushinteger(L, previous);
  return 1;
}

int l_group_leave(lua_State* L) {
  auto& impl = *impl_of(L);
  Vu* vu = vu_of(L, impl, "group()");
  const lua_Integer previous = luaL_checkinteger(L, 1);
  if (previous >= 0 && static_cast<std::size_t>(previous) < impl.groups_.size())
    vu->group_ = static_cast<std::uint16_t>(previous);
  return 0;
}

int l_metric_define(lua_State* L) {
  auto& impl = *impl_of(L);
  const std::string_view name = luaL_checkstring(L, 1);
  const std::string_view kind = luaL_checkstring(L, 2);
  const int id = impl.metric_define(name, kind);
  if (id < 0) return raise(L, 2, impl.error_);
  lua_pushinteger(L, id);
  return 1;
}

int l_metric_add(lua_State* L) {
  auto& impl = *impl_of(L);
  const lua_Integer id = luaL_checkinteger(L, 1);
  if (!impl.metric_add(L, id)) return raise(L, 2, impl.error_);
  return 0;
}

int l_json_encode(lua_State* L) {
  auto& impl = *impl_of(L);
  luaL_checkany(L, 1);
  if (!script::encode_json(L, 1, impl.scratch_, impl.error_)) {
    impl.error_.insert(0, "json.encode: ");
    return raise(L, 1, impl.error_);
  }
  lua_pushlstring(L, impl.scratch_.data(), impl.scratch_.size());
  return 1;
}

int l_json_decode(lua_State* L) {
  auto& impl = *impl_of(L);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 1, &len);
  if (!script::push_json(L, std::string_view(text, len), impl.error_)) {
    impl.error_.insert(0, "json.decode: ");
    return raise(L, 1, impl.error_);
  }
  return 1;
}

int l_data_csv(lua_State* L) {
  auto& impl = *impl_of(L);
  const std::string_view path = luaL_checkstring(L, 1);
  if (!impl.load_data(L, path, true)) return raise(L, 1, impl.error_);
  return 1;
}

int l_data_json(lua_State* L) {
  auto& impl = *impl_of(L);
  const std::string_view path = luaL_checkstring(L, 1);
  if (!impl.load_data(L, path, false)) return raise(L, 1, impl.error_);
  return 1;
}

// vu.id, vu.iteration, vu.scenario: read from whichever VU is running.
int l_vu_index(lua_State* L) {
  auto& impl = *impl_of(L);
  const std::string_view key = luaL_checkstring(L, 2);
  Vu* vu = impl.current_;
  if (key == "id") {
    lua_pushinteger(L, vu != nullptr ? vu->id_ : 0);
  } else if (key == "iteration") {
    lua_pushinteger(L, vu != nullptr ? static_cast<lua_Integer>(vu->iteration_) : 0);
  } else if (key == "scenario") {
    if (vu != nullptr)
      lua_pushstring(L, vu->scenario_.scenario->name.c_str());
    else
      lua_pushnil(L);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

// --- the response object: a userdata read through __index, fields made on demand

const ResponseHead& head_of(lua_State* L) {
  return *static_cast<const ResponseHead*>(lua_touserdata(L, 1));
}

const char* bytes_of(lua_State* L) {
  return static_cast<const char*>(lua_touserdata(L, 1)) + sizeof(ResponseHead);
}

void materialize_raw(lua_State* L, const ResponseHead& h);

int l_response_json(lua_State* L) {
  luaL_checkudata(L, 1, kResponseMeta);
  const ResponseHead& h = head_of(L);
  if (!h.body_kept) {
    return luaL_error(L, "r:json(): the body was not kept (discard_response_bodies is set)");
  }
  auto& impl = *static_cast<ScriptLoad::Impl*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::string_view body(bytes_of(L) + h.headers_len, h.body_len);
  if (h.raw) {
    materialize_raw(L, h);
    lua_getiuservalue(L, 1, 2);
    std::size_t n = 0;
    const char* b = lua_tolstring(L, -1, &n);
    body = std::string_view(b, n);  // anchored in the userdata's uservalue
    lua_pop(L, 1);
  }
  if (!script::push_json(L, body, impl.error_)) {
    impl.error_.insert(0, "r:json(): the body is not JSON: ");
    return raise(L, 1, impl.error_);
  }
  return 1;
}

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

// Pushes r.headers from a "name\0value\0..." block: names lower-cased, a repeated field's
// values joined by ", " (RFC 9110 §5.3).
void push_headers(lua_State* L, const char* block, std::size_t len) {
  lua_createtable(L, 0, 8);
  const char* p = block;
  const char* end = block + len;
  while (p < end) {
    const std::size_t name_len = std::strlen(p);
    const char* value = p + name_len + 1;
    const std::size_t value_len = std::strlen(value);
    char lower[256];
    const std::size_t n = std::min(name_len, sizeof lower);
    for (std::size_t i = 0; i < n; ++i)
      lower[i] = (p[i] >= 'A' && p[i] <= 'Z') ? static_cast<char>(p[i] | 0x20) : p[i];
    lua_pushlstring(L, lower, n);
    if (lua_rawget(L, -2) == LUA_TSTRING) {
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, value, value_len);
      lua_concat(L, 3);
    } else {
      lua_pop(L, 1);
      lua_pushlstring(L, value, value_len);
    }
    lua_pushlstring(L, lower, n);
    lua_insert(L, -2);
    lua_rawset(L, -3);
    p = value + value_len + 1;
  }
}

// Builds r.headers (uservalue 1) and r.body (uservalue 2) of a raw response, once.
void materialize_raw(lua_State* L, const ResponseHead& h) {
  if (lua_getiuservalue(L, 1, 1) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  auto& impl = *static_cast<ScriptLoad::Impl*>(lua_touserdata(L, lua_upvalueindex(1)));
  impl.parse_raw(std::string_view(bytes_of(L), h.headers_len), h.head_request);
  const std::string& head = impl.raw_fields_.head;
  push_headers(L, head.data(), head.size());
  lua_setiuservalue(L, 1, 1);
  // raw_fields_ is reused by the next parse: keep this response's sizes in its own head, and
  // cut the body at max_body_bytes (the capture keeps up to 64 KiB more for the fields).
  auto& own = *static_cast<ResponseHead*>(lua_touserdata(L, 1));
  std::string_view body = impl.raw_fields_.body;
  own.body_bytes += body.size();
  if (body.size() > impl.plan_.settings.max_body_bytes) {
    body = body.substr(0, static_cast<std::size_t>(impl.plan_.settings.max_body_bytes));
    own.body_truncated = true;
  }
  if (h.body_kept)
    lua_pushlstring(L, body.data(), body.size());
  else
    lua_pushboolean(L, 0);  // "no body kept", told apart from "not parsed yet"
  lua_setiuservalue(L, 1, 2);
}

int l_response_index(lua_State* L) {
  const ResponseHead& h = head_of(L);
  std::size_t len = 0;
  const char* k = lua_tolstring(L, 2, &len);
  const std::string_view key = k != nullptr ? std::string_view(k, len) : std::string_view();
  if (h.raw && (key == "headers" || key == "body" || key == "body_size" || key == "truncated")) {
    materialize_raw(L, h);  // sets h.body_bytes and h.body_truncated, read below
    if (key == "headers") {
      lua_getiuservalue(L, 1, 1);
      return 1;
    }
    if (key == "body") {
      if (lua_getiuservalue(L, 1, 2) == LUA_TBOOLEAN) {
        lua_pop(L, 1);
        lua_pushnil(L);
      }
      return 1;
    }
  }
  if (key == "status") {
    lua_pushinteger(L, h.status);
  } else if (key == "body") {
    if (lua_getiuservalue(L, 1, 2) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    if (!h.body_kept) {
      lua_pushnil(L);
      return 1;
    }
    lua_pushlstring(L, bytes_of(L) + h.headers_len, h.body_len);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 2);
  } else if (key == "headers") {
    if (lua_getiuservalue(L, 1, 1) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    push_headers(L, bytes_of(L), h.headers_len);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 1);
  } else if (key == "timings") {
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, ms(h.done_ns - h.sent_ns));
    lua_setfield(L, -2, "duration");
    lua_pushnumber(L, ms(h.done_ns - h.intended_ns));
    lua_setfield(L, -2, "response_time");
    lua_pushnumber(L, ms(h.connect_ns));
    lua_setfield(L, -2, "connecting");
  } else if (key == "error") {
    if (h.error == ErrorKind::none) {
      lua_pushnil(L);
    } else {
      const std::string_view e = to_string(h.error);
      lua_pushlstring(L, e.data(), e.size());
    }
  } else if (key == "ok") {
    lua_pushboolean(L, h.error == ErrorKind::none && h.status >= 200 && h.status < 400);
  } else if (key == "body_size") {
    lua_pushinteger(L, static_cast<lua_Integer>(h.body_bytes));
  } else if (key == "truncated") {
    lua_pushboolean(L, h.body_truncated);
  } else if (key == "json") {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "json");
  } else {
    lua_pushnil(L);
  }
  return 1;
}

int l_response_tostring(lua_State* L) {
  const ResponseHead& h = head_of(L);
  if (h.error != ErrorKind::none) {
    const std::string_view e = to_string(h.error);
    lua_pushfstring(L, "response (error %s)", std::string(e).c_str());
  } else {
    lua_pushfstring(L, "response (status %d, %d body bytes)", h.status,
                    static_cast<int>(h.body_bytes));
  }
  return 1;
}

// The endless-loop guard: the signal handler sets a count hook on the running coroutine,
// which lands here at its next instruction; the one-shot runs (setup, teardown) keep a
// sparse count hook that checks the clock.
void watchdog_hook(lua_State* L, lua_Debug* ar) {
  ScriptLoad::Impl* impl = tls_impl;
  if (impl == nullptr) return;
  const std::int64_t since = impl->running_since_ns_.load(std::memory_order_relaxed);
  if (since == 0 || now_ns() - since < impl->limit_ns_) return;
  if (impl->one_shot_ == nullptr) lua_sethook(L, nullptr, 0, 0);
  lua_getinfo(L, "Sl", ar);
  luaL_error(L, "%s:%d: ran for more than %s without yielding (an endless loop?): stopped",
             ar->short_src, ar->currentline, impl->limit_text_);
}

void watchdog_signal_handler(int) {
  ScriptLoad::on_watchdog_signal();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ScriptLoad::Impl::Impl(boost::asio::io_context& io, const ScriptPlan& plan,
                       std::uint32_t worker_index, std::uint32_t worker_count,
                       ClientFactory clients, std::function<void()> on_done,
                       const Scenario* one_shot)
    : io_(io),
      plan_(plan),
      worker_index_(worker_index),
      worker_count_(std::max<std::uint32_t>(1, worker_count)),
      clients_(std::move(clients)),
      request_timeout_(plan.settings.request_timeout),
      on_done_(std::move(on_done)),
      one_shot_(one_shot),
      timer_(io),
      tick_timer_(io) {
  tls_impl = this;
  // ~Impl does not run when this constructor throws (a bad script): close the Lua state and
  // clear tls_impl here then, or the state leaks and tls_impl dangles.
  struct Unwind {
    Impl* self;
    bool armed = true;
    ~Unwind() {
      if (!armed) return;
      if (self->L_ != nullptr) lua_close(self->L_);
      self->L_ = nullptr;
      if (tls_impl == self) tls_impl = nullptr;
    }
  } unwind{this};
  raw_parser_.set_observer(&raw_fields_);
  limit_ns_ = plan.settings.max_run_without_yield.count();
  const std::string limit = format_duration(plan.settings.max_run_without_yield);
  std::snprintf(limit_text_, sizeof limit_text_, "%s", limit.c_str());

  L_ = luaL_newstate();
  if (L_ == nullptr) throw Error("cannot create a Lua state (out of memory)");
  luaL_openlibs(L_);

  // core: the C half of the API, handed to the prelude.
  static const luaL_Reg core_functions[] = {
      {"request", l_request},           {"sleep", l_sleep},
      {"record_check", l_record_check}, {"group_enter", l_group_enter},
      {"group_leave", l_group_leave},   {"metric_define", l_metric_define},
      {"metric_add", l_metric_add},     {"json_encode", l_json_encode},
      {"json_decode", l_json_decode},   {"data_csv", l_data_csv},
      {"data_json", l_data_json},       {nullptr, nullptr},
  };
  lua_newtable(L_);
  lua_pushlightuserdata(L_, this);
  luaL_setfuncs(L_, core_functions, 1);
  script::push_json_null(L_);
  lua_setfield(L_, -2, "json_null");
  // vu: a table read through __index, so vu.id is always the running VU's.
  lua_newtable(L_);
  lua_createtable(L_, 0, 2);
  lua_pushlightuserdata(L_, this);
  lua_pushcclosure(L_, l_vu_index, 1);
  lua_setfield(L_, -2, "__index");
  lua_setmetatable(L_, -2);
  lua_setfield(L_, -2, "vu");
  lua_createtable(L_, 0, static_cast<int>(plan.env.size()));
  for (const auto& [k, v] : plan.env) {
    lua_pushlstring(L_, v.data(), v.size());
    lua_setfield(L_, -2, k.c_str());
  }
  lua_setfield(L_, -2, "env");

  // The response metatable.
  luaL_newmetatable(L_, kResponseMeta);
  lua_pushlightuserdata(L_, this);
  lua_pushcclosure(L_, l_response_index, 1);
  lua_setfield(L_, -2, "__index");
  lua_pushcfunction(L_, l_response_tostring);
  lua_setfield(L_, -2, "__tostring");
  lua_pushlightuserdata(L_, this);
  lua_pushcclosure(L_, l_response_json, 1);
  lua_setfield(L_, -2, "json");
  response_meta_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);

  // Run the prelude with core as its argument, then add the C http functions.
  const int core_index = lua_gettop(L_);
  if (luaL_loadbuffer(L_, prelude_lua, std::strlen(prelude_lua), "=strain prelude") != LUA_OK) {
    throw Error(std::string("strain prelude: ") + lua_tostring(L_, -1));
  }
  lua_pushvalue(L_, core_index);
  if (lua_pcall(L_, 1, 0, 0) != LUA_OK) {
    throw Error(std::string("strain prelude: ") + lua_tostring(L_, -1));
  }
  lua_getglobal(L_, "http");
  struct Method {
    const char* lua_name;
    const char* method;
    bool body;
  };
  for (const Method& m :
       {Method{"get", "GET", false}, Method{"head", "HEAD", false},
        Method{"options", "OPTIONS", false}, Method{"delete", "DELETE", false},
        Method{"post", "POST", true}, Method{"put", "PUT", true}, Method{"patch", "PATCH", true}}) {
    lua_pushlightuserdata(L_, this);
    lua_pushstring(L_, m.method);
    lua_pushboolean(L_, m.body);
    lua_pushcclosure(L_, l_http_method, 3);
    lua_setfield(L_, -2, m.lua_name);
  }
  lua_settop(L_, core_index - 1);

  // The user's script: syntax errors name file:line; so do errors at its top level.
  if (luaL_loadbuffer(L_, plan.source.data(), plan.source.size(), plan.chunk_name.c_str()) !=
      LUA_OK) {
    throw UsageError(lua_tostring(L_, -1));
  }
  if (lua_pcall(L_, 0, 0, 0) != LUA_OK) {
    const char* m = lua_tostring(L_, -1);
    throw UsageError(std::string(m != nullptr ? m : "error object is not a string") +
                     " (while loading the script)");
  }

  // setup()'s value, the same for every VU.
  if (!script::push_json(L_, plan.setup_data_json, error_)) {
    throw Error("setup() data could not be read back: " + error_);
  }
  data_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);

  // Scenarios, with this worker's share of each one's VUs (and ids unique in the run).
  std::vector<const Scenario*> list;
  if (one_shot_ != nullptr)
    list.push_back(one_shot_);
  else
    for (const Scenario& s : plan.scenarios)
      list.push_back(&s);
  std::uint32_t id_base = 0;
  for (std::uint32_t i = 0; i < list.size(); ++i) {
    const Scenario& s = *list[i];
    auto run = std::make_unique<ScenarioRun>();
    run->scenario = &s;
    run->index = i;
    lua_getglobal(L_, s.exec.c_str());
    if (!lua_isfunction(L_, -1)) {
      throw UsageError(plan.path + ": scenario '" + s.name + "' runs '" + s.exec +
                       "', which is not a global function in the script");
    }
    run->exec_ref = luaL_ref(L_, LUA_REGISTRYINDEX);
    const std::uint32_t peak = peak_vus(s);
    const auto share = static_cast<std::uint32_t>(share_of(peak, worker_count_, worker_index_));
    const auto first = static_cast<std::uint32_t>(share_offset(peak, worker_count_, worker_index_));
    if (is_arrival_rate(s.executor)) {
      // Preallocated VUs now, more when all are busy, up to this worker's share of max_vus.
      // Arrivals go only to workers that may have a VU, so none is scheduled where no VU is.
      const std::uint32_t with_vus = std::min(worker_count_, peak);
      run->max_vus = share;
      run->first_id = id_base + first + 1;
      const auto pre = std::min(share, static_cast<std::uint32_t>(share_of(
                                           s.preallocated_vus, worker_count_, worker_index_)));
      run->vus.reserve(share);
      for (std::uint32_t v = 0; v < pre; ++v) {
        run->vus.push_back(std::make_unique<Vu>(*this, *run, run->first_id + v, v));
        run->free.push_back(run->vus.back().get());
      }
      std::reverse(run->free.begin(), run->free.end());  // VU 1 first
      if (worker_index_ < with_vus) {
        const std::uint64_t backlog = s.backlog_limit != 0 ? s.backlog_limit : default_backlog(s);
        ScenarioRun* sc = run.get();
        run->pacer = std::make_unique<ArrivalPacer>(
            io_, ArrivalSchedule(rate_profile(s), s.arrival, s.seed, worker_index_, with_vus),
            std::max<std::uint64_t>(1, share_of(backlog, with_vus, worker_index_)),
            [this, sc](std::int64_t intended_ns) { return dispatch_arrival(*sc, intended_ns); });
      }
    } else {
      run->vus.reserve(share);
      for (std::uint32_t v = 0; v < share; ++v) {
        run->vus.push_back(std::make_unique<Vu>(*this, *run, id_base + first + v + 1, v));
      }
    }
    if (s.executor == ExecutorKind::shared_iterations) {
      // Only the first min(workers, peak) workers get VUs (share_of): split the pool among
      // those, or the shares of workers without a VU would never run.
      const std::uint32_t with_vus = std::min(worker_count_, peak);
      run->pool = worker_index_ < with_vus ? share_of(s.iterations, with_vus, worker_index_) : 0;
    }
    id_base += peak;
    scenarios_.push_back(std::move(run));
  }
  if (one_shot_ != nullptr) {
    // setup() and teardown() run on the caller's thread: no signal watchdog there, so a
    // sparse count hook checks the clock instead (coroutines inherit it).
    lua_sethook(L_, watchdog_hook, LUA_MASKCOUNT, 100'000);
  }
  unwind.armed = false;
}

ScriptLoad::Impl::~Impl() {
  shutdown();
  // VUs own sessions that belong to the clients: drop them first.
  scenarios_.clear();
  origins_.clear();
  if (L_ != nullptr) lua_close(L_);
  if (tls_impl == this) tls_impl = nullptr;
}

void ScriptLoad::Impl::start(std::int64_t origin_ns) {
  const std::int64_t now = origin_ns != 0 ? origin_ns : now_ns();
  for (auto& sc : scenarios_) {
    const Scenario& s = *sc->scenario;
    sc->start_ns = now + s.start_time.count();
    sc->end_ns = sc->start_ns + active_length(s).count();
    sc->hard_stop_ns = sc->end_ns + s.graceful_stop.count();
    // The pacer's own timer starts the scenario at its first arrival: exact, not on a tick.
    if (sc->pacer) sc->pacer->start(sc->start_ns);
  }
  tick();
}

void ScriptLoad::Impl::tick() {
  if (stopping_ || done_) return;
  const std::int64_t now = now_ns();
  for (auto& sc : scenarios_)
    update_scenario(*sc, now);
  check_done();
  if (done_ || stopping_) return;
  tick_timer_.expires_after(std::chrono::nanoseconds(kTickNs));
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void ScriptLoad::Impl::update_scenario(ScenarioRun& sc, std::int64_t now) {
  using Phase = ScenarioRun::Phase;
  const Scenario& s = *sc.scenario;
  if (sc.phase == Phase::waiting) {
    if (now < sc.start_ns) return;
    sc.phase = Phase::running;
  }
  if (sc.phase == Phase::running) {
    if (now >= sc.end_ns) {
      sc.phase = Phase::ending;
      if (sc.pacer) sc.pacer->stop();
    } else if (is_arrival_rate(s.executor)) {
      // Nothing to do between arrivals; a worker without a share of them is done now.
      if (!sc.pacer) sc.phase = Phase::ending;
    } else {
      std::uint32_t target = static_cast<std::uint32_t>(sc.vus.size());
      if (s.executor == ExecutorKind::ramping_vus) {
        const std::uint32_t total = ramping_vus_at(s, std::chrono::nanoseconds(now - sc.start_ns));
        target = static_cast<std::uint32_t>(share_of(total, worker_count_, worker_index_));
      }
      const std::uint32_t before = sc.target;
      sc.target = target;
      for (std::uint32_t i = before; i < target && i < sc.vus.size(); ++i) {
        Vu& vu = *sc.vus[i];
        if (vu.state_ == VuState::idle && may_begin(vu)) begin(vu);
      }
      // Iteration executors with nothing to run on this worker (no VU here, or no iteration
      // left) end now: no end_iteration() would ever end them before max_duration.
      if (sc.phase == Phase::running && sc.busy == 0 &&
          (s.executor == ExecutorKind::per_vu_iterations ||
           s.executor == ExecutorKind::shared_iterations)) {
        sc.phase = Phase::ending;
      }
      if (before == 0 && target > 0) return;
    }
  }
  if (sc.phase == Phase::ending && now >= sc.hard_stop_ns) {
    for (auto& vu : sc.vus)
      if (vu->state_ != VuState::idle) interrupt(*vu);
  }
  if (sc.phase == Phase::ending && sc.busy == 0) sc.phase = Phase::done;
}

void ScriptLoad::Impl::check_done() {
  if (done_) return;
  for (auto& sc : scenarios_) {
    if (sc->phase != ScenarioRun::Phase::done) return;
  }
  done_ = true;
  tick_timer_.cancel();
  if (on_done_) on_done_();
}

bool ScriptLoad::Impl::may_begin(Vu& vu) {
  ScenarioRun& sc = vu.scenario_;
  if (stopping_ || sc.phase != ScenarioRun::Phase::running || vu.index_ >= sc.target) {
    return false;
  }
  switch (sc.scenario->executor) {
    case ExecutorKind::per_vu_iterations:
      if (vu.iteration_ >= sc.scenario->iterations) return false;
      break;
    case ExecutorKind::shared_iterations:
      if (sc.pool == 0) return false;
      --sc.pool;
      break;
    default:
      break;
  }
  return true;
}

bool ScriptLoad::Impl::dispatch_arrival(ScenarioRun& sc, std::int64_t intended_ns) {
  if (stopping_ || sc.phase == ScenarioRun::Phase::ending || sc.phase == ScenarioRun::Phase::done) {
    return false;
  }
  sc.phase = ScenarioRun::Phase::running;  // its first arrival is its start
  Vu* vu = nullptr;
  if (!sc.free.empty()) {
    vu = sc.free.back();
    sc.free.pop_back();
  } else if (sc.vus.size() < sc.max_vus) {
    const auto index = static_cast<std::uint32_t>(sc.vus.size());
    sc.vus.push_back(std::make_unique<Vu>(*this, sc, sc.first_id + index, index));
    vu = sc.vus.back().get();
  } else {
    return false;
  }
  begin_arrival(*vu, intended_ns, now_ns());
  return true;
}

void ScriptLoad::Impl::begin_arrival(Vu& vu, std::int64_t intended_ns, std::int64_t now) {
  ScenarioRun& sc = vu.scenario_;
  vu.lag_ns_ = std::max<std::int64_t>(0, now - intended_ns);
  sc.pacer->started(vu.lag_ns_);
  if (vu.state_ == VuState::idle) {
    ++sc.busy;
    sc.peak_busy = std::max(sc.peak_busy, sc.busy);
    vu.state_ = VuState::queued;  // begin() counts it busy already
  }
  begin(vu);
}

// An arrival-rate iteration ended: the VU takes the oldest waiting arrival, or goes idle.
void ScriptLoad::Impl::end_arrival_iteration(Vu& vu, bool failed) {
  ScenarioRun& sc = vu.scenario_;
  const bool yielded = vu.yielded_;
  std::optional<std::int64_t> due;
  if (!stopping_ && sc.phase == ScenarioRun::Phase::running) due = sc.pacer->take_waiting();
  if (!due) {
    vu.state_ = VuState::idle;
    --sc.busy;
    sc.free.push_back(&vu);
    if (sc.phase == ScenarioRun::Phase::ending && sc.busy == 0) {
      sc.phase = ScenarioRun::Phase::done;
      check_done();
    }
    return;
  }
  if (yielded && !failed) return begin_arrival(vu, *due, now_ns());
  // As for closed scenarios: an iteration that never yielded goes through the event loop.
  vu.state_ = VuState::queued;
  boost::asio::post(io_, [this, v = &vu, intended = *due] {
    if (v->state_ != VuState::queued) return;
    if (stopping_) {
      v->state_ = VuState::idle;
      --v->scenario_.busy;
      v->scenario_.free.push_back(v);
      return;
    }
    begin_arrival(*v, intended, now_ns());
  });
}

void ScriptLoad::Impl::begin(Vu& vu) {
  ScenarioRun& sc = vu.scenario_;
  if (vu.state_ == VuState::idle) ++sc.busy;
  vu.state_ = VuState::running;
  vu.yielded_ = false;
  vu.group_ = 0;
  if (vu.co_ == nullptr) {
    vu.co_ = lua_newthread(L_);
    vu.co_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(vu.co_, LUA_REGISTRYINDEX, sc.exec_ref);
  lua_rawgeti(vu.co_, LUA_REGISTRYINDEX, data_ref_);
  resume(vu, 1);
}

void ScriptLoad::Impl::resume(Vu& vu, int nargs) {
  vu.state_ = VuState::running;
  current_ = &vu;
  running_co_.store(vu.co_, std::memory_order_relaxed);
  running_since_ns_.store(now_ns(), std::memory_order_relaxed);
  int nres = 0;
  const int status = lua_resume(vu.co_, L_, nargs, &nres);
  running_since_ns_.store(0, std::memory_order_relaxed);
  running_co_.store(nullptr, std::memory_order_relaxed);
  current_ = nullptr;
  if (status == LUA_YIELD) {
    if (vu.state_ != VuState::running) return;  // waiting for a response or a timer
    // A bare coroutine.yield() in VU code: nothing would ever resume it.
    lua_settop(vu.co_, 0);
    luaL_traceback(L_, vu.co_, "coroutine.yield() outside a coroutine the script created", 0);
    lua_xmove(L_, vu.co_, 1);
    record_error(vu, LUA_ERRRUN);
    discard_coroutine(vu);
    return end_iteration(vu, true);
  }
  if (status == LUA_OK) {
    if (one_shot_ != nullptr && nres > 0) {
      if (!script::encode_json(vu.co_, -nres, one_shot_value_, error_)) {
        one_shot_error_ =
            one_shot_->exec + "() returned a value that cannot be passed on: " + error_;
        lua_settop(vu.co_, 0);
        return end_iteration(vu, true);
      }
    }
    lua_settop(vu.co_, 0);
    return end_iteration(vu, false);
  }
  record_error(vu, status);
  discard_coroutine(vu);
  end_iteration(vu, true);
}

// A coroutine that died of an error is not reused: an error raised from a hook (the endless-
// loop guard) leaves hooks disabled on it, so the next iteration gets a fresh one.
void ScriptLoad::Impl::discard_coroutine(Vu& vu) {
  lua_settop(vu.co_, 0);
  luaL_unref(L_, LUA_REGISTRYINDEX, vu.co_ref_);
  vu.co_ = nullptr;
  vu.co_ref_ = LUA_NOREF;
}

void ScriptLoad::Impl::record_error(Vu& vu, int status) {
  (void)status;
  std::size_t len = 0;
  const char* m = lua_tolstring(vu.co_, -1, &len);
  const std::string_view message =
      m != nullptr ? std::string_view(m, len) : std::string_view("(error object is not a string)");
  // The first line is the key: the same error in another iteration reports once.
  const std::string_view key = message.substr(0, message.find('\n'));
  auto it = std::find_if(errors_.begin(), errors_.end(),
                         [&](const ScriptErrorTally& e) { return e.message == key; });
  if (it != errors_.end()) {
    ++it->count;
  } else {
    ScriptErrorTally tally;
    tally.message = std::string(key);
    tally.count = 1;
    if (errors_seen_.find(key) == errors_seen_.end() && errors_seen_.size() < 1000) {
      errors_seen_.emplace(std::string(key), 0);
      if (key.size() != message.size()) {
        tally.traceback = std::string(message.substr(key.size() + 1));
      } else {
        luaL_traceback(L_, vu.co_, nullptr, 0);
        tally.traceback = lua_tostring(L_, -1);
        lua_pop(L_, 1);
      }
    }
    errors_.push_back(std::move(tally));
  }
  if (one_shot_ != nullptr && one_shot_error_.empty()) {
    one_shot_error_ = std::string(message);
    if (errors_.back().message == key && !errors_.back().traceback.empty())
      one_shot_error_ += "\n" + errors_.back().traceback;
  }
  lua_settop(vu.co_, 0);
}

void ScriptLoad::Impl::end_iteration(Vu& vu, bool failed) {
  ScenarioRun& sc = vu.scenario_;
  if (failed)
    ++iterations_failed_;
  else
    ++iterations_;
  if (one_shot_ != nullptr) one_shot_ok_ = !failed && one_shot_error_.empty();
  ++vu.iteration_;
  if (sc.pacer) return end_arrival_iteration(vu, failed);
  const bool yielded = vu.yielded_;
  if (!may_begin(vu)) {
    vu.state_ = VuState::idle;
    --sc.busy;
    // Iteration-based executors finish when their work is done, not at max_duration.
    const Scenario& s = *sc.scenario;
    if (sc.phase == ScenarioRun::Phase::running &&
        (s.executor == ExecutorKind::per_vu_iterations ||
         s.executor == ExecutorKind::shared_iterations)) {
      bool exhausted = s.executor == ExecutorKind::shared_iterations ? sc.pool == 0 : true;
      if (s.executor == ExecutorKind::per_vu_iterations) {
        for (auto& v : sc.vus)
          exhausted = exhausted && v->iteration_ >= s.iterations;
      }
      if (exhausted) sc.phase = ScenarioRun::Phase::ending;
    }
    if (sc.phase == ScenarioRun::Phase::ending && sc.busy == 0) {
      sc.phase = ScenarioRun::Phase::done;
      check_done();
    }
    return;
  }
  if (yielded && !failed) return begin(vu);
  // An iteration that never yielded (or failed) goes through the event loop before the next,
  // so a script with no requests cannot starve timers, reports and stop.
  vu.state_ = VuState::queued;
  boost::asio::post(io_, [this, v = &vu] {
    if (v->state_ != VuState::queued) return;
    if (stopping_) {
      v->state_ = VuState::idle;
      --v->scenario_.busy;
      return;
    }
    begin(*v);
  });
}

void ScriptLoad::Impl::interrupt(Vu& vu) {
  ScenarioRun& sc = vu.scenario_;
  if (vu.state_ == VuState::idle) return;
  if (vu.state_ == VuState::awaiting) {
    // Abandoned, never answered: out of `started`, so started = responses + errors + in flight.
    vu.sessions_[vu.origin_]->close();
    --started_;
  }
  disarm(vu);
  if (vu.co_ != nullptr) {
    lua_settop(vu.co_, 0);
    lua_resetthread(vu.co_);
  }
  vu.state_ = VuState::idle;
  --sc.busy;
  if (sc.pacer) sc.free.push_back(&vu);
  ++iterations_interrupted_;
}

void ScriptLoad::Impl::stop() {
  if (stopping_) return;
  stopping_ = true;
  tick_timer_.cancel();
  for (auto& sc : scenarios_) {
    if (sc->pacer) sc->pacer->stop();
    for (auto& vu : sc->vus) {
      // Requests in flight complete and are recorded (the drain); the rest stop here.
      if (vu->state_ == VuState::sleeping || vu->state_ == VuState::queued) interrupt(*vu);
    }
  }
}

void ScriptLoad::Impl::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  stopping_ = true;
  tick_timer_.cancel();
  timer_.cancel();
  for (auto& sc : scenarios_)
    if (sc->pacer) sc->pacer->stop();
  for (auto& o : origins_)
    o.client->shutdown();
}

// --- requests

int ScriptLoad::Impl::http_request(lua_State* L, std::string_view method, int url_index,
                                   int body_index, int params_index) {
  Vu* vu = vu_of(L, *this, "http requests");
  const std::string_view url = luaL_checkstring(L, url_index);
  std::string_view body;
  if (body_index != 0 && !lua_isnoneornil(L, body_index)) {
    if (lua_type(L, body_index) != LUA_TSTRING) {
      return raise(L, 1, "the request body must be a string (for JSON, pass params.json = {...})");
    }
    std::size_t len = 0;
    const char* b = lua_tolstring(L, body_index, &len);
    body = std::string_view(b, len);
  }
  if (!lua_isnoneornil(L, params_index)) luaL_checktype(L, params_index, LUA_TTABLE);
  if (!prepare_request(L, *vu, method, url, body,
                       lua_isnoneornil(L, params_index) ? 0 : params_index)) {
    return raise(L, 1, error_);
  }
  vu->yielded_ = true;
  return lua_yield(L, 0);
}

bool ScriptLoad::Impl::prepare_request(lua_State* L, Vu& vu, std::string_view method,
                                       std::string_view url, std::string_view body,
                                       int params_index) {
  // Origin: "http://host:port" up to the path. A new one is parsed and resolved once.
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    error_ = "'" + std::string(url) + "' is not an absolute http:// URL";
    return false;
  }
  // One pass instead of find_first_of, which calls memchr once per character scanned.
  std::size_t path_start = scheme_end + 3;
  while (path_start < url.size() && url[path_start] != '/' && url[path_start] != '?' &&
         url[path_start] != '#')
    ++path_start;
  std::size_t query_start = path_start;  // first '?' or '#': the default name ends there
  while (query_start < url.size() && url[query_start] != '?' && url[query_start] != '#')
    ++query_start;
  const std::string_view prefix = url.substr(0, path_start);
  std::uint32_t origin = UINT32_MAX;
  for (std::uint32_t i = 0; i < origins_.size(); ++i) {
    if (origins_[i].prefix == prefix) origin = i;
  }
  if (origin == UINT32_MAX) {
    if (origins_.size() >= kMaxOrigins) {
      error_ = "more than " + std::to_string(kMaxOrigins) + " distinct hosts in one run";
      return false;
    }
    try {
      const http::Url parsed = http::parse_url(url);
      if (parsed.scheme != "http") {
        error_ = "'" + std::string(url) + "': only http:// is supported so far";
        return false;
      }
      origins_.push_back(Origin{std::string(prefix), parsed.host_header, clients_(io_, parsed)});
    } catch (const std::exception& e) {
      error_ = e.what();
      return false;
    }
    origin = static_cast<std::uint32_t>(origins_.size() - 1);
  }
  std::string_view target = url.substr(path_start);
  if (const auto hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      error_ = "URL '" + std::string(url) + "' has a space or control character (encode it)";
      return false;
    }
  }
  if (target.empty() || target.front() == '?') {
    // "http://h" and "http://h?q" ask for "/" and "/?q".
    target_.assign("/").append(target);
    target = target_;
  }

  // Params.
  std::size_t header_count = 0;
  std::string_view name = url.substr(0, query_start);
  std::chrono::nanoseconds timeout{0};
  bool has_tags = false;
  bool has_json = false;
  bool has_content_type = false;
  if (params_index != 0) {
    lua_pushnil(L);
    while (lua_next(L, params_index) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING) {
        error_ = "request params: keys must be names";
        return false;
      }
      const std::string_view key = lua_tostring(L, -2);
      if (key == "headers") {
        if (!lua_istable(L, -1)) {
          error_ = "request params: headers must be a table";
          return false;
        }
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
          if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
            error_ = "request params: header names and values must be strings";
            return false;
          }
          if (header_count >= kMaxHeaders) {
            error_ = "request params: more than " + std::to_string(kMaxHeaders) + " headers";
            return false;
          }
          // Strings stay alive in the params table until the request is built.
          std::size_t nl = 0, vl = 0;
          const char* n = lua_tolstring(L, -2, &nl);
          const char* v = lua_tolstring(L, -1, &vl);
          headers_[header_count++] = http::HeaderView{{n, nl}, {v, vl}};
          if (nl == 12 && strncasecmp(n, "content-type", 12) == 0) has_content_type = true;
          lua_pop(L, 1);
        }
      } else if (key == "json") {
        if (!body.empty()) {
          error_ = "request params: json given with a body too";
          return false;
        }
        if (!script::encode_json(L, lua_gettop(L), scratch_, error_)) {
          error_ = "request params.json: " + error_;
          return false;
        }
        has_json = true;
      } else if (key == "name") {
        if (lua_type(L, -1) != LUA_TSTRING) {
          error_ = "request params: name must be a string";
          return false;
        }
        name = lua_tostring(L, -1);  // alive in the params table
      } else if (key == "timeout") {
        if (lua_type(L, -1) == LUA_TNUMBER) {
          const double s = lua_tonumber(L, -1);
          if (!(s > 0 && s < 1e7)) {
            error_ = "request params: timeout must be more than zero";
            return false;
          }
          timeout = std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9));
        } else {
          if (lua_type(L, -1) != LUA_TSTRING) {
            error_ = "request params: timeout must be seconds or a duration like \"2s\"";
            return false;
          }
          try {
            timeout = parse_duration(lua_tostring(L, -1), "request params: timeout");
          } catch (const std::exception& e) {
            error_ = e.what();
            return false;
          }
          if (timeout.count() <= 0) {
            error_ = "request params: timeout must be more than zero";
            return false;
          }
        }
        if (timeout > request_timeout_) {
          error_ = "request params: timeout " + format_duration(timeout) +
                   " is above options.timeout (" + format_duration(request_timeout_) +
                   "); raise options.timeout";
          return false;
        }
      } else if (key == "tags") {
        if (!lua_istable(L, -1)) {
          error_ = "request params: tags must be a table";
          return false;
        }
        has_tags = true;
      } else {
        error_ = "request params: unknown field '" + std::string(key) +
                 "' (known: headers, json, name, timeout, tags)";
        return false;
      }
      lua_pop(L, 1);
    }
  }
  if (has_json) {
    body = scratch_;
    if (!has_content_type && header_count < kMaxHeaders + 1)
      headers_[header_count++] = http::HeaderView{"Content-Type", "application/json"};
  }
  http::RequestView view;
  if (!http::build_request(vu.request_, method, target, origins_[origin].host_header,
                           std::span<const http::HeaderView>(headers_.data(), header_count), body,
                           view, error_)) {
    return false;
  }

  // Series: scenario, group, tags and name.
  key_.clear();
  key_ += static_cast<char>('a' + vu.scenario_.index % 26);
  key_ += static_cast<char>(vu.scenario_.index / 26);
  key_ += static_cast<char>(vu.group_ & 0xff);
  key_ += static_cast<char>(vu.group_ >> 8);
  std::map<std::string, std::string> tags;  // only built for a new series
  if (has_tags) {
    lua_getfield(L, params_index, "tags");
    std::vector<std::pair<std::string, std::string>> list;
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        error_ = "request params: tag names and values must be strings";
        return false;
      }
      list.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    std::sort(list.begin(), list.end());
    for (const auto& [k, v] : list) {
      key_.append(k).append("=").append(v).append(";");
      tags[k] = v;
    }
  }
  key_ += '\0';
  key_.append(name);
  std::uint32_t series = 0;
  if (vu.last_series_ != UINT32_MAX && vu.last_key_ == key_) {
    series = vu.last_series_;  // a VU mostly repeats its requests: skip the hash lookup
  } else if (auto it = series_index_.find(std::string_view(key_)); it != series_index_.end()) {
    series = it->second;
  } else if (series_.size() >= plan_.settings.max_names) {
    // Bounded: URLs with ids in them would otherwise make a series each.
    ++untracked_;
    if (other_series_ == UINT32_MAX) {
      other_series_ = static_cast<std::uint32_t>(series_.size());
      series_.push_back(
          std::make_unique<Recorder>("(other)", std::map<std::string, std::string>{}));
    }
    series = other_series_;
  } else {
    const Scenario& s = *vu.scenario_.scenario;
    for (const auto& [k, v] : s.tags)
      tags.emplace(k, v);
    tags["scenario"] = s.name;
    if (vu.group_ != 0) tags["group"] = groups_[vu.group_];
    series = static_cast<std::uint32_t>(series_.size());
    series_.push_back(std::make_unique<Recorder>(std::string(name), std::move(tags)));
    series_index_.emplace(key_, series);
  }

  if (series != other_series_) {
    vu.last_key_ = key_;
    vu.last_series_ = series;
  }

  // Start.
  if (vu.sessions_.size() <= origin) vu.sessions_.resize(origin + 1);
  auto& session = vu.sessions_[origin];
  if (!session) {
    session = origins_[origin].client->open_session();
    if (vu.raw_mode_.size() <= origin) vu.raw_mode_.resize(origin + 1);
    vu.raw_mode_[origin] = session->set_response_capture(&vu) ? 1 : 0;
    if (vu.raw_mode_[origin] == 0) session->set_response_observer(&vu);
  }
  vu.origin_ = origin;
  vu.series_ = series;
  vu.head_.clear();
  vu.body_.clear();
  vu.raw_.clear();
  vu.raw_dropped_ = 0;
  vu.head_request_ = view.head;
  vu.body_received_ = 0;
  vu.body_truncated_ = false;
  const std::int64_t now = now_ns();
  vu.issued_ns_ = now;
  vu.intended_ns_ = now - vu.lag_ns_;
  vu.state_ = VuState::awaiting;
  ++started_;
  if (timeout.count() > 0 && timeout < request_timeout_)
    arm(vu, now + timeout.count(), TimerPurpose::request_timeout);
  session->start(view, vu, now);  // the session keeps its own copy of the view
  return true;
}

void ScriptLoad::Impl::on_exchange(Vu& vu, const Exchange& ex) {
  disarm(vu);
  series_[vu.series_]->record(ex, vu.intended_ns_);
  if (stopping_) {
    // The drain: the response counts, the iteration goes no further.
    vu.state_ = VuState::running;  // interrupt() must not close the session again
    return interrupt(vu);
  }
  push_response(vu, ex);
  resume(vu, 1);
}

void ScriptLoad::Impl::parse_raw(std::string_view raw, bool head_request) {
  raw_fields_.head.clear();
  raw_fields_.body.clear();
  raw_parser_.reset(head_request);
  std::size_t consumed = 0;
  // A truncated capture parses as far as it goes: the body is what was kept.
  (void)raw_parser_.feed(raw.data(), raw.size(), consumed);
}

void ScriptLoad::Impl::push_response(Vu& vu, const Exchange& ex) {
  const bool kept = !plan_.settings.discard_response_bodies;
  const bool raw = vu.raw_mode_.size() > vu.origin_ && vu.raw_mode_[vu.origin_] != 0;
  if (raw) {
    // One copy of the raw bytes; fields and body are parsed only if the script reads them.
    void* mem = lua_newuserdatauv(vu.co_, sizeof(ResponseHead) + vu.raw_.size(), 2);
    ResponseHead h;
    h.intended_ns = vu.intended_ns_;
    h.sent_ns = ex.sent_ns;
    h.done_ns = ex.done_ns;
    h.connect_ns = ex.connect_ns;
    h.status = ex.status;
    h.error = ex.error;
    h.headers_len = static_cast<std::uint32_t>(vu.raw_.size());
    h.body_bytes = vu.raw_dropped_;  // the captured body is added when parsed
    h.body_kept = kept;
    h.body_truncated = vu.body_truncated_;
    h.raw = true;
    h.head_request = vu.head_request_;
    std::memcpy(mem, &h, sizeof h);
    std::memcpy(static_cast<char*>(mem) + sizeof h, vu.raw_.data(), vu.raw_.size());
    lua_rawgeti(vu.co_, LUA_REGISTRYINDEX, response_meta_ref_);
    lua_setmetatable(vu.co_, -2);
    if (vu.raw_.capacity() > 256 * 1024) std::string().swap(vu.raw_);
    return;
  }
  const std::size_t size = sizeof(ResponseHead) + vu.head_.size() + (kept ? vu.body_.size() : 0);
  void* mem = lua_newuserdatauv(vu.co_, size, 2);
  ResponseHead h;
  h.intended_ns = vu.intended_ns_;
  h.sent_ns = ex.sent_ns;
  h.done_ns = ex.done_ns;
  h.connect_ns = ex.connect_ns;
  h.status = ex.status;
  h.error = ex.error;
  h.body_bytes = vu.body_received_;
  h.headers_len = static_cast<std::uint32_t>(vu.head_.size());
  h.body_len = kept ? static_cast<std::uint32_t>(vu.body_.size()) : 0;
  h.body_kept = kept;
  h.body_truncated = vu.body_truncated_;
  std::memcpy(mem, &h, sizeof h);
  char* bytes = static_cast<char*>(mem) + sizeof h;
  std::memcpy(bytes, vu.head_.data(), vu.head_.size());
  if (kept) std::memcpy(bytes + vu.head_.size(), vu.body_.data(), vu.body_.size());
  lua_rawgeti(vu.co_, LUA_REGISTRYINDEX, response_meta_ref_);
  lua_setmetatable(vu.co_, -2);
  // A VU that once fetched a large body does not keep that much memory for ever.
  if (vu.body_.capacity() > 256 * 1024) std::string().swap(vu.body_);
}

int ScriptLoad::Impl::sleep(lua_State* L) {
  Vu* vu = vu_of(L, *this, "sleep()");
  const double seconds = luaL_checknumber(L, 1);
  if (!(seconds >= 0 && seconds <= 1e7)) return raise(L, 1, "sleep(): seconds must be 0 or more");
  vu->yielded_ = true;
  vu->state_ = VuState::sleeping;
  arm(*vu, now_ns() + static_cast<std::int64_t>(seconds * 1e9), TimerPurpose::sleep);
  return lua_yield(L, 0);
}

void ScriptLoad::Impl::on_timer(Vu& vu, std::int64_t now) {
  if (vu.purpose_ == TimerPurpose::sleep) {
    vu.purpose_ = TimerPurpose::none;
    if (vu.state_ == VuState::sleeping) resume(vu, 0);
    return;
  }
  vu.purpose_ = TimerPurpose::none;
  if (vu.state_ != VuState::awaiting) return;
  // The script's own timeout, shorter than the transport's: abandon the exchange and hand
  // the script a timed-out response, recorded like any other timeout.
  vu.sessions_[vu.origin_]->close();
  Exchange ex;
  ex.error = ErrorKind::timeout;
  ex.sent_ns = vu.issued_ns_;
  ex.done_ns = now;
  on_exchange(vu, ex);
}

// --- timers

void ScriptLoad::Impl::arm(Vu& vu, std::int64_t due_ns, TimerPurpose purpose) {
  disarm(vu);
  vu.due_ns_ = due_ns;
  vu.purpose_ = purpose;
  vu.heap_pos_ = heap_.size();
  heap_.push_back(&vu);
  heap_up(vu.heap_pos_);
  if (due_ns < timer_due_ns_) rearm_timer();
}

void ScriptLoad::Impl::disarm(Vu& vu) {
  if (vu.heap_pos_ == SIZE_MAX) return;
  const std::size_t i = vu.heap_pos_;
  vu.heap_pos_ = SIZE_MAX;
  Vu* last = heap_.back();
  heap_.pop_back();
  if (last != &vu) {
    heap_[i] = last;
    last->heap_pos_ = i;
    heap_up(i);
    heap_down(last->heap_pos_);
  }
  // The Asio timer may now fire early for nothing; it then re-arms for the new top.
}

void ScriptLoad::Impl::heap_up(std::size_t i) {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->due_ns_ <= heap_[i]->due_ns_) break;
    std::swap(heap_[parent], heap_[i]);
    heap_[parent]->heap_pos_ = parent;
    heap_[i]->heap_pos_ = i;
    i = parent;
  }
}

void ScriptLoad::Impl::heap_down(std::size_t i) {
  for (;;) {
    const std::size_t l = 2 * i + 1;
    const std::size_t r = l + 1;
    std::size_t m = i;
    if (l < heap_.size() && heap_[l]->due_ns_ < heap_[m]->due_ns_) m = l;
    if (r < heap_.size() && heap_[r]->due_ns_ < heap_[m]->due_ns_) m = r;
    if (m == i) return;
    std::swap(heap_[m], heap_[i]);
    heap_[m]->heap_pos_ = m;
    heap_[i]->heap_pos_ = i;
    i = m;
  }
}

void ScriptLoad::Impl::rearm_timer() {
  if (heap_.empty() || shut_down_) return;
  timer_due_ns_ = heap_.front()->due_ns_;
  timer_.expires_at(Clock::time_point(std::chrono::nanoseconds(timer_due_ns_)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_timer_fired();
  });
}

void ScriptLoad::Impl::on_timer_fired() {
  timer_due_ns_ = INT64_MAX;
  const std::int64_t now = now_ns();
  // Bounded per wake-up, so 100,000 VUs waking together still let the loop breathe.
  for (int n = 0; n < 4096 && !heap_.empty() && heap_.front()->due_ns_ <= now; ++n) {
    Vu& vu = *heap_.front();
    disarm(vu);
    on_timer(vu, now);
  }
  if (!heap_.empty() && timer_due_ns_ == INT64_MAX) rearm_timer();
}

// --- checks, groups, metrics, data

bool ScriptLoad::Impl::record_check(Vu* vu, std::string_view name, bool held) {
  const std::uint16_t group = vu != nullptr ? vu->group_ : 0;
  key_.clear();
  key_ += static_cast<char>(group & 0xff);
  key_ += static_cast<char>(group >> 8);
  key_.append(name);
  std::uint32_t index = 0;
  if (auto it = check_index_.find(std::string_view(key_)); it != check_index_.end()) {
    index = it->second;
  } else {
    if (checks_.size() >= kMaxChecks) {
      error_ = "more than " + std::to_string(kMaxChecks) + " distinct check names";
      return false;
    }
    index = static_cast<std::uint32_t>(checks_.size());
    CheckTally tally;
    tally.name = group == 0 ? std::string(name) : groups_[group] + "::" + std::string(name);
    checks_.push_back(std::move(tally));
    check_index_.emplace(key_, index);
  }
  if (held)
    ++checks_[index].passes;
  else
    ++checks_[index].fails;
  return true;
}

int ScriptLoad::Impl::group_enter(Vu& vu, std::string_view name) {
  const int previous = vu.group_;
  key_ = groups_[vu.group_];
  key_.append("::").append(name);
  if (auto it = group_index_.find(std::string_view(key_)); it != group_index_.end()) {
    vu.group_ = static_cast<std::uint16_t>(it->second);
    return previous;
  }
  if (groups_.size() >= kMaxGroups) {
    error_ = "more than " + std::to_string(kMaxGroups) + " distinct groups";
    return -1;
  }
  groups_.push_back(key_);
  group_index_.emplace(key_, static_cast<std::uint32_t>(groups_.size() - 1));
  vu.group_ = static_cast<std::uint16_t>(groups_.size() - 1);
  return previous;
}

int ScriptLoad::Impl::metric_define(std::string_view name, std::string_view kind_name) {
  CustomMetricKind kind;
  if (kind_name == "counter")
    kind = CustomMetricKind::counter;
  else if (kind_name == "rate")
    kind = CustomMetricKind::rate;
  else if (kind_name == "trend")
    kind = CustomMetricKind::trend;
  else {
    error_ = "unknown metric kind '" + std::string(kind_name) + "'";
    return -1;
  }
  bool valid =
      !name.empty() && name.size() <= 128 && std::isdigit(static_cast<unsigned char>(name[0])) == 0;
  for (char c : name)
    valid = valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.');
  if (!valid) {
    error_ = "metric name '" + std::string(name) +
             "' must start with a letter and hold only letters, digits, '_' and '.'";
    return -1;
  }
  for (const char* builtin :
       {"latency", "service_time", "errors", "requests", "checks", "iterations", "script_errors"}) {
    if (name == builtin) {
      error_ = "metric name '" + std::string(name) + "' is taken by a built-in metric";
      return -1;
    }
  }
  if (auto it = metric_index_.find(name); it != metric_index_.end()) {
    if (metrics_[it->second].kind != kind) {
      error_ = "metric '" + std::string(name) + "' was already defined as a " +
               to_string(metrics_[it->second].kind);
      return -1;
    }
    return static_cast<int>(it->second);
  }
  if (metrics_.size() >= kMaxMetrics) {
    error_ = "more than " + std::to_string(kMaxMetrics) + " custom metrics";
    return -1;
  }
  CustomMetric m;
  m.name = std::string(name);
  m.kind = kind;
  metrics_.push_back(std::move(m));
  metric_index_.emplace(std::string(name), static_cast<std::uint32_t>(metrics_.size() - 1));
  return static_cast<int>(metrics_.size() - 1);
}

bool ScriptLoad::Impl::metric_add(lua_State* L, lua_Integer id) {
  if (id < 0 || static_cast<std::size_t>(id) >= metrics_.size()) {
    error_ = "no such metric";
    return false;
  }
  CustomMetric& m = metrics_[static_cast<std::size_t>(id)];
  double v = 0;
  if (lua_type(L, 2) == LUA_TBOOLEAN && m.kind == CustomMetricKind::rate) {
    v = lua_toboolean(L, 2) != 0 ? 1 : 0;
  } else if (lua_type(L, 2) == LUA_TNUMBER) {
    v = lua_tonumber(L, 2);
  } else {
    error_ = "metric '" + m.name + "': add() needs a number" +
             (m.kind == CustomMetricKind::rate ? " or a boolean" : "");
    return false;
  }
  if (!std::isfinite(v)) {
    error_ = "metric '" + m.name + "': add() needs a finite number";
    return false;
  }
  if (m.kind == CustomMetricKind::trend) {
    if (v < 0) {
      error_ = "trend '" + m.name + "': values must be 0 or more";
      return false;
    }
    m.values_milli.record(static_cast<std::int64_t>(std::llround(v * 1000.0)));
  }
  m.sum += v;
  ++m.count;
  if (v != 0) ++m.nonzero;
  return true;
}

bool ScriptLoad::Impl::load_data(lua_State* L, std::string_view path_in, bool csv) {
  // Loaded once per worker (per Lua state) and shared by every VU: cached by path.
  lua_getfield(L, LUA_REGISTRYINDEX, "strain.data");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "strain.data");
  }
  key_.assign(csv ? "csv:" : "json:").append(path_in);
  if (lua_getfield(L, -1, key_.c_str()) != LUA_TNIL) {
    lua_remove(L, -2);
    return true;
  }
  lua_pop(L, 1);
  std::filesystem::path path(path_in);
  if (path.is_relative() && !plan_.directory.empty()) path = plan_.directory / path;
  try {
    const std::string text = script::read_data_file(path.string(), kMaxDataFileBytes);
    if (csv) {
      const script::CsvTable table = script::parse_csv(text, path.string());
      if (!script::push_csv(L, table, error_)) return false;
    } else if (!script::push_json(L, text, error_)) {
      error_ = path.string() + ": " + error_;
      return false;
    }
  } catch (const std::exception& e) {
    error_ = e.what();
    return false;
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, key_.c_str());
  lua_remove(L, -2);
  return true;
}

void ScriptLoad::Impl::take_interval(RequestMetrics& total, std::vector<RequestMetrics>& series,
                                     ScriptStats& stats) {
  total = RequestMetrics();
  total.name = "total";
  series.clear();
  for (auto& rec : series_) {
    RequestMetrics m;
    rec->take_interval(m);
    if (m.responses == 0 && m.transport_errors() == 0) continue;
    total.add(m);
    series.push_back(std::move(m));
  }
  stats = ScriptStats();
  stats.iterations = std::exchange(iterations_, 0);
  stats.iterations_failed = std::exchange(iterations_failed_, 0);
  stats.iterations_interrupted = std::exchange(iterations_interrupted_, 0);
  stats.untracked_names = std::exchange(untracked_, 0);
  for (auto& c : checks_) {
    if (c.passes == 0 && c.fails == 0) continue;
    stats.checks.push_back(c);
    c.passes = c.fails = 0;
  }
  for (auto& m : metrics_) {
    if (m.count == 0) continue;
    stats.metrics.push_back(std::move(m));
    CustomMetric fresh;
    fresh.name = stats.metrics.back().name;
    fresh.kind = stats.metrics.back().kind;
    m = std::move(fresh);
  }
  stats.errors = std::move(errors_);
  errors_.clear();
}

void ScriptLoad::Impl::take_schedule(ScheduleStats& out) {
  out = ScheduleStats();
  for (auto& sc : scenarios_) {
    if (!sc->pacer) continue;
    ScheduleStats one;
    sc->pacer->take_interval(one);
    one.peak_vus = sc->peak_busy;
    out.add(one);
  }
}

// ---------------------------------------------------------------------------------------------

ScriptLoad::ScriptLoad(boost::asio::io_context& io, const ScriptPlan& plan,
                       std::uint32_t worker_index, std::uint32_t worker_count,
                       ClientFactory clients, std::function<void()> on_done)
    : impl_(std::make_unique<Impl>(io, plan, worker_index, worker_count, std::move(clients),
                                   std::move(on_done), nullptr)) {
  (void)watchdog_signal();
}

ScriptLoad::~ScriptLoad() = default;

void ScriptLoad::start(std::int64_t origin_ns) {
  impl_->start(origin_ns);
}
void ScriptLoad::stop() {
  impl_->stop();
}
void ScriptLoad::shutdown() {
  impl_->shutdown();
}

std::uint64_t ScriptLoad::in_flight() const {
  std::uint64_t n = 0;
  for (const auto& o : impl_->origins_)
    n += o.client->in_flight();
  return n;
}
std::uint64_t ScriptLoad::started() const {
  return impl_->started_;
}
std::uint64_t ScriptLoad::connects() const {
  std::uint64_t n = 0;
  for (const auto& o : impl_->origins_)
    n += o.client->connects();
  return n;
}
std::uint64_t ScriptLoad::stale_retries() const {
  std::uint64_t n = 0;
  for (const auto& o : impl_->origins_)
    n += o.client->stale_retries();
  return n;
}
std::uint32_t ScriptLoad::active_vus() const {
  std::uint32_t n = 0;
  for (const auto& sc : impl_->scenarios_)
    n += sc->busy;
  return n;
}

void ScriptLoad::take_schedule(ScheduleStats& out) {
  impl_->take_schedule(out);
}

void ScriptLoad::take_interval(RequestMetrics& total, std::vector<RequestMetrics>& series,
                               ScriptStats& stats) {
  impl_->take_interval(total, series, stats);
}

std::int64_t ScriptLoad::running_for_ns() const noexcept {
  const std::int64_t since = impl_->running_since_ns_.load(std::memory_order_relaxed);
  return since == 0 ? 0 : now_ns() - since;
}

void ScriptLoad::on_watchdog_signal() noexcept {
  Impl* impl = tls_impl;
  if (impl == nullptr) return;
  lua_State* co = impl->running_co_.load(std::memory_order_relaxed);
  const std::int64_t since = impl->running_since_ns_.load(std::memory_order_relaxed);
  if (co == nullptr || since == 0 || now_ns() - since < impl->limit_ns_) return;
  // lua_sethook is safe to call from a signal handler (Lua's own interpreter does so for
  // Ctrl-C): the running code stops at its next instruction, in watchdog_hook.
  lua_sethook(co, watchdog_hook, LUA_MASKCOUNT, 1);
}

int ScriptLoad::watchdog_signal() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = watchdog_signal_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGUSR2, &sa, nullptr);
  });
  return SIGUSR2;
}

OneShotResult ScriptLoad::run_once(const ScriptPlan& plan, std::string_view function_name,
                                   std::string_view data_json, ClientFactory clients) {
  ScriptPlan copy = plan;
  copy.setup_data_json = std::string(data_json);
  Scenario one;
  one.name = std::string(function_name);
  one.exec = std::string(function_name);
  one.executor = ExecutorKind::per_vu_iterations;
  one.vus = 1;
  one.iterations = 1;
  one.max_duration = plan.settings.setup_timeout;
  one.graceful_stop = std::chrono::nanoseconds(0);
  OneShotResult out;
  boost::asio::io_context io(1);
  {
    Impl impl(
        io, copy, 0, 1, std::move(clients), [&io] { io.stop(); }, &one);
    impl.start(0);
    io.run();
    impl.stop();
    if (impl.iterations_interrupted_ > 0 && impl.one_shot_error_.empty()) {
      impl.one_shot_error_ = std::string(function_name) + "() did not finish within " +
                             format_duration(plan.settings.setup_timeout);
    }
    std::vector<RequestMetrics> series;
    impl.take_interval(out.total, series, out.stats);
    out.series = std::move(series);
    out.ok = impl.one_shot_ok_ && impl.one_shot_error_.empty();
    out.value_json = impl.one_shot_value_;
    out.error = impl.one_shot_error_;
    impl.shutdown();
  }
  return out;
}

ClientFactory native_client_factory(NativeClientOptions options) {
  return [options](boost::asio::io_context& io, const http::Url& url) {
    const Endpoint ep = resolve_endpoint(url.host, url.port, std::chrono::milliseconds(5000));
    return std::make_unique<NativeClient>(io, ep, options);
  };
}

InspectedScript inspect_script(const ScriptPlan& plan) {
  boost::asio::io_context io(1);
  ScriptPlan bare = plan;
  bare.scenarios.clear();  // only load: no exec function is looked up yet
  ScriptLoad::Impl impl(io, bare, 0, 1, ClientFactory{}, nullptr, nullptr);
  InspectedScript out;
  out.options = read_options(impl.L_, plan.path);
  lua_State* L = impl.L_;
  lua_pushglobaltable(L);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1)) {
      out.functions.emplace_back(lua_tostring(L, -2));
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  std::sort(out.functions.begin(), out.functions.end());
  auto has = [&](const char* f) {
    return std::find(out.functions.begin(), out.functions.end(), f) != out.functions.end();
  };
  out.has_setup = has("setup");
  out.has_teardown = has("teardown");
  return out;
}

}  // namespace strain
