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
source scripts/lib/redis.sh
keel_bench_redis_server
port=$keel_redis_port
echo "$(date -u '+%Y-%m-%d %H:%M UTC'): benchmarks/cache.sh --runs $runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 0 "$build"/benchmarks/cache_bench --redis-port "$port" --runs "$runs"
