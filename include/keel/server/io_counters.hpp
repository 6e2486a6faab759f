// keel::detail::io_counters: bytes in and out and connections opened and closed, counted per thread by the
// transport of apps that ask for it (a middleware declaring `static constexpr bool counts_io = true`, such as
// keel::metrics), and summed over all threads when read.
//
// Each thread writes only its own block, with a relaxed load and store (no read-modify-write, no lock); a
// reader on another thread sees each value whole. A thread's block is handed to the next thread when it
// ends, so its counts are never lost and the totals stay monotonic.
#pragma once

#include "keel/config.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

// Adds n to a counter only this thread writes.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

struct io_counters {
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connections_closed{0};

  struct totals {
    std::uint64_t bytes_in = 0, bytes_out = 0, connections_opened = 0, connections_closed = 0;
  };

  // This thread's block.
  static io_counters& local() noexcept {
    thread_local holder h;
    return *h.block;
  }
  // The sums over every thread that ever counted.
  static totals sum() {
    totals t;
    std::lock_guard lock(blocks().mutex);
    for (const auto& b : blocks().all) {
      t.bytes_in += b->bytes_in.load(std::memory_order_relaxed);
      t.bytes_out += b->bytes_out.load(std::memory_order_relaxed);
      t.connections_opened += b->connections_opened.load(std::memory_order_relaxed);
      t.connections_closed += b->connections_closed.load(std::memory_order_relaxed);
    }
    return t;
  }

 private:
  struct list {
    std::mutex mutex;
    std::vector<std::unique_ptr<io_counters>> all;
    std::vector<io_counters*> spare;  // of threads that ended
  };
  static list& blocks() {
    static list l;
    return l;
  }
  struct holder {
    io_counters* block;
    holder() {
      std::lock_guard lock(blocks().mutex);
      if (!blocks().spare.empty()) {
        block = blocks().spare.back();
        blocks().spare.pop_back();
      } else {
        block = blocks().all.emplace_back(std::make_unique<io_counters>()).get();
      }
    }
    ~holder() {
      std::lock_guard lock(blocks().mutex);
      blocks().spare.push_back(block);
    }
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
  };
};

// Whether a middleware stack asks the transport to count bytes and connections.
template <class M>
concept counts_io_layer = requires {
  requires M::counts_io;
};
template <class Stack>
struct stack_counts_io : std::false_type {};
template <class... Ms>
struct stack_counts_io<std::tuple<Ms...>> : std::bool_constant<(counts_io_layer<Ms> || ...)> {};

// Whether a session type (its app) wants bytes and connections counted; test doubles do not.
template <class Session>
inline constexpr bool session_counts_io = requires {
  requires Session::counts_io;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
