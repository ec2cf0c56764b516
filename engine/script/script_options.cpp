#include "engine/script/script_options.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <lua.hpp>
#include <map>
#include <set>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain {
namespace {

// Walks nested option tables keeping the path for messages. Only C++ code runs between the
// Lua calls here (no Lua errors are raised: lua_next and friends on plain tables), and the
// UsageError is thrown outside any Lua frame.
class Reader {
 public:
  Reader(lua_State* L, std::string script) : L_(L), script_(std::move(script)) {}

  [[noreturn]] void bad(const std::string& path, const std::string& why) const {
    throw UsageError(script_ + ": " + path + ": " + why);
  }

  // Calls fn(key) for each string key of the table at the top, with the value on top.
  template <class Fn>
  void each_field(const std::string& path, std::initializer_list<const char*> allowed, Fn fn) {
    const int t = lua_gettop(L_);
    lua_pushnil(L_);
    while (lua_next(L_, t) != 0) {
      if (lua_type(L_, -2) != LUA_TSTRING) bad(path, "keys must be names");
      std::string key = lua_tostring(L_, -2);
      bool known = allowed.size() == 0;
      for (const char* a : allowed)
        known = known || key == a;
      if (!known) {
        std::string list;
        for (const char* a : allowed)
          list += std::string(list.empty() ? "" : ", ") + a;
        bad(path + "." + key, "unknown option (known: " + list + ")");
      }
      fn(key, path + "." + key);
      lua_settop(L_, t + 1);  // the key stays for lua_next
    }
  }

  std::string string(const std::string& path) const {
    if (lua_type(L_, -1) != LUA_TSTRING) bad(path, "must be a string");
    return lua_tostring(L_, -1);
  }

  std::uint64_t integer(const std::string& path, std::uint64_t min, std::uint64_t max) const {
    int is_int = 0;
    const lua_Integer v = lua_tointegerx(L_, -1, &is_int);
    if (lua_type(L_, -1) != LUA_TNUMBER || is_int == 0 || v < static_cast<lua_Integer>(min) ||
        static_cast<std::uint64_t>(v) > max) {
      bad(path, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return static_cast<std::uint64_t>(v);
  }

  bool boolean(const std::string& path) const {
    if (lua_type(L_, -1) != LUA_TBOOLEAN) bad(path, "must be true or false");
    return lua_toboolean(L_, -1) != 0;
  }

  // "30s", "2m", or a number of seconds.
  std::chrono::nanoseconds duration(const std::string& path, bool allow_zero) const {
    std::chrono::nanoseconds d{0};
    if (lua_type(L_, -1) == LUA_TNUMBER) {
      const double s = lua_tonumber(L_, -1);
      if (!std::isfinite(s) || s < 0 || s > 1e7) bad(path, "must be a duration like \"30s\"");
      d = std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9));
    } else if (lua_type(L_, -1) == LUA_TSTRING) {
      d = parse_duration(lua_tostring(L_, -1), script_ + ": " + path);
    } else {
      bad(path, "must be a duration like \"30s\"");
    }
    if (!allow_zero && d.count() <= 0) bad(path, "must be more than zero");
    return d;
  }

  bool is_table() const { return lua_type(L_, -1) == LUA_TTABLE; }

  void require_table(const std::string& path) const {
    if (!is_table()) bad(path, "must be a table");
  }

  // A rate: a number (per time_unit) or "100/s", "6000/m".
  double rate(const std::string& path, bool allow_zero) const {
    double v = -1;
    if (lua_type(L_, -1) == LUA_TNUMBER) {
      v = lua_tonumber(L_, -1);
    } else if (lua_type(L_, -1) == LUA_TSTRING) {
      v = parse_rate(lua_tostring(L_, -1), script_ + ": " + path).per_second;
    }
    if (!std::isfinite(v) || v < 0 || v > 1e7 || (!allow_zero && v <= 0)) {
      bad(path, std::string("must be a rate ") + (allow_zero ? "from 0" : "above 0") +
                    " to 10000000 (a number per time_unit, or like \"100/s\")");
    }
    return v;
  }

