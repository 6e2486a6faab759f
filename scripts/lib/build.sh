# Shared by scripts/test and scripts/run-example (sourced, not run): how keel's build directories are made,
# so that both scripts configure build/ identically and never fight over its cache.

KEEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KEEL_JOBS="${KEEL_JOBS:-2}"  # the CI machine has 2 cores
# ccache caches precompiled-header compiles only with this (cmake/KeelCcache.cmake); CMake sets it too, this covers
# launchers given by hand.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"

# keel_configure <build dir> <c compiler> <c++ compiler> <build type> [extra cmake args...]
keel_configure() {
  local dir="$1" cc="$2" cxx="$3" type="$4"
  shift 4
  local launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$KEEL_ROOT" -B "$KEEL_ROOT/$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE="$type" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    "${launcher[@]}" -DKEEL_WERROR=ON "$@"
}

# keel_build <build dir> [targets...]
keel_build() {
  local dir="$1"
  shift
  local targets=()
  if (($# > 0)); then targets=(--target "$@"); fi
  cmake --build "$KEEL_ROOT/$dir" -j "$KEEL_JOBS" "${targets[@]}"
}
