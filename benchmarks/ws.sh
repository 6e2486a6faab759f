#!/usr/bin/env bash
# WebSocket echo throughput against Boost.Beast: ws_bench (keel) and peer_beast_ws, one server thread pinned to
# CPU 0, the ws_load generator (64 connections, one message in flight each) pinned to CPU 1, 32-byte and
# 4 KiB binary messages, the servers alternating run by run. Reports messages/s and server CPU per message
# (utime+stime from /proc over the run), medians over the runs, and how busy ws_load was: ws_load does the same
# kernel work per message as the server (a recv and a send over loopback), so at ~1.0 it is the load generator
# that sets the rate, and the server's msg/s is a floor of what it can do. Then the idle-connection memory
# (benchmarks/ws_memory.py, 10,000 connections, and its bare-upgrade baseline).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: benchmarks/ws.sh [options]
  --runs N         rounds (default 3; medians are shown)
  --duration S     seconds per run (default 5)
  --connections C  ws_load connections (default 64)
  --no-build       use build-bench/ as it is
  --no-memory      skip the 10,000-connection memory measurement
  --record         also append the table to benchmarks/RESULTS.md
USAGE
}
runs=3 duration=5 connections=64 build=1 memory=1 record=0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line="benchmarks/ws.sh $*"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-memory) memory=0; shift ;;
    --record) record=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "ws.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for t in taskset python3; do command -v "$t" >/dev/null || { echo "ws.sh: $t missing: scripts/install-deps --bench" >&2; exit 2; }; done

build_dir=$root/build-bench
if ((build)); then
  [[ -f $build_dir/CMakeCache.txt ]] || cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build_dir" --target ws_bench peer_beast_ws ws_load -j2 >/dev/null
fi
bin=$build_dir/benchmarks
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

declare -A rate cpu busy
run_one() {  # run_one SERVER SIZE -> appends "rate cpu_us" to the arrays
  local name=$1 size=$2 port pid
  port=$(free_port)
  if [[ $name == keel ]]; then
    taskset -c 0 "$bin/ws_bench" --host 127.0.0.1 --port "$port" --threads 1 >/dev/null 2>&1 &
  else
    taskset -c 0 "$bin/peer_beast_ws" --port "$port" --threads 1 >/dev/null 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  local t0 t1 out messages r
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 "$bin/ws_load" --port "$port" --connections "$connections" --size "$size" --seconds "$duration")
  t1=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  messages=${out#*messages=}; messages=${messages%% *}
  r=${out#*rate=}; r=${r%% *}
  rate[$name/$size]+="$r "
  busy[$name/$size]+="${out#*client_busy=} "
  cpu[$name/$size]+="$(python3 -c "print(round(($t1-$t0)/$hz*1e6/max($messages,1), 2))") "
  echo "$name $size B: $out server_cpu_us_per_msg=$(echo "${cpu[$name/$size]}" | awk '{print $NF}')" >&2
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for ((i = 1; i <= runs; i++)); do
  for size in 32 4096; do
    run_one keel "$size"
    run_one beast "$size"
  done
done

spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
table="| message | keel msg/s (min-max) | Beast msg/s (min-max) | keel / Beast | keel CPU µs/msg | Beast CPU µs/msg | ws_load busy, keel / Beast runs |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for size in 32 4096; do
  k=$(echo "${rate[keel/$size]}" | median) b=$(echo "${rate[beast/$size]}" | median)
  kc=$(echo "${cpu[keel/$size]}" | median) bc=$(echo "${cpu[beast/$size]}" | median)
  label=$([[ $size == 32 ]] && echo "32 B" || echo "4 KiB")
  kb=$(echo "${busy[keel/$size]}" | median) bb=$(echo "${busy[beast/$size]}" | median)
  table+="
| $label | $k ($(echo "${rate[keel/$size]}" | spread)) | $b ($(echo "${rate[beast/$size]}" | spread)) | $(python3 -c "print(f'{$k/$b:.2f}x')") | $kc | $bc | $kb / $bb |"
done
echo "$table"

mem=""
if ((memory)); then
  ws=$(python3 "$root/benchmarks/ws_memory.py" --bench "$bin/ws_bench")
  base=$(python3 "$root/benchmarks/ws_memory.py" --bench "$bin/ws_bench" --baseline)
  echo "$ws"
  echo "$base"
  mem="
Idle connections (10,000, RSS delta / connections): $ws; $base."
fi

if ((record)); then
  {
    echo
    echo "### WebSocket echo, $(date -u +%Y-%m-%d)"
    echo
    echo "\`$command_line\` ($runs runs of ${duration}s, $connections connections, one server thread on CPU 0, ws_load on CPU 1; medians; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
    echo
    echo "$table"
    echo "$mem"
  } >>"$root/benchmarks/RESULTS.md"
fi
