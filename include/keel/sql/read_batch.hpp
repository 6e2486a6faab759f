// keel::sql::detail::read_batcher: runs the SQLite reads of many coroutines in batches, one worker wake-up
// and one read transaction per batch, and resumes each reactor's coroutines with one post.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/handler_memory.hpp"
#include "keel/server/worker_pool.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/pool.hpp"
#include "keel/sql/row.hpp"
#include "keel/sql/sqlite.hpp"

#include <asio/execution/outstanding_work.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {
namespace detail {

using keel::detail::post_memory;

// One queued read. It lives in the awaiting coroutine's frame, so queueing allocates nothing.
struct batch_job {
  using tracked_executor = decltype(asio::prefer(std::declval<asio::io_context::executor_type>(),
                                                 asio::execution::outstanding_work.tracked));

  batch_job* next = nullptr;
  void (*run)(batch_job&, connection&) noexcept = nullptr;
  bool single_statement = false;
  std::coroutine_handle<> awaiting;
  asio::io_context* reactor = nullptr;
  // Keeps the reactor's run() from returning while the job is out, so a shutdown cannot strand it.
  std::optional<tracked_executor> keep_alive;
  // When this job is the first of its reactor's list in a finished batch, the post that resumes the list
  // lives here: asio releases it before running the handler, so before this job's coroutine resumes.
  post_memory completion_memory;
};

// Why batches: a standalone SQLite statement in WAL mode takes and drops the shared-memory read lock (two
// fcntl calls), and every hop to a worker and back costs two thread wake-ups. Queued jobs share both: the
// first job of a reactor's event-loop round schedules one "kick" behind that round's other handlers, the kick
// wakes one worker (none if one is already draining), and the worker runs everything queued so far.
// Consecutive single-statement jobs share one read transaction: every job in it was queued before the batch
// began, so the snapshot it reads is at least as new as the database was when the job was queued.
class read_batcher {
 public:
  explicit read_batcher(connection_slots& readers) noexcept : readers_(&readers) {}
  read_batcher(const read_batcher&) = delete;
  read_batcher& operator=(const read_batcher&) = delete;

