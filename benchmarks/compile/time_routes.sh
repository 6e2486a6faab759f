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
flags=(-O2 -std=c++20 -I"$root/include" -DASIO_STANDALONE -DASIO_NO_DEPRECATED -pthread)
libs=(-lsimdjson -lfmt -lssl -lcrypto -lsqlite3)  # as compare.sh links hello
[[ $compiler == clang* ]] && flags+=(-DASIO_HAS_CO_AWAIT=1)

time_one() {  # NAME SOURCE: the fastest of $runs compiles, CPU = user+sys of the compiler and linker
  local name=$1 source=$2 best_cpu= best_wall= user sys wall cpu
  for ((r = 0; r < runs; ++r)); do
    /usr/bin/time -o "$work/time" -f '%U %S %e' "$compiler" "${flags[@]}" "$source" -o "$work/a.out" \
      "${libs[@]}" 2>"$work/err" >/dev/null || { echo "$name failed:"; head -20 "$work/err"; return 1; }
    read -r user sys wall <"$work/time"
    cpu=$(echo "$user + $sys" | bc)
    if [[ -z $best_cpu ]] || (($(echo "$cpu < $best_cpu" | bc))); then best_cpu=$cpu best_wall=$wall; fi
  done
  echo "$name $best_cpu $best_wall (load $(cut -d' ' -f1 /proc/loadavg))"
}

time_one hello "$root/examples/hello.cpp"
for n in "${sizes[@]}"; do
  python3 "$root/benchmarks/compile/gen_routes.py" "$n" >"$work/routes_$n.cpp"
  time_one "routes_$n" "$work/routes_$n.cpp"
done
