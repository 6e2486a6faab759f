#!/usr/bin/env bash
# File downloads against nginx's sendfile in the same run, and the CPU cost of streamed 1 KiB chunks.
# One server thread pinned to CPU 0 (keel_bench --files, or nginx with sendfile), wrk pinned to CPU 1, the
# servers alternating run by run; server CPU is utime+stime from /proc over each run.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: benchmarks/stream.sh [options]
  --runs N         rounds, each runs every test once (default 3; the table shows medians)
  --duration S     seconds per wrk run (default 5)
  --connections C  wrk connections (default 64)
  --no-build       use build-bench/benchmarks/keel_bench as it is
  --record         also append the table to benchmarks/RESULTS.md
USAGE
}
runs=3 duration=5 connections=64 build=1 record=0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line="benchmarks/stream.sh $*"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --record) record=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "stream.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
PATH=$PATH:/usr/sbin:/sbin
for t in wrk nginx taskset python3; do command -v "$t" >/dev/null || { echo "stream.sh: $t missing: scripts/install-deps --bench" >&2; exit 2; }; done

build_dir=$root/build-bench
if ((build)); then
  [[ -f $build_dir/CMakeCache.txt ]] || cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build_dir" --target keel_bench -j2 >/dev/null
fi
bench=$build_dir/benchmarks/keel_bench

work=$(mktemp -d /tmp/keel-stream-bench.XXXXXX)
chmod 755 "$work"
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
keel_port=$(free_port)
nginx_port=$(free_port)
mkdir -p "$work/files"
head -c $((64 * 1024)) /dev/urandom >"$work/files/f64k"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$work/files/f4m"
chmod -R a+rX "$work/files"
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  client_body_temp_path $work/client_body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  server {
    listen $nginx_port backlog=4096;
    location /files/ { alias $work/files/; default_type application/octet-stream; }
  }
}
CONF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
start_server() {  # keel|nginx
  if [[ $1 == keel ]]; then
    taskset -c 0 "$bench" --host 127.0.0.1 --port "$keel_port" --threads 1 --files "$work/files" 2>/dev/null &
  else
    taskset -c 0 nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf" &
  fi
  server=$!
  local port=$nginx_port
  [[ $1 == keel ]] && port=$keel_port
  for _ in $(seq 100); do
    kill -0 "$server" 2>/dev/null || break
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "stream.sh: $1 did not start" >&2; exit 1
}
stop_server() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=""; }

# run NAME URL -> prints "req_per_s cpu_seconds requests"
run() {
  local before after out rps
  kill -0 "$server" 2>/dev/null || { echo "stream.sh: $1 is not running" >&2; exit 1; }
  before=$(cpu_ticks "$server")
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" "$2" 2>&1)
  after=$(cpu_ticks "$server")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local requests
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $(python3 -c "print(($after - $before) / 100)") $requests"
}

declare -A results
for round in $(seq "$runs"); do
  for name in keel nginx; do
    start_server "$name"
    for file in f64k f4m; do
      if [[ $name == keel ]]; then url=http://127.0.0.1:$keel_port/files/$file; else url=http://127.0.0.1:$nginx_port/files/$file; fi
      results[$name.$file.$round]=$(run "$name" "$url")
    done
    if [[ $name == keel ]]; then
      results[keel.stream.$round]=$(run keel "http://127.0.0.1:$keel_port/stream?chunks=1000&size=1024")
    fi
    stop_server
  done
done

median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
table="| test | req/s (median of $runs) | MB/s | server CPU per MiB | keel / nginx |
|---|---:|---:|---:|---:|"
for file in f64k f4m; do
  size=$([[ $file == f64k ]] && echo 65536 || echo 4194304)
  declare -A rps=() mbs=() cpu=()
  for name in keel nginx; do
    r=() c=()
    for round in $(seq "$runs"); do
      read -r q s n <<<"${results[$name.$file.$round]}"
      r+=("$q")
      c+=("$(python3 -c "print($s / ($n * $size / 1048576) * 1000)")")  # ms of CPU per MiB
    done
    rps[$name]=$(median "${r[@]}")
    mbs[$name]=$(python3 -c "print(round(${rps[$name]} * $size / 1048576, 1))")
    cpu[$name]=$(median "${c[@]}")
  done
  ratio=$(python3 -c "print(round(${rps[keel]} / ${rps[nginx]}, 2))")
  table+="
| keel /files ($file) | ${rps[keel]} | ${mbs[keel]} | $(printf '%.3f' "${cpu[keel]}") ms | ${ratio}x req/s, $(python3 -c "print(round(${cpu[keel]} / ${cpu[nginx]}, 2))")x CPU/MiB |
| nginx sendfile ($file) | ${rps[nginx]} | ${mbs[nginx]} | $(printf '%.3f' "${cpu[nginx]}") ms | |"
done
r=() c=()
for round in $(seq "$runs"); do
  read -r q s n <<<"${results[keel.stream.$round]}"
  r+=("$q")
  c+=("$(python3 -c "print($s / ($n * 1000) * 1e9)")")  # ns of CPU per chunk
done
table+="

| streamed 1 KiB chunks (/stream?chunks=1000&size=1024) | req/s | chunks/s | server CPU per chunk |
|---|---:|---:|---:|
| keel | $(median "${r[@]}") | $(python3 -c "print(round($(median "${r[@]}") * 1000))") | $(printf '%.0f' "$(median "${c[@]}")") ns |"

echo "$table"
if ((record)); then
  {
    echo
    echo "### Streaming bodies, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "\`$command_line\` (server thread on CPU 0, \`wrk -t1 -c$connections -d${duration}s\` on CPU 1):"
    echo
    echo "$table"
  } >>"$root/benchmarks/RESULTS.md"
fi
