# Warning flags for keel's own targets (tests, examples, benchmarks). Consumers never get these.
add_library(keel_warnings INTERFACE)
target_compile_options(keel_warnings INTERFACE -Wall -Wextra -Wpedantic $<$<BOOL:${KEEL_WERROR}>:-Werror>)
if(KEEL_SANITIZE)
  target_compile_options(keel_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(keel_warnings INTERFACE -fsanitize=address,undefined)
endif()
