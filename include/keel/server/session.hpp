// keel::detail::http_session: the HTTP/1.1 state machine of one connection, independent of the transport.
//
// A transport (TCP, TLS, or the in-process test client) feeds it bytes and writes what it produces. The
// session parses every complete request in its buffer, runs the app on each, and appends the responses in
// request order to one output buffer that leaves in one write: pipelined requests cost one read and one
// write per batch. Parsed requests are views into the read buffer, so the buffer is only compacted when no
// request is in flight.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/output_buffer.hpp"
#include "keel/error.hpp"
#include "keel/http/parser.hpp"
#include "keel/http/writer.hpp"
#include "keel/router/router.hpp"
#include "keel/server/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keel::inline v0::detail {

enum class session_action : std::uint8_t {
  read,   // needs more bytes: read into read_buffer(), then on_read(n), then process()
  write,  // output() holds bytes: write them all, then on_written(), then process()
  wait,   // an async handler runs: call process() again once the resume hook fired
  close,  // write output() if not empty, then close
};
enum class read_phase : std::uint8_t { idle, header, body };

// Spare bytes kept after the data in the read buffer, so simdjson can parse a body in place.
inline constexpr std::size_t read_padding = 64;
inline constexpr std::size_t min_read_space = 4096;

template <class App>
class http_session {
 public:
  using context_type = typename App::context_type;

  http_session(const App& app, const server_config& cfg, bool is_tls)
      : app_(app), cfg_(cfg), parser_(cfg.limits) {
    in_.resize(16 * 1024);
    if (cfg.server_header) writer_.server = *cfg.server_header;
    ctx_.set_tls(is_tls);
    ctx_.on_async_complete() = {&http_session::on_async_done, this};
    app_.prepare(ctx_);
  }
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  std::span<char> read_buffer() {
    if (in_.size() - in_end_ < min_read_space + read_padding) make_room();
    return {in_.data() + in_end_, in_.size() - in_end_ - read_padding};
  }
  void on_read(std::size_t n) { in_end_ += n; }

  session_action process() {
    if (state_ == state::waiting) return session_action::wait;
    if (state_ == state::async_done) {
      state_ = state::running;
      app_.complete(ctx_);
      finish_request();
    }
    std::size_t batch = 0;
    while (state_ == state::running) {
      if (close_after_write_) return session_action::close;
      if (in_begin_ == in_end_) break;
      if (batch == cfg_.limits.max_pipelined && !out_.empty()) return session_action::write;
      http::parse_result pr = parser_.parse(in_.data() + in_begin_, in_end_ - in_begin_, ctx_.request());
      if (pr.status == http::parse_status::incomplete) {
        headers_done_ = pr.headers_complete;
        if (pr.headers_complete && ctx_.request().expect_continue && !continue_sent_) {
          continue_sent_ = true;
          http::write_continue(out_);
        }
        break;
      }
      if (pr.status == http::parse_status::error) {
        reject(pr.error);
        return session_action::close;
      }
      ++batch;
      current_size_ = pr.consumed;
      run_request();
    }
    if (state_ == state::waiting) return out_.empty() ? session_action::wait : session_action::write;
    if (close_after_write_) return session_action::close;
    if (!out_.empty()) return session_action::write;
    if (close_requested_ && in_begin_ == in_end_) return session_action::close;
    return session_action::read;
  }

  std::string_view output() const noexcept { return out_.view(); }
  void on_written() noexcept { out_.clear(); }

  void set_resume_hook(void (*fn)(void*), void* self) noexcept { resume_ = {fn, self}; }

  read_phase phase() const noexcept {
    if (in_begin_ == in_end_ && state_ == state::running) return read_phase::idle;
    return headers_done_ ? read_phase::body : read_phase::header;
  }
  bool idle() const noexcept { return state_ == state::running && in_begin_ == in_end_ && out_.empty(); }
  bool in_flight() const noexcept { return state_ != state::running; }

  // Graceful shutdown: the request being served is answered with Connection: close, then the session ends.
  void request_close() noexcept { close_requested_ = true; }

  // A read timeout fired: a partly received request gets 408 and the connection closes; between requests the
  // connection just closes.
  void on_timeout(read_phase p) {
    if (p == read_phase::idle) {
      close_after_write_ = true;
      return;
    }
    reject(http::status::request_timeout);
  }

  context_type& context() noexcept { return ctx_; }

 private:
  enum class state : std::uint8_t { running, waiting, async_done };

  void run_request() {
    dispatch_result r = dispatch_result::done;
    dispatching_ = true;
    try {
      r = app_.handle(ctx_);
    } catch (...) {
      respond_to_exception(ctx_);
    }
    dispatching_ = false;
    if (r == dispatch_result::pending) {
      if (state_ != state::async_done) {
        state_ = state::waiting;
        return;
      }
      // The coroutine finished without suspending.
      state_ = state::running;
      app_.complete(ctx_);
    }
    finish_request();
  }

  void finish_request() {
    http::request& req = ctx_.request();
    bool close = !req.keep_alive || ctx_.response().close() || close_requested_;
    http::write_response(out_, ctx_.response(), writer_, req.method == http::method::head, close);
    if (close) close_after_write_ = true;
    in_begin_ += current_size_;
    current_size_ = 0;
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    ctx_.reset_for_next_request();
    headers_done_ = false;
    continue_sent_ = false;
  }

  // Answers a request the parser (or a timeout) rejected, then closes: after a framing error nothing that
  // follows in the stream can be trusted.
  void reject(http::status s) {
    ctx_.reset_for_next_request();
    // Not ctx_.fail alone: app middleware that see rejected requests (keel::request_id) wrap the answer.
    detail::fail_rejected_request(app_.middleware(), ctx_, http_error(s));
    http::write_response(out_, ctx_.response(), writer_, false, true);
    close_after_write_ = true;
    in_begin_ = in_end_ = 0;
  }

  // Moves the unparsed tail to the front, or grows the buffer when a large request needs it. Only called
  // when no parsed request is in flight, so no view into the buffer is live.
  void make_room() {
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < min_read_space + read_padding) in_.resize(in_.size() * 2);
  }

  static void on_async_done(void* self) {
    auto* s = static_cast<http_session*>(self);
    s->state_ = state::async_done;
    // Inside run_request the session picks the result up itself; calling the transport back from there would
    // re-enter process().
    if (!s->dispatching_ && s->resume_.fn) s->resume_();
  }

  const App& app_;
  const server_config& cfg_;
  http::request_parser parser_;
  http::writer_options writer_{};
  context_type ctx_;
  std::vector<char> in_;
  std::size_t in_begin_ = 0, in_end_ = 0, current_size_ = 0;
  output_buffer out_;
  resume_hook resume_{};
  state state_ = state::running;
  bool headers_done_ = false;
  bool dispatching_ = false;
  bool continue_sent_ = false;
  bool close_after_write_ = false;
  bool close_requested_ = false;
};

}  // namespace keel::inline v0::detail
