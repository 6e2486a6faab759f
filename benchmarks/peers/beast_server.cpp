// Boost.Beast 1.81 peer in the style of Beast's http_server_async example: one io_context, a session per
// connection reading a request, writing the response, and reading again while keep-alive holds.
// Usage: peer_beast [--port N] [--threads T]
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// The Date header changes once a second: format it then, not per response.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[64];
  thread_local std::size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {text, length};
}

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return do_close();
    response_ = {};
    response_.version(request_.version());
    response_.keep_alive(request_.keep_alive());
    response_.set(http::field::server, "Beast");
    response_.set(http::field::date, http_date());
    if (request_.method() == http::verb::get && request_.target() == "/plaintext") {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "Hello, World!";
    } else if (request_.method() == http::verb::get && request_.target() == "/json") {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "application/json");
      response_.body() = R"({"message":"Hello, World!"})";
    } else {
      response_.result(http::status::not_found);
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "Not Found";
    }
    response_.prepare_payload();
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&session::on_write, shared_from_this(), response_.keep_alive()));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    if (ec || !keep_alive) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& io, tcp::endpoint endpoint) : io_(io), acceptor_(net::make_strand(io)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<session>(std::move(socket))->run();
    }
    do_accept();
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 8080;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--threads")) threads = std::max(1, std::atoi(argv[i + 1]));
  }
  net::io_context io{threads};
  std::make_shared<listener>(io, tcp::endpoint{net::ip::make_address("0.0.0.0"), port})->do_accept();
  std::vector<std::thread> extra;
  for (int i = 1; i < threads; ++i) extra.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : extra) t.join();
}
