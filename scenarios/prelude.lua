-- strain's Lua half of the scripting API, run in every Lua state before the user's script.
-- The C++ half (engine/script) provides `core`; this file builds the friendly names on it.
-- Kept small on purpose: everything here runs inside VU coroutines, so it must stay yieldable.

local core = ...
local pairs, type, pcall, setmetatable = pairs, type, pcall, setmetatable

-- http.get, head, options, delete, post, put and patch are C functions the engine adds to this
-- table after the prelude has run (one call less per request than a Lua wrapper).
http = {}

-- http.request(method, url [, body] [, params]); a table as third argument is params.
local request = core.request
function http.request(method, url, body, params)
  if type(body) == "table" and params == nil then body, params = nil, body end
  return request(method, url, body, params)
end

sleep = core.sleep

-- check(value, { ["name"] = function(value) return ... end, ... }) → true when all hold.
-- A check that raises an error counts as failed; the error does not end the iteration.
local record_check = core.record_check
function check(value, checks)
  local all = true
  for name, fn in pairs(checks) do
    local ok, held = pcall(fn, value)
    held = ok and held and true or false
    record_check(name, held)
    if not held then all = false end
  end
  return all
end

-- group(name, fn): checks and requests inside carry the group path ("::outer::inner").
-- The group is left by a to-be-closed variable, so an error in fn that the script catches
-- with pcall does not leave the VU inside the group (and no pcall here cuts the traceback).
local group_leave = core.group_leave
local GroupExit = { __close = function(self) group_leave(self[1]) end }
function group(name, fn)
  local exit <close> = setmetatable({ core.group_enter(name) }, GroupExit)
  return fn()
end

-- Custom metrics: metrics.counter/rate/trend(name) → an object with :add(value).
local metric_add = core.metric_add
local Metric = {}
Metric.__index = Metric
function Metric:add(value) metric_add(self.id, value) end
metrics = {}
for _, kind in pairs({ "counter", "rate", "trend" }) do
  metrics[kind] = function(name)
    return setmetatable({ id = core.metric_define(name, kind), name = name }, Metric)
  end
end

json = { encode = core.json_encode, decode = core.json_decode, null = core.json_null }
data = { csv = core.data_csv, json = core.data_json }
vu = core.vu
env = core.env
