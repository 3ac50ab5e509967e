-- wrk script: GET <prefix><code> over the codes listed in a file, one per line.
--   wrk -tTHREADS ... -s redirects.lua URL -- CODES_FILE MODE PREFIX THREADS
-- MODE "zipf": popularity falls as 1/rank (Zipf, s = 1), as on real short links: a few
--              codes take most requests, a long tail is asked now and then.
-- MODE "once": each code in turn, never one twice (until the list runs out): every
--              request is a cache miss. With several threads each takes its own slice.
-- PREFIX: "/" for the api; "/.bench/ceiling/" sends the same requests to nginx's own 301.
-- `done` (report.lua) prints one line "WRK_JSON {...}" for bench/wrk_runs.py.

local codes, cumulative = {}, {}
local mode, prefix = "zipf", "/"
local position, stride = 1, 1
local started = 0

function setup(thread)
  thread:set("id", started) -- a global in that thread's own Lua state
  started = started + 1
end

function init(args)
  for line in io.lines(args[1]) do
    codes[#codes + 1] = line
  end
  mode = args[2]
  prefix = args[3]
  if mode == "zipf" then
    local total = 0
    for rank = 1, #codes do
      total = total + 1 / rank
      cumulative[rank] = total
    end
    for rank = 1, #codes do
      cumulative[rank] = cumulative[rank] / total
    end
  else
    -- thread i asks codes i+1, i+1+n, i+1+2n, ... (n threads): no code twice.
    position = id + 1
    stride = tonumber(args[4])
  end
  math.randomseed(1234 + id)
end

local function zipf_code()
  local u = math.random()
  local low, high = 1, #codes
  while low < high do -- the first rank whose cumulative share reaches u
    local middle = math.floor((low + high) / 2)
    if cumulative[middle] < u then low = middle + 1 else high = middle end
  end
  return codes[low]
end

local function next_code()
  local code = codes[(position - 1) % #codes + 1]
  position = position + stride
  return code
end

function request()
  local code = mode == "zipf" and zipf_code() or next_code()
  return wrk.format("GET", prefix .. code)
end

-- `done`: the report bench/wrk_runs.py reads, from report.lua beside this script.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
