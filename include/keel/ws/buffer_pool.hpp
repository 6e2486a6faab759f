// Per-thread cache of the 16 KiB blocks WebSocket connections read into and write from while a message is
// in flight. An idle connection holds none (it waits in a small buffer of its own; one whose messages outgrow
// that buffer keeps its block until a read has waited a second), and a busy one takes a block from this list
// instead of the heap.
#pragma once

#include "keel/config.hpp"

#include <cstddef>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {
namespace ws {

class block_pool {
 public:
  static constexpr std::size_t block_size = 16 * 1024;
  static constexpr std::size_t max_cached = 256;  // 4 MiB per thread at most

  // Blocks this thread handed out and has not had back (for tests and diagnostics).
  static std::size_t in_use() { return cache().out; }

  static char* acquire() {
    cache_list& c = cache();
    std::vector<char*>& list = c.blocks;
    ++c.out;
    if (!list.empty()) {
      char* b = list.back();
      list.pop_back();
      return b;
    }
    return new char[block_size];
  }
  static void release(char* block) noexcept {
    if (block == nullptr) return;
    cache_list& c = cache();
    --c.out;
    if (!c.dead && c.blocks.size() < max_cached) {
      try {
        c.blocks.push_back(block);
        return;
      } catch (...) {
      }
    }
    delete[] block;
  }

 private:
  struct cache_list {
    std::vector<char*> blocks;
    std::size_t out = 0;  // acquired on this thread and not released (a block released elsewhere skews it)
    bool dead = false;
    cache_list() { blocks.reserve(16); }
    ~cache_list() {
      dead = true;
      for (char* b : blocks) delete[] b;
      blocks.clear();
    }
  };
  static cache_list& cache() {
    thread_local cache_list c;
    return c;
  }
};

}  // namespace ws
}  // namespace detail
}  // namespace v0
}  // namespace keel
