-- The open model: iterations start on a schedule, whatever the target does. A steady 50/s
-- browse beside a checkout that ramps 0 → 20/s and holds, with Poisson arrivals. When every
-- VU is busy, arrivals wait for one (their wait counts in response time); `max_vus` bounds how
-- many VUs (connections) strain adds to keep up.
-- strain run examples/open_model.lua -e BASE_URL=http://127.0.0.1:8080
local base = env.BASE_URL or "http://127.0.0.1:8080"

options = {
  scenarios = {
    browse = {
      executor = "constant-arrival-rate",
      rate = 50, time_unit = "1s", duration = "6s",
      preallocated_vus = 5, max_vus = 50,
      exec = "browse",
    },
    checkout = {
      executor = "ramping-arrival-rate",
      start_rate = 0, stages = { { "3s", 20 }, { "3s", 20 } },
      arrival = "poisson", seed = 7,
      preallocated_vus = 2, max_vus = 20,
      exec = "buy",
    },
  },
  thresholds = {
    ["latency{scenario:browse,p99}"] = "< 500ms",
    ["schedule_lag{p99}"] = "< 100ms",  -- strain kept its schedule
    ["errors{rate}"] = "< 1%",
  },
}

function setup()
  local r = http.post(base .. "/api/login", nil, {
    json = { user = "shopper", pass = "pw-shopper" }, name = "login",
  })
  if r.status ~= 200 then error("login failed: status " .. tostring(r.status)) end
  return { Authorization = "Bearer " .. r:json().token }
end

function browse(auth)
  local r = http.get(base .. "/api/products", { headers = auth, name = "products" })
  check(r, { ["products: status 200"] = function(r) return r.status == 200 end })
end

function buy(auth)
  local r = http.post(base .. "/api/cart", nil, { headers = auth, name = "new cart" })
  if not check(r, { ["cart: created"] = function(r) return r.status == 201 end }) then return end
  local cart = r:json().cart
  r = http.post(base .. "/api/cart/" .. cart .. "/items", nil,
    { json = { product = 1, qty = 1 }, headers = auth, name = "add to cart" })
  check(r, { ["cart: item added"] = function(r) return r.status == 200 end })
  r = http.post(base .. "/api/cart/" .. cart .. "/checkout", nil, { headers = auth, name = "checkout" })
  check(r, { ["order placed"] = function(r) return r.status == 200 end })
end
