#!/usr/bin/env bash
# Runs keel_bench and its peers (epoll ceiling, Boost.Beast, cpp-httplib, nginx) on this machine under the same
# conditions, checks their answers, and prints one markdown table. See benchmarks/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benchmarks/compare.sh [options]
  --runs N          wrk runs per workload; the table shows medians (default 3)
  --duration S      seconds per wrk run (default 8)
  --threads T       server threads: 1 (default; server on CPU 0, wrk on CPU 1) or 2 (servers and wrk share
                    both cores, so wrk competes with the server)
  --connections C   wrk connections (default 64)
  --servers LIST    comma-separated subset of keel,epoll,beast,httplib,nginx (default: all)
  --no-build        use the binaries already in the build dir
  --no-install      never run scripts/install-deps --bench
  --no-compile-time skip timing one g++ -O2 compile per server
  --no-record       do not add the run to benchmarks/RESULTS.md (it is always in benchmarks/results/)
  --build-dir DIR   default: build-bench at the repository root
  --db              the database section instead: TechEmpower /db, /queries, /fortunes, /updates on SQLite
                    (benchmarks/db/compare_db.sh; `compare.sh --db --help` lists its options)
Exit status: 1 if any server answered a wrong status, body or Content-Type, lacked a Date header, or if wrk saw
a non-2xx response (keel also fails on socket errors or a stalled pipeline); 2 on a usage or setup error.
EOF
}

for arg in "$@"; do
  if [[ $arg == --db ]]; then exec "$(dirname "${BASH_SOURCE[0]}")/db/compare_db.sh" "$@"; fi
done

runs=3 duration=8 threads=1 connections=64 servers=keel,epoll,beast,httplib,nginx
build=1 install=1 compile_time=1 record=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$root/build-bench
command_line="benchmarks/compare.sh $*"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-install) install=0; shift ;;
    --no-compile-time) compile_time=0; shift ;;
    --no-record) record=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $threads == 1 || $threads == 2 ]] || { echo "compare.sh: --threads must be 1 or 2" >&2; exit 2; }

bench=$root/benchmarks
tool=(python3 "$bench/benchtool.py")
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out_dir=$bench/results/$stamp
mkdir -p "$out_dir"
samples=$out_dir/samples.tsv footprint=$out_dir/footprint.tsv log=$out_dir/log.txt
: >"$samples"
: >"$footprint"
failures=()
say() { echo "compare.sh: $*" | tee -a "$log" >&2; }
fail() { failures+=("$*"); say "FAIL: $*"; }
note() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$footprint"; }

