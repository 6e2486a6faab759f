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
  target_compile_options(keel_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # g++ 12's null checks make constexpr string_view searches over class-type template arguments (the router's
  # path templates) "not a constant expression"; ASan still catches null dereferences.
  target_compile_options(keel_warnings INTERFACE
    $<$<CXX_COMPILER_ID:GNU>:-fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute>)
  target_link_options(keel_warnings INTERFACE -fsanitize=address,undefined)
endif()