  // A target: VUs (an integer) or, for arrival-rate stages, a rate.
  double stage_target(const std::string& path, bool rates) const {
    if (rates) return rate(path, true);
    return static_cast<double>(integer(path, 0, 1'000'000));
  }

  // { {"30s", 100}, {duration = "1m", target = 200} }
  std::vector<RateStage> stages(const std::string& path, bool rates) {
    require_table(path);
    std::vector<RateStage> out;
    const int t = lua_gettop(L_);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L_, t));
    if (n == 0) bad(path, "needs at least one stage");
    if (n > 1000) bad(path, "has more than 1000 stages");
    for (lua_Integer i = 1; i <= n; ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      lua_rawgeti(L_, t, i);
      require_table(p);
      RateStage st;
      lua_rawgeti(L_, -1, 1);
      if (!lua_isnil(L_, -1)) {
        st.duration = duration(p + "[1]", true);
        lua_pop(L_, 1);
        lua_rawgeti(L_, -1, 2);
        st.target_per_s = stage_target(p + "[2]", rates);
        lua_pop(L_, 1);
      } else {
        lua_pop(L_, 1);
        bool has_duration = false, has_target = false;
        each_field(p, {"duration", "target"}, [&](const std::string& key, const std::string& kp) {
          if (key == "duration") st.duration = duration(kp, true), has_duration = true;
          if (key == "target") st.target_per_s = stage_target(kp, rates), has_target = true;
        });
        if (!has_duration || !has_target) bad(p, "needs a duration and a target");
      }
      out.push_back(st);
      lua_settop(L_, t);
    }
    return out;
  }

  std::vector<Stage> vu_stages(const std::string& path) {
    std::vector<Stage> out;
    for (const RateStage& st : stages(path, false))
      out.push_back(Stage{st.duration, static_cast<std::uint32_t>(st.target_per_s)});
    return out;
  }

  Scenario scenario(const std::string& name, const std::string& path) {
    require_table(path);
    Scenario s;
    s.name = name;
    s.exec = name == "default" ? "default" : name;
    bool has_executor = false, has_vus = false, has_duration = false, has_iterations = false,
         has_stages = false, has_exec = false, has_rate = false, has_max_vus = false,
         has_preallocated = false, has_arrival_option = false, has_start_vus = false;
    std::vector<RateStage> raw_stages;
    double time_unit_s = 1.0, rate = 0, start_rate = 0;
    each_field(path,
               {"executor", "exec", "vus", "start_vus", "stages", "duration", "iterations",
                "max_duration", "start_time", "graceful_stop", "tags", "rate", "time_unit",
                "start_rate", "preallocated_vus", "max_vus", "arrival", "seed", "backlog"},
               [&](const std::string& key, const std::string& kp) {
                 if (key == "executor") {
                   const std::string e = string(kp);
                   const auto kind = executor_from_string(e);
                   if (!kind) {
                     bad(kp, "unknown executor '" + e +
                                 "' (closed model: constant-vus, ramping-vus, "
                                 "per-vu-iterations, shared-iterations; open model: "
                                 "constant-arrival-rate, ramping-arrival-rate)");
                   }
                   s.executor = *kind;
                   has_executor = true;
                 } else if (key == "exec") {
                   s.exec = string(kp), has_exec = true;
                 } else if (key == "vus") {
                   s.vus = static_cast<std::uint32_t>(integer(kp, 1, 1'000'000)), has_vus = true;
                 } else if (key == "start_vus") {
                   s.start_vus = static_cast<std::uint32_t>(integer(kp, 0, 1'000'000));
                   has_start_vus = true;
                 } else if (key == "stages") {
                   // Read as rates (a superset); VU stages are checked to be integers below.
                   raw_stages = stages(kp, true), has_stages = true;
                 } else if (key == "rate") {
                   rate = this->rate(kp, false), has_rate = true;
                 } else if (key == "start_rate") {
                   start_rate = this->rate(kp, true), has_arrival_option = true;
                 } else if (key == "time_unit") {
                   time_unit_s = static_cast<double>(duration(kp, false).count()) / 1e9;
                   has_arrival_option = true;
                 } else if (key == "preallocated_vus") {
                   s.preallocated_vus = static_cast<std::uint32_t>(integer(kp, 0, 1'000'000));
                   has_preallocated = true;
                 } else if (key == "max_vus") {
                   s.max_vus = static_cast<std::uint32_t>(integer(kp, 1, 1'000'000));
                   has_max_vus = true;
                 } else if (key == "arrival") {
                   const std::string a = string(kp);
                   if (a == "uniform")
                     s.arrival = ArrivalProcess::uniform;
                   else if (a == "poisson")
                     s.arrival = ArrivalProcess::poisson;
                   else
                     bad(kp, "'" + a + "' is not \"uniform\" or \"poisson\"");
                   has_arrival_option = true;
                 } else if (key == "seed") {
                   s.seed = integer(kp, 0, std::uint64_t{1} << 53), has_arrival_option = true;
                 } else if (key == "backlog") {
                   s.backlog_limit = integer(kp, 1, 100'000'000), has_arrival_option = true;
                 } else if (key == "duration") {
                   s.duration = duration(kp, false), has_duration = true;
                 } else if (key == "iterations") {
                   s.iterations = integer(kp, 1, std::uint64_t{1} << 50), has_iterations = true;
                 } else if (key == "max_duration") {
                   s.max_duration = duration(kp, false);
                 } else if (key == "start_time") {
                   s.start_time = duration(kp, true);
                 } else if (key == "graceful_stop") {
                   s.graceful_stop = duration(kp, true);
                 } else if (key == "tags") {
                   require_table(kp);
                   each_field(kp, {}, [&](const std::string& tag, const std::string& tp) {
                     s.tags[tag] = string(tp);
                   });
                 }
               });
    (void)has_exec;
    if (!has_executor) {
      // Like k6: stages imply a ramp, iterations a shared pool, otherwise constant VUs.
      s.executor = has_stages       ? ExecutorKind::ramping_vus
                   : has_iterations ? ExecutorKind::shared_iterations
                                    : ExecutorKind::constant_vus;
    }
    const std::string ex = std::string("executor ") + to_string(s.executor);
    const bool open = is_arrival_rate(s.executor);
    if (!open && (has_rate || has_max_vus || has_preallocated || has_arrival_option)) {
      bad(path, ex + " is a closed model: rate, start_rate, time_unit, preallocated_vus, "
                     "max_vus, arrival, seed and backlog belong to the arrival-rate executors");
    }
    if (has_stages && !open) {
      for (std::size_t i = 0; i < raw_stages.size(); ++i) {
        const double v = raw_stages[i].target_per_s;
        if (v != static_cast<double>(static_cast<std::uint32_t>(v)) || v > 1'000'000) {
          bad(path + ".stages[" + std::to_string(i + 1) + "]",
              "a VU target must be an integer from 0 to 1000000");
        }
        s.stages.push_back(Stage{raw_stages[i].duration, static_cast<std::uint32_t>(v)});
      }
    }
    if (open) {
      if (has_vus || has_start_vus || has_iterations) {
        bad(path, ex + " takes preallocated_vus and max_vus (not vus, start_vus or iterations)");
      }
      if (!has_preallocated) bad(path, ex + " needs preallocated_vus (VUs made at the start)");
      if (!has_max_vus) s.max_vus = s.preallocated_vus;
      if (s.max_vus < s.preallocated_vus) bad(path, "max_vus is below preallocated_vus");
      if (s.max_vus == 0) bad(path, ex + " needs at least one VU (max_vus)");
      s.rate_per_s = rate / time_unit_s;
      s.start_rate_per_s = start_rate / time_unit_s;
      for (RateStage& st : raw_stages)
        st.target_per_s /= time_unit_s;
      s.rate_stages = raw_stages;
      if (peak_rate_per_s(s) > 1e7) bad(path, "the rate is over 10,000,000 per second");
      s.rate_stages.clear();
    }
    switch (s.executor) {
      case ExecutorKind::constant_vus:
        if (!has_duration) bad(path, ex + " needs a duration");
        if (has_stages || has_iterations) bad(path, ex + " takes vus and duration only");
        break;
      case ExecutorKind::ramping_vus:
        if (!has_stages) bad(path, ex + " needs stages");
        if (has_vus || has_duration || has_iterations) {
          bad(path, ex + " takes start_vus and stages (not vus, duration or iterations)");
        }
        break;
      case ExecutorKind::constant_arrival_rate:
        if (!has_rate || !has_duration) bad(path, ex + " needs rate and duration");
        if (has_stages) bad(path, ex + " takes rate and duration (stages: ramping-arrival-rate)");
        break;
      case ExecutorKind::ramping_arrival_rate:
        if (!has_stages) bad(path, ex + " needs stages (targets are rates)");
        if (has_rate || has_duration) {
          bad(path, ex + " takes start_rate and stages (not rate or duration)");
        }
        s.rate_stages = raw_stages;
        if (active_length(s).count() <= 0) bad(path + ".stages", "the stages last no time");
        break;
      case ExecutorKind::per_vu_iterations:
      case ExecutorKind::shared_iterations:
        if (has_stages || has_duration) bad(path, ex + " takes vus, iterations and max_duration");
        if (!has_iterations) s.iterations = 1;
        if (s.executor == ExecutorKind::shared_iterations && s.iterations < s.vus) {
          bad(path, "shared-iterations needs at least as many iterations as vus");
        }
        break;
    }
    return s;
  }

  // options.soak = { max_growth = ..., limit = ..., warmup = "5m", sample_every = "1s" }.
  // max_growth and limit: "rss=20MiB/h,fds=10/h" or { rss = "20MiB/h", fds = "10/h" }.
  ScriptSoak soak(const std::string& path) {
    require_table(path);
    ScriptSoak out;
    each_field(path, {"max_growth", "limit", "warmup", "sample_every"},
               [&](const std::string& key, const std::string& kp) {
                 if (key == "max_growth") out.max_growth = pairs(kp);
                 if (key == "limit") out.limit = pairs(kp);
                 if (key == "warmup") out.warmup = text_or_number(kp, "like \"10%\" or \"5m\"");
                 if (key == "sample_every") out.sample_every = text_or_number(kp, "like \"1s\"");
               });
    return out;
  }

  void threshold(const std::string& key, const std::string& path, ScriptOptions& out) {
    auto add = [&](const std::string& condition, bool abort, std::chrono::nanoseconds delay) {
      try {
        ThresholdSpec spec = parse_threshold(key, condition);
        spec.abort_on_fail = abort;
        spec.delay_abort_eval = delay;
        out.thresholds.push_back(std::move(spec));
      } catch (const UsageError& e) {
        throw UsageError(script_ + ": options.thresholds: " + e.what());
      }
    };
    if (lua_type(L_, -1) == LUA_TSTRING) return add(lua_tostring(L_, -1), false, {});
    require_table(path);
    const int t = lua_gettop(L_);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L_, t));
    if (n == 0) bad(path, "must be a condition like \"< 250ms\" or a list of them");
    for (lua_Integer i = 1; i <= n; ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      lua_rawgeti(L_, t, i);
      if (lua_type(L_, -1) == LUA_TSTRING) {
        add(lua_tostring(L_, -1), false, {});
      } else {
        require_table(p);
        std::string condition;
        bool abort = false;
        std::chrono::nanoseconds delay{0};
        each_field(p, {"threshold", "abort_on_fail", "delay_abort_eval"},
                   [&](const std::string& k, const std::string& kp) {
                     if (k == "threshold") condition = string(kp);
                     if (k == "abort_on_fail") abort = boolean(kp);
                     if (k == "delay_abort_eval") delay = duration(kp, true);
                   });
        if (condition.empty()) bad(p, "needs threshold = \"< …\"");
        add(condition, abort, delay);
      }
      lua_settop(L_, t);
    }
  }

 private:
  // A string, or a table of name = string joined as "name=value,..." in name order.
  std::string pairs(const std::string& path) {
    if (lua_type(L_, -1) == LUA_TSTRING) return lua_tostring(L_, -1);
    if (!is_table()) bad(path, "must be a string like \"rss=20MiB/h\" or a table { rss = ... }");
    std::map<std::string, std::string> sorted;
    each_field(path, {},
               [&](const std::string& k, const std::string& kp) { sorted[k] = string(kp); });
    std::string joined;
    for (const auto& [k, v] : sorted)
      joined += (joined.empty() ? "" : ",") + k + "=" + v;
    if (joined.empty()) bad(path, "is empty");
    return joined;
  }

  // A string as written, or a number of seconds ("30" reads as 30 s).
  std::string text_or_number(const std::string& path, const char* like) const {
    if (lua_type(L_, -1) == LUA_TSTRING) return lua_tostring(L_, -1);
    if (lua_type(L_, -1) == LUA_TNUMBER) {
      const double v = lua_tonumber(L_, -1);
      if (std::isfinite(v) && v > 0) {
        char text[32];
        std::snprintf(text, sizeof text, "%gs", v);
        return text;
      }
    }
    bad(path, std::string("must be a string ") + like);
  }

  lua_State* L_;
  std::string script_;
};

}  // namespace

