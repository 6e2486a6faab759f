// keel::http_client: outgoing HTTP/1.1 requests from coroutines (handlers, background tasks, jobs), over
// Asio, with kept-alive connections reused per origin, chunked and Content-Length responses, TLS with
// certificate and host name checks (OpenSSL), connect/read/total timeouts, redirects on request, JSON DTO
// bodies.
//
//   keel::http_client client(io);                       // one per reactor thread: it is not thread-safe
//   keel::client_response r = co_await client.get("https://api.example.com/v1/items");
//   auto items = r.json<std::vector<item>>();
//
// Responses are parsed by keel::http::response_parser (the server parser's field-line rules) and their
// bodies by http::body_decoder. Failures (no usable response) throw keel::client_error; any HTTP status is a
// response, not an error. Links keel::tls (OpenSSL) and keel::json.
#pragma once

#include "keel/config.hpp"
#include "keel/client/connection.hpp"
#include "keel/client/tls_context.hpp"
#include "keel/client/types.hpp"
#include "keel/client/url.hpp"
#include "keel/http/body_decoder.hpp"
#include "keel/http/method.hpp"
#include "keel/http/response_parser.hpp"
#include "keel/server/reactor.hpp"
#include "keel/task.hpp"

#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

inline bool is_idempotent(http::method m) noexcept {
  return m == http::method::get || m == http::method::head || m == http::method::put ||
         m == http::method::delete_ || m == http::method::options;
}

}  // namespace detail

class http_client {
 public:
  // Requests run on `io` (a reactor thread's io_context, or one a program or test runs itself).
  explicit http_client(asio::io_context& io, client_options options = {})
      : io_(io), options_(std::move(options)) {}
  // On the current reactor thread (inside a handler, a background task or a job); throws when there is none.
  explicit http_client(client_options options = {}) : http_client(current_io(), std::move(options)) {}
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  const client_options& options() const noexcept { return options_; }

  // Sends `request`; returns the response (of any status) or throws client_error.
  task<client_response> send(client_request request) {
    std::optional<detail::client_url> url = detail::parse_client_url(request.url);
    if (!url) throw client_error(client_error_kind::invalid_url, "keel: not an http(s) URL: " + request.url);
    const auto deadline = detail::client_clock::now() + options_.timeout.total;
    for (int redirects = 0;; ++redirects) {
      task<client_response> exchanging = exchange(*url, request, deadline);
      client_response response = co_await std::move(exchanging);
      const bool redirect = response.status == 301 || response.status == 302 || response.status == 303 ||
                            response.status == 307 || response.status == 308;
      const std::string_view location = response.header("Location");
      if (!redirect || request.max_redirects <= 0 || location.empty()) {
        response.url = url->text();
        response.redirects = redirects;
        co_return response;
      }
      if (redirects >= request.max_redirects)
        throw client_error(
            client_error_kind::too_many_redirects,
            "keel: more than " + std::to_string(request.max_redirects) + " redirects from " + request.url);
      std::optional<detail::client_url> next = detail::resolve_location(*url, location);
      if (!next)
        throw client_error(client_error_kind::invalid_url,
                           "keel: redirect to an unusable URL: " + std::string(location));
      if (response.status == 303 ||
          ((response.status == 301 || response.status == 302) && request.method == http::method::post)) {
        if (request.method != http::method::head) request.method = http::method::get;
        request.body.clear();
        std::erase_if(request.headers, [](const auto& h) {
          return detail::iequals(h.first, "Content-Type") || detail::iequals(h.first, "Content-Length");
        });
      }
      if (next->origin() != url->origin()) {  // credentials stay with the origin they were meant for
        std::erase_if(request.headers, [](const auto& h) {
          return detail::iequals(h.first, "Authorization") || detail::iequals(h.first, "Cookie") ||
                 detail::iequals(h.first, "Proxy-Authorization");
        });
      }
      url = std::move(next);
    }
  }

  task<client_response> get(std::string url) {
    client_request request;
    request.url = std::move(url);
    return send(std::move(request));
  }
  // POSTs the DTO as JSON.
  template <class T>
  task<client_response> post_json(std::string url, const T& dto) {
    client_request request;
    request.method = http::method::post;
    request.url = std::move(url);
    request.json(dto);
    return send(std::move(request));
  }

  // Idle connections kept for reuse, over all origins (for tests and metrics).
  std::size_t idle_connections() const noexcept {
    std::size_t n = 0;
    for (const auto& [origin, list] : idle_) n += list.size();
    return n;
  }
  // Connections opened so far (a reused one is not counted again).
  std::size_t connections_opened() const noexcept { return opened_; }

