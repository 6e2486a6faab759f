#!/usr/bin/env bash
# The database section of benchmarks/compare.sh (`compare.sh --db`): the TechEmpower /db, /queries, /fortunes
# and /updates tests on keel_bench_db over a freshly seeded SQLite file, pinned like the HTTP section, with every
# answer checked, next to lithium's and Drogon's figures from the same kind of machine (not installed here).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benchmarks/compare.sh --db [options]     (or benchmarks/db/compare_db.sh [options])
  --runs N          wrk runs per test; the table shows medians (default 3)
  --duration S      seconds per wrk run (default 8)
  --connections C   wrk connections (default 64)
  --server-args A   extra keel_bench_db flags, e.g. "--journal DELETE --synchronous FULL" or
                    "--batch-reads off" (default: keel's connection defaults)
  --tests LIST      comma-separated subset of db,queries,fortunes,updates (default: all)
  --no-ceiling      skip the calibration runs of the minimal epoll C responder (benchmarks/peers)
  --no-build        use the keel_bench_db already in the build dir
  --build-dir DIR   default: build-bench at the repository root
The result goes to benchmarks/results/<time>-db/result.md and stdout; copy it into RESULTS.md "## Database".
Calibration: each round also runs wrk against the minimal epoll C responder (the syscall ceiling) on the same
CPUs, so the lithium/Drogon figures, measured on another machine of this kind (where that ceiling cost 8.3 µs a
request), can be scaled to this machine's speed in the same minutes: the table shows both the raw and the scaled
ratios.
Exit status: 1 if an answer had a wrong status, Content-Type or body shape, if /updates did not store what it
answered, or if wrk saw non-2xx responses or socket errors; 2 on a usage or setup error.
EOF
}

runs=3 duration=8 connections=64 server_args="" tests=db,queries,fortunes,updates build=1 ceiling=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$root/build-bench
shown_args=()
for arg in "$@"; do [[ $arg == --db ]] || shown_args+=("$arg"); done
command_line="benchmarks/compare.sh --db ${shown_args[*]}"
while (($#)); do
  case $1 in
    --db) shift ;;
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --server-args) server_args=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-ceiling) ceiling=0; shift ;;
    --no-install | --no-record | --no-compile-time) shift ;;  # meaningful for the HTTP section only
    -h | --help) usage; exit 0 ;;
    *) echo "compare.sh --db: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

bench=$root/benchmarks
tool=(python3 "$bench/benchtool.py")
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out_dir=$bench/results/$stamp-db
mkdir -p "$out_dir"
log=$out_dir/log.txt samples=$out_dir/samples.tsv
: >"$samples"
failures=()
say() { echo "compare.sh --db: $*" | tee -a "$log" >&2; }
fail() { failures+=("$*"); say "FAIL: $*"; }

for t in wrk curl taskset python3 cmake; do
  command -v "$t" >/dev/null || { say "missing $t (run scripts/install-deps --bench)"; exit 2; }
done

if ((build)); then
  generator=()
  if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
  say "configuring $build_dir (Release) and building keel_bench_db"
  cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_TESTS=OFF \
    -DKEEL_BUILD_BENCHMARKS=ON >>"$log" 2>&1 || { say "configure failed, see $log"; exit 2; }
  targets=(keel_bench_db)
  ((ceiling)) && targets+=(peer_epoll)
  cmake --build "$build_dir" --target "${targets[@]}" -j2 >>"$log" 2>&1 || { say "build failed, see $log"; exit 2; }
fi
server=$build_dir/benchmarks/db/keel_bench_db
[[ -x $server ]] || { say "$server is not built"; exit 2; }
ceiling_server=$build_dir/benchmarks/peer_epoll
if ((ceiling)) && [[ ! -x $ceiling_server ]]; then
  say "$ceiling_server is not built: no calibration runs (build it, or pass --no-ceiling)"
  ceiling=0
fi

if (($(nproc) >= 2)); then
  server_cpus=0 client_cpus=1 cpu_note="server (1 reactor thread and its worker pool) pinned to CPU 0, wrk (1 thread) pinned to CPU 1"
else
  server_cpus=0 client_cpus=0 cpu_note="only one CPU: server and wrk share CPU 0 (not comparable with 2-CPU runs)"
fi

