// The Middleware role and how a stack of them runs.
//
// A middleware is a class with `before(ctx)` and/or `after(ctx)`; a stack runs every `before` in order, then
// the handler, then every `after` in reverse order: the onion, with the handler in the middle. A `before`
// that returns keel::flow::respond answers early (it has filled ctx.response()); the inner layers and the
// handler are skipped, while the `after`s of the layers that already ran still run, outermost last.
//
// Why two hooks and not `operator()(ctx, next)`: a handler may be a coroutine that finishes later on the same
// thread. With hooks, every middleware stays a plain synchronous function that the compiler inlines around
// the handler, whether the handler is synchronous or not, and no layer needs a coroutine frame of its own.
//
// A layer that needs I/O (a session store, a rate-limit counter, a key set) may write `before` as a coroutine
// returning keel::task<keel::flow>. Only such a layer costs a coroutine frame; a stack of synchronous layers
// compiles exactly as before (the asynchronous path is chosen at compile time, per stack).
//
// A middleware may declare `using state = T;`: every request then carries a T (default-constructed) that the
// middleware fills and that later layers and handlers read by type (`ctx.state<T>()`, or a handler parameter
// `T&` / `const T&`). Middleware objects are shared by all threads: before/after must be const.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/exception_response.hpp"
#include "keel/task.hpp"

#include <concepts>
#include <cstddef>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

enum class flow : bool {
  next,     // go on to the next layer
  respond,  // stop here: ctx.response() is the answer
};

enum class dispatch_result : bool {
  done,     // ctx.response() holds the answer
  pending,  // something suspended (a coroutine handler or `before`); the context's completion hook fires
            // once the response is ready
};

template <class M, class Ctx>
concept has_before = requires(const M& m, Ctx& ctx) {
  m.before(ctx);
};
template <class M, class Ctx>
concept has_after = requires(const M& m, Ctx& ctx) {
  m.after(ctx);
};

// A `before` that awaits: `keel::task<keel::flow> before(Ctx&) const`.
template <class M, class Ctx>
concept has_async_before = requires(const M& m, Ctx& ctx) {
  { m.before(ctx) } -> std::same_as<task<flow>>;
};

// A type that can sit in a stack over requests with context Ctx.
template <class M, class Ctx>
concept Middleware = std::is_class_v<M> &&(has_before<M, Ctx> || has_after<M, Ctx>);

// A request the session rejects before routing (400 bad framing, 408, 413, 414, 431) never reaches the stack,
// so its error would lack what middleware adds, such as the request id. An app-wide middleware that declares
//   static constexpr bool sees_rejected_requests = true;
// also runs around that error answer: before(ctx) (its flow is ignored), the error, then after(ctx). Its
// before() must not rely on the request: the session has cleared it (it could not be trusted).
template <class M>
concept sees_rejected_requests = requires {
  requires M::sees_rejected_requests;
};

