// http.*(): from the script's URL and params to a request on the VU's session, and sleep().
#include <algorithm>
#include <lua.hpp>
#include <span>

#include "engine/core/clock.hpp"
#include "engine/script/lua_vu.hpp"
#include "engine/script/request_params.hpp"
#include "engine/script/script_context.hpp"

namespace strain {
namespace {

// Where a URL's parts start: "scheme://host:port" ends at `path`, the default series name at
// `query` (the first '?' or '#'). One pass: find_first_of calls memchr once per character.
struct UrlCuts {
  std::size_t path = 0;
  std::size_t query = 0;
};

bool cut_url(std::string_view url, UrlCuts& cuts, std::string& error) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    error = "'" + std::string(url) + "' is not an absolute http:// or https:// URL";
    return false;
  }
  std::size_t i = scheme_end + 3;
  while (i < url.size() && url[i] != '/' && url[i] != '?' && url[i] != '#')
    ++i;
  cuts.path = i;
  while (i < url.size() && url[i] != '?' && url[i] != '#')
    ++i;
  cuts.query = i;
  return true;
}

// The series key: scenario, group, sorted tags, then the name. Built in `key` (no allocation
// once warm); `tags_out` is filled only when the caller will make a new series.
void series_key(const LuaVu& vu, const std::vector<std::pair<std::string, std::string>>& tags,
                std::string_view name, std::string& key) {
  const std::uint32_t scenario = vu.scenario().index;
  key.clear();
  key += static_cast<char>('a' + scenario % 26);
  key += static_cast<char>(scenario / 26);
  key += static_cast<char>(vu.group & 0xff);
  key += static_cast<char>(vu.group >> 8);
  for (const auto& [k, v] : tags)
    key.append(k).append("=").append(v).append(";");
  key += '\0';
  key.append(name);
}

}  // namespace

int ScriptContext::http_request(lua_State* co, std::string_view method, int url_index,
                                int body_index, int params_index) {
  LuaVu* vu = running_vu(co, *this, "http requests");
  const std::string_view url = luaL_checkstring(co, url_index);
  std::string_view body;
  if (body_index != 0 && !lua_isnoneornil(co, body_index)) {
    if (lua_type(co, body_index) != LUA_TSTRING) {
      return raise_error(co, 1,
                         "the request body must be a string (for JSON, pass params.json = {...})");
    }
    std::size_t len = 0;
    const char* b = lua_tolstring(co, body_index, &len);
    body = std::string_view(b, len);
  }
  const bool has_params = !lua_isnoneornil(co, params_index);
  if (has_params) luaL_checktype(co, params_index, LUA_TTABLE);

  // Origin: "http://host:port" up to the path. A new one is parsed and resolved once.
  UrlCuts cuts;
  if (!cut_url(url, cuts, error)) return raise_error(co, 1, error);
  const auto origin = origins.find_or_add(url, cuts.path, error);
  if (!origin) return raise_error(co, 1, error);
  std::string_view request_target = url.substr(cuts.path);
  if (const auto hash = request_target.find('#'); hash != std::string_view::npos)
    request_target = request_target.substr(0, hash);
  for (char c : request_target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      error = "URL '" + std::string(url) + "' has a space or control character (encode it)";
      return raise_error(co, 1, error);
    }
  }
  if (request_target.empty() || request_target.front() == '?') {
    // "http://h" and "http://h?q" ask for "/" and "/?q".
    target.assign("/").append(request_target);
    request_target = target;
  }

  RequestParams params;
  if (has_params &&
      !read_request_params(co, params_index, !body.empty(), std::span(headers.data(), kMaxHeaders),
                           scratch, plan.settings.request_timeout, params, error)) {
    return raise_error(co, 1, error);
  }
  std::size_t header_count = params.header_count;
  if (params.has_json) {
    body = scratch;
    if (!params.has_content_type)
      headers[header_count++] = http::HeaderView{"Content-Type", "application/json"};
  }
  http::RequestView view;
  if (!http::build_request(
          vu->request_buffer(), method, request_target, origins.host_header(*origin),
          std::span<const http::HeaderView>(headers.data(), header_count), body, view, error)) {
    return raise_error(co, 1, error);
  }

  // Series: scenario, group, tags and name.
  const std::string_view name = params.name.empty() ? url.substr(0, cuts.query) : params.name;
  tags.clear();
  if (params.has_tags && !read_tags(co, params_index, tags, error))
    return raise_error(co, 1, error);
  series_key(*vu, tags, name, key);
  std::uint32_t series_index = 0;
  if (vu->last_series != UINT32_MAX && vu->last_key == key) {
    series_index = vu->last_series;  // a VU mostly repeats its requests: skip the hash lookup
  } else if (const auto found = series.find(key)) {
    series_index = *found;
  } else {
    std::map<std::string, std::string> all_tags(tags.begin(), tags.end());
    const Scenario& s = *vu->scenario().scenario;
    for (const auto& [k, v] : s.tags)
      all_tags.emplace(k, v);
    all_tags["scenario"] = s.name;
    if (vu->group != 0) all_tags["group"] = tallies.group_path(vu->group);
    series_index = series.add(key, std::string(name), std::move(all_tags));
  }
  if (!series.is_other(series_index)) {
    vu->last_key = key;
    vu->last_series = series_index;
  }

  vu->start_request(*origin, series_index, view, params.timeout);
  return lua_yield(co, 0);
}

int ScriptContext::sleep(lua_State* co) {
  LuaVu* vu = running_vu(co, *this, "sleep()");
  const double seconds = luaL_checknumber(co, 1);
  if (!(seconds >= 0 && seconds <= 1e7))
    return raise_error(co, 1, "sleep(): seconds must be 0 or more");
  vu->start_sleep(now_ns() + static_cast<std::int64_t>(seconds * 1e9));
  return lua_yield(co, 0);
}

}  // namespace strain