data_dir=$(mktemp -d /tmp/keel-bench-db.XXXXXX)
database=$data_dir/bench.sqlite
pid= ceiling_pid=
cleanup() {
  for p in $pid $ceiling_pid; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$data_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=18680
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
# shellcheck disable=SC2086 # server_args are flags, split on spaces on purpose
taskset -c "$server_cpus" "$server" --port "$port" --threads 1 --db "sqlite:$database" $server_args \
  >>"$out_dir/server.out" 2>&1 &
pid=$!
for _ in $(seq 300); do  # seeding 10,000 rows comes first
  kill -0 "$pid" 2>/dev/null || { say "keel_bench_db exited, see $out_dir/server.out"; exit 2; }
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
say "keel_bench_db on port $port (pid $pid), database $database, flags: ${server_args:-keel defaults}"

if ((ceiling)); then
  ceiling_port=$((port + 1))
  while (exec 3<>"/dev/tcp/127.0.0.1/$ceiling_port") 2>/dev/null; do ceiling_port=$((ceiling_port + 1)); done
  taskset -c "$server_cpus" "$ceiling_server" --port "$ceiling_port" --threads 1 >>"$out_dir/ceiling.out" 2>&1 &
  ceiling_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ceiling_port") 2>/dev/null && break
    sleep 0.05
  done
  say "epoll C responder (calibration) on port $ceiling_port (pid $ceiling_pid)"
fi

path_of() {
  case $1 in
    ceiling) echo /plaintext ;;
    db) echo /db ;;
    queries) echo '/queries?queries=20' ;;
    fortunes) echo /fortunes ;;
    updates) echo '/updates?queries=20' ;;
  esac
}

# check TEST: one request by curl, its status, Content-Type and body shape; /updates also read back from the file.
check() {
  local name=$1 path body headers=$out_dir/$1.headers
  path=$(path_of "$name")
  body=$out_dir/$name.body
  if ! curl -s --max-time 5 -D "$headers" -o "$body" "http://127.0.0.1:$port$path"; then
    fail "$path: curl failed"
    return
  fi
  local problem
  problem=$(python3 - "$name" "$headers" "$body" "$database" <<'PY'
import html, json, re, sqlite3, sys
name, headers, body, database = sys.argv[1:]
head = open(headers, encoding="latin-1", newline="").read().split("\r\n")
text = open(body, encoding="utf-8").read()
def bad(msg):
    print(msg); sys.exit(0)
if not head[0].startswith("HTTP/1.1 200"):
    bad(f"status line {head[0]!r}")
ctype = next((h.split(":", 1)[1].strip() for h in head if h.lower().startswith("content-type:")), "")
def world(w):
    return (isinstance(w, dict) and set(w) == {"id", "randomNumber"} and isinstance(w["id"], int)
            and 1 <= w["id"] <= 10000 and isinstance(w["randomNumber"], int) and 1 <= w["randomNumber"] <= 10000)
if name == "fortunes":
    if not ctype.startswith("text/html"):
        bad(f"Content-Type {ctype!r}")
    rows = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", text)
    messages = [html.unescape(m) for _, m in rows]
    if len(rows) != 13 or messages != sorted(messages) or "Additional fortune added at request time." not in messages:
        bad(f"{len(rows)} rows, sorted={messages == sorted(messages)}")
    if "<script>" in text or "&lt;script&gt;" not in text:
        bad("the <script> fortune is not escaped")
    sys.exit(0)
if not ctype.startswith("application/json"):
    bad(f"Content-Type {ctype!r}")
doc = json.loads(text)
if name == "db":
    if not world(doc):
        bad(f"body {text[:80]!r}")
    sys.exit(0)
if not isinstance(doc, list) or len(doc) != 20 or not all(world(w) for w in doc):
    bad(f"body {text[:80]!r}")
if name == "updates":
    stored = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    last = {w["id"]: w["randomNumber"] for w in doc}  # an id drawn twice keeps its last value
    for i, n in last.items():
        (got,) = stored.execute("SELECT randomNumber FROM World WHERE id = ?", (i,)).fetchone()
        if got != n:
            bad(f"World {i} holds {got}, the answer said {n}")
PY
  ) || problem="checker crashed"
  [[ -z $problem ]] || fail "$path: $problem"
}

IFS=, read -r -a test_list <<<"$tests"
for name in "${test_list[@]}"; do
  [[ -n $(path_of "$name") ]] || { say "unknown test $name"; exit 2; }
  check "$name"
done

