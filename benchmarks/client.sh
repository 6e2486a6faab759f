#!/usr/bin/env bash
# HTTP client throughput against nginx on one core: keel's client_bench and curl, in the same run.
# nginx (benchmarks/peers/nginx.conf.in, one worker) is pinned to CPU 0, the clients to CPU 1. Each client
# makes REQUESTS GETs of /plaintext over kept-alive connections:
#   keel-1   client_bench, one coroutine (one connection, requests one after another)
#   curl-1   one curl process given the URL REQUESTS times (it reuses its connection)
#   keel-16  client_bench, 16 coroutines (16 connections)
#   curl-16  curl --parallel --parallel-max 16 over the same URL list
# Reports requests/s per client, medians over the runs with the min..max spread. Clients alternate run by run.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: benchmarks/client.sh [options]
  --runs N        rounds (default 3)
  --requests N    requests per client run (default 20000)
  --build-dir D   where client_bench is built (default: build-bench; built there unless --no-build)
  --no-build      use the client_bench already built
  --no-pin        no taskset: nginx and the client share both cores (on a loaded machine, pinning each to one
                  busy core measures the scheduler more than the clients)
  --record        also append the table to benchmarks/RESULTS.md
USAGE
}
runs=3 requests=20000 build=1 record=0 pin=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$root/build-bench
command_line="benchmarks/client.sh $*"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --record) record=1; shift ;;
    --no-pin) pin=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
PATH=$PATH:/usr/sbin:/sbin
server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
if ((!pin)); then server_cpu=() client_cpu=(); fi
for t in nginx curl taskset python3; do
  command -v "$t" >/dev/null || { echo "client.sh: $t is missing (scripts/install-deps --bench)" >&2; exit 2; }
done
if ((build)); then
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    (source "$root/scripts/lib/build.sh" && keel_configure "$build_dir" gcc g++ Release)
  fi
  cmake --build "$build_dir" --target client_bench -j2 >/dev/null
fi
bench=$build_dir/benchmarks/client_bench
[[ -x $bench ]] || { echo "client.sh: $bench not built" >&2; exit 2; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
sed -e "s#@PREFIX@#$work#g" -e "s#@PORT@#$port#g" -e "s#@WORKERS@#1#g" -e "s#@MASTER@#off#g" \
  "$root/benchmarks/peers/nginx.conf.in" >"$work/nginx.conf"
"${server_cpu[@]}" nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
url=http://127.0.0.1:$port/plaintext
[[ $(curl -s "$url") == "Hello, World!" ]] || { echo "client.sh: nginx did not answer" >&2; exit 1; }

# curl's URL list: one "url = ..." line per request, read with -K
for ((i = 0; i < requests; i++)); do echo "url = \"$url\""; echo "output = \"/dev/null\""; done >"$work/urls.cfg"

declare -A results
run_curl() {  # PARALLEL (0: sequential)
  local start end extra=()
  (($1 > 0)) && extra=(--parallel --parallel-max "$1")
  start=$(date +%s.%N)
  "${client_cpu[@]}" curl -s --no-progress-meter --fail "${extra[@]}" -K "$work/urls.cfg" 2>/dev/null
  end=$(date +%s.%N)
  python3 -c "print(round($requests / ($end - $start)))"
}
run_keel() {  # CONCURRENCY
  "${client_cpu[@]}" "$bench" "$url" "$requests" "$1" 13 | sed -n 's/.*rps=\([0-9]*\).*/\1/p'
}
for ((r = 1; r <= runs; r++)); do
  results[keel-1]+="$(run_keel 1) "
  results[curl-1]+="$(run_curl 0) "
  results[keel-16]+="$(run_keel 16) "
  results[curl-16]+="$(run_curl 16) "
done

table=$(
  echo "| client | requests/s (median) | min..max | runs |"
  echo "|---|---:|---|---:|"
  for name in keel-1 curl-1 keel-16 curl-16; do
    python3 - "$name" ${results[$name]} <<'PY'
import statistics, sys
name, values = sys.argv[1], [int(v) for v in sys.argv[2:]]
print(f"| {name} | {int(statistics.median(values)):,} | {min(values):,}..{max(values):,} | {len(values)} |")
PY
  done
)
echo "$table"
if ((record)); then
  {
    echo
    echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): \`$command_line\`"
    echo
    placement="nginx (one worker) on CPU 0, the client on CPU 1"
    ((pin)) || placement="nginx (one worker) and the client unpinned, sharing both CPUs"
    echo "$placement; $requests GETs of /plaintext per run; $(nproc) CPUs; load average at the end: $(cut -d" " -f1-3 /proc/loadavg)."
    echo
    echo "$table"
  } >>"$root/benchmarks/RESULTS.md"
fi
