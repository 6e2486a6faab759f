// A blocking POSIX socket client for server tests: every receive gives up after a few seconds, so a server
// bug fails the test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace keel_test {

class raw_client {
 public:
  // Connects to host:port (IPv4 or IPv6 literal). connected() tells whether it worked.
  raw_client(const char* host, std::uint16_t port, int receive_timeout_ms = 5000) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(port);
      len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(port);
      len = sizeof(sockaddr_in6);
    } else {
      return;
    }
    fd_ = ::socket(addr.ss_family, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{receive_timeout_ms / 1000, (receive_timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  ~raw_client() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool connected() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until `count` complete responses (by Content-Length) arrived, the peer closed, or the timeout hit.
  std::string read_responses(int count) {
    while (complete_responses(buffer_) < count && fill()) {
    }
    return std::exchange(buffer_, {});
  }

  // Reads until the peer closes (true) or the timeout hits / an error occurs (false); `into` gets the bytes.
  bool read_until_closed(std::string* into = nullptr) {
    bool closed = false;
    for (;;) {
      char chunk[4096];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      closed = n == 0 || errno == ECONNRESET;
      break;
    }
    if (into != nullptr) *into = std::exchange(buffer_, {});
    return closed;
  }

  // Reads until `marker` appears in what was received (true), or the peer closed / the timeout hit (false).
  // Everything received stays available through take().
  bool read_until(std::string_view marker) {
    while (buffer_.find(marker) == std::string::npos)
      if (!fill()) return false;
    return true;
  }
  // Reads at most `n` more bytes (one recv); 0 when the peer closed or the timeout hit.
  std::size_t read_some(std::size_t n) {
    std::string chunk(n, '\0');
    const auto got = ::recv(fd_, chunk.data(), n, 0);
    if (got <= 0) return 0;
    buffer_.append(chunk.data(), static_cast<std::size_t>(got));
    return static_cast<std::size_t>(got);
  }
  std::string take() { return std::exchange(buffer_, {}); }
  int fd() const noexcept { return fd_; }

  static int complete_responses(std::string_view data) {
    int count = 0;
    for (;;) {
      const auto head_end = data.find("\r\n\r\n");
      if (head_end == std::string_view::npos) return count;
      const auto cl = data.substr(0, head_end).find("Content-Length: ");
      std::size_t body = 0;
      if (cl != std::string_view::npos) body = std::stoul(std::string(data.substr(cl + 16, 10)));
      if (data.size() < head_end + 4 + body) return count;
      ++count;
      data.remove_prefix(head_end + 4 + body);
    }
  }

 private:
  bool fill() {
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

// Polls `done` for up to ~5 s: for effects that happen on the server's threads after the client saw its
// answer (a connection object going away). Never used to measure time.
template <class F>
bool eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace keel_test
