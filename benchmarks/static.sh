#!/usr/bin/env bash
# Static files: examples/site (keel::static_files, file lookup on the worker pool, and with --io-on-reactor)
# against nginx serving the same directory in the same run: a 1 KiB page, 4 KiB, 64 KiB and 64 MiB files, and a 304
# (If-None-Match). One server thread pinned to CPU 0 (plus keel's worker pool, whose CPU is counted), wrk
# pinned to CPU 1, servers alternating run by run; server CPU is utime+stime of the whole process from /proc.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: benchmarks/static.sh [options]
  --runs N         rounds, each runs every test once (default 3; the table shows medians)
  --duration S     seconds per wrk run (default 5)
  --connections C  wrk connections (default 64)
  --site PATH      the examples/site binary (default build/examples/site, built if missing)
  --record         also append the table to benchmarks/RESULTS.md
USAGE
}
runs=3 duration=5 connections=64 record=0 site=""
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line="benchmarks/static.sh $*"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --site) site=$2; shift 2 ;;
    --record) record=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "static.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
PATH=$PATH:/usr/sbin:/sbin
for t in wrk nginx taskset python3 curl; do command -v "$t" >/dev/null || { echo "static.sh: $t missing: scripts/install-deps --bench" >&2; exit 2; }; done
if [[ -z $site ]]; then
  site=$root/build/examples/site
  [[ -x $site ]] || cmake --build "$root/build" --target site -j2 >/dev/null
fi
[[ -x $site ]] || { echo "static.sh: no site binary at $site" >&2; exit 2; }

work=$(mktemp -d /tmp/keel-static-bench.XXXXXX)
chmod 755 "$work"
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# Two distinct free ports below the kernel's ephemeral range: a port from bind(0) comes from that range, and
# once its server stops between rounds, one of wrk's or curl's outgoing connections may take it as its local
# port, so the next server cannot bind it (or a check connects to the wrong socket).
free_ports() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
found = []
for port in random.sample(range(max(1024, low - 12000), low), 400):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        found.append(port)
    except OSError:
        pass
    finally:
        s.close()
    if len(found) == 2:
        break
print(*found)
PY
}
read -r keel_port nginx_port <<<"$(free_ports)"
[[ -n $nginx_port ]] || { echo "static.sh: no free ports" >&2; exit 1; }
mkdir -p "$work/files/assets"
python3 -c "print('<p>' + 'x' * 1010 + '</p>')" >"$work/files/page.html"
head -c $((4 * 1024)) /dev/urandom >"$work/files/assets/f4k.bin"
head -c $((64 * 1024)) /dev/urandom >"$work/files/assets/f64k.bin"
head -c $((64 * 1024 * 1024)) /dev/urandom >"$work/files/assets/f64m.bin"
chmod -R a+rX "$work/files"
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  keepalive_requests 10000000;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  etag on;
  client_body_temp_path $work/client_body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  server {
    listen $nginx_port backlog=4096;
    root $work/files;
  }
}
CONF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
server_name=""
# The server's own output goes to $work/NAME.log, shown when it fails to start or dies during a run.
start_server() {  # keel|keel-reactor|nginx
  server_name=$1
  case $1 in
    keel) taskset -c 0 "$site" --host 127.0.0.1 --port "$keel_port" --threads 1 --workers 1 --root "$work/files" >"$work/$1.log" 2>&1 & ;;
    keel-reactor) taskset -c 0 "$site" --host 127.0.0.1 --port "$keel_port" --threads 1 --workers 1 --root "$work/files" --io-on-reactor >"$work/$1.log" 2>&1 & ;;
    nginx) taskset -c 0 nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf" >"$work/$1.log" 2>&1 & ;;
  esac
  server=$!
  local port=$nginx_port
  [[ $1 == keel* ]] && port=$keel_port
  # Ready when this process answers HTTP on its port (a bare TCP connect can reach someone else's socket,
  # or a server still starting up).
  for _ in $(seq 200); do
    kill -0 "$server" 2>/dev/null || break
    if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/page.html") == 200 ]]; then
      kill -0 "$server" 2>/dev/null && return 0
    fi
    sleep 0.05
  done
  server_failed "did not start"
}
server_failed() {
  echo "static.sh: $server_name $1" >&2
  if ! kill -0 "$server" 2>/dev/null; then
    local status=0
    wait "$server" 2>/dev/null || status=$?
    echo "static.sh: $server_name exited with status $status" >&2
    server=""
  fi
  tail -n 20 "$work/$server_name.log" "$work/error.log" >&2 2>/dev/null || true
  exit 1
}
stop_server() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=""; }
port_of() { [[ $1 == keel* ]] && echo "$keel_port" || echo "$nginx_port"; }

