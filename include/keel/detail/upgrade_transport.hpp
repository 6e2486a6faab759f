// keel::detail::upgrade_transport: what a connection lends a protocol that took it over (keel::upgrade):
// its socket's reads and writes, as plain function pointers over the connection, which knows whether the
// stream is TCP or TLS (the protocol does not).
#pragma once

#include "keel/config.hpp"

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace keel {
inline namespace v0 {
namespace detail {

// One outstanding read or write of an upgraded protocol.
struct upgrade_op {
  std::coroutine_handle<> waiter;
  std::error_code error;
  std::size_t bytes = 0;
};

// What the connection lends an upgraded protocol: its socket's reads and writes, as plain function
// pointers over the connection (it knows whether the stream is TCP or TLS; the protocol does not).
struct upgrade_transport {
  void* connection = nullptr;
  void (*read)(void* connection, std::span<char> into, upgrade_op& op) = nullptr;
  void (*write)(void* connection, std::string_view bytes, upgrade_op& op) = nullptr;
  void (*done)(void* connection) = nullptr;  // the protocol's task finished
  // Plain TCP only (nullptr on TLS): writes what the socket takes now of `parts` (at most max_write_parts,
  // one after the other) in one system call, without waiting and without a completion; returns the bytes
  // taken (0 when the socket is full). Only while no write() is outstanding. A broken socket is closed
  // (`closed` set) and 0 returned.
  std::size_t (*try_write)(void* connection, const std::string_view* parts, std::size_t count) = nullptr;
  static constexpr std::size_t max_write_parts = 64;
  std::string leftover;                       // bytes the HTTP side had read past the upgrade request
  std::chrono::milliseconds read_timeout{0};  // 0: the server's idle timeout
  // When set, the next read's deadline instead of now + read_timeout (a protocol that just read the clock
  // saves the connection reading it again).
  std::chrono::steady_clock::time_point read_deadline{};
  bool stopping = false;  // graceful shutdown began
  bool closed = false;    // the socket is gone
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