 private:
  using connection_ptr = std::unique_ptr<detail::client_connection>;

  static asio::io_context& current_io() {
    asio::io_context* io = detail::current_reactor();
    if (io == nullptr)
      throw std::logic_error("keel::http_client(): no reactor on this thread; pass an io_context");
    return *io;
  }

  asio::ssl::context& tls_context() {
    if (!tls_) tls_.emplace(detail::make_client_tls_context(options_.ca_file, options_.verify_peer));
    return *tls_;
  }

  connection_ptr take_idle(const std::string& origin) {
    auto found = idle_.find(origin);
    if (found == idle_.end()) return nullptr;
    auto& list = found->second;
    const auto now = detail::client_clock::now();
    while (!list.empty()) {
      connection_ptr c = std::move(list.back());
      list.pop_back();
      if (now - c->idle_since < options_.idle_timeout && c->idle_usable()) return c;
      c->close();
    }
    return nullptr;
  }

  void give_back(const std::string& origin, connection_ptr c) {
    auto& list = idle_[origin];
    if (list.size() >= options_.max_idle_per_host) {
      c->close();
      return;
    }
    c->idle_since = detail::client_clock::now();
    list.push_back(std::move(c));
  }

  std::string serialize(const detail::client_url& url, const client_request& request) const {
    std::string out;
    out.reserve(256 + request.body.size());
    out.append(http::to_string(request.method)).append(" ").append(url.target).append(" HTTP/1.1\r\n");
    out.append("Host: ").append(url.authority()).append("\r\n");
    bool has_agent = false, has_accept = false;
    for (const auto& [name, value] : request.headers) {
      if (detail::iequals(name, "Host") || detail::iequals(name, "Content-Length") ||
          detail::iequals(name, "Transfer-Encoding") || detail::iequals(name, "Connection"))
        continue;  // the client frames the message itself
      for (const std::string* part : {&name, &value})
        for (const char c : *part)
          if (c == '\r' || c == '\n' || c == '\0')
            throw client_error(client_error_kind::invalid_url, "keel: a request header holds CR, LF or NUL");
      has_agent |= detail::iequals(name, "User-Agent");
      has_accept |= detail::iequals(name, "Accept");
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_agent && !options_.user_agent.empty())
      out.append("User-Agent: ").append(options_.user_agent).append("\r\n");
    if (!has_accept) out.append("Accept: */*\r\n");
    if (!request.body.empty() || request.method == http::method::post ||
        request.method == http::method::put || request.method == http::method::patch)
      out.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
    out.append("\r\n").append(request.body);
    return out;
  }

  // One request and its response on a pooled or new connection. A reused connection the peer had closed
  // meanwhile (nothing came back) is retried once on a new one when the request may be repeated.
  task<client_response> exchange(const detail::client_url& url, const client_request& request,
                                 detail::client_clock::time_point deadline) {
    const std::string origin = url.origin();
    const std::string wire = serialize(url, request);
    for (int attempt = 0;; ++attempt) {
      connection_ptr c = attempt == 0 ? take_idle(origin) : nullptr;
      const bool reused = c != nullptr;
      if (!c) {
        c = std::make_unique<detail::client_connection>(io_);
        const auto connect_deadline =
            std::min(deadline, detail::client_clock::now() + options_.timeout.connect);
        co_await c->connect(url.host, url.port, connect_deadline);
        if (url.tls) co_await c->start_tls(tls_context(), url.host, connect_deadline);
        ++opened_;
      }
      bool got_bytes = false;
      bool keep = false;
      std::optional<client_error> failure;
      std::optional<client_response> response;
      try {
        co_await c->write_all(wire, read_deadline(deadline));
        response.emplace(
            co_await read_response(*c, request.method == http::method::head, deadline, got_bytes, keep));
      } catch (const client_error& e) {
        failure.emplace(e);
      }
      if (failure) {
        c->close();
        const bool retry = reused && !got_bytes && failure->kind() == client_error_kind::closed &&
                           detail::is_idempotent(request.method);
        if (!retry) throw *failure;
        continue;
      }
      if (keep)
        give_back(origin, std::move(c));
      else
        c->close();
      co_return std::move(*response);
    }
  }

  detail::client_clock::time_point read_deadline(detail::client_clock::time_point total) const {
    return std::min(total, detail::client_clock::now() + options_.timeout.read);
  }

