// keel::detail::client_connection: one outgoing TCP connection, optionally TLS (from the start, or upgraded
// later as SMTP's STARTTLS does), whose every step is a co_await-able operation bounded by a deadline. Shared
// by keel::http_client and keel::smtp_client.
//
// Each operation runs together with the connection's timer and resumes its coroutine only once both the I/O
// and the timer handler have run: no handler is ever left pointing into a finished coroutine frame. A timer
// that fires first cancels the socket, and the operation ends as a timeout.
#pragma once

#include "keel/config.hpp"
#include "keel/client/tls_context.hpp"
#include "keel/client/types.hpp"
#include "keel/task.hpp"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

using client_clock = std::chrono::steady_clock;

// What one timed operation reports.
struct io_outcome {
  std::error_code ec;
  std::size_t bytes = 0;
  bool timed_out = false;
};

// co_await-able: `start(handler)` begins the I/O with handler(ec, bytes); `cancel()` stops it on timeout.
// Always name it in a local before co_await-ing it (g++ 12, see conventions: it holds lambdas).
template <class Start, class Cancel>
class timed_io {
 public:
  timed_io(asio::steady_timer& timer, client_clock::time_point deadline, Start start, Cancel cancel)
      : timer_(timer), deadline_(deadline), start_(std::move(start)), cancel_(std::move(cancel)) {}

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> waiter) {
    waiter_ = waiter;
    pending_ = 2;
    timer_.expires_at(deadline_);
    timer_.async_wait([this](const std::error_code& ec) {
      if (!ec && !io_done_) {
        out_.timed_out = true;
        cancel_();
      }
      finish();
    });
    start_(handler{this});
  }
  io_outcome await_resume() const noexcept { return out_; }

 private:
  struct handler {
    timed_io* self;
    void operator()(const std::error_code& ec, std::size_t n = 0) const { self->io_finished(ec, n); }
    template <class Endpoint>
    void operator()(const std::error_code& ec, const Endpoint&) const {
      self->io_finished(ec, 0);
    }
  };
  void io_finished(const std::error_code& ec, std::size_t n) {
    io_done_ = true;
    out_.ec = ec;
    out_.bytes = n;
    timer_.cancel();
    finish();
  }
  void finish() {
    if (--pending_ == 0) waiter_.resume();
  }

  asio::steady_timer& timer_;
  client_clock::time_point deadline_;
  Start start_;
  Cancel cancel_;
  std::coroutine_handle<> waiter_;
  int pending_ = 0;
  bool io_done_ = false;
  io_outcome out_;
};

template <class Start, class Cancel>
timed_io<Start, Cancel> make_timed_io(asio::steady_timer& timer, client_clock::time_point deadline,
                                      Start start, Cancel cancel) {
  return timed_io<Start, Cancel>(timer, deadline, std::move(start), std::move(cancel));
}

// A connection's read buffer and how much of it holds unread bytes (kept with the connection, so a reused
// connection reads without allocating).
struct client_read_buffer {
  std::string bytes = std::string(16 * 1024, '\0');
  std::size_t used = 0;
};

class client_connection {
 public:
  using tcp = asio::ip::tcp;
  using tls_stream = asio::ssl::stream<tcp::socket>;

