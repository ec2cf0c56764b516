// The params table of http.*(url, [body,] params): headers, json, name, timeout, tags.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/transport/request_template.hpp"

struct lua_State;

namespace strain {

// What a params table asked for. Views point into Lua strings alive in the table, so they are
// valid while it is on the stack.
struct RequestParams {
  std::size_t header_count = 0;  // headers filled in the caller's array
  std::string_view name;         // params.name; empty when not given
  std::chrono::nanoseconds timeout{0};  // params.timeout; 0 when not given
  bool has_json = false;          // params.json was encoded into the caller's buffer
  bool has_content_type = false;  // a Content-Type header was given
  bool has_tags = false;          // params.tags is a table (read_tags reads it)
};

// Reads the params table at `index` of L. Headers go into `headers` (at most headers.size());
// params.json is encoded into `json` (refused when `has_body`); a timeout above `max_timeout`
// is refused. False with `error` set on anything it cannot use; raises nothing itself.
bool read_request_params(lua_State* L, int index, bool has_body, std::span<http::HeaderView> headers,
                         std::string& json, std::chrono::nanoseconds max_timeout,
                         RequestParams& out, std::string& error);

// params.tags as (name, value) pairs sorted by name. False with `error` on a non-string.
bool read_tags(lua_State* L, int params_index,
               std::vector<std::pair<std::string, std::string>>& out, std::string& error);

}  // namespace strain