  task<client_response> read_response(detail::client_connection& c, bool head_request,
                                      detail::client_clock::time_point deadline, bool& got_bytes,
                                      bool& keep) {
    detail::client_read_buffer& buf = c.buffer;
    buf.used = 0;
    const http::response_parser parser(options_.max_header_bytes);
    http::response_head head;
    std::size_t head_size = 0;
    for (;;) {  // the head, skipping interim 1xx responses
      const http::parse_result parsed = parser.parse(buf.bytes.data(), buf.used, head);
      if (parsed.status == http::parse_status::error)
        throw client_error(client_error_kind::protocol, "keel: malformed or oversized response head");
      if (parsed.status == http::parse_status::complete) {
        if (head.status >= 100 && head.status < 200 && head.status != 101) {
          buf.bytes.erase(0, parsed.consumed);
          buf.used -= parsed.consumed;
          buf.bytes.resize(std::max<std::size_t>(buf.bytes.size(), 16 * 1024));
          continue;
        }
        head_size = parsed.consumed;
        break;
      }
      if (buf.used == buf.bytes.size()) buf.bytes.resize(buf.bytes.size() * 2);
      const std::size_t n = co_await c.read_some(buf.bytes.data() + buf.used, buf.bytes.size() - buf.used,
                                                 read_deadline(deadline));
      if (n == 0)
        throw client_error(client_error_kind::closed,
                           "keel: the server closed the connection before answering");
      got_bytes = true;
      buf.used += n;
    }
    client_response out;
    out.status = head.status;
    out.headers.reserve(head.headers.size());
    for (const auto& field : head.headers) out.headers.emplace_back(field.name, field.value);
    keep = head.keep_alive;

    const http::response_framing framing = http::response_parser::framing(head, head_request);
    const std::size_t limit = options_.max_response_bytes;
    if (framing == http::response_framing::fixed && head.content_length > limit) too_large();
    http::body_decoder decoder;
    if (framing == http::response_framing::chunked)
      decoder.start_chunked(limit, options_.max_header_bytes, 64);
    if (framing == http::response_framing::fixed) decoder.start_fixed(head.content_length, limit);
    if (framing == http::response_framing::until_close) keep = false;
    std::size_t at = head_size;  // unread bytes are [at, used)
    if (framing == http::response_framing::none) {
      keep = keep && at == buf.used;  // bytes nobody asked for: do not reuse the connection
      co_return out;
    }
    for (;;) {
      if (framing == http::response_framing::until_close) {
        out.body.append(buf.bytes.data() + at, buf.used - at);
        if (out.body.size() > limit) too_large();
      } else {
        while (at < buf.used && !decoder.done() && !decoder.failed()) {
          const http::body_decoder::step step = decoder.next(buf.bytes.data() + at, buf.used - at);
          out.body.append(step.data);
          at += step.consumed;
          if (step.consumed == 0) break;
        }
        if (decoder.failed()) {
          if (decoder.error() == http::status::payload_too_large) too_large();
          throw client_error(client_error_kind::protocol, "keel: malformed chunked response body");
        }
        if (decoder.done()) {
          keep = keep && at == buf.used;
          co_return out;
        }
        // keep a partial chunk line at the front of the buffer
        buf.bytes.erase(0, at);
        buf.used -= at;
      }
      if (framing == http::response_framing::until_close) buf.used = 0;
      at = 0;
      if (buf.bytes.size() < 16 * 1024) buf.bytes.resize(16 * 1024);
      if (buf.used == buf.bytes.size()) buf.bytes.resize(buf.bytes.size() * 2);
      const std::size_t n = co_await c.read_some(buf.bytes.data() + buf.used, buf.bytes.size() - buf.used,
                                                 read_deadline(deadline));
      if (n == 0) {
        if (framing == http::response_framing::until_close) co_return out;
        throw client_error(client_error_kind::protocol,
                           "keel: the connection closed inside the response body");
      }
      buf.used += n;
    }
  }

  [[noreturn]] void too_large() const {
    throw client_error(client_error_kind::too_large, "keel: response body over max_response_bytes (" +
                                                         std::to_string(options_.max_response_bytes) + ")");
  }

  asio::io_context& io_;
  client_options options_;
  std::optional<asio::ssl::context> tls_;
  std::unordered_map<std::string, std::vector<connection_ptr>> idle_;
  std::size_t opened_ = 0;
};

}  // namespace v0
}  // namespace keel
