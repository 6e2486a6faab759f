#!/usr/bin/env bash
# keel_add_app(... SEPARATE_SERVER) against keel's other build modes, interleaved in the same minutes
# (benchmarks/RESULTS.md, "Server loop in its own TU"). CPU seconds = user+sys of compiler, assembler and
# linker (lib.sh's time_cmd), g++ -O2:
#   hello         examples/hello.cpp, header-only: one g++ -O2 compile+link (compare.sh's build)
#   fast_rebuild  keel_add_app(hello) (PCH + keel_asio_separate): rebuild after `touch hello.cpp`
#   tu_rebuild    keel_add_app(hello_tu ... SEPARATE_SERVER), the same hello.cpp: rebuild after touching it
#   tu_no_pch     hello.cpp with -DKEEL_SEPARATE_SERVER, one g++ -O2 compile+link against a prebuilt object of
#                 the server TU (no PCH, no separate Asio): a header-only build that links the compiled server
# the one-off builds (fast_first_build: PCH + keel_asio_separate + hello; tu_first_build: keel_separate_server
# and hello_tu's own PCH; server_o: the object for tu_no_pch), and with --instructions, instructions per
# request of bench.cpp (/plaintext, /json) built both ways, through benchmarks/instructions.sh.
#   benchmarks/compile/server_tu/measure.sh [--runs R] [--instructions]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
here=$root/benchmarks/compile/server_tu
runs=3 compiler=g++ instructions=0
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --instructions) instructions=1; shift ;;
    *) echo "usage: $0 [--runs R] [--instructions]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$root/benchmarks/compile/lib.sh"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $compiler, $(git -C "$root" rev-parse --short HEAD), runs $runs (interleaved), $(nproc) CPUs"
fast=$work/fast
mkdir -p "$fast/tu"
cp "$root/examples/hello.cpp" "$fast/"
cp "$root/examples/hello.cpp" "$fast/tu/"
cp "$here/bench.cpp" "$fast/"
cat >"$fast/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(keel_server_tu LANGUAGES CXX)
add_subdirectory("$root" keel)
keel_add_app(hello SOURCES hello.cpp)
keel_add_app(hello_tu SOURCES tu/hello.cpp SEPARATE_SERVER)
keel_add_app(bench SOURCES bench.cpp PRECOMPILE keel/json/response.hpp)
keel_add_app(bench_tu SOURCES bench.cpp PRECOMPILE keel/json/response.hpp SEPARATE_SERVER)
CMAKE
cmake -S "$fast" -B "$fast/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2 \
  -DCMAKE_CXX_COMPILER="$(command -v "$compiler")" >"$work/configure.log" 2>&1 ||
  { echo "configure failed"; tail -20 "$work/configure.log"; exit 1; }
runs=1 time_cmd fast_first_build cmake --build "$fast/build" --target hello
runs=1 time_cmd tu_first_build cmake --build "$fast/build" --target hello_tu
# The server TU as keel_add_app generates it, compiled the header-only way.
server_cpp=$fast/build/keel/keel_separate_server/server.cpp
[[ -f $server_cpp ]] || server_cpp=$(find "$fast/build" -name server.cpp -path '*keel_separate_server*' | head -1)
runs=1 time_cmd server_o "$compiler" "${flags[@]}" -c "$server_cpp" -o "$work/server.o"

all_runs=$runs
for ((i = 0; i < all_runs; ++i)); do
  runs=1
  time_one hello "$root/examples/hello.cpp"
  time_cmd fast_rebuild bash -c "touch '$fast/hello.cpp' && cmake --build '$fast/build' --target hello"
  time_cmd tu_rebuild bash -c "touch '$fast/tu/hello.cpp' && cmake --build '$fast/build' --target hello_tu"
  time_one tu_no_pch "$root/examples/hello.cpp" -DKEEL_SEPARATE_SERVER "$work/server.o"
done
objects=$(find "$fast/build" -name 'hello.cpp.o' -o -name 'server.cpp.o')
size $objects | sed "s|$fast/build/||"

if ((instructions)); then
  cmake --build "$fast/build" --target bench bench_tu >/dev/null
  for b in bench bench_tu; do
    mkdir -p "$work/$b/benchmarks"
    ln -s "$fast/build/$b" "$work/$b/benchmarks/keel_bench"  # where instructions.sh looks for keel_bench
    echo "## $b"
    "$root/benchmarks/instructions.sh" --no-build --build-dir "$work/$b" --servers keel 2>&1 | sed -n '/^| server/,/^$/p'
    dir=$(ls -d "$root"/benchmarks/results/instructions-* | tail -1)
    grep -E 'total|erased|http_session|drive|dispatch' "$dir/per-function.keel.plaintext.txt" | cut -c1-150
  done
fi
