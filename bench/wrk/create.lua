-- wrk script: POST /api/links, one new link (random code) per request.
--   wrk ... -s create.lua URL -- API_KEY
-- `done` prints one line "WRK_JSON {...}" for bench/run.py (the same fields as redirects.lua).

local counter = 0
local started = 0
local headers = {}

function setup(thread)
  thread:set("id", started) -- a global in that thread's own Lua state
  started = started + 1
end

function init(args)
  headers["Authorization"] = "Bearer " .. args[1]
  headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format('{"url":"https://example.org/bench/%d/%d"}', id, counter)
  return wrk.format("POST", "/api/links", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
