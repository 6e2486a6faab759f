#!/usr/bin/env bash
# Hub fan-out: fanout_server (keel, every WebSocket on /sub subscribed to one keel::hub topic) and fanout_load
# (N connections, one epoll thread), a publish every 100 ms; the latency from publish to the last subscriber's
# receipt of each message (CLOCK_MONOTONIC, same machine), p50/p99 over the messages, and the server's CPU per
# publish (getrusage over the publishing window). Medians over the runs.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: benchmarks/fanout.sh [options]
  --runs N          rounds (default 3; medians are shown)
  --subscribers N   WebSocket subscribers (default 10000)
  --messages M      publishes per run (default 100, one every --interval-ms)
  --interval-ms I   default 100
  --threads T       server reactor threads (default 1)
  --build DIR       where fanout_server and fanout_load are built (default build)
USAGE
}
runs=3 subscribers=10000 messages=100 interval=100 threads=1 build=build
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --subscribers) subscribers=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --interval-ms) interval=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
cd "$root"
cmake --build "$build" --target fanout_server fanout_load >/dev/null
ulimit -n "$(ulimit -Hn)"  # each side holds one descriptor per subscriber
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p50s=() p99s=() cpus=()
for run in $(seq 1 "$runs"); do
  port=$(free_port)
  "$build/benchmarks/fanout_server" --host 127.0.0.1 --port "$port" --threads "$threads" --subscribers "$subscribers" \
    --messages "$messages" --interval-ms "$interval" >"$tmp/server.out" 2>"$tmp/server.err" &
  server=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  "$build/benchmarks/fanout_load" --port "$port" --connections "$subscribers" --messages "$messages" >"$tmp/load.out" 2>/dev/null
  wait "$server" || true
  load=$(cat "$tmp/load.out") cpu=$(cat "$tmp/server.out")
  echo "run $run: $load $cpu (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  p50s+=("$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$load")")
  p99s+=("$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$load")")
  cpus+=("$(sed -n 's/.*server_cpu_us_per_delivery=\([0-9.]*\).*/\1/p' <<<"$cpu")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
echo "subscribers=$subscribers threads=$threads interval=${interval}ms messages=$messages runs=$runs"
echo "publish-to-last-receipt p50 median $(median "${p50s[@]}") ms (runs $(range "${p50s[@]}")), p99 median $(median "${p99s[@]}") ms (runs $(range "${p99s[@]}")); server CPU $(median "${cpus[@]}") us per delivery"
