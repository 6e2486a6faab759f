#!/usr/bin/env bash
# keel::cache / keel::redis throughput (benchmarks/cache_bench.cpp): builds cache_bench in build-bench/
# (Release), starts a redis-server on a free port with a temporary directory (no persistence), runs the bench
# pinned to CPU 0 with redis-server on CPU 1, and stops the server.
# Usage: benchmarks/cache.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
if [[ ${1:-} == --runs ]]; then runs=$2; fi
source scripts/lib/build.sh
build=${KEEL_BENCH_BUILD:-build-bench}
if [[ ! -f $build/CMakeCache.txt ]]; then keel_configure "$build" gcc g++ Release; fi
cmake --build "$build" -j2 --target cache_bench >/dev/null
dir=$(mktemp -d /tmp/keel-redis-bench-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
taskset -c 1 redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
  --logfile "$dir/redis.log" &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  if redis-cli -p "$port" ping >/dev/null 2>&1; then break; fi
  sleep 0.05
done
echo "$(date -u '+%Y-%m-%d %H:%M UTC'): benchmarks/cache.sh --runs $runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 0 "$build"/benchmarks/cache_bench --redis-port "$port" --runs "$runs"
