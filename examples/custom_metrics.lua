-- Custom metrics: figures the script works out itself, judged by thresholds like the
-- built-in ones. Each iteration fills a cart and checks out:
--   checkout_ms  trend    how long the checkout request took (ms)
--   orders       counter  orders placed
--   cart_ok      rate     share of add-to-cart calls that worked
--
--   strain-target --port 8080 &
--   strain run examples/custom_metrics.lua -e BASE_URL=http://127.0.0.1:8080
local base = env.BASE_URL or "http://127.0.0.1:8080"

-- Declared at the top level, once per Lua state; :add() from any VU.
local checkout_ms = metrics.trend("checkout_ms")
local orders = metrics.counter("orders")
local cart_ok = metrics.rate("cart_ok")

options = {
  scenarios = {
    shop = {
      executor = "constant-vus",
      vus = tonumber(env.VUS) or 3,
      duration = env.DURATION or "2s",
      graceful_stop = "5s",
    },
  },
  thresholds = {
    ["checkout_ms{p95}"] = "< 500ms",
    ["checkout_ms{avg}"] = "< 250",
    ["orders{count}"] = "> 0",
    ["cart_ok{rate}"] = "> 0.95",
  },
}

function setup()
  local r = http.post(base .. "/api/login", nil, {
    json = { user = "metrics", pass = "pw-metrics" },
    name = "login",
  })
  if r.status ~= 200 then error("login failed: status " .. tostring(r.status)) end
  return r:json().token
end

function shop(token)
  local headers = { Authorization = "Bearer " .. token }
  local r = http.post(base .. "/api/cart", nil, { headers = headers, name = "new cart" })
  if r.status ~= 201 then return end
  local cart = r:json().cart

  local product = vu.iteration % 20 + 1
  r = http.post(base .. "/api/cart/" .. cart .. "/items", nil, {
    json = { product = product, qty = 1 },
    headers = headers,
    name = "add to cart",
  })
  cart_ok:add(r.status == 200)
  if r.status ~= 200 then return end

  r = http.post(base .. "/api/cart/" .. cart .. "/checkout", nil,
    { headers = headers, name = "checkout" })
  checkout_ms:add(r.timings.duration) -- ms, from the first byte sent to the last received
  if r.status == 200 then orders:add(1) end
end
