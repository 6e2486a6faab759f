#!/usr/bin/env bash
# Issue 16's compile-time report in one run (benchmarks/RESULTS.md, "Compile time: header-only and fast
# modes"). Every figure is CPU seconds (user+sys of compiler, assembler, linker), min of --runs, with the load
# average when the fastest run started:
#   hello            examples/hello.cpp, one `g++ -O2` compile and link, header-only (as compare.sh builds it)
#   asio_floor       benchmarks/compile/asio_floor.cpp, the same way (a bare Asio responder: the floor)
#   fast_first_build keel_add_app(hello) in a CMake project (Release with -O2): PCH + keel_asio_separate + hello
#   fast_rebuild     the same project after `touch hello.cpp`: `cmake --build` (the app TU with the PCH, link)
#   split_rebuild    benchmarks/compile/split_hello (hello with its handler in handlers.cpp) through keel_add_app,
#                    after `touch handlers.cpp`: the handler TU and the link; the server stays in main.cpp's object
#   routes_N         gen_routes.py N routes in one TU, like hello (--routes "200 500"; "" skips them)
#   todo             examples/todo.cpp (JSON DTOs, validation, SQL, OpenAPI, settings), like hello
#   todo_fast_rebuild keel_add_app(todo ... PRECOMPILE its add-ons), after `touch todo.cpp`
#   json_read_test   tests/json_read_test.cpp compiled (-c) without the tests' precompiled header
#   benchmarks/compile/report.sh [--runs R] [--compiler g++] [--routes "200 500"]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=1 compiler=g++ routes="200 500"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --compiler) compiler=$2; shift 2 ;;
    --routes) routes=$2; shift 2 ;;
    *) echo "usage: $0 [--runs R] [--compiler g++] [--routes \"200 500\"]" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$root/benchmarks/compile/lib.sh"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $compiler, $(git -C "$root" rev-parse --short HEAD), runs $runs, $(nproc) CPUs"
time_one hello "$root/examples/hello.cpp"
time_one asio_floor "$root/benchmarks/compile/asio_floor.cpp"

# The fast mode, as a user gets it: keel through add_subdirectory, apps through keel_add_app().
fast=$work/fast
mkdir -p "$fast"
cp "$root/examples/hello.cpp" "$root"/examples/todo*.cpp "$root"/examples/todo*.hpp "$fast/"
cp -r "$root/benchmarks/compile/split_hello" "$fast/"
cat >"$fast/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(keel_fast LANGUAGES CXX)
add_subdirectory("$root" keel)
keel_add_app(hello SOURCES hello.cpp)
keel_add_app(split_hello SOURCES split_hello/main.cpp split_hello/handlers.cpp)
keel_add_app(todo SOURCES todo.cpp
  PRECOMPILE keel/json.hpp keel/openapi/docs.hpp keel/settings.hpp keel/sql/database.hpp keel/sql/migrate.hpp
             keel/sql/page.hpp keel/sql/query.hpp)
CMAKE
cmake -S "$fast" -B "$fast/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2 \
  -DCMAKE_CXX_COMPILER="$(command -v "$compiler")" >"$work/configure.log" 2>&1 ||
  { echo "fast mode: configure failed"; tail -20 "$work/configure.log"; exit 1; }
runs=1 time_cmd fast_first_build cmake --build "$fast/build" --target hello
time_cmd fast_rebuild bash -c "touch '$fast/hello.cpp' && cmake --build '$fast/build' --target hello"
runs=1 time_cmd split_first_build cmake --build "$fast/build" --target split_hello
time_cmd split_rebuild bash -c "touch '$fast/split_hello/handlers.cpp' && cmake --build '$fast/build' --target split_hello"

for n in $routes; do
  python3 "$root/benchmarks/compile/gen_routes.py" "$n" >"$work/routes_$n.cpp"
  time_one "routes_$n" "$work/routes_$n.cpp"
done

time_one todo "$root/examples/todo.cpp"
runs=1 time_cmd todo_fast_first_build cmake --build "$fast/build" --target todo
time_cmd todo_fast_rebuild bash -c "touch '$fast/todo.cpp' && cmake --build '$fast/build' --target todo"
time_cmd json_read_test "$compiler" "${flags[@]}" -I"$root/tests" -c "$root/tests/json_read_test.cpp" \
  -o "$work/json_read_test.o"