# --- tools ---------------------------------------------------------------------------------------------------
PATH=$PATH:/usr/sbin:/sbin  # nginx lives in /usr/sbin, which a non-root PATH may lack
missing=()
for t in wrk nginx curl taskset python3 cmake g++ strip; do command -v "$t" >/dev/null || missing+=("$t"); done
[[ -r /usr/include/httplib.h ]] || missing+=(libcpp-httplib-dev)
if ((${#missing[@]})); then
  if ((install)); then
    say "missing ${missing[*]}: running scripts/install-deps --bench"
    "$root/scripts/install-deps" --bench
    hash -r
  else
    say "missing ${missing[*]} (run scripts/install-deps --bench)"; exit 2
  fi
fi

# --- build ---------------------------------------------------------------------------------------------------
if ((build)); then
  generator=()
  if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
  say "configuring $build_dir (Release)"
  configure=(cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_TESTS=OFF
    -DKEEL_BUILD_BENCHMARKS=ON)
  if ! "${configure[@]}" -DKEEL_BUILD_EXAMPLES=ON >>"$log" 2>&1; then
    say "WARNING: configure with the examples failed (see $log): retrying without them (no hello footprint)"
    "${configure[@]}" -DKEEL_BUILD_EXAMPLES=OFF >>"$log" 2>&1 || { say "configure failed, see $log"; tail -20 "$log" >&2; exit 2; }
  fi
  wanted=()
  for name in ${servers//,/ }; do
    case $name in
      keel) wanted+=(keel_bench hello) ;;
      epoll | beast | httplib) wanted+=("peer_$name") ;;
    esac
  done
  known=$(cmake --build "$build_dir" --target help 2>/dev/null || true)
  targets=()
  for t in "${wanted[@]}"; do grep -qE "(^|[ /])$t(:| |$)" <<<"$known" && targets+=("$t"); done
  say "building ${targets[*]} in $build_dir"
  # Targets one at a time, so a keel_bench that does not compile yet leaves the peers usable.
  for t in "${targets[@]}"; do
    cmake --build "$build_dir" --target "$t" -j2 >>"$log" 2>&1 || say "WARNING: building $t failed (see $log)"
  done
fi
bin=$build_dir/benchmarks

# --- CPUs ----------------------------------------------------------------------------------------------------
ncpu=$(nproc)
if ((threads == 1 && ncpu >= 2)); then
  server_cpus=0 client_cpus=1 wrk_threads=1
  cpu_note="server pinned to CPU 0, wrk (1 thread) pinned to CPU 1"
elif ((threads == 1)); then
  server_cpus=0 client_cpus=0 wrk_threads=1
  cpu_note="only one CPU: server and wrk share CPU 0 (figures are not comparable with 2-CPU runs)"
else
  server_cpus=0-$((ncpu > 1 ? 1 : 0)) client_cpus=$server_cpus wrk_threads=2
  cpu_note="server (2 threads) and wrk (2 threads) SHARE CPUs $server_cpus: wrk competes with the server"
fi
say "$cpu_note"

# --- servers -------------------------------------------------------------------------------------------------
# All servers stay up (idle ones sleep in epoll_wait) and the wrk runs alternate between them, so on a shared
# machine every server samples the same background load and the ratios stay fair.
port=18480
declare -A pid_of port_of pipelining_of
nginx_prefix=
stop_server() {
  local pid=${pid_of[$1]:-}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "pid_of[$1]"
}
cleanup() {
  for name in "${!pid_of[@]}"; do stop_server "$name"; done
  [[ -z $nginx_prefix ]] || rm -rf "$nginx_prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

label_of() {
  case $1 in
    keel) echo "keel (keel_bench)" ;;
    epoll) echo "minimal epoll C responder (ceiling)" ;;
    beast) echo "Boost.Beast $(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' /usr/include/boost/version.hpp | tr _ .) (async)" ;;
    httplib) echo "cpp-httplib $(sed -n 's/^#define CPPHTTPLIB_VERSION "\(.*\)"/\1/p' /usr/include/httplib.h) (64 threads)" ;;
    nginx) echo "nginx $(nginx -v 2>&1 | sed 's#.*/##') (return 200)" ;;
  esac
}

# Sets server_cmd to the command line of a server, or to nothing when it is not available.
server_command() {
  local name=$1 exe=
  server_cmd=
  case $name in
    keel) exe=$bin/keel_bench ;;
    epoll) exe=$bin/peer_epoll ;;
    beast) exe=$bin/peer_beast ;;
    httplib) exe=$bin/peer_httplib ;;
    nginx)
      [[ -z $nginx_prefix ]] || rm -rf "$nginx_prefix"
      nginx_prefix=$(mktemp -d /tmp/keel-bench-nginx.XXXXXX)
      chmod 755 "$nginx_prefix"
      local master=off
      if ((threads > 1)); then master=on; fi
      sed -e "s#@PREFIX@#$nginx_prefix#g" -e "s#@PORT@#$port#g" -e "s#@WORKERS@#$threads#g" \
        -e "s#@MASTER@#$master#g" "$bench/peers/nginx.conf.in" >"$nginx_prefix/nginx.conf"
      server_cmd="nginx -p $nginx_prefix -e $nginx_prefix/error.log -c $nginx_prefix/nginx.conf"
      return ;;
  esac
  if [[ -x $exe ]]; then server_cmd="$exe --port $port --threads $threads"; fi
}

