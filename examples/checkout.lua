-- A shop with two kinds of visitor, as two scenarios running side by side:
--   browsers  window-shop for a while: list the products, page through items, think, repeat;
--   buyers    each place a fixed number of orders: browse, fill a cart, check out.
-- Groups (browse, cart, checkout) label checks and requests, so the summary tells the steps
-- apart; scenario tags label every request of a scenario.
--
--   strain-target --port 8080 &
--   strain run examples/checkout.lua -e BASE_URL=http://127.0.0.1:8080
local base = env.BASE_URL or "http://127.0.0.1:8080"
local think = tonumber(env.THINK) or 0.1 -- seconds between steps, as a person would pause

options = {
  scenarios = {
    browsers = {
      executor = "constant-vus",
      exec = "browse_only",
      vus = 2,
      duration = "2s",
      graceful_stop = "5s",
      tags = { flow = "browse" },
    },
    buyers = {
      executor = "per-vu-iterations",
      exec = "buy",
      vus = 3,
      iterations = 3,
      max_duration = "20s",
      tags = { flow = "buy" },
    },
  },
  thresholds = {
    ["checks{rate}"] = "> 0.99",
    ["checks{group:checkout,rate}"] = "== 1",
    ["latency{scenario:buyers,p95}"] = "< 500ms",
    ["latency{name:checkout,p99}"] = "< 1s",
    ["errors{rate}"] = "< 1%",
  },
}

-- One login for the whole run: every VU shops with the same account.
function setup()
  local r = http.post(base .. "/api/login", nil, {
    json = { user = "shopper", pass = "pw-shopper" },
    name = "login",
  })
  if r.status ~= 200 then error("login failed: status " .. tostring(r.status)) end
  return { token = r:json().token }
end

local function auth(data)
  return { Authorization = "Bearer " .. data.token }
end

-- The product list, checked; returns it (empty when the request failed).
local function products(data)
  local r = http.get(base .. "/api/products", { headers = auth(data), name = "products" })
  check(r, {
    ["products: status 200"] = function(r) return r.status == 200 end,
    ["products: not empty"] = function(r) return #r:json().products > 0 end,
  })
  return r.status == 200 and r:json().products or {}
end

function browse_only(data)
  group("browse", function()
    products(data)
    sleep(think)
    local r = http.get(base .. "/api/items?page=1", { headers = auth(data), name = "items page" })
    check(r, { ["items page: status 200"] = function(r) return r.status == 200 end })
  end)
  sleep(think)
end

function buy(data)
  local list = group("browse", function()
    return products(data)
  end)
  if #list == 0 then return end
  sleep(think)

  -- Two different products; prices summed here to check the shop's arithmetic.
  local a = list[(vu.id + vu.iteration) % #list + 1]
  local b = list[(vu.id + vu.iteration + 7) % #list + 1]
  local expected = a.price * 2 + b.price

  local cart = group("cart", function()
    local r = http.post(base .. "/api/cart", nil, { headers = auth(data), name = "new cart" })
    if not check(r, { ["cart: created"] = function(r) return r.status == 201 end }) then
      return nil
    end
    local id = r:json().cart
    local url = base .. "/api/cart/" .. id .. "/items"
    for _, line in ipairs({ { product = a.id, qty = 2 }, { product = b.id, qty = 1 } }) do
      r = http.post(url, nil, { json = line, headers = auth(data), name = "add to cart" })
      check(r, { ["cart: item added"] = function(r) return r.status == 200 end })
    end
    return id
  end)
  if cart == nil then return end
  sleep(think)

  group("checkout", function()
    local r = http.post(base .. "/api/cart/" .. cart .. "/checkout", nil,
      { headers = auth(data), name = "checkout" })
    check(r, {
      ["order placed"] = function(r) return r.status == 200 and r:json().order ~= nil end,
      ["total is right"] = function(r) return math.abs(r:json().total - expected) < 0.005 end,
    })
  end)
end
