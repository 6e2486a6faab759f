// keel: version, namespace and compiler switches shared by every header.
#pragma once

#define KEEL_VERSION_MAJOR 0
#define KEEL_VERSION_MINOR 1
#define KEEL_VERSION_PATCH 0
#define KEEL_VERSION_STRING "0.1.0"

// Asio must be the standalone one and must not offer the deprecated API. Users who include asio before keel
// get the same definitions from the keel::keel CMake target; this is the fallback for hand-made builds.
#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE 1
#endif
#ifndef ASIO_NO_DEPRECATED
#define ASIO_NO_DEPRECATED 1
#endif
// clang 16 with libstdc++ 12: Asio 1.22 only looks for <experimental/coroutine> and silently disables
// co_await support. We never rely on asio::awaitable, but keep Asio's own detection consistent.
#if defined(__clang__) && !defined(ASIO_HAS_CO_AWAIT) && __cplusplus >= 202002L
#define ASIO_HAS_CO_AWAIT 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KEEL_ALWAYS_INLINE inline __attribute__((always_inline))
#define KEEL_ALWAYS_INLINE_LAMBDA __attribute__((always_inline))
#define KEEL_NOINLINE __attribute__((noinline))
#define KEEL_LIKELY(x) __builtin_expect(!!(x), 1)
#define KEEL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define KEEL_ALWAYS_INLINE inline
#define KEEL_ALWAYS_INLINE_LAMBDA
#define KEEL_NOINLINE
#define KEEL_LIKELY(x) (x)
#define KEEL_UNLIKELY(x) (x)
#endif

// Everything public lives in keel::v0 (inline), so a future ABI break can bump the namespace and two
// versions can be linked into one program without ODR clashes.
namespace keel {
inline namespace v0 {}
}  // namespace keel
