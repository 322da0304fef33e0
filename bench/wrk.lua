-- wrk script of bench/run.py. Each request is drawn at random from a file of prepared requests
-- (one per line: METHOD <tab> PATH <tab> BODY <tab> IF-NONE-MATCH, the last two possibly empty),
-- so reads and writes spread over many rows
-- instead of one hot one. Every response's status is counted; done() writes the counts, wrk's
-- socket errors and the latency percentiles (microseconds) as JSON to BENCH_OUT.
--
-- Environment: BENCH_REQUESTS (the file), BENCH_OUT (the JSON file), BENCH_KEY (API key; empty
-- for none).

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_number", counter)
   table.insert(threads, thread)
end

local prepared = {}
statuses = {}

function init(args)
   local key = os.getenv("BENCH_KEY") or ""
   for line in io.lines(os.getenv("BENCH_REQUESTS")) do
      local method, path, body, etag = line:match("^(%u+)\t([^\t]+)\t([^\t]*)\t(.*)$")
      local headers = {}
      if key ~= "" then
         headers["Authorization"] = "Api-Key " .. key
      end
      if etag ~= "" then
         headers["If-None-Match"] = etag
      end
      if body == "" then
         body = nil
      else
         headers["Content-Type"] = "application/json"
      end
      prepared[#prepared + 1] = wrk.format(method, path, headers, body)
   end
   math.randomseed(os.time() * 1000 + thread_number)
end

function request()
   return prepared[math.random(#prepared)]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local totals = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         totals[status] = (totals[status] or 0) + count
      end
   end
   local counts = {}
   for status, count in pairs(totals) do
      counts[#counts + 1] = string.format('"%d": %d', status, count)
   end
   local errors = summary.errors
   local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
   out:write(string.format(
      '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
      '"statuses": {%s}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.timeout,
      table.concat(counts, ", "),
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
   out:close()
end
