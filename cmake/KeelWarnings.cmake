# Warning flags for keel's own targets (tests, examples, benchmarks). Consumers never get these.
add_library(keel_warnings INTERFACE)
target_compile_options(keel_warnings INTERFACE -Wall -Wextra -Wpedantic $<$<BOOL:${KEEL_WERROR}>:-Werror>)
# g++ 12 at -O2/-O3 reports impossible memcpy bounds inside libstdc++'s own std::string code (e.g. for
# `"literal" + std::move(s)`): GCC bugs 105329/105651, fixed in 13. False positives only, and ASan covers
# real overflows, so these are off for g++ 12 rather than breaking -Werror builds.
target_compile_options(keel_warnings INTERFACE
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-stringop-overflow
  -Wno-restrict -Wno-array-bounds>)
# Allocation-counting tests replace operator new/delete with malloc/free; g++ inlines the replacement and then
# flags free() on "new"-ed memory. ASan's alloc-dealloc-mismatch check covers the real bug at run time.
target_compile_options(keel_warnings INTERFACE $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)
if(KEEL_SANITIZE)
  # The full -fsanitize=undefined, null checks included: the router's compile-time path parsing no longer
  # uses string_view::find, whose null check g++ 12 could not constant-evaluate (tests/ubsan_constexpr_check).
  target_compile_options(keel_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(keel_warnings INTERFACE -fsanitize=address,undefined)
endif()
