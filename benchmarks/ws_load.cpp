// ws_load: a WebSocket echo load generator for benchmarks/ws.sh. C connections (one epoll thread), each
// sending one masked binary message of S bytes, waiting for its echo, sending the next, for D seconds.
// Prints "messages=N seconds=T rate=R client_busy=B" (echoes received per second; B = this program's CPU time
// over the run's wall time: near 1.0, the load generator, not the server, set the rate).
//   ws_load --port 8080 [--connections 64] [--size 32] [--seconds 5] [--path /echo]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct conn {
  int fd = -1;
  std::size_t received = 0;  // bytes of the current echo
};

std::string masked_frame(std::size_t size) {
  std::string f;
  f.push_back(static_cast<char>(0x82));
  if (size < 126) {
    f.push_back(static_cast<char>(0x80 | size));
  } else if (size < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(size >> 8));
    f.push_back(static_cast<char>(size & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      f.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> (8 * i)) & 0xFF));
  }
  const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < size; ++i) f.push_back(static_cast<char>(('a' + i % 26) ^ key[i & 3]));
  return f;
}

double cpu_seconds() {  // user + system time of this process
  rusage used{};
  ::getrusage(RUSAGE_SELF, &used);
  return static_cast<double>(used.ru_utime.tv_sec + used.ru_stime.tv_sec) +
         static_cast<double>(used.ru_utime.tv_usec + used.ru_stime.tv_usec) / 1e6;
}

std::size_t server_frame_size(std::size_t size) { return (size < 126 ? 2 : size < 65536 ? 4 : 10) + size; }

int connect_ws(int port, const char* path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string req = std::string("GET ") + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (::send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) return -1;
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos) {  // byte by byte: nothing past the head is consumed
    if (::recv(fd, &c, 1, 0) != 1) return -1;
    head.push_back(c);
  }
  if (head.rfind("HTTP/1.1 101", 0) != 0) return -1;
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080, connections = 64, seconds = 5;
  std::size_t size = 32;
  const char* path = "/echo";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--connections")) connections = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--size")) size = static_cast<std::size_t>(std::atol(argv[i + 1]));
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--path")) path = argv[i + 1];
  }
  const std::string frame = masked_frame(size);
  const std::size_t echo = server_frame_size(size);
  std::vector<conn> conns(static_cast<std::size_t>(connections));
  const int ep = ::epoll_create1(0);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = connect_ws(port, path);
    if (conns[i].fd < 0) {
      std::fprintf(stderr, "ws_load: connection %zu failed\n", i);
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  std::vector<char> buf(1 << 20);
  std::uint64_t messages = 0;
  const double cpu_at_start = cpu_seconds();  // the connections' set-up is not the run
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  for (auto& c : conns) ::send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL);
  epoll_event events[256];
  while (std::chrono::steady_clock::now() < end) {
    const int n = ::epoll_wait(ep, events, 256, 100);
    for (int k = 0; k < n; ++k) {
      conn& c = conns[events[k].data.u64];
      const ssize_t got = ::recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got <= 0) {
        std::fprintf(stderr, "ws_load: the server closed a connection\n");
        return 1;
      }
      c.received += static_cast<std::size_t>(got);
      while (c.received >= echo) {
        c.received -= echo;
        ++messages;
        ::send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL);
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_at_start;
  std::printf("messages=%llu seconds=%.3f rate=%.0f client_busy=%.2f\n",
              static_cast<unsigned long long>(messages), elapsed, static_cast<double>(messages) / elapsed,
              cpu / elapsed);
  for (auto& c : conns) ::close(c.fd);
  return 0;
}