namespace detail {

template <class M>
struct state_of {
  using type = void;
};
template <class M>
requires requires { typename M::state; }
struct state_of<M> {
  using type = typename M::state;
};

template <class Ctx, class Stack>
struct stack_is_async;
template <class Ctx, class... Ms>
struct stack_is_async<Ctx, std::tuple<Ms...>> {
  static constexpr bool value = (has_async_before<Ms, Ctx> || ...);
};
// Whether any layer of the stack awaits in `before` (then the number of layers that ran is kept in the
// context, since it must outlive the call).
template <class Ctx, class Stack>
inline constexpr bool stack_is_async_v = stack_is_async<Ctx, Stack>::value;

// Runs the synchronous `before` of layer I (if it has one). Returns whether the request goes on.
template <std::size_t I, class Ctx, class... Ms>
KEEL_ALWAYS_INLINE bool run_one_before(const std::tuple<Ms...>& stack, Ctx& ctx) {
  using M = std::tuple_element_t<I, std::tuple<Ms...>>;
  static_assert(Middleware<M, Ctx>,
                "keel: a middleware must have `before(ctx)` and/or `after(ctx)` callable on a const object");
  if constexpr (has_before<M, Ctx>) {
    using R = decltype(std::get<I>(stack).before(ctx));
    if constexpr (std::is_same_v<R, flow>) {
      return std::get<I>(stack).before(ctx) == flow::next;
    } else {
      static_assert(std::is_void_v<R>,
                    "keel: middleware before(ctx) must return void, keel::flow or keel::task<keel::flow>");
      std::get<I>(stack).before(ctx);
    }
  }
  return true;
}

// Runs the `before`s of an all-synchronous `stack` in order. Returns whether the request goes on; `ran`
// counts the layers whose `after` is owed.
template <std::size_t I = 0, class Ctx, class... Ms>
KEEL_ALWAYS_INLINE bool run_before(const std::tuple<Ms...>& stack, Ctx& ctx, std::size_t& ran) {
  if constexpr (I == sizeof...(Ms)) {
    return true;
  } else {
    ++ran;
    if (!run_one_before<I>(stack, ctx)) return false;
    return run_before<I + 1>(stack, ctx, ran);
  }
}

// Runs the `before`s of `stack` from layer I on, then inner(ctx). `ran` counts the layers whose `before` ran
// (their `after`s are owed). Returns done when the answer is ready (the caller runs the `after`s), pending
// when something suspended. An asynchronous `before` that resumes goes on down the chain; when the chain then
// ends with done, on_done(ctx) is called (and an inner that went pending signals completion itself).
template <std::size_t I = 0, class Ctx, class... Ms, class Inner, class OnDone>
KEEL_ALWAYS_INLINE dispatch_result run_chain(const std::tuple<Ms...>& stack, Ctx& ctx, std::size_t& ran,
                                             const Inner& inner, const OnDone& on_done) {
  if constexpr (I == sizeof...(Ms)) {
    return inner(ctx);
  } else {
    using M = std::tuple_element_t<I, std::tuple<Ms...>>;
    static_assert(
        Middleware<M, Ctx>,
        "keel: a middleware must have `before(ctx)` and/or `after(ctx)` callable on a const object");
    ++ran;
    if constexpr (has_async_before<M, Ctx>) {
      start_detached(std::get<I>(stack).before(ctx),
                     [&stack, &ctx, &ran, inner, on_done](task_result<flow>&& res) {
                       dispatch_result r = dispatch_result::done;
                       try {
                         if (res.exception) std::rethrow_exception(res.exception);
                         if (*res.value == flow::next) r = run_chain<I + 1>(stack, ctx, ran, inner, on_done);
                       } catch (...) {
                         respond_to_exception(ctx);
                       }
                       if (r == dispatch_result::done) on_done(ctx);
                     });
      return dispatch_result::pending;
    } else {
      if (!run_one_before<I>(stack, ctx)) return dispatch_result::done;
      return run_chain<I + 1>(stack, ctx, ran, inner, on_done);
    }
  }
}

// Runs the `after`s of the first `ran` layers of `stack`, innermost first.
template <std::size_t I = 0, class Ctx, class... Ms>
KEEL_ALWAYS_INLINE void run_after(const std::tuple<Ms...>& stack, Ctx& ctx, std::size_t ran) {
  if constexpr (I < sizeof...(Ms)) {
    constexpr std::size_t idx = sizeof...(Ms) - 1 - I;
    using M = std::tuple_element_t<idx, std::tuple<Ms...>>;
    if constexpr (has_after<M, Ctx>) {
      if (idx < ran) std::get<idx>(stack).after(ctx);
    }
    run_after<I + 1>(stack, ctx, ran);
  }
}

// The one runner of a middleware stack around what it wraps (the router for the app's stack, the extractors
// and handler for a route's): befores in order, inner(ctx), afters innermost first for the layers that ran;
// an exception becomes the answer. Returns pending when something suspended (then the `after`s are run by
// whoever completes: on_done after an asynchronous `before`, or the caller's completion path).
// An all-synchronous stack runs inline with its count in a local; only a stack with an asynchronous
// `before` keeps the count in `ran_slot` (it must outlive this call) and goes through run_chain.
template <class Ctx, class Stack, class Inner, class OnDone>
KEEL_ALWAYS_INLINE dispatch_result run_stack(const Stack& stack, Ctx& ctx, std::size_t& ran_slot,
                                             const Inner& inner, const OnDone& on_done) {
  dispatch_result r = dispatch_result::done;
  if constexpr (!stack_is_async_v<Ctx, Stack>) {
    std::size_t ran = 0;
    try {
      // A before() that throws answers like a handler that throws, and the layers that ran still unwind.
      if (run_before(stack, ctx, ran)) r = inner(ctx);
    } catch (...) {
      respond_to_exception(ctx);
    }
    if (r == dispatch_result::done) run_after(stack, ctx, ran);
  } else {
    ran_slot = 0;
    try {
      r = run_chain(stack, ctx, ran_slot, inner, on_done);
    } catch (...) {
      respond_to_exception(ctx);
    }
    if (r == dispatch_result::done) run_after(stack, ctx, ran_slot);
  }
  return r;
}

// The layers of `stack` that see rejected requests, around `answer`: their befores in order, then the
// answer, then their afters innermost first.
template <std::size_t I = 0, class Ctx, class Answer, class... Ms>
void wrap_rejected_request(const std::tuple<Ms...>& stack, Ctx& ctx, Answer&& answer) {
  if constexpr (I == sizeof...(Ms)) {
    answer();
  } else {
    using M = std::tuple_element_t<I, std::tuple<Ms...>>;
    constexpr bool sees = sees_rejected_requests<M>;
    if constexpr (sees && has_before<M, Ctx>) (void)std::get<I>(stack).before(ctx);
    wrap_rejected_request<I + 1>(stack, ctx, answer);
    if constexpr (sees && has_after<M, Ctx>) std::get<I>(stack).after(ctx);
  }
}

// The session's answer to a request it rejected: ctx.fail(error), wrapped in the layers of the app-wide
// `stack` that see rejected requests (sees_rejected_requests).
template <class Ctx, class Error, class... Ms>
void fail_rejected_request(const std::tuple<Ms...>& stack, Ctx& ctx, const Error& error) {
  wrap_rejected_request(stack, ctx, [&] { ctx.fail(error); });
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
