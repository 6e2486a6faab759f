// fanout_load: the client side of benchmarks/fanout.sh. Opens --connections WebSockets to /sub (blocking
// handshakes, then one epoll thread), reads the fixed-size text frames fanout_server publishes, and for each
// message takes the time its last copy arrived. Prints the publish-to-last-receipt latency over the messages
// every connection received: "messages=M complete=K p50_ms=... p99_ms=... max_ms=...".
//   fanout_load --port 8080 [--connections 10000] [--messages 100] [--size 64]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int open_ws(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  const std::string req =
      "GET /sub HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (::send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) return -1;
  std::string head;
  char c;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    if (::recv(fd, &c, 1, 0) != 1) return -1;
    head.push_back(c);
  }
  return head.rfind("HTTP/1.1 101", 0) == 0 ? fd : -1;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  std::size_t connections = 10'000, messages = 100, size = 64;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--connections")) connections = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--messages")) messages = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--size")) size = std::strtoul(argv[i + 1], nullptr, 10);
  }
  const std::size_t header = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const std::size_t frame = header + size;
  std::vector<int> fds(connections, -1);
  std::vector<std::string> partial(connections);
  const int ep = ::epoll_create1(0);
  for (std::size_t i = 0; i < connections; ++i) {
    fds[i] = open_ws(port);
    if (fds[i] < 0) {
      std::fprintf(stderr, "fanout_load: connection %zu failed\n", i);
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  std::fprintf(stderr, "fanout_load: %zu connections open\n", connections);
  std::vector<std::size_t> count(messages + 1, 0);
  std::vector<std::int64_t> sent(messages + 1, 0), last(messages + 1, 0), first(messages + 1, 0);
  std::size_t complete = 0;
  std::vector<char> buf(1 << 16);
  epoll_event events[512];
  std::int64_t quiet_since = now_ns();
  while (complete < messages && now_ns() - quiet_since < 10'000'000'000LL) {
    const int n = ::epoll_wait(ep, events, 512, 200);
    for (int k = 0; k < n; ++k) {
      const std::size_t c = events[k].data.u64;
      const ssize_t got = ::recv(fds[c], buf.data(), buf.size(), MSG_DONTWAIT);
      if (got <= 0) {
        std::fprintf(stderr, "fanout_load: the server closed connection %zu\n", c);
        return 1;
      }
      const std::int64_t t = now_ns();
      std::string& p = partial[c];
      p.append(buf.data(), static_cast<std::size_t>(got));
      std::size_t at = 0;
      for (; p.size() - at >= frame; at += frame) {
        const char* payload = p.data() + at + header;
        const std::size_t seq = std::strtoul(std::string(payload, 10).c_str(), nullptr, 10);
        if (seq == 0 || seq > messages) continue;
        sent[seq] = std::strtoll(std::string(payload + 11, 20).c_str(), nullptr, 10);
        last[seq] = std::max(last[seq], t);
        if (first[seq] == 0) first[seq] = t;
        if (++count[seq] == connections) ++complete;
        quiet_since = t;
      }
      p.erase(0, at);
    }
  }
  std::vector<double> lat, to_first;
  for (std::size_t i = 1; i <= messages; ++i)
    if (count[i] == connections) {
      lat.push_back(static_cast<double>(last[i] - sent[i]) / 1e6);
      to_first.push_back(static_cast<double>(first[i] - sent[i]) / 1e6);
    }
  std::sort(to_first.begin(), to_first.end());
  if (!to_first.empty())
    std::fprintf(stderr, "fanout_load: first receipt p50 %.2f ms\n", to_first[to_first.size() / 2]);
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat.empty() ? 0.0 : lat[static_cast<std::size_t>(q * (lat.size() - 1))];
  };
  std::printf("messages=%zu complete=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", messages, lat.size(),
              pct(0.5), pct(0.99), lat.empty() ? 0.0 : lat.back());
  for (int fd : fds) ::close(fd);
  return 0;
}
