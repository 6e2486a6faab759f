#!/usr/bin/env bash
# JWT and password-hashing benchmarks: keel's jwt_bench (Google Benchmark, Release build in build-bench/) and
# jose's numbers for the same claims on this machine's Node (jose from tests/jose/package.json, installed into
# build-bench/jose-node). Usage: benchmarks/jwt.sh [extra jwt_bench flags, e.g. --benchmark_filter=verify]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-bench"
source "$root/scripts/lib/build.sh"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  keel_configure build-bench gcc g++ Release -DKEEL_BUILD_TESTS=OFF -DKEEL_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --target jwt_bench -j "${KEEL_JOBS:-2}"

echo "== keel (jwt_bench), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(openssl version)"
"$build/benchmarks/jwt_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"

node_dir="$build/jose-node"
mkdir -p "$node_dir"
if ! cmp -s "$root/tests/jose/package.json" "$node_dir/package.json" || [[ ! -d "$node_dir/node_modules/jose" ]]; then
  cp "$root/tests/jose/package.json" "$node_dir/package.json"
  (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error)
fi
cp "$root/benchmarks/jwt_jose_bench.mjs" "$node_dir/"
echo "== jose"
node "$node_dir/jwt_jose_bench.mjs"
