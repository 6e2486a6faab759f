#!/usr/bin/env bash
# Hub fan-out: fanout_server (keel, every WebSocket on /sub subscribed to one keel::hub topic) and fanout_load
# (N connections, one epoll thread), a publish every 100 ms; the latency from publish to the last subscriber's
# receipt of each message, p50/p99 over the messages, and the server's CPU per publish (getrusage over the
# publishing window). Medians over the runs.
#
# Receipt is the kernel's receive timestamp of the subscriber's socket (SO_TIMESTAMPNS; CLOCK_REALTIME on both
# sides, one machine): when the subscriber's TCP stack had the message, as a subscriber on another host would.
# The time fanout_load's one thread read it is shown too (read_p50/read_p99). By default the server runs one
# reactor per CPU, each pinned (--cpu-affinity auto), and fanout_load runs under SCHED_IDLE (chrt --idle 0):
# it gets a CPU only when no reactor wants it, as clients on other machines would take none of the server's.
#
# Each run also reports the packets the kernel dropped from its per-CPU input queues (/proc/net/softnet_stat).
# On loopback every segment passes through that queue (net.core.netdev_max_backlog, 1000 by default), and the
# subscribers' delayed ACKs for one publish fire as a burst of thousands: the excess is dropped, the
# server's TCP then retransmits, and a message can come a publish interval late. --netdev-backlog N (root)
# raises the limit for the runs and puts the old value back afterwards.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: benchmarks/fanout.sh [options]
  --runs N          rounds (default 3; medians are shown)
  --subscribers N   WebSocket subscribers (default 10000)
  --messages M      publishes counted per run (default 100, one every --interval-ms)
  --warmup W        publishes before them, not counted (default 20: the connections' quick-ACK start)
  --interval-ms I   default 100
  --threads T       server reactor threads (default: the CPUs this process may use)
  --no-pin          reactors not pinned (no --cpu-affinity auto)
  --client-normal   fanout_load at normal priority instead of SCHED_IDLE
  --netdev-backlog N  set net.core.netdev_max_backlog to N during the runs (root; restored after)
  --build DIR       where fanout_server and fanout_load are built (default build)
USAGE
}
runs=3 subscribers=10000 messages=100 warmup=20 interval=100 threads=$(nproc) build=build pin=1 client_idle=1 backlog=
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --subscribers) subscribers=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --interval-ms) interval=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --no-pin) pin=0; shift ;;
    --netdev-backlog) backlog=$2; shift 2 ;;
    --client-normal) client_idle=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
cd "$root"
cmake --build "$build" --target fanout_server fanout_load >/dev/null
ulimit -n "$(ulimit -Hn)"  # each side holds one descriptor per subscriber
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
tmp=$(mktemp -d)
old_backlog=$(cat /proc/sys/net/core/netdev_max_backlog)
restore() {
  [[ -n $backlog ]] && echo "$old_backlog" >/proc/sys/net/core/netdev_max_backlog
  rm -rf "$tmp"
}
trap restore EXIT
if [[ -n $backlog ]]; then
  echo "$backlog" >/proc/sys/net/core/netdev_max_backlog || { echo "fanout.sh: --netdev-backlog needs root" >&2; exit 2; }
fi
dropped() {  # the second column of each CPU's line, in hex
  local n=0 _ d _rest
  while read -r _ d _rest; do n=$((n + 16#$d)); done </proc/net/softnet_stat
  echo "$n"
}
p50s=() p99s=() rp50s=() rp99s=() cpus=()
for run in $(seq 1 "$runs"); do
  port=$(free_port)
  drops_before=$(dropped)
  affinity=off client=()
  ((pin)) && affinity=auto
  ((client_idle)) && client=(chrt --idle 0)
  "$build/benchmarks/fanout_server" --host 127.0.0.1 --port "$port" --threads "$threads" --cpu-affinity "$affinity" \
    --subscribers "$subscribers" --messages "$((warmup + messages))" --interval-ms "$interval" >"$tmp/server.out" 2>"$tmp/server.err" &
  server=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  "${client[@]}" "$build/benchmarks/fanout_load" --port "$port" --connections "$subscribers" --messages "$((warmup + messages))" --warmup "$warmup" >"$tmp/load.out" 2>"$tmp/load.err"
  wait "$server" || true
  [[ -n ${FANOUT_LOAD_EACH:-} ]] && grep "last receipt" "$tmp/load.err" | awk '{printf "%s:%s%s ", $3, $6, ($NF > 0 ? "(" $NF " late)" : "")} END {print ""}'
  load=$(cat "$tmp/load.out") cpu=$(cat "$tmp/server.out")
  echo "run $run: $load $cpu dropped_packets=$(($(dropped) - drops_before)) (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  p50s+=("$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$load")")
  p99s+=("$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$load")")
  rp50s+=("$(sed -n 's/.*read_p50_ms=\([0-9.]*\).*/\1/p' <<<"$load")")
  rp99s+=("$(sed -n 's/.*read_p99_ms=\([0-9.]*\).*/\1/p' <<<"$load")")
  cpus+=("$(sed -n 's/.*server_cpu_us_per_delivery=\([0-9.]*\).*/\1/p' <<<"$cpu")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
echo "subscribers=$subscribers threads=$threads cpu-affinity=$affinity client=${client[*]:-normal} interval=${interval}ms messages=$messages warmup=$warmup runs=$runs netdev_max_backlog=$(cat /proc/sys/net/core/netdev_max_backlog)"
echo "publish-to-last-receipt p50 median $(median "${p50s[@]}") ms (runs $(range "${p50s[@]}")), p99 median $(median "${p99s[@]}") ms (runs $(range "${p99s[@]}")); server CPU $(median "${cpus[@]}") us per delivery"
echo "publish-to-last-read p50 median $(median "${rp50s[@]}") ms (runs $(range "${rp50s[@]}")), p99 median $(median "${rp99s[@]}") ms (runs $(range "${rp99s[@]}"))"
