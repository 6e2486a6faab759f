// keel::context: the per-request state every layer sees: the parsed request, the response being built, path
// parameters, the request id, the typed state middleware puts in (found by type), and the app's services.
//
// A connection owns one context and reuses it for each request, so its buffers keep their capacity.
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/http/request.hpp"
#include "keel/http/response.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#ifndef KEEL_MAX_PATH_PARAMS
#define KEEL_MAX_PATH_PARAMS 16
#endif

namespace keel::inline v0 {

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

  bool is_tls() const noexcept { return is_tls_; }
  // Template of the matched route ("/users/{id}"), "" when no route matched. Logs and metrics group by it.
  std::string_view route_path() const noexcept { return route_path_; }

  // --- for the framework (session, router)
  std::array<std::string_view, KEEL_MAX_PATH_PARAMS>& param_slots() noexcept { return params_; }
  void set_params(std::size_t n) noexcept { param_count_ = n; }
  void set_route_path(std::string_view p) noexcept { route_path_ = p; }
  void set_tls(bool tls) noexcept { is_tls_ = tls; }
  // Scratch strings for values that had to be decoded (percent-encoded path parameters), reused.
  std::string& scratch(std::size_t i) { return scratch_[i % scratch_.size()]; }
  detail::resume_hook& on_async_complete() noexcept { return resume_; }

  // Answers with `e`, in the app's error shape (its ErrorFormatter), carrying the request id.
  void fail(const http_error& e) {
    response_.reset();
    error_renderer_(e, request_id_, response_);
  }
  using error_renderer = void (*)(const http_error&, std::string_view, keel::response&);
  void set_error_renderer(error_renderer r) noexcept { error_renderer_ = r; }

  void reset_for_next_request() {
    request_.clear();
    response_.reset();
    param_count_ = 0;
    request_id_.clear();
    route_path_ = {};
  }

 private:
  http::request request_;
  keel::response response_;
  std::array<std::string_view, KEEL_MAX_PATH_PARAMS> params_{};
  std::size_t param_count_ = 0;
  std::string request_id_;
  std::string_view route_path_;
  std::array<std::string, 4> scratch_{};
  bool is_tls_ = false;
  detail::resume_hook resume_{};
  error_renderer error_renderer_ = &render_error<json_error_formatter>;
};

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

  void bind_services(const services_type& s) noexcept { services_ = s; }
  void reset_for_next_request() {
    request_context::reset_for_next_request();
    ((std::get<detail::tuple_index<States, std::tuple<States...>>::value>(states_) = States{}), ...);
  }

 private:
  std::tuple<States...> states_{};
  services_type services_{};
};

}  // namespace keel::inline v0
