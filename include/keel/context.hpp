// keel::context: the per-request state every layer sees: the parsed request, the response being built, path
// parameters, the request id, the typed state middleware puts in (found by type), and the app's services.
//
// A connection owns one context and reuses it for each request, so its buffers keep their capacity. What
// only the framework touches (routing slots, the completion hook, body sources) is reached through
// detail::context_access, not through the context's public API.
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/http/request.hpp"
#include "keel/http/response.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#ifndef KEEL_MAX_PATH_PARAMS
#define KEEL_MAX_PATH_PARAMS 16
#endif

namespace keel {
inline namespace v0 {

namespace detail {
template <class T, class Tuple>
struct tuple_index;
template <class T, class... Ts>
struct tuple_index<T, std::tuple<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<T, Ts>..., false};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
      if (same[i]) return i;
    return sizeof...(Ts);
  }();
  static constexpr bool found = value < sizeof...(Ts);
};

// Completion hook of an asynchronous handler: a plain function pointer and its object (no std::function).
struct resume_hook {
  void (*fn)(void*) = nullptr;
  void* self = nullptr;
  void operator()() const { fn(self); }
};

struct stream_channel;

// What a response carries besides buffered text, decided by its responder: a file region (keel::file), a
// stream the handler writes (keel::stream_writer), or a protocol that takes the connection over
// (keel::upgrade). `request_body` marks a buffered answer to a request whose body the handler streamed in
// (keel::body_stream). The session checks it once per request: anything but `buffered` takes its slow path,
// which also puts it back to `buffered`.
enum class body_kind : std::uint8_t { buffered, request_body, file, stream, upgrade };

// An open file and the region of it to send; closes the file when reset or destroyed.
class file_region {
 public:
  file_region() = default;
  file_region(const file_region&) = delete;
  file_region& operator=(const file_region&) = delete;
  file_region(file_region&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), offset_(o.offset_), length_(o.length_) {}
  file_region& operator=(file_region&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
      offset_ = o.offset_;
      length_ = o.length_;
    }
    return *this;
  }
  ~file_region() { reset(); }

  void assign(int fd, std::uint64_t offset, std::uint64_t length) noexcept {
    reset();
    fd_ = fd;
    offset_ = offset;
    length_ = length;
  }
  void reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  bool open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  std::uint64_t offset() const noexcept { return offset_; }
  std::uint64_t length() const noexcept { return length_; }
  void narrow(std::uint64_t offset, std::uint64_t length) noexcept {
    offset_ = offset;
    length_ = length;
  }
  // `n` bytes of the region were sent.
  void advance(std::uint64_t n) noexcept {
    offset_ += n;
    length_ -= n;
  }

 private:
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  std::uint64_t length_ = 0;
};

// A protocol waiting to take over the connection after its 101 response (see keel/upgrade.hpp): the object
// that runs it, behind two plain function pointers.
struct upgrade_slot {
  void* protocol = nullptr;
  void (*destroy)(void*) = nullptr;
  void* (*start)(void* protocol, void* io) = nullptr;  // starts the protocol's task over `io`
  std::string_view name;
  upgrade_slot() = default;
  upgrade_slot(const upgrade_slot&) = delete;
  upgrade_slot& operator=(const upgrade_slot&) = delete;
  upgrade_slot(upgrade_slot&& o) noexcept
      : protocol(std::exchange(o.protocol, nullptr)), destroy(o.destroy), start(o.start), name(o.name) {}
  upgrade_slot& operator=(upgrade_slot&& o) noexcept {
    if (this != &o) {
      reset();
      protocol = std::exchange(o.protocol, nullptr);
      destroy = o.destroy;
      start = o.start;
      name = o.name;
    }
    return *this;
  }
  ~upgrade_slot() { reset(); }
  void reset() noexcept {
    if (protocol != nullptr) destroy(std::exchange(protocol, nullptr));
  }
};

struct context_access;
}  // namespace detail

// The part of the context that does not depend on the app's types. Extractors and middleware that need
// nothing typed take this.
class request_context {
 public:
  http::request& request() noexcept { return request_; }
  const http::request& request() const noexcept { return request_; }
  keel::response& response() noexcept { return response_; }
  const keel::response& response() const noexcept { return response_; }

  // Path parameters of the matched route, in path order, still percent-encoded.
  std::size_t path_param_count() const noexcept { return param_count_; }
  std::string_view raw_path_param(std::size_t i) const noexcept { return params_[i]; }

  // The request id (set by keel::request_id middleware; "" without it). Error bodies carry it.
  std::string_view request_id() const noexcept { return request_id_; }
  void set_request_id(std::string_view id) { request_id_.assign(id.data(), id.size()); }

  // The W3C trace id of a request with a valid `traceparent` header (32 lowercase hex digits), set by the
  // keel::traceparent middleware on every request; "" without it. Log lines carry it.
  std::string_view trace_id() const noexcept { return {trace_id_.data(), trace_id_size_}; }
  void set_trace_id(std::string_view id) noexcept {
    trace_id_size_ = static_cast<std::uint8_t>(id.copy(trace_id_.data(), trace_id_.size()));
  }

  bool is_tls() const noexcept { return is_tls_; }
  // The peer's IP address as text ("127.0.0.1", "::1"), as the TCP connection sees it: a reverse proxy's
  // address when there is one (see X-Forwarded-For then). "" in the in-process test client.
  std::string_view remote_address() const noexcept { return {remote_.data(), remote_size_}; }
  // Template of the matched route ("/users/{id}"), "" when no route matched. Logs and metrics group by it.
  std::string_view route_path() const noexcept { return route_path_; }

