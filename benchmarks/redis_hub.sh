#!/usr/bin/env bash
# keel::redis_hub_backend (benchmarks/redis_hub_bench.cpp): two hubs in one process through one Redis. Builds
# redis_hub_bench in build-bench/ (Release), starts a redis-server on a free port with a temporary directory (no
# persistence), runs the bench pinned to CPU 0 (both hubs' connection threads too) with redis-server on CPU 1,
# and stops the server.
# Usage: benchmarks/redis_hub.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
if [[ ${1:-} == --runs ]]; then runs=$2; fi
source scripts/lib/build.sh
build=${KEEL_BENCH_BUILD:-build-bench}
if [[ ! -f $build/CMakeCache.txt ]]; then keel_configure "$build" gcc g++ Release; fi
cmake --build "$build" -j2 --target redis_hub_bench >/dev/null
source scripts/lib/redis.sh
keel_bench_redis_server
port=$keel_redis_port
echo "$(date -u '+%Y-%m-%d %H:%M UTC'): benchmarks/redis_hub.sh --runs $runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 0 "$build"/benchmarks/redis_hub_bench --redis-port "$port" --runs "$runs"
