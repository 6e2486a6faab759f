#!/usr/bin/env bash
# Times one g++ -O2 compile+link (as benchmarks/compare.sh times examples/hello.cpp) of generated apps with
# N routes in one translation unit, next to hello itself. Prints "name cpu_s wall_s" lines (min of --runs).
#   benchmarks/compile/time_routes.sh [--runs R] [--compiler g++] [N...]     (default N: 10 50 100 200 500)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=1 compiler=g++
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --compiler) compiler=$2; shift 2 ;;
    *) break ;;
  esac
done
sizes=("$@")
((${#sizes[@]})) || sizes=(10 50 100 200 500)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$root/benchmarks/compile/lib.sh"

time_one hello "$root/examples/hello.cpp"
for n in "${sizes[@]}"; do
  python3 "$root/benchmarks/compile/gen_routes.py" "$n" >"$work/routes_$n.cpp"
  time_one "routes_$n" "$work/routes_$n.cpp"
done
