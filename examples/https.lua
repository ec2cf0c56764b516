-- The same scenario over HTTPS/1.1 and HTTP/2: only the URL and the flags differ.
--   strain run examples/https.lua -e BASE_URL=https://127.0.0.1:8443 --cacert ca.pem
--   strain run examples/https.lua -e BASE_URL=https://127.0.0.1:8443 --cacert ca.pem --http2
-- r.timings splits each request into k6's phases (ms); custom metrics keep two of them:
--   tls_handshakes  counter  responses that paid for a TLS handshake (one per connection)
--   waiting_ms      trend    time to first byte after the request was sent
local base = env.BASE_URL or "https://127.0.0.1:8443"
local path = env.URL_PATH or "/"

local tls_handshakes = metrics.counter("tls_handshakes")
local waiting_ms = metrics.trend("waiting_ms")

options = {
  scenarios = {
    browse = {
      executor = "constant-vus",
      vus = tonumber(env.VUS) or 4,
      duration = env.DURATION or "2s",
      graceful_stop = "5s",
    },
  },
  thresholds = {
    ["checks{rate}"] = "> 0.99",
    ["errors{rate}"] = "< 1%",
    ["waiting_ms{p95}"] = "< 1000",
  },
}

function browse()
  local r = http.get(base .. path, { name = "page" })
  check(r, {
    ["status is 200"] = function(r) return r.status == 200 end,
    ["has a body"] = function(r) return #r.body > 0 end,
  })
  local t = r.timings
  if t.tls_handshaking > 0 then tls_handshakes:add(1) end
  waiting_ms:add(t.waiting)
end
