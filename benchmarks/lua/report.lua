-- wrk script for the keep-alive runs: defines no request(), so wrk keeps its fast static request, and prints
-- one machine-readable result line for benchmarks/compare.sh (same format as pipeline.lua).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