wait_ready() {  # PID PORT
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# curl one request and check status, body, Content-Type and Date; 0 when right.
verify() {
  local name=$1 path=$2 body=$3 type=$4
  local headers=$out_dir/$name.headers got status
  got=$(curl -s --max-time 5 -D "$headers" -H 'Connection: keep-alive' "http://127.0.0.1:${port_of[$name]}$path") || {
    fail "$name $path: curl failed"; return 1; }
  status=$(head -1 "$headers" | tr -d '\r')
  local ok=1
  [[ $status == "HTTP/1.1 200"* ]] || { fail "$name $path: status line '$status'"; ok=0; }
  local shown=${got:0:60}
  [[ $got == "$body" ]] || { fail "$name $path: body '${shown//$'\n'/ }' (expected '$body')"; ok=0; }
  grep -qiE "^content-type: *$type *(;.*)?$(printf '\r')?$" "$headers" ||
    { fail "$name $path: Content-Type is not $type"; ok=0; }
  grep -qi '^date: ' "$headers" || { fail "$name $path: no Date header"; ok=0; }
  grep -qi '^server: ' "$headers" || say "note: $name sends no Server header"
  ((ok))
}

headers=(-H 'Host: localhost'
  -H 'Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
  -H 'Connection: keep-alive')

# run_wrk NAME WORKLOAD RUN: one wrk run, one sample line.
run_wrk() {
  local name=$1 workload=$2 run=$3 path=/plaintext script=$bench/lua/report.lua extra=()
  [[ $workload == json ]] && path=/json
  [[ $workload == pipelined ]] && script=$bench/lua/pipeline.lua extra=(-- 16)
  local cpu_before cpu_after output result pid=${pid_of[$name]}
  cpu_before=$("${tool[@]}" cpu "$pid")
  output=$(taskset -c "$client_cpus" wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency \
    "${headers[@]}" -s "$script" "http://127.0.0.1:${port_of[$name]}$path" "${extra[@]}" 2>&1) || true
  cpu_after=$("${tool[@]}" cpu "$pid")
  printf '## %s %s run %s\n%s\n' "$name" "$workload" "$run" "$output" >>"$log"
  result=$(grep '^WRK_RESULT' <<<"$output" || true)
  if [[ -z $result ]]; then
    fail "$name $workload: wrk printed no result (see $log)"
    return
  fi
  # shellcheck disable=SC2034 # p50_us is set by the eval below and not used
  local requests duration_us p50_us p99_us non2xx connect read write timeout
  eval "$(sed 's/^WRK_RESULT //; s/ /;/g' <<<"$result")"  # requests=...;duration_us=...
  local sockerr=$((connect + read + write + timeout))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$workload" "$run" "$requests" "$duration_us" \
    "$p99_us" "$non2xx" "$sockerr" "$((cpu_after - cpu_before))" >>"$samples"
  local rps=$((duration_us > 0 ? requests * 1000000 / duration_us : 0))
  say "  $name $workload run $run: $rps req/s, p99 ${p99_us} us, server CPU $((cpu_after - cpu_before)) us," \
    "non-2xx $non2xx, socket errors $sockerr"
  ((non2xx == 0)) || fail "$name $workload: $non2xx non-2xx responses"
  if [[ $name == keel ]] && ((sockerr > 0 || requests == 0)); then
    fail "keel $workload: $sockerr socket errors, $requests requests"
  fi
}

# start_server NAME: starts, checks and registers one server (pid_of, port_of, pipelining_of); 1 if unusable.
start_server() {
  local name=$1
  port=$((port + 1))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done  # taken by someone else
  server_command "$name"
  local cmd=$server_cmd
  if [[ -z $cmd ]]; then
    if [[ $name == keel ]]; then
      say "WARNING: $bin/keel_bench is not built: keel skipped"
    else
      say "WARNING: $name is not available: skipped"
    fi
    return 1
  fi
  note "$name" label "$(label_of "$name")"
  say "starting $name: $cmd"
  # shellcheck disable=SC2086 # the command line is ours, split on spaces on purpose
  taskset -c "$server_cpus" $cmd >>"$out_dir/$name.out" 2>&1 &
  pid_of[$name]=$!
  port_of[$name]=$port
  if ! wait_ready "${pid_of[$name]}" "$port"; then
    fail "$name did not start listening on port $port (see $out_dir/$name.out)"
    stop_server "$name"
    return 1
  fi
  sleep 0.2
  note "$name" idle_rss_kib "$("${tool[@]}" rss "${pid_of[$name]}")"
  local ok=1
  verify "$name" /plaintext 'Hello, World!' text/plain || ok=0
  verify "$name" /json '{"message":"Hello, World!"}' application/json || ok=0
  if ((!ok)); then
    stop_server "$name"
    return 1
  fi
  # A pipelined burst checked response by response: a server that stalls is marked, not benchmarked.
  pipelining_of[$name]=1
  if ! "${tool[@]}" load --port "$port" --path /plaintext --requests 64 --connections 2 --depth 16 --timeout 3 \
    --quiet 2>>"$log"; then
    pipelining_of[$name]=0
    if [[ $name == keel ]]; then fail "keel: pipelined requests not answered correctly (see $log)"; else
      say "note: $name does not answer pipelined requests correctly: its pipelined run is skipped"
      note "$name" pipelined_note "broken"
    fi
  fi
}

# --- footprint: binaries and compile times ----------------------------------------------------------------------
stripped_kib() {
  local tmp=$out_dir/stripped
  strip -o "$tmp" "$1" 2>/dev/null && echo $((($(stat -c %s "$tmp") + 1023) / 1024)) && rm -f "$tmp"
}

# time_compile NAME SOURCE ARGS...: one g++ -O2 (gcc for C) invocation, compile and link. Records the CPU
# seconds (user+sys of the compiler and linker: what it costs on a quiet machine) and the wall seconds.
time_compile() {
  local name=$1 source=$2 compiler=g++ times
  shift 2
  if [[ $source == *.c ]]; then compiler=gcc; fi
  if times=$("${tool[@]}" time -- "$compiler" -O2 "$source" -o "$out_dir/compiled-$name" "$@" 2>>"$log"); then
    note "$name" compile_s "${times#* }"
    note "$name" compile_wall_s "${times% *}"
  else
    note "$name" compile_s failed
    say "WARNING: compiling $source for the compile-time figure failed (see $log)"
  fi
  rm -f "$out_dir/compiled-$name"
}

footprint_of() {
  local name=$1 size
  case $name in
    keel)
      if [[ -x $build_dir/examples/hello ]]; then
        size=$(stripped_kib "$build_dir/examples/hello") && note keel binary_kib "$size" && note keel binary_name "(examples/hello)"
      fi
      if ((compile_time)) && [[ -f $root/examples/hello.cpp ]]; then
        time_compile keel "$root/examples/hello.cpp" -std=c++20 -I"$root/include" -DASIO_STANDALONE \
          -DASIO_NO_DEPRECATED -pthread -lsimdjson -lfmt -lssl -lcrypto -lsqlite3
        note keel compile_name "(examples/hello.cpp)"
      fi ;;
    epoll)
      [[ -x $bin/peer_epoll ]] && size=$(stripped_kib "$bin/peer_epoll") && note epoll binary_kib "$size"
      ((compile_time)) && time_compile epoll "$bench/peers/epoll_responder.c" -pthread ;;
    beast)
      [[ -x $bin/peer_beast ]] && size=$(stripped_kib "$bin/peer_beast") && note beast binary_kib "$size"
      ((compile_time)) && time_compile beast "$bench/peers/beast_server.cpp" -std=c++20 -pthread ;;
    httplib)
      [[ -x $bin/peer_httplib ]] && size=$(stripped_kib "$bin/peer_httplib") && note httplib binary_kib "$size" &&
        note httplib binary_name "+ .so"
      ((compile_time)) && time_compile httplib "$bench/peers/httplib_server.cpp" -std=c++20 -pthread -lcpp-httplib ;;
    nginx)
      size=$(stripped_kib "$(command -v nginx)") && note nginx binary_kib "$size" && note nginx binary_name "+ .so" ;;
  esac
  return 0
}

