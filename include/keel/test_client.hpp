// keel::test_client: runs requests through the whole pipeline (parser, router, middleware, handler, writer)
// in-process, without sockets. Requests go in as bytes and responses come back parsed, exactly as a client on
// the wire would see them; coroutine handlers and keel::offload work (a private reactor and worker pool).
//   keel::test_client client{my_app};
//   auto r = client.get("/users/42");
//   CHECK(r.status == 200);
#pragma once

#include "keel/config.hpp"
#include "keel/detail/test_mode.hpp"
#include "keel/server/config.hpp"
#include "keel/server/reactor.hpp"
#include "keel/server/session.hpp"
#include "keel/server/worker_pool.hpp"

#include <asio/io_context.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

struct test_response {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of header `name` (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (detail::iequals(k, name)) return v;
    return {};
  }
  bool has_header(std::string_view name) const {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto& h) { return detail::iequals(h.first, name); });
  }
};

using test_headers = std::vector<std::pair<std::string, std::string>>;

namespace detail {

// Decodes a chunked body at the start of `in` into `body`; returns what follows it.
inline std::string_view read_chunked_body(std::string_view in, std::string& body) {
  for (;;) {
    const auto line_end = in.find("\r\n");
    if (line_end == std::string_view::npos) throw std::runtime_error("test_client: truncated chunk size");
    std::size_t size = 0;
    std::from_chars(in.data(), in.data() + line_end, size, 16);
    in.remove_prefix(line_end + 2);
    if (size == 0) break;
    if (in.size() < size + 2) throw std::runtime_error("test_client: truncated chunk");
    body.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
  const auto trailers_end = in.find("\r\n");  // no trailers are sent: the empty line
  if (trailers_end == std::string_view::npos) throw std::runtime_error("test_client: truncated chunked body");
  return in.substr(trailers_end + 2);
}

// Splits a byte stream of HTTP/1.1 responses. `head_flags[i]` says response i answers a HEAD (no body).
inline std::vector<test_response> parse_responses(std::string_view in, const std::vector<bool>& head_flags) {
  std::vector<test_response> out;
  std::size_t final_count = 0;
  while (!in.empty()) {
    auto head_end = in.find("\r\n\r\n");
    if (head_end == std::string_view::npos) throw std::runtime_error("test_client: truncated response head");
    std::string_view head = in.substr(0, head_end);
    in.remove_prefix(head_end + 4);
    test_response r;
    auto line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
      throw std::runtime_error("test_client: bad status line");
    std::from_chars(status_line.data() + 9, status_line.data() + 12, r.status);
    r.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : std::string_view{});
    std::string_view rest =
        line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      std::string_view line = rest.substr(0, eol);
      auto colon = line.find(':');
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
      rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
    }
    bool interim = r.status >= 100 && r.status < 200;
    bool is_head = !interim && final_count < head_flags.size() && head_flags[final_count];
    if (!interim && !is_head && r.status != 204 && r.status != 304) {
      if (iequals(r.header("Transfer-Encoding"), "chunked")) {
        in = read_chunked_body(in, r.body);
      } else {
        std::size_t len = 0;
        std::string_view cl = r.header("Content-Length");
        std::from_chars(cl.data(), cl.data() + cl.size(), len);
        if (len > in.size()) throw std::runtime_error("test_client: truncated response body");
        r.body = std::string(in.substr(0, len));
        in.remove_prefix(len);
      }
    }
    if (!interim) ++final_count;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace detail

template <class App>
class test_client {
 public:
  explicit test_client(const App& app, server_config cfg = {})
      : app_(app), cfg_(std::move(cfg)), workers_(std::make_unique<worker_pool>(2)) {
    detail::running_under_test_client.store(true, std::memory_order_relaxed);
  }
  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  test_response get(std::string_view target, const test_headers& headers = {}) {
    return request("GET", target, headers);
  }
  test_response head(std::string_view target, const test_headers& headers = {}) {
    return request("HEAD", target, headers);
  }
  test_response del(std::string_view target, const test_headers& headers = {}) {
    return request("DELETE", target, headers);
  }
  test_response options(std::string_view target, const test_headers& headers = {}) {
    return request("OPTIONS", target, headers);
  }
  test_response post(std::string_view target, std::string_view body,
                     std::string_view content_type = "application/json", const test_headers& headers = {}) {
    return with_body("POST", target, body, content_type, headers);
  }
  // With headers; the content type is application/json unless they carry a Content-Type.
  test_response post(std::string_view target, std::string_view body, const test_headers& headers) {
    return with_body("POST", target, body, "application/json", headers);
  }
  test_response put(std::string_view target, std::string_view body,
                    std::string_view content_type = "application/json", const test_headers& headers = {}) {
    return with_body("PUT", target, body, content_type, headers);
  }
  // With headers; the content type is application/json unless they carry a Content-Type.
  test_response put(std::string_view target, std::string_view body, const test_headers& headers) {
    return with_body("PUT", target, body, "application/json", headers);
  }
  test_response patch(std::string_view target, std::string_view body,
                      std::string_view content_type = "application/json", const test_headers& headers = {}) {
    return with_body("PATCH", target, body, content_type, headers);
  }
  // With headers; the content type is application/json unless they carry a Content-Type.
  test_response patch(std::string_view target, std::string_view body, const test_headers& headers) {
    return with_body("PATCH", target, body, "application/json", headers);
  }

  // Any method, target, headers and body. Adds Host and, with a body, Content-Length.
  test_response request(std::string_view method, std::string_view target, const test_headers& headers = {},
                        std::string_view body = {}) {
    std::string raw;
    raw.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool has_host = false;
    for (const auto& [k, v] : headers) {
      has_host = has_host || detail::iequals(k, "Host");
      raw.append(k).append(": ").append(v).append("\r\n");
    }
    if (!has_host) raw.append("Host: test\r\n");
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
      raw.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    raw.append("\r\n").append(body);
    auto all = exchange(raw, {method == "HEAD"});
    for (auto& r : all)
      if (r.status >= 200) return std::move(r);
    throw std::runtime_error("test_client: no final response");
  }

  // Sends raw bytes as they are (several pipelined requests, malformed input, ...) on the current connection
  // and returns every response the server wrote, interim ones (100 Continue) included. `head_flags` marks
  // which final responses answer HEAD requests.
  std::vector<test_response> send_raw(std::string_view bytes, const std::vector<bool>& head_flags = {}) {
    return exchange(bytes, head_flags);
  }
  // The same, returning the bytes the server wrote, unparsed.
  std::string send_raw_bytes(std::string_view bytes) { return drive(bytes); }

  // Whether the last exchange ended the connection (Connection: close, a framing error, ...). The next
  // request opens a new one.
  bool closed() const noexcept { return closed_; }

 private:
  test_response with_body(std::string_view method, std::string_view target, std::string_view body,
                          std::string_view content_type, const test_headers& headers) {
    test_headers h = headers;
    // A Content-Type among the headers wins: it need not be said twice.
    const bool has_content_type = std::any_of(
        h.begin(), h.end(), [](const auto& kv) { return detail::iequals(kv.first, "Content-Type"); });
    if (!has_content_type) h.emplace_back("Content-Type", std::string(content_type));
    return request(method, target, h, body);
  }

  std::vector<test_response> exchange(std::string_view bytes, const std::vector<bool>& head_flags) {
    return detail::parse_responses(drive(bytes), head_flags);
  }

  std::string drive(std::string_view bytes) {
    detail::reactor_scope scope(io_, workers_.get());
    if (!session_ || closed_) {
      session_ = std::make_unique<detail::http_session<App>>(app_, cfg_, false);
      session_->set_resume_hook(&test_client::on_resume, this);
      closed_ = false;
    }
    std::string written;
    auto& s = *session_;
    for (;;) {
      detail::session_action a = s.process();
      switch (a) {
        case detail::session_action::write:
          written.append(s.output());
          s.on_written();
          continue;
        case detail::session_action::close:
        case detail::session_action::upgrade:    // no socket to hand over: the exchange ends here
        case detail::session_action::send_file:  // never asked: the session was not told it could
          written.append(s.output());
          s.on_written();
          closed_ = true;
          return written;
        case detail::session_action::wait:
          resumed_ = false;
          io_.restart();
          while (!resumed_) io_.run_one();
          continue;
        case detail::session_action::read: {
          if (bytes.empty()) return written;
          auto space = s.read_buffer();
          std::size_t n = std::min(space.size(), bytes.size());
          std::copy_n(bytes.data(), n, space.data());
          s.on_read(n);
          bytes.remove_prefix(n);
          continue;
        }
      }
    }
  }

  static void on_resume(void* self) { static_cast<test_client*>(self)->resumed_ = true; }

  const App& app_;
  server_config cfg_;
  asio::io_context io_;
  std::unique_ptr<worker_pool> workers_;
  std::unique_ptr<detail::http_session<App>> session_;
  bool closed_ = false;
  bool resumed_ = false;
};

template <class App>
test_client(const App&) -> test_client<App>;
template <class App>
test_client(const App&, server_config) -> test_client<App>;

}  // namespace v0
}  // namespace keel
