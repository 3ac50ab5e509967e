-- wrk script: POST /api/links, one new link (random code) per request.
--   wrk ... -s create.lua URL -- API_KEY
-- `done` (report.lua) prints one line "WRK_JSON {...}" for bench/wrk_runs.py.

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

-- `done`: the report bench/wrk_runs.py reads, from report.lua beside this script.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