# Rounds: each round runs every test once (and the ceiling first), so slow minutes on this shared machine hit
# every test alike instead of all runs of one test.
round_list=()
for run in $(seq "$runs"); do
  ((ceiling)) && round_list+=("ceiling:$run")
  for name in "${test_list[@]}"; do round_list+=("$name:$run"); done
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for item in "${round_list[@]}"; do
  name=${item%%:*} run=${item##*:}
  target_pid=$pid target_port=$port
  [[ $name == ceiling ]] && target_pid=$ceiling_pid target_port=$ceiling_port
  {
    cpu_before=$("${tool[@]}" cpu "$target_pid")
    output=$(taskset -c "$client_cpus" wrk -t1 -c"$connections" -d"${duration}s" --latency \
      -s "$bench/lua/report.lua" "http://127.0.0.1:$target_port$(path_of "$name")" 2>&1) || true
    cpu_after=$("${tool[@]}" cpu "$target_pid")
    printf '## %s run %s\n%s\n' "$name" "$run" "$output" >>"$log"
    result=$(grep '^WRK_RESULT' <<<"$output" || true)
    if [[ -z $result ]]; then
      fail "$name: wrk printed no result (see $log)"
      continue
    fi
    # shellcheck disable=SC2034 # p50_us is set by the eval and not used
    requests=0 duration_us=0 p50_us=0 p99_us=0 non2xx=0 connect=0 read=0 write=0 timeout=0
    eval "$(sed 's/^WRK_RESULT //; s/ /;/g' <<<"$result")"
    sockerr=$((connect + read + write + timeout))
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$requests" "$duration_us" "$p99_us" "$((cpu_after - cpu_before))" >>"$samples"
    say "  $name run $run: $((duration_us > 0 ? requests * 1000000 / duration_us : 0)) req/s, p99 $p99_us us," \
      "server CPU $((cpu_after - cpu_before)) us, non-2xx $non2xx, socket errors $sockerr"
    ((non2xx == 0)) || fail "$name: $non2xx non-2xx responses"
    ((sockerr == 0 && requests > 0)) || fail "$name: $sockerr socket errors, $requests requests"
  }
done
for name in "${test_list[@]}"; do check "$name"; done  # still right after the load
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

table=$(python3 - "$samples" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, requests, duration_us, p99_us, cpu_us = line.split("\t")
    requests, duration_us, p99_us, cpu_us = int(requests), int(duration_us), int(p99_us), int(cpu_us)
    if requests and duration_us:
        rows.setdefault(name, []).append((requests * 1e6 / duration_us, p99_us, cpu_us / requests))
# REFERENCE.md "TechEmpower database tests on SQLite" (2026-11-21, same kind of machine, SQLite defaults).
lithium = {"db": (48558, 20.5), "queries": (4519, None), "fortunes": (35173, 28.4), "updates": (595, None)}
drogon = {"db": (41322, 23.4), "queries": (3062, None), "fortunes": (26449, 37.7), "updates": (525, None)}
paths = {"db": "/db", "queries": "/queries?queries=20", "fortunes": "/fortunes", "updates": "/updates?queries=20"}
# The epoll C responder's CPU per request where lithium and Drogon were measured (REFERENCE.md, first table).
reference_ceiling_us = 8.3
def ref(pair):
    rps, cpu = pair
    return f"{rps:,}" + (f" ({cpu} µs)" if cpu else "")
def median(samples, i):
    return statistics.median(s[i] for s in samples)
ceiling = rows.pop("ceiling", None)
factor = median(ceiling, 2) / reference_ceiling_us if ceiling else None
print("| test | keel req/s | p99 | server CPU µs/req | lithium req/s (CPU/req) | Drogon req/s (CPU/req) | keel / lithium req/s |"
      + (" keel / lithium, scaled: req/s, CPU |" if factor else ""))
print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if factor else ""))
if ceiling:
    print(f"| epoll C responder (calibration) | {median(ceiling, 0):,.0f} | {median(ceiling, 1) / 1000:.2f} ms | "
          f"{median(ceiling, 2):.1f} | | | |" + f" this machine: {factor:.2f}x the reference's CPU per request |")
for name, samples in rows.items():
    rps, p99, cpu = median(samples, 0), median(samples, 1), median(samples, 2)
    line = (f"| {paths[name]} | {rps:,.0f} | {p99 / 1000:.2f} ms | {cpu:.1f} | {ref(lithium[name])} | "
            f"{ref(drogon[name])} | {rps / lithium[name][0]:.2f} |")
    if factor:
        # lithium on this machine, estimated: its req/s divided by the factor, its CPU per request times it.
        scaled = f" {rps * factor / lithium[name][0]:.2f}x"
        if lithium[name][1]:
            scaled += f", {cpu / (lithium[name][1] * factor):.2f}x"
        line += scaled + " |"
    print(line)
if factor:
    print()
    print(f"Scaled: lithium's figures carried to this machine by the epoll responder's CPU per request measured in the"
          f" same run ({median(ceiling, 2):.1f} µs here, {reference_ceiling_us} µs where lithium was measured). Issue 5's"
          f" targets: req/s >= 1.5x and CPU per request <= 0.6x lithium's for /db and /fortunes.")
PY
)
{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): \`$command_line\`"
  echo
  echo "Source: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- include benchmarks 2>/dev/null || echo ' plus uncommitted changes in include/ or benchmarks/')."
  echo "$cpu_note; wrk -c$connections -d${duration}s, median of $runs runs; keel_bench_db flags: ${server_args:-none (keel defaults: WAL, synchronous=FULL, mmap 256 MiB, batched reads)}."
  echo "Machine: $(nproc) CPUs, $(uname -sr), load average before: $load_before, after: $load_after."
  echo "Server CPU = utime+stime of the server process (reactor and workers) / requests. lithium and Drogon: REFERENCE.md (quiet machine, SQLite defaults)."
  printf '\n%s\n' "$table"
  ((${#failures[@]} == 0)) || printf '\nFailures:\n%s\n' "$(printf -- '- %s\n' "${failures[@]}")"
} >"$out_dir/result.md"
printf '\n%s\n' "$(cat "$out_dir/result.md")"
((${#failures[@]} == 0)) || { say "${#failures[@]} failure(s)"; exit 1; }
