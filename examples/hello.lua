-- The smallest useful scenario: one GET and one status check per iteration.
-- strain run examples/hello.lua -e BASE_URL=http://127.0.0.1:8080 -c 50 -d 10s
local url = (env.BASE_URL or "http://127.0.0.1:8080") .. "/"

function default()
  local r = http.get(url)
  check(r, { ["status is 200"] = function(r) return r.status == 200 end })
end
