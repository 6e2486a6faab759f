#!/usr/bin/env bash
# Static files: examples/site (keel::static_files with its open-file cache; misses resolved on the worker pool,
# and with --io-on-reactor on the reactor) against nginx serving the same directory in the same run: a 1 KiB page,
# 4 KiB, 64 KiB and 64 MiB files, and a 304 (If-None-Match). One server thread pinned to CPU 0 (plus keel's
# worker pool, whose CPU is counted), wrk pinned to CPU 1, servers alternating run by run; server CPU is
# utime+stime of the whole process from /proc, per request (per MB for the 64 MiB file). MB/s counts every byte
# wrk read, headers included. The load average before and after goes into the record: on a shared machine read
# the CPU column, which other processes' load disturbs less than req/s.
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
  if [[ -n $server ]]; then
    if kill "$server" 2>/dev/null; then
      wait "$server" 2>/dev/null || true
    else  # it had died: how (141 is SIGPIPE, 139 SIGSEGV)
      local status=0
      wait "$server" 2>/dev/null || status=$?
      echo "static.sh: the server had exited with status $status" >&2
    fi
  fi
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
  # (In run's command substitution this exits the subshell; the script then stops, and cleanup, in the
  # shell that started the server, reports its exit status.)
  echo "static.sh: $server_name $1" >&2
  tail -n 20 "$work/$server_name.log" "$work/error.log" >&2 2>/dev/null || true
  exit 1
}
stop_server() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=""; }
port_of() { [[ $1 == keel* ]] && echo "$keel_port" || echo "$nginx_port"; }

# run NAME URL [HEADER] -> prints "req_per_s cpu_seconds requests bytes_read seconds"
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
  # "12345 requests in 5.00s, 1.23GB read" (wrk's units are powers of 1024)
  read -r read_bytes seconds < <(awk '/requests in/ {print $5, $4}' <<<"$out" | python3 -c '
import sys
amount, secs = sys.stdin.read().split()
units = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
unit = next(u for u in sorted(units, key=len, reverse=True) if amount.endswith(u))
print(int(float(amount[: -len(unit)]) * units[unit]), secs.rstrip("s,"))')
  [[ ${read_bytes:-0} -gt 0 ]] || { echo "static.sh: $1 $2: nothing read in ${duration}s" >&2; echo "$out" >&2; exit 1; }
  echo "$rps $(python3 -c "print(($after - $before) / 100)") $requests $read_bytes $seconds"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
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

# The table: medians over the rounds with the spread (min-max) of req/s; MB/s from the bytes wrk read (the
# 64 MiB file completes few requests in a run: its req/s and CPU per request are too coarse, so its ratio and
# CPU column use MB/s and CPU per MB).
for key in "${!results[@]}"; do echo "$key ${results[$key]}"; done >"$work/results.txt"
table=$(python3 - "$work/results.txt" "$runs" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    key, rps, cpu, requests, read, secs = line.split()
    name, test, _ = key.rsplit(".", 2)
    rows.setdefault((name, test), []).append((float(rps), float(cpu), int(requests), float(read), float(secs)))
runs = sys.argv[2]
label = {"page": "1 KiB page.html", "f4k": "4 KiB file", "f64k": "64 KiB file", "f64m": "64 MiB file",
         "notmod": "304 (If-None-Match)"}
sname = {"keel": "keel (open-file cache, misses on the worker pool)", "keel-reactor": "keel --io-on-reactor",
         "nginx": "nginx 1.22 sendfile"}
med = statistics.median
print(f"| test | server | req/s (median of {runs}, min-max) | MB/s | server CPU | vs nginx |")
print("|---|---|---:|---:|---:|---:|")
for test in ["page", "f4k", "f64k", "f64m", "notmod"]:
    stats = {}
    for name in ["keel", "keel-reactor", "nginx"]:
        rs = rows[(name, test)]
        rps = [r[0] for r in rs]
        mbs = med([r[3] / r[4] / 1e6 for r in rs])
        if test == "f64m":
            cpu = med([r[1] / (r[3] / 1e6) * 1e6 for r in rs if r[3] > 0])
            cpu_text = f"{cpu:.0f} µs/MB"
            score = mbs
        else:
            cpu = med([r[1] / r[2] * 1e6 for r in rs if r[2] > 0])
            cpu_text = f"{cpu:.1f} µs/req"
            score = med(rps)
        stats[name] = (med(rps), min(rps), max(rps), mbs, cpu_text, score)
    for name in ["keel", "keel-reactor", "nginx"]:
        m, lo, hi, mbs, cpu_text, score = stats[name]
        ratio = score / stats["nginx"][5] if stats["nginx"][5] else 0
        print(f"| {label[test]} | {sname[name]} | {m:.0f} ({lo:.0f}-{hi:.0f}) | {mbs:.1f} | {cpu_text} | {ratio:.2f}x |")
PY
)

echo "$table"
if ((record)); then
  {
    echo
    echo "### Static files, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "\`$command_line\` (server thread on CPU 0, \`wrk -t1 -c$connections -d${duration}s\` on CPU 1; keel is"
    echo "\`examples/site --threads 1 --workers 1\` with keel::compress, keel::metrics and the settings layer, nginx has"
    echo "one worker). Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "$table"
  } >>"$root/benchmarks/RESULTS.md"
fi
