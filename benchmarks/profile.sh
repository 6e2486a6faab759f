#!/usr/bin/env bash
# Profiles one server under wrk load with perf (where the time goes, kernel included), for RESULTS.md notes on
# targets that are not met. The server runs on CPU 0, wrk on CPU 1, as in compare.sh.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benchmarks/profile.sh [--server keel|epoll|beast|httplib] [--path /plaintext|/json] [--pipelined]
                             [--duration S] [--build-dir DIR]
Writes perf.data and a perf report (top symbols, with call graphs) to benchmarks/results/profile-<date>/ and
prints the flat top of the report. Defaults: keel, /plaintext, keep-alive, 5 s.
EOF
}

server=keel path=/plaintext pipelined=0 duration=5
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$root/build-bench
while (($#)); do
  case $1 in
    --server) server=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --pipelined) pipelined=1; shift ;;
    --duration) duration=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "profile.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
declare -A target_of=([keel]=keel_bench [epoll]=peer_epoll [beast]=peer_beast [httplib]=peer_httplib)
exe=$build_dir/benchmarks/${target_of[$server]:?unknown server $server}
[[ -x $exe ]] || { echo "profile.sh: $exe is not built (benchmarks/compare.sh builds it)" >&2; exit 2; }
command -v perf >/dev/null || { echo "profile.sh: perf missing: scripts/install-deps --bench" >&2; exit 2; }

out_dir=$root/benchmarks/results/profile-$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$out_dir"
port=18680
taskset -c 0 "$exe" --port "$port" --threads 1 >"$out_dir/server.out" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

script=$root/benchmarks/lua/report.lua extra=()
((pipelined)) && script=$root/benchmarks/lua/pipeline.lua extra=(-- 16)
taskset -c 1 wrk -t1 -c64 -d"$((duration + 2))s" -H 'Host: localhost' -H 'Connection: keep-alive' \
  -s "$script" "http://127.0.0.1:$port$path" "${extra[@]}" >"$out_dir/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 1  # profile the steady state, not connection setup
perf record -F 2999 -g -p "$server_pid" -o "$out_dir/perf.data" -- sleep "$duration" >>"$out_dir/perf.log" 2>&1
wait "$wrk_pid" || true
perf report -i "$out_dir/perf.data" --stdio --no-children --percent-limit 0.5 >"$out_dir/report.txt" 2>/dev/null
perf report -i "$out_dir/perf.data" --stdio --no-children -g none --percent-limit 0.5 2>/dev/null |
  grep -v '^#' | grep -v '^$' | head -40 | tee "$out_dir/top.txt"
grep -E 'Requests/sec|WRK_RESULT' "$out_dir/wrk.txt" || true
echo "profile.sh: full report with call graphs: $out_dir/report.txt"