# --- run -----------------------------------------------------------------------------------------------------
host_note="$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(uname -sr), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
IFS=, read -r -a server_list <<<"$servers"
say "results and logs: $out_dir"
for name in "${server_list[@]}"; do footprint_of "$name"; done
running=()
for name in "${server_list[@]}"; do
  if start_server "$name"; then running+=("$name"); fi
done
for workload in plaintext pipelined json; do
  for run in $(seq "$runs"); do
    for name in "${running[@]}"; do
      if [[ $workload == pipelined ]] && ((!pipelining_of[$name])); then continue; fi
      run_wrk "$name" "$workload" "$run"
      if [[ $workload == plaintext ]]; then note "$name" load_rss_kib "$("${tool[@]}" rss "${pid_of[$name]}")"; fi
    done
  done
done
for name in "${running[@]}"; do stop_server "$name"; done

table=$("${tool[@]}" report --samples "$samples" --footprint "$footprint" --servers "$servers")
{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): \`$command_line\`"
  echo
  echo "Source: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- include benchmarks 2>/dev/null || echo ' plus uncommitted changes in include/ or benchmarks/')."
  echo "$cpu_note; wrk -c$connections -d${duration}s, median of $runs runs; pipelined = 16 requests per write."
  echo "Machine: $host_note, after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Server CPU = utime+stime of the server process(es) / requests."
  echo
  echo "$table"
  if ((${#failures[@]})); then
    echo
    echo "Failures:"
    printf -- '- %s\n' "${failures[@]}"
  fi
} >"$out_dir/result.md"
echo
cat "$out_dir/result.md"

results=$bench/RESULTS.md
marker='<!-- compare.sh adds runs above this line -->'
if ((record)); then
  if [[ -f $results ]] && grep -qF "$marker" "$results"; then
    python3 - "$results" "$out_dir/result.md" "$marker" <<'PY'
import sys
path, run, marker = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
text = open(path).read()
open(path, "w").write(text.replace(marker, run.rstrip("\n") + "\n\n" + marker, 1))
PY
  else
    { echo; cat "$out_dir/result.md"; } >>"$results"
  fi
  say "added to $results"
fi
if ((${#failures[@]})); then
  say "${#failures[@]} failure(s)"
  exit 1
fi
