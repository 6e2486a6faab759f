// The compile-time floor under keel's hello: a minimal standalone-Asio HTTP responder (one reactor, async
// accept/read/write, keep-alive, a fixed answer), compiled exactly like examples/hello.cpp. What hello costs
// beyond this is keel's own.
#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <utility>

namespace {

using asio::ip::tcp;

constexpr std::string_view answer =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket socket) : socket_(std::move(socket)) {}
  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](std::error_code ec, std::size_t n) {
                              if (ec) return;
                              // One answer per request head seen (pipelining counted by blank lines).
                              std::size_t heads = 0;
                              for (std::size_t i = 0; i + 3 < n; ++i)
                                heads += std::string_view(self->buffer_.data() + i, 4) == "\r\n\r\n";
                              self->write(heads);
                            });
  }

 private:
  void write(std::size_t heads) {
    if (heads == 0) return read();
    asio::async_write(socket_, asio::buffer(answer),
                      [self = shared_from_this(), heads](std::error_code ec, std::size_t) {
                        if (!ec) self->write(heads - 1);
                      });
  }
  tcp::socket socket_;
  std::array<char, 4096> buffer_{};
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](std::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<session>(std::move(socket))->read();
    accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  asio::io_context reactor(1);
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 8080);
  tcp::acceptor acceptor(reactor, {asio::ip::make_address("127.0.0.1"), port});
  asio::signal_set signals(reactor, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code, int) { reactor.stop(); });
  asio::steady_timer sweep(reactor);  // keel arms one per reactor too
  std::printf("listening on %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  accept(acceptor);
  reactor.run();
}