  // Answers with `e`, in the app's error shape (its ErrorFormatter), carrying the request id.
  void fail(const http_error& e) {
    response_.reset();
    error_renderer_(e, request_id_, response_);
  }
  using error_renderer = void (*)(const http_error&, std::string_view, keel::response&);

  void reset_for_next_request() {
    request_.clear();
    response_.reset();
    param_count_ = 0;
    request_id_.clear();
    route_path_ = {};
  }

 private:
  friend struct detail::context_access;
  KEEL_NOINLINE void reset_body_source() noexcept {
    body_kind_ = detail::body_kind::buffered;
    file_.reset();
    upgrade_.reset();
  }

  http::request request_;
  keel::response response_;
  std::array<std::string_view, KEEL_MAX_PATH_PARAMS> params_{};
  std::size_t param_count_ = 0;
  std::string request_id_;
  std::string_view route_path_;
  std::array<std::string, 4> scratch_{};
  bool is_tls_ = false;
  std::uint8_t trace_id_size_ = 0;  // not reset per request: only keel::traceparent sets it, on every request
  std::array<char, 32> trace_id_{};
  std::uint8_t remote_size_ = 0;
  std::array<char, 46> remote_{};  // INET6_ADDRSTRLEN
  detail::body_kind body_kind_ = detail::body_kind::buffered;
  detail::resume_hook resume_{};
  error_renderer error_renderer_ = &render_error<json_error_formatter>;
  detail::stream_channel* channel_ = nullptr;
  detail::file_region file_;
  detail::upgrade_slot upgrade_;
  // Layers whose `before` ran (their `after`s are owed), kept here only for stacks with an asynchronous
  // `before`: the app's and the matched route's.
  std::size_t app_layers_ = 0;
  std::size_t route_layers_ = 0;
};

namespace detail {
// The framework's side of a context (session, router, responders), kept out of its public API.
struct context_access {
  static std::array<std::string_view, KEEL_MAX_PATH_PARAMS>& param_slots(request_context& c) noexcept {
    return c.params_;
  }
  static void set_params(request_context& c, std::size_t n) noexcept { c.param_count_ = n; }
  static void set_route_path(request_context& c, std::string_view p) noexcept { c.route_path_ = p; }
  static void set_tls(request_context& c, bool tls) noexcept { c.is_tls_ = tls; }
  static void set_remote_address(request_context& c, std::string_view a) noexcept {
    const std::size_t n = std::min(a.size(), c.remote_.size());
    std::copy_n(a.data(), n, c.remote_.data());
    c.remote_size_ = static_cast<std::uint8_t>(n);
  }
  // Scratch strings for values that had to be decoded (percent-encoded path parameters), reused.
  static std::string& scratch(request_context& c, std::size_t i) { return c.scratch_[i % c.scratch_.size()]; }
  static resume_hook& on_async_complete(request_context& c) noexcept { return c.resume_; }
  static void set_error_renderer(request_context& c, request_context::error_renderer r) noexcept {
    c.error_renderer_ = r;
  }
  static stream_channel* channel(request_context& c) noexcept { return c.channel_; }
  static void set_channel(request_context& c, stream_channel* ch) noexcept { c.channel_ = ch; }
  static body_kind kind(const request_context& c) noexcept { return c.body_kind_; }
  static void set_kind(request_context& c, body_kind k) noexcept { c.body_kind_ = k; }
  // Back to a buffered answer, closing a file and dropping a protocol that were not taken.
  static void reset_body_source(request_context& c) noexcept { c.reset_body_source(); }
  static file_region& file(request_context& c) noexcept { return c.file_; }
  static upgrade_slot& upgrade(request_context& c) noexcept { return c.upgrade_; }
  static std::size_t& app_layers_ran(request_context& c) noexcept { return c.app_layers_; }
  static std::size_t& route_layers_ran(request_context& c) noexcept { return c.route_layers_; }
};
}  // namespace detail

// The typed context: States are the state types of every middleware in the app, Services the app's services
// (held by pointer; they outlive the server).
template <class States, class Services>
class context;

template <class... States, class... Services>
class context<std::tuple<States...>, std::tuple<Services...>> : public request_context {
 public:
  using states_type = std::tuple<States...>;
  using services_type = std::tuple<Services*...>;

  template <class T>
  static constexpr bool has_state = detail::tuple_index<T, std::tuple<States...>>::found;
  template <class T>
  static constexpr bool has_service = detail::tuple_index<T, std::tuple<Services...>>::found;

  // The request's state of type T, put there by the middleware that declares `using state = T;`.
  template <class T>
  T& state() noexcept {
    static_assert(has_state<T>,
                  "keel: no middleware in this app declares this state type (`using state = T;`); add the "
                  "middleware with .use<...>() or remove the parameter");
    return std::get<detail::tuple_index<T, std::tuple<States...>>::value>(states_);
  }
  // The app's service of type T, registered with app.provide(...).
  template <class T>
  T& service() noexcept {
    static_assert(has_service<T>, "keel: this service type was not registered with app.provide(...)");
    return *std::get<detail::tuple_index<T, std::tuple<Services...>>::value>(services_);
  }

  void bind_services(const services_type& s) noexcept { services_ = s; }  // by the app, once per connection
  void reset_for_next_request() {
    request_context::reset_for_next_request();
    ((std::get<detail::tuple_index<States, std::tuple<States...>>::value>(states_) = States{}), ...);
  }

 private:
  std::tuple<States...> states_{};
  services_type services_{};
};

}  // namespace v0
}  // namespace keel
