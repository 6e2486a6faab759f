# Warning flags for keel's own targets (tests, examples, benchmarks). Consumers never get these.
add_library(keel_warnings INTERFACE)
target_compile_options(keel_warnings INTERFACE -Wall -Wextra -Wpedantic $<$<BOOL:${KEEL_WERROR}>:-Werror>)
if(KEEL_SANITIZE)
  target_compile_options(keel_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # g++ 12's null checks make constexpr string_view searches over class-type template arguments (the router's
  # path templates) "not a constant expression"; ASan still catches null dereferences.
  target_compile_options(keel_warnings INTERFACE
    $<$<CXX_COMPILER_ID:GNU>:-fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute>)
  target_link_options(keel_warnings INTERFACE -fsanitize=address,undefined)
endif()
