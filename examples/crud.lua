-- A CRUD round trip against strain-target's demo API: log in once in setup(), then every
-- iteration creates an item, reads it back, updates it and deletes it. Each step has its own
-- request name, so the summary's "by name" table shows create, read, update and delete apart
-- (the URLs hold item ids, which would otherwise make a series per item).
--
--   strain-target --port 8080 &
--   strain run examples/crud.lua -e BASE_URL=http://127.0.0.1:8080
--   strain run examples/crud.lua -e BASE_URL=http://127.0.0.1:8080 -c 20 -d 30s   # heavier
local base = env.BASE_URL or "http://127.0.0.1:8080"

options = {
  scenarios = {
    crud = {
      executor = "constant-vus",
      vus = tonumber(env.VUS) or 4,
      duration = env.DURATION or "2s",
      -- Iterations still running at the end get this long to finish, so every item created
      -- is also deleted.
      graceful_stop = "5s",
    },
  },
  thresholds = {
    ["checks{rate}"] = "> 0.99",
    ["latency{name:read,p95}"] = "< 500ms",
    ["errors{rate}"] = "< 1%",
  },
}

-- Runs once, before any VU starts; what it returns reaches every iteration as its argument.
function setup()
  local r = http.post(base .. "/api/login", nil, {
    json = { user = "crud-admin", pass = "pw-crud-admin" },
    name = "login",
  })
  if r.status ~= 200 then
    error("login failed: status " .. tostring(r.status) .. " " .. tostring(r.body))
  end
  return { token = r:json().token }
end

function crud(data)
  local auth = { Authorization = "Bearer " .. data.token }
  local item = { name = "widget " .. vu.id .. "-" .. vu.iteration, price = 9.5 }

  local r = http.post(base .. "/api/items", nil, { json = item, headers = auth, name = "create" })
  local created = check(r, {
    ["create: status 201"] = function(r) return r.status == 201 end,
    ["create: has an id"] = function(r) return type(r:json().id) == "number" end,
  })
  if not created then return end -- nothing to read, update or delete
  local id = r:json().id
  local url = base .. "/api/items/" .. id

  r = http.get(url, { headers = auth, name = "read" })
  check(r, {
    ["read: status 200"] = function(r) return r.status == 200 end,
    ["read: same name"] = function(r) return r:json().name == item.name end,
  })

  item.price = 12.25
  r = http.put(url, nil, { json = item, headers = auth, name = "update" })
  check(r, {
    ["update: status 200"] = function(r) return r.status == 200 end,
    ["update: new price"] = function(r) return r:json().price == 12.25 end,
  })

  r = http.delete(url, { headers = auth, name = "delete" })
  check(r, { ["delete: status 204"] = function(r) return r.status == 204 end })
end
