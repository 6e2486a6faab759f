-- wrk script: sends `depth` requests per write (default 16), as TechEmpower's plaintext test does, and prints
-- one machine-readable result line for benchmarks/compare.sh.
-- Usage: wrk -s benchmarks/lua/pipeline.lua http://127.0.0.1:8080/plaintext -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format()
  end
  pipelined_requests = table.concat(batch)
end

request = function()
  return pipelined_requests
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
