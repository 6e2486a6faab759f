#!/usr/bin/env bash
# Counts a server's user-space instructions per request with callgrind: two runs of 2,000 and 12,000 pipelined
# GET requests (16 per write over 4 keep-alive connections, 3 short headers each); the difference / 10,000
# cancels start-up and connection setup. Deterministic, so it does not drift with machine load.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benchmarks/instructions.sh [options]
  --servers LIST   comma-separated subset of keel,epoll,beast (default: keel,epoll,beast)
  --paths LIST     default: /plaintext,/json
  --small N        requests in the first run (default 2000)
  --large N        requests in the second run (default 12000)
  --no-build       use the binaries already in the build dir
  --record         also add the table to benchmarks/RESULTS.md
  --build-dir DIR  default: build-bench at the repository root
  --header H       an extra request header for every path ('Name: value'; repeatable), e.g. the bearer
                   token of keel_bench's /protected: "Authorization: Bearer $(cat benchmarks/bench_token.txt)"
  --server-arg A   an extra argument for the server (repeatable), e.g. --no-token-cache for keel_bench
Prints a markdown table of instructions per request; exit 1 if a server answered wrongly or did not start.
EOF
}

servers=keel,epoll,beast paths=/plaintext,/json small=2000 large=12000 build=1 record=0
headers=() server_args=()
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$root/build-bench
command_line="benchmarks/instructions.sh $*"
while (($#)); do
  case $1 in
    --servers) servers=$2; shift 2 ;;
    --paths) paths=$2; shift 2 ;;
    --small) small=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --record) record=1; shift ;;
    --header) headers+=(--header "$2"); shift 2 ;;
    --server-arg) server_args+=("$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "instructions.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
((large > small)) || { echo "instructions.sh: --large must exceed --small" >&2; exit 2; }

bench=$root/benchmarks
tool=(python3 "$bench/benchtool.py")
out_dir=$bench/results/instructions-$(date -u +%Y-%m-%dT%H%M%SZ)
mkdir -p "$out_dir"
log=$out_dir/log.txt
say() { echo "instructions.sh: $*" | tee -a "$log" >&2; }
command -v valgrind >/dev/null || { say "valgrind missing: run scripts/install-deps --bench"; exit 2; }

declare -A target_of=([keel]=keel_bench [epoll]=peer_epoll [beast]=peer_beast)
IFS=, read -r -a server_list <<<"$servers"
IFS=, read -r -a path_list <<<"$paths"

if ((build)); then
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_TESTS=OFF >>"$log" 2>&1 ||
      { say "configure failed, see $log"; exit 2; }
  fi
  for s in "${server_list[@]}"; do
    cmake --build "$build_dir" --target "${target_of[$s]}" -j2 >>"$log" 2>&1 || say "WARNING: building ${target_of[$s]} failed (see $log)"
  done
fi

port=18580 server_pid=
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# count SERVER PATH N: sets total to the instructions of one callgrind run serving N requests, or fails.
count() {
  local server=$1 path=$2 n=$3 exe=$build_dir/benchmarks/${target_of[$1]}
  local file=$out_dir/callgrind.$server.${path//\//}.$n.out
  port=$((port + 1))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done  # taken by someone else
  # Serialised threads under valgrind: --threads 1 keeps the work identical to the one-thread benchmarks.
  valgrind --tool=callgrind --callgrind-out-file="$file" "$exe" --port "$port" --threads 1 "${server_args[@]}" \
    >>"$out_dir/$server.out" 2>&1 &
  server_pid=$!
  local ready=0
  for _ in $(seq 300); do
    kill -0 "$server_pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ready=1; break; fi
    sleep 0.1
  done
  if ((!ready)); then
    say "$server did not start under valgrind (see $out_dir/$server.out)"
    stop_server
    return 1
  fi
  if ! "${tool[@]}" load --port "$port" --path "$path" --requests "$n" --connections 4 --depth 16 --quiet "${headers[@]}" 2>>"$log"; then
    say "$server $path: wrong or missing responses (see $log)"
    stop_server
    return 1
  fi
  stop_server  # callgrind writes its totals when the server dies of SIGTERM
  total=$("${tool[@]}" callgrind-total "$file")
}

failed=0 total=0
declare -A per_request
for s in "${server_list[@]}"; do
  if [[ ! -x $build_dir/benchmarks/${target_of[$s]} ]]; then
    say "WARNING: $build_dir/benchmarks/${target_of[$s]} is not built: $s skipped"
    continue
  fi
  for p in "${path_list[@]}"; do
    if count "$s" "$p" "$small" && small_total=$total && count "$s" "$p" "$large" && large_total=$total; then
      per_request[$s$p]=$(((large_total - small_total) / (large - small)))
      say "$s $p: $small_total instructions for $small requests, $large_total for $large:" \
        "${per_request[$s$p]} per request"
      "${tool[@]}" callgrind-diff "$out_dir/callgrind.$s.${p//\//}.$small.out" \
        "$out_dir/callgrind.$s.${p//\//}.$large.out" $((large - small)) --top 40 \
        >"$out_dir/per-function.$s.${p//\//}.txt" 2>>"$log" || true
    else
      failed=1
      per_request[$s$p]=failed
    fi
  done
done

{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): \`$command_line\`"
  echo
  echo "Source: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- include benchmarks 2>/dev/null || echo ' plus uncommitted changes in include/ or benchmarks/')."
  echo "User-space instructions per request (callgrind; ($large - $small) requests, 16 per write, 4 connections):"
  echo
  printf '| server |'
  printf ' %s |' "${path_list[@]}"
  printf '\n|---|'
  printf -- '---:|%.0s' "${path_list[@]}"
  printf '\n'
  for s in "${server_list[@]}"; do
    [[ -n ${per_request[$s${path_list[0]}]:-} ]] || continue
    printf '| %s |' "$s"
    for p in "${path_list[@]}"; do
      v=${per_request[$s$p]}
      [[ $v == failed ]] || v=$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$v")  # thousands separators
      printf ' %s |' "$v"
    done
    printf '\n'
  done
  # Where keel's instructions go, for the notes on the target (the other servers' lists are in $out_dir).
  for p in "${path_list[@]}"; do
    f=$out_dir/per-function.keel.${p//\//}.txt
    [[ -s $f ]] || continue
    echo
    echo "<details><summary>keel $p: instructions per request by function (top 12)</summary>"
    echo
    echo '```'
    head -13 "$f"
    echo '```'
    echo "</details>"
  done
} >"$out_dir/result.md"
echo
cat "$out_dir/result.md"

marker='<!-- instructions.sh adds runs above this line -->'
results=$bench/RESULTS.md
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
exit "$failed"
