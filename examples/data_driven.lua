-- Data-driven logins: every iteration logs in as a user from users.csv (next to this
-- script), then fetches the product list with the token it got back. The file is read once
-- per worker thread when the script loads, and shared by all the VUs of that worker.
--
--   strain-target --port 8080 &
--   strain run examples/data_driven.lua -e BASE_URL=http://127.0.0.1:8080
local base = env.BASE_URL or "http://127.0.0.1:8080"

-- { {user = "alice", pass = "pw-alice"}, ... }: one table per row, keyed by the header.
local users = data.csv("users.csv")

options = {
  scenarios = {
    logins = {
      executor = "constant-vus",
      vus = tonumber(env.VUS) or 4,
      duration = env.DURATION or "2s",
      graceful_stop = "5s",
    },
  },
  thresholds = {
    ["checks{rate}"] = "> 0.99",
    ["latency{name:login,p95}"] = "< 500ms",
    ["errors{rate}"] = "< 1%",
  },
}

function logins()
  -- Walk the rows so that VUs start on different users and each moves on every iteration.
  local row = users[(vu.id + vu.iteration) % #users + 1]

  local r = http.post(base .. "/api/login", nil, {
    json = { user = row.user, pass = row.pass },
    name = "login",
    tags = { flow = "login" },
  })
  local ok = check(r, {
    ["login: status 200"] = function(r) return r.status == 200 end,
    ["login: token present"] = function(r)
      local t = r:json().token
      return type(t) == "string" and #t > 0
    end,
    ["login: as the right user"] = function(r) return r:json().user == row.user end,
  })
  if not ok then return end

  r = http.get(base .. "/api/products", {
    headers = { Authorization = "Bearer " .. r:json().token },
    name = "products",
  })
  check(r, {
    ["products: status 200"] = function(r) return r.status == 200 end,
    ["products: 20 of them"] = function(r) return #r:json().products == 20 end,
  })
end
