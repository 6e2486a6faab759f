// Test doubles for the server tests: a minimal session that follows keel/server/session.hpp's contract
// without any HTTP parsing, so the transport can be tested on its own.
#pragma once

#include "keel/offload.hpp"
#include "keel/server/config.hpp"
#include "keel/task.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keel_test {

enum class session_action : std::uint8_t { read, write, wait, close, send_file, upgrade };
enum class read_phase : std::uint8_t { idle, header, body };

struct fake_app {
  std::chrono::milliseconds slow_delay{300};
  std::atomic<int> slow_started{0};
  std::atomic<int> slow_finished{0};
  std::atomic<int> sessions{0};
  std::atomic<int> timeouts_seen{0};
};

// Every "\r\n\r\n" ends a request. The answer is "resp N" (N counts per connection), or for a request line
// starting "GET /slow" an async handler that sleeps on the reactor, then offloads, then answers "slow N".
// "GET /big" answers 32 MiB. "Connection: close" in a request, a request_close() or a header timeout end the
// connection.
class fake_session {
 public:
  fake_session(fake_app& app, const keel::server_config&, bool is_tls) : app_(app), tls_(is_tls) {
    ++app_.sessions;
  }
  fake_session(const fake_session&) = delete;
  fake_session& operator=(const fake_session&) = delete;
  ~fake_session() { --app_.sessions; }

  std::span<char> read_buffer() {
    if (in_.size() - end_ < 1024) in_.resize(end_ + 4096);
    return {in_.data() + end_, in_.size() - end_};
  }
  void on_read(std::size_t n) { end_ += n; }

  session_action process() {
    if (in_flight_) return out_.empty() ? session_action::wait : session_action::write;
    if (close_after_output_) return session_action::close;
    for (;;) {
      const std::string_view pending(in_.data() + begin_, end_ - begin_);
      const auto stop = pending.find("\r\n\r\n");
      if (stop == std::string_view::npos) break;
      const std::string_view request = pending.substr(0, stop + 4);
      begin_ += request.size();
      const bool wants_close =
          request.find("Connection: close") != std::string_view::npos || close_requested_;
      if (request.starts_with("GET /big")) {
        // Far more than the socket buffers hold: the write only completes if the client reads.
        const std::string body(32u << 20, 'b');
        out_ += "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        return session_action::write;
      }
      if (request.starts_with("GET /slow")) {
        start_slow(wants_close);
        return out_.empty() ? session_action::wait : session_action::write;
      }
      answer("resp", wants_close);
      if (close_after_output_) return session_action::close;
    }
    if (begin_ == end_) begin_ = end_ = 0;
    if (!out_.empty()) return session_action::write;
    if (close_requested_ && begin_ == end_) return session_action::close;
    return session_action::read;
  }

  std::string_view output() const { return out_; }
  void on_written() { out_.clear(); }
  void set_resume_hook(void (*fn)(void*), void* self) {
    hook_ = fn;
    hook_self_ = self;
  }
  read_phase phase() const { return begin_ == end_ && !in_flight_ ? read_phase::idle : read_phase::header; }
  bool idle() const { return begin_ == end_ && !in_flight_ && out_.empty(); }
  bool in_flight() const { return in_flight_; }
  bool handler_running() const { return in_flight_; }
  void abandon() {}  // the slow handler does no stream I/O: it finishes on its own
  void settle() {}
  void request_close() { close_requested_ = true; }
  void on_timeout(read_phase p) {
    ++app_.timeouts_seen;
    if (p != read_phase::idle)
      out_ += "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    close_after_output_ = true;
  }

 private:
  void answer(std::string_view word, bool close) {
    const std::string body = std::string(word) + " " + std::to_string(++count_) + (tls_ ? " tls" : "");
    out_ += "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (close) out_ += "Connection: close\r\n";
    out_ += "\r\n" + body;
    if (close) close_after_output_ = true;
  }

  static keel::task<int> slow_handler(fake_app& app) {
    ++app.slow_started;
    co_await keel::sleep_for(app.slow_delay);
    const int v = co_await keel::offload([] { return 1; });
    ++app.slow_finished;
    co_return v;
  }

  void start_slow(bool close) {
    in_flight_ = true;
    keel::detail::start_detached(slow_handler(app_), [this, close](keel::detail::task_result<int>&&) {
      in_flight_ = false;
      answer("slow", close || close_requested_);
      hook_(hook_self_);
    });
  }

  fake_app& app_;
  bool tls_;
  std::vector<char> in_;
  std::size_t begin_ = 0, end_ = 0;
  std::string out_;
  int count_ = 0;
  bool in_flight_ = false;
  bool close_after_output_ = false;
  bool close_requested_ = false;
  void (*hook_)(void*) = nullptr;
  void* hook_self_ = nullptr;
};

}  // namespace keel_test
