-- tools/bench/requests.lua - wrk script used by tools/bench/api-bench for every phase (the
-- ceilings too, so wrk does the same work per request in each phase).
--
--   wrk -t T -c C -d S --latency -s requests.lua URL -- FILE MODE THREADS
--
-- FILE has one request per line, tab-separated: METHOD PATH TOKEN BODY (TOKEN and BODY may
-- be empty; a TOKEN is sent as "Authorization: Bearer TOKEN", a BODY as application/json).
-- In a BODY, @TOGGLE@ becomes true and false in turn, per line.
-- MODE random: each request is a random line (reads across the whole seeded set).
-- MODE cycle: wrk thread i takes lines i, i+T, i+2T, ... in order, round and round, so a
-- line is never in flight twice at once while there are more lines than connections, and
-- every @TOGGLE@ request really changes the value.
-- At the end one machine-readable line is printed:
--   BENCH requests=N duration_us=N p50_us=N p90_us=N p99_us=N max_us=N non2xx=N
--         connect=N read=N write=N timeout=N bytes=N

local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
end

local function split_tab(line)
   local out, i = {}, 1
   while true do
      local j = string.find(line, "\t", i, true)
      if not j then
         table.insert(out, string.sub(line, i))
         return out
      end
      table.insert(out, string.sub(line, i, j - 1))
      i = j + 1
   end
end

local reqs = {}      -- reqs[k] = { text } or { text_true, text_false } for toggles
local flip = {}      -- per toggle line: the next value is true when flip[k] is not true
local order = {}     -- cycle: this thread's line numbers
local cursor = 0
local mode = "random"

local function fmt(method, path, token, body)
   local h = {}
   if token ~= "" then h["Authorization"] = "Bearer " .. token end
   if body ~= "" then
      h["Content-Type"] = "application/json"
   else
      body = nil
   end
   return wrk.format(method, path, h, body)
end

function init(args)
   local file, nthreads = args[1], tonumber(args[3] or "1")
   mode = args[2] or "random"
   local f = assert(io.open(file, "r"), "cannot open " .. tostring(file))
   for line in f:lines() do
      if line ~= "" then
         local c = split_tab(line)
         local method, path, token, body = c[1], c[2], c[3] or "", c[4] or ""
         if string.find(body, "@TOGGLE@", 1, true) then
            table.insert(reqs, { fmt(method, path, token, (string.gsub(body, "@TOGGLE@", "true"))),
                                 fmt(method, path, token, (string.gsub(body, "@TOGGLE@", "false"))) })
         else
            table.insert(reqs, { fmt(method, path, token, body) })
         end
      end
   end
   f:close()
   assert(#reqs > 0, "no requests in " .. file)
   local t = tid or 0
   for k = t + 1, #reqs, nthreads do table.insert(order, k) end
   if #order == 0 then order = { 1 + t % #reqs } end
   math.randomseed(os.time() * 1000 + t * 7919)
end

function request()
   local k
   if mode == "cycle" then
      cursor = cursor % #order + 1
      k = order[cursor]
   else
      k = math.random(#reqs)
   end
   local r = reqs[k]
   if r[2] then
      local on = not flip[k]
      flip[k] = on
      return on and r[1] or r[2]
   end
   return r[1]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d " ..
      "connect=%d read=%d write=%d timeout=%d bytes=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout,
      summary.bytes))
end
