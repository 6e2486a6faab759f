#!/usr/bin/env bash
# keel::auth::rate_limit: requests/s through one route without a limit, over a memory_rate_store and over a
# keel::redis::rate_store (benchmarks/rate_limit_server.cpp; the budget never runs out, one hot key).
# rate_limit_server (one thread) pinned to CPU 0, wrk and redis-server pinned to CPU 1; the three routes
# alternate run by run; medians and min-max of the runs. Server CPU per request is utime+stime of the server
# process / requests wrk completed (redis-server's own CPU, on CPU 1, is not in it).
# Usage: benchmarks/rate_limit.sh [--runs N] [--duration S] [--connections C] [--build DIR]
set -euo pipefail
runs=5 duration=5 connections=64 build=""
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line="benchmarks/rate_limit.sh $*"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "rate_limit.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for t in wrk taskset python3 curl redis-server redis-cli; do
  command -v "$t" >/dev/null || { echo "rate_limit.sh: $t missing: scripts/install-deps --bench" >&2; exit 2; }
done
source "$root/scripts/lib/build.sh"
if [[ -z $build ]]; then
  build=$root/build-bench
  [[ -f $build/CMakeCache.txt ]] || keel_configure "$build" gcc g++ Release >/dev/null
fi
cmake --build "$build" --target rate_limit_server -j2 >/dev/null
source "$root/scripts/lib/redis.sh"
keel_bench_redis_server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEEL_BENCH_REDIS_PORT=$keel_redis_port taskset -c 0 "$build/benchmarks/rate_limit_server" \
  --host 127.0.0.1 --port "$port" --threads 1 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; kill $keel_redis_pid 2>/dev/null; wait $keel_redis_pid 2>/dev/null; rm -rf "$keel_redis_dir"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/none/x" >/dev/null && break; sleep 0.05; done
for route in memory redis; do  # the limiter answers (and Redis is reached) before measuring
  headers=$(curl -sf -D - -o /dev/null -H 'X-API-Key: bench' "http://127.0.0.1:$port/$route/x")
  # A bucket was taken from (a store that fails open answers the whole limit, 1000000000, as remaining).
  grep -qi '^RateLimit-Remaining: 999999999' <<<"$headers" || { echo "rate_limit.sh: /$route/x is not limited" >&2; exit 1; }
done

echo "$(date -u '+%Y-%m-%d %H:%M UTC'): $command_line; load average before $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A results cpu
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }  # utime + stime of the server process
for ((r = 1; r <= runs; r++)); do
  for route in none memory redis; do
    before=$(cpu_ticks)
    out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -H 'X-API-Key: bench' "http://127.0.0.1:$port/$route/x")
    after=$(cpu_ticks)
    if grep -q 'Non-2xx' <<<"$out"; then echo "rate_limit.sh: /$route/x answered non-2xx" >&2; exit 1; fi
    rps=$(awk '/^Requests\/sec/ {printf "%d", $2}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    results[$route]+="$rps "
    cpu[$route]+="$(python3 -c "print(round(($after - $before) / $(getconf CLK_TCK) * 1e6 / $requests, 2))") "
  done
done
echo "load average after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| store | req/s median | min - max | server CPU µs/req median | min - max |"
echo "|---|---:|---:|---:|---:|"
for route in none memory redis; do
  python3 - "$route" "${results[$route]}" "${cpu[$route]}" <<'PY'
import statistics, sys
name = {"none": "no limit", "memory": "memory_rate_store", "redis": "redis::rate_store"}[sys.argv[1]]
v = [int(x) for x in sys.argv[2].split()]
c = [float(x) for x in sys.argv[3].split()]
print(f"| {name} | {int(statistics.median(v)):,} | {min(v):,} - {max(v):,} | {statistics.median(c):.1f} | "
      f"{min(c):.1f} - {max(c):.1f} |")
PY
done