# run NAME URL [HEADER] -> prints "req_per_s cpu_seconds requests"
run() {
  local before after out rps requests
  kill -0 "$server" 2>/dev/null || server_failed "is not running before the run on $2"
  before=$(cpu_ticks "$server")
  if [[ -n ${3:-} ]]; then
    out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" -H "$3" "$2" 2>&1)
  else
    out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" "$2" 2>&1)
  fi
  kill -0 "$server" 2>/dev/null || server_failed "died during the run on $2"
  after=$(cpu_ticks "$server")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out" && [[ -z ${3:-} ]]; then echo "static.sh: $1 $2 answered errors" >&2; exit 1; fi
  [[ ${requests:-0} -gt 0 ]] || { echo "static.sh: $1 $2: no request completed in ${duration}s" >&2; echo "$out" >&2; exit 1; }
  echo "$rps $(python3 -c "print(($after - $before) / 100)") $requests"
}

tests=(page f4k f64k f64m notmod)
declare -A results
names=(keel keel-reactor nginx)
for round in $(seq "$runs"); do
  for name in "${names[@]}"; do
    start_server "$name"
    base=http://127.0.0.1:$(port_of "$name")
    etag=$(curl -s -D - -o /dev/null "$base/page.html" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/page.html")
    [[ $code == 304 ]] || { echo "static.sh: $name answers If-None-Match with $code" >&2; exit 1; }
    results[$name.page.$round]=$(run "$name" "$base/page.html")
    results[$name.f4k.$round]=$(run "$name" "$base/assets/f4k.bin")
    results[$name.f64k.$round]=$(run "$name" "$base/assets/f64k.bin")
    results[$name.f64m.$round]=$(run "$name" "$base/assets/f64m.bin")
    results[$name.notmod.$round]=$(run "$name" "$base/page.html" "If-None-Match: $etag")
    stop_server
  done
done

median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
table="| test | server | req/s (median of $runs) | MB/s | server CPU per request | req/s vs nginx |
|---|---|---:|---:|---:|---:|"
declare -A bytes=([page]=1018 [f4k]=4096 [f64k]=65536 [f64m]=67108864 [notmod]=0)
declare -A label=([page]="1 KiB page.html" [f4k]="4 KiB file" [f64k]="64 KiB file" [f64m]="64 MiB file" [notmod]="304 (If-None-Match)")
declare -A sname=([keel]="keel, lookup on the worker pool" [keel-reactor]="keel --io-on-reactor" [nginx]="nginx 1.22 sendfile")
for t in "${tests[@]}"; do
  declare -A rps=() cpu=()
  for name in "${names[@]}"; do
    r=() c=()
    for round in $(seq "$runs"); do
      read -r q s n <<<"${results[$name.$t.$round]}"
      r+=("$q")
      c+=("$(python3 -c "print($s / $n * 1e6)")")  # µs of CPU per request
    done
    rps[$name]=$(median "${r[@]}")
    cpu[$name]=$(median "${c[@]}")
  done
  for name in "${names[@]}"; do
    ratio=$(python3 -c "print(round(${rps[$name]} / ${rps[nginx]}, 2))")
    table+="
| ${label[$t]} | ${sname[$name]} | ${rps[$name]} | $(python3 -c "print(round(${rps[$name]} * ${bytes[$t]} / 1e6, 1))") | $(printf '%.1f' "${cpu[$name]}") µs | ${ratio}x |"
  done
done

echo "$table"
if ((record)); then
  {
    echo
    echo "### Static files, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "\`$command_line\` (server thread on CPU 0, \`wrk -t1 -c$connections -d${duration}s\` on CPU 1; keel is"
    echo "\`examples/site --threads 1 --workers 1\` with keel::compress installed, nginx has one worker):"
    echo
    echo "$table"
  } >>"$root/benchmarks/RESULTS.md"
fi