  // Queues job (its run, single_statement and awaiting already set); called on reactor's thread.
  void submit(batch_job& job, asio::io_context& reactor, worker_pool& workers) {
    job.reactor = &reactor;
    job.keep_alive.emplace(asio::prefer(reactor.get_executor(), asio::execution::outstanding_work.tracked));
    batch_job* head = queued_.load(std::memory_order_relaxed);
    do {
      job.next = head;
    } while (
        !queued_.compare_exchange_weak(head, &job, std::memory_order_release, std::memory_order_relaxed));
    // From here on the job belongs to the worker side: touch only the batcher.
    if (kick_pending_.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(reactor, keel::detail::with_memory(kick_memory_, [this, &workers] {
                 // Cleared before looking at the drainer: a job queued after this line schedules its own
                 // kick.
                 kick_pending_.store(false, std::memory_order_seq_cst);
                 if (!draining_.exchange(true, std::memory_order_seq_cst))
                   workers.post(keel::detail::with_memory(drain_memory_, [this] { drain(); }));
               }));
  }

  // Batches run so far (for tests and diagnostics).
  std::uint64_t batches() const noexcept { return batches_.load(std::memory_order_relaxed); }

 private:
  void drain() noexcept {
    for (;;) {
      batch_job* stack = queued_.exchange(nullptr, std::memory_order_acq_rel);
      if (stack == nullptr) {
        draining_.store(false, std::memory_order_seq_cst);
        // A job queued between the exchange and the store may have seen draining_ still set.
        if (queued_.load(std::memory_order_seq_cst) == nullptr || draining_.exchange(true)) return;
        continue;
      }
      batch_job* fifo = nullptr;
      while (stack != nullptr) {
        batch_job* next = stack->next;
        stack->next = fifo;
        fifo = stack;
        stack = next;
      }
      run_batch(fifo);
      batches_.fetch_add(1, std::memory_order_relaxed);
      complete(fifo);
    }
  }

  void run_batch(batch_job* fifo) noexcept {
    connection_lease lease = readers_->acquire_blocking();
    auto& c = static_cast<sqlite_connection&>(*lease);
    bool own_transaction = false;
    for (batch_job* job = fifo; job != nullptr; job = job->next) {
      // A lone statement reads one snapshot anyway: BEGIN and COMMIT around it would only add two statements.
      bool shares_snapshot = job->next != nullptr && job->next->single_statement;
      if (job->single_statement && shares_snapshot && !own_transaction && c.autocommit())
        own_transaction = try_run(c, "BEGIN");
      if (!job->single_statement && own_transaction) own_transaction = !end_read(c);
      job->run(*job, c);
      if (c.autocommit()) {
        own_transaction = false;  // an error may have rolled it back
      } else if (!job->single_statement && !own_transaction) {
        end_read(c);  // a job left its own read transaction open: the next job must not inherit its snapshot
      }
    }
    if (own_transaction) end_read(c);
  }

  static bool try_run(connection& c, std::string_view sql) noexcept {
    try {
      execute(c, sql);
      return true;
    } catch (...) {
      return false;
    }
  }
  // A reader's transaction changes nothing, so a COMMIT that fails can always be rolled back instead.
  static bool end_read(sqlite_connection& c) noexcept {
    if (!try_run(c, "COMMIT")) try_run(c, "ROLLBACK");
    return c.autocommit();
  }

  // One post per reactor, resuming its jobs in the order they were queued.
  static void complete(batch_job* fifo) noexcept {
    while (fifo != nullptr) {
      asio::io_context* reactor = fifo->reactor;
      batch_job* mine = nullptr;
      batch_job** mine_tail = &mine;
      batch_job* others = nullptr;
      batch_job** others_tail = &others;
      for (batch_job* job = fifo; job != nullptr;) {
        batch_job* next = job->next;
        job->next = nullptr;
        batch_job**& tail = job->reactor == reactor ? mine_tail : others_tail;
        *tail = job;
        tail = &job->next;
        job = next;
      }
      asio::post(*reactor, keel::detail::with_memory(mine->completion_memory, [mine] {
        for (batch_job* job = mine; job != nullptr;) {
          std::coroutine_handle<> awaiting = job->awaiting;
          job = job->next;  // resuming destroys the job
          awaiting.resume();
        }
      }));
      fifo = others;
    }
  }

  std::atomic<batch_job*> queued_{nullptr};
  // At most one kick and one drain are outstanding (kick_pending_, draining_), so each has one slot.
  post_memory kick_memory_;
  post_memory drain_memory_;
  std::atomic<bool> kick_pending_{false};
  std::atomic<bool> draining_{false};
  std::atomic<std::uint64_t> batches_{0};
  connection_slots* readers_;
};

// co_await batched_read<F>{batcher, fn, reactor, workers}: fn(connection&) in the next batch.
template <class F>
class batched_read : private batch_job {
 public:
  using result_type = std::invoke_result_t<F&, connection&>;

  batched_read(read_batcher& batcher, F& fn, bool single, asio::io_context& reactor, worker_pool& workers)
      : batcher_(batcher), fn_(fn), reactor_(reactor), workers_(workers) {
    run = &run_job;
    single_statement = single;
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    awaiting = h;
    batcher_.submit(*this, reactor_, workers_);
  }
  result_type await_resume() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<result_type>) return std::move(*result_);
  }

 private:
  static void run_job(batch_job& base, connection& c) noexcept {
    auto& self = static_cast<batched_read&>(base);
    try {
      if constexpr (std::is_void_v<result_type>) {
        self.fn_(c);
      } else {
        self.result_.emplace(self.fn_(c));
      }
    } catch (...) {
      self.error_ = std::current_exception();
    }
  }

  struct no_value {};
  read_batcher& batcher_;
  F& fn_;
  asio::io_context& reactor_;
  worker_pool& workers_;
  [[no_unique_address]] std::conditional_t<std::is_void_v<result_type>, no_value, std::optional<result_type>>
      result_;
  std::exception_ptr error_;
};

}  // namespace detail
}  // namespace sql
}  // namespace v0
}  // namespace keel
