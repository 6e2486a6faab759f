# Shared by time_routes.sh and report.sh (source it): the compile flags of benchmarks/compare.sh's hello and
# time_one, which times one compiler invocation. Needs $root, $work, $runs and $compiler set by the caller.
flags=(-O2 -std=c++20 -I"$root/include" -DASIO_STANDALONE -DASIO_NO_DEPRECATED -pthread)
libs=(-lsimdjson -lfmt -lssl -lcrypto -lsqlite3)  # as compare.sh links hello
[[ $compiler == clang* ]] && flags+=(-DASIO_HAS_CO_AWAIT=1)

load_now() { cut -d' ' -f1 /proc/loadavg; }

# Runs "$@" $runs times; prints "NAME cpu_s wall_s (load L)" for the fastest run, CPU = user+sys of the
# command and its children (compiler, assembler, linker; ninja's compiles).
time_cmd() {
  local name=$1 best_cpu= best_wall= best_load= user sys wall cpu load
  shift
  for ((r = 0; r < runs; ++r)); do
    load=$(load_now)
    /usr/bin/time -o "$work/time" -f '%U %S %e' "$@" 2>"$work/err" >/dev/null ||
      { echo "$name failed:"; head -20 "$work/err"; return 1; }
    read -r user sys wall <"$work/time"
    cpu=$(echo "$user + $sys" | bc)
    if [[ -z $best_cpu ]] || (($(echo "$cpu < $best_cpu" | bc))); then
      best_cpu=$cpu best_wall=$wall best_load=$load
    fi
  done
  echo "$name $best_cpu $best_wall (load $best_load)"
}

# NAME SOURCE [extra compiler arguments]: one g++ -O2 compile and link of SOURCE (compare.sh's hello build).
time_one() {
  local name=$1 source=$2
  shift 2
  time_cmd "$name" "$compiler" "${flags[@]}" "$@" "$source" -o "$work/a.out" "${libs[@]}"
}