  explicit client_connection(asio::io_context& io) : plain_(io), resolver_(io), timer_(io) {}
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  tcp::socket& socket() noexcept { return tls_ ? tls_->next_layer() : plain_; }
  bool is_tls() const noexcept { return tls_.has_value(); }
  bool is_open() noexcept { return socket().is_open(); }
  void close() noexcept {
    std::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  // Resolves `host` (numeric addresses skip the resolver) and connects to the first address that answers.
  task<void> connect(const std::string& host, std::uint16_t port, client_clock::time_point deadline) {
    std::error_code ec;
    const asio::ip::address numeric = asio::ip::make_address(host, ec);
    tcp::resolver::results_type found;
    if (ec) {
      auto start = [&](auto done) {
        resolver_.async_resolve(host, std::to_string(port),
                                [&found, done](const std::error_code& e, tcp::resolver::results_type r) {
                                  found = std::move(r);
                                  done(e, 0);
                                });
      };
      auto cancel = [this] { resolver_.cancel(); };
      auto op = make_timed_io(timer_, deadline, start, cancel);
      const io_outcome resolved = co_await op;
      check(resolved, client_error_kind::connect, "cannot resolve " + host);
    } else {
      found = tcp::resolver::results_type::create(tcp::endpoint(numeric, port), host, std::to_string(port));
    }
    auto start = [&](auto done) { asio::async_connect(plain_, found, done); };
    auto cancel = [this] { close(); };
    auto op = make_timed_io(timer_, deadline, start, cancel);
    const io_outcome connected = co_await op;
    check(connected, client_error_kind::connect, "cannot connect to " + host + ":" + std::to_string(port));
    plain_.set_option(tcp::no_delay(true), ec);
  }

  // TLS over the connected socket: SNI and certificate checks against `host` (a DNS name or an IP address)
  // when the context verifies peers.
  task<void> start_tls(asio::ssl::context& context, const std::string& host,
                       client_clock::time_point deadline) {
    tls_.emplace(std::move(plain_), context);
    SSL* ssl = tls_->native_handle();
    std::error_code ec;
    asio::ip::make_address(host, ec);
    if (ec) {
      SSL_set_tlsext_host_name(ssl, host.c_str());
      SSL_set1_host(ssl, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    }
    auto start = [&](auto done) { tls_->async_handshake(asio::ssl::stream_base::client, done); };
    auto cancel = [this] { close(); };
    auto op = make_timed_io(timer_, deadline, start, cancel);
    const io_outcome shaken = co_await op;
    if (!shaken.ec || shaken.timed_out) {
      check(shaken, client_error_kind::tls, "");
    } else {
      const long verify = SSL_get_verify_result(ssl);
      std::string why = "TLS handshake with " + host + " failed: " + shaken.ec.message();
      if (verify != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      throw client_error(client_error_kind::tls, "keel: " + why);
    }
  }

  // Some bytes into [data, data + size); 0 at the end of the stream (EOF, or a TLS peer that just closed).
  task<std::size_t> read_some(char* data, std::size_t size, client_clock::time_point deadline) {
    auto start = [&](auto done) {
      if (tls_)
        tls_->async_read_some(asio::buffer(data, size), done);
      else
        plain_.async_read_some(asio::buffer(data, size), done);
    };
    auto cancel = [this] { close(); };
    auto op = make_timed_io(timer_, deadline, start, cancel);
    const io_outcome read = co_await op;
    if (!read.timed_out && (read.ec == asio::error::eof || read.ec == asio::ssl::error::stream_truncated))
      co_return 0;
    check(read, client_error_kind::closed, "read failed");
    co_return read.bytes;
  }

  task<void> write_all(std::string_view bytes, client_clock::time_point deadline) {
    auto start = [&](auto done) {
      if (tls_)
        asio::async_write(*tls_, asio::buffer(bytes.data(), bytes.size()), done);
      else
        asio::async_write(plain_, asio::buffer(bytes.data(), bytes.size()), done);
    };
    auto cancel = [this] { close(); };
    auto op = make_timed_io(timer_, deadline, start, cancel);
    const io_outcome written = co_await op;
    check(written, client_error_kind::closed, "write failed");
  }

  // True when an idle kept-alive connection still looks usable: open, and the peer neither closed it nor
  // sent anything unasked (a peek that does not block).
  bool idle_usable() noexcept {
    if (!is_open()) return false;
    char c;
    const auto n = ::recv(socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  client_clock::time_point idle_since{};
  client_read_buffer buffer{};

 private:
  static void check(const io_outcome& out, client_error_kind failure, const std::string& what) {
    if (out.timed_out) throw client_error(client_error_kind::timeout, "keel: timed out (" + what + ")");
    if (out.ec)
      throw client_error(failure, "keel: " + (what.empty() ? std::string() : what + ": ") + out.ec.message());
  }

  tcp::socket plain_;
  std::optional<tls_stream> tls_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
