#!/usr/bin/env bash
# Multipart upload throughput and server memory: one 1 GiB file (random bytes) sent with curl -F to
# upload_bench (benchmarks/upload_bench.cpp: keel::multipart<T> into a keel::temp_dir_sink), without and with
# SHA-256, several runs each. Reports MB/s (curl's upload size / total time) and the server's RSS growth: the
# highest VmRSS sampled every 20 ms during the upload minus VmRSS just before it (after a 1 MiB warm-up
# upload). The target is under 16 MiB of growth for a 1 GiB upload.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: benchmarks/upload.sh [options]
  --runs N        uploads per variant (default 3; the table shows the median and the range)
  --size MIB      file size in MiB (default 1024)
  --dir DIR       where the server stores uploads and the script its test file (default: a fresh dir in /tmp)
  --bin PATH      the upload_bench binary (default: build-bench/benchmarks/upload_bench, built when missing)
  --record        also append the table to benchmarks/RESULTS.md
USAGE
}
runs=3 size=1024 dir="" bin="" record=0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line="benchmarks/upload.sh $*"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --record) record=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "upload.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ -z $bin ]]; then
  bin="$root/build-bench/benchmarks/upload_bench"
  if [[ ! -x $bin ]]; then
    cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKEEL_BUILD_BENCHMARKS=ON >/dev/null
    cmake --build "$root/build-bench" --target upload_bench -j2
  fi
fi
own_dir=0
if [[ -z $dir ]]; then
  dir=$(mktemp -d /tmp/keel-upload-bench.XXXXXX)
  own_dir=1
fi
mkdir -p "$dir/store"
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null
  if ((own_dir)); then rm -rf "$dir"; else rm -rf "$dir/store" "$dir/upload.bin" "$dir/warm.bin"; fi
}
trap cleanup EXIT

head -c $((size << 20)) /dev/urandom >"$dir/upload.bin"
head -c $((1 << 20)) /dev/urandom >"$dir/warm.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" --port "$port" --host 127.0.0.1 --threads 1 --dir "$dir/store" >"$dir/server.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -s -o /dev/null "$base/" && break; sleep 0.05; done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }

# One upload to $1: prints "MB/s growth_KiB".
upload() {
  curl -s -o /dev/null -H 'Expect:' -F "file=@$dir/warm.bin" "$base$1"
  local before peak now
  before=$(rss_kib)
  peak=$before
  curl -s -o "$dir/answer" -w '%{size_upload} %{time_total}\n' -H 'Expect:' -F "file=@$dir/upload.bin" \
    "$base$1" >"$dir/curl.out" &
  local curl_pid=$!
  while kill -0 "$curl_pid" 2>/dev/null; do
    now=$(rss_kib)
    ((now > peak)) && peak=$now
    sleep 0.02
  done
  wait "$curl_pid"
  [[ $(cut -d' ' -f1 <"$dir/answer") == $((size << 20)) ]] || { echo "upload.sh: bad answer: $(cat "$dir/answer")" >&2; exit 1; }
  awk -v growth=$((peak - before)) '{printf "%.0f %d\n", $1 / $2 / 1e6, growth}' "$dir/curl.out"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {print lo "-" hi}'; }

table="| variant | MB/s median (range) | RSS growth KiB median (range) |
|---|---|---|"
for variant in /upload /upload-sha256; do
  results=()
  for ((r = 0; r < runs; ++r)); do results+=("$(upload "$variant")"); done
  mbs=$(printf '%s\n' "${results[@]}" | cut -d' ' -f1)
  kib=$(printf '%s\n' "${results[@]}" | cut -d' ' -f2)
  table+="
| POST $variant, ${size} MiB | $(median <<<"$mbs") ($(range <<<"$mbs")) | $(median <<<"$kib") ($(range <<<"$kib")) |"
done
final_rss=$(rss_kib)

stamp=$(date -u '+%Y-%m-%d %H:%M UTC')
report="### ${stamp}: \`${command_line}\`

One server thread (--threads 1), curl -F on the same machine, ${runs} runs per variant; server RSS after all
runs: ${final_rss} KiB. $(nproc) CPUs, $(uname -r).

${table}"
echo "$report"
if ((record)); then printf '\n%s\n' "$report" >>"$root/benchmarks/RESULTS.md"; fi
