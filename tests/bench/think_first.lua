-- VUs that sleep in think time before their first request: what an idle VU costs in memory.
local vus = tonumber(env.VUS or "1000")
options = {
  scenarios = {
    idle = { executor = "constant-vus", vus = vus, duration = env.DURATION or "4s",
             graceful_stop = "0s", exec = "think_first" },
  },
}

function think_first()
  sleep(3600)
  http.get((env.BASE_URL or "http://127.0.0.1:8080") .. "/")
end