ScriptOptions read_options(lua_State* L, const std::string& script_path) {
  ScriptOptions out;
  Reader r(L, script_path);
  const int top = lua_gettop(L);
  lua_getglobal(L, "options");
  if (lua_isnil(L, -1)) {
    lua_settop(L, top);
    return out;
  }
  r.require_table("options");
  std::set<std::string> names;
  r.each_field("options",
               {"scenarios", "thresholds", "vus", "duration", "iterations", "stages", "max_names",
                "discard_response_bodies", "max_body_size", "timeout", "max_run_without_yield",
                "setup_timeout", "soak"},
               [&](const std::string& key, const std::string& path) {
                 if (key == "scenarios") {
                   r.require_table(path);
                   r.each_field(path, {}, [&](const std::string& name, const std::string& sp) {
                     out.scenarios.push_back(r.scenario(name, sp));
                   });
                   if (out.scenarios.empty()) r.bad(path, "declares no scenario");
                 } else if (key == "thresholds") {
                   r.require_table(path);
                   r.each_field(path, {}, [&](const std::string& expr, const std::string& tp) {
                     r.threshold(expr, tp, out);
                   });
                 } else if (key == "vus") {
                   out.vus = static_cast<std::uint32_t>(r.integer(path, 1, 1'000'000));
                 } else if (key == "duration") {
                   out.duration = r.duration(path, false);
                 } else if (key == "iterations") {
                   out.iterations = r.integer(path, 1, std::uint64_t{1} << 50);
                 } else if (key == "stages") {
                   out.stages = r.vu_stages(path);
                 } else if (key == "max_names") {
                   out.settings.max_names = static_cast<std::uint32_t>(r.integer(path, 1, 10'000));
                 } else if (key == "discard_response_bodies") {
                   out.settings.discard_response_bodies = r.boolean(path);
                 } else if (key == "max_body_size") {
                   const std::string text = r.string(path);
                   out.settings.max_body_bytes = parse_size_bytes(text, script_path + ": " + path);
                 } else if (key == "timeout") {
                   out.settings.request_timeout = r.duration(path, false);
                 } else if (key == "max_run_without_yield") {
                   out.settings.max_run_without_yield = r.duration(path, false);
                 } else if (key == "setup_timeout") {
                   out.settings.setup_timeout = r.duration(path, false);
                 } else if (key == "soak") {
                   out.soak = r.soak(path);
                 }
               });
  // Scenario order follows the table's iteration order, which Lua leaves unspecified: sort by
  // name so VU ids and reports are the same from run to run.
  std::sort(out.scenarios.begin(), out.scenarios.end(),
            [](const Scenario& a, const Scenario& b) { return a.name < b.name; });
  lua_settop(L, top);
  return out;
}

}  // namespace strain
