// fanout_load: the client side of benchmarks/fanout.sh. Opens --connections WebSockets to /sub (blocking
// handshakes, then one epoll thread), reads the fixed-size text frames fanout_server publishes, and for each
// message takes the time its last copy arrived. Two clocks, both CLOCK_REALTIME like the publish time in the
// payload: the kernel's receive timestamp of the segment (SO_TIMESTAMPNS, taken when the subscriber's TCP
// stack got it, as on a receiving host) and the time this program read it (which also counts how long its
// one thread took to get to that socket). Prints the publish-to-last-receipt latency over the messages every
// connection received:
//   "messages=M complete=K p50_ms=... p99_ms=... max_ms=... read_p50_ms=... read_p99_ms=... read_max_ms=..."
// (p50/p99/max by the kernel's timestamps, read_* by the time of the read).
// --warmup W: the first W of the --messages are read but not counted (new connections start in TCP's
// quick-ACK mode, which acknowledges each of their first segments at once; subscribers that stay connected
// are past it).
//   fanout_load --port 8080 [--connections 10000] [--messages 100] [--warmup 0] [--size 64]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
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
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Reads what the socket holds; `stamp` gets the kernel's receive time of the last segment read (0 if none).
ssize_t read_stamped(int fd, char* into, std::size_t size, std::int64_t& stamp) {
  iovec iov{into, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t got = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  stamp = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); got > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      stamp = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    }
  return got;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  std::size_t connections = 10'000, messages = 100, size = 64, warmup = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--connections")) connections = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--messages")) messages = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--warmup")) warmup = std::strtoul(argv[i + 1], nullptr, 10);
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
    const int on = 1;
    ::setsockopt(fds[i], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  std::fprintf(stderr, "fanout_load: %zu connections open\n", connections);
  std::vector<std::size_t> count(messages + 1, 0);
  std::vector<std::int64_t> sent(messages + 1, 0), last(messages + 1, 0), first(messages + 1, 0),
      last_read(messages + 1, 0);
  std::vector<std::size_t> late(messages + 1, 0);  // copies that came over 90 ms after the publish
  std::size_t unstamped = 0;
  std::size_t complete = 0;
  std::vector<char> buf(1 << 16);
  epoll_event events[512];
  std::int64_t quiet_since = now_ns();
  while (complete < messages && now_ns() - quiet_since < 10'000'000'000LL) {
    const int n = ::epoll_wait(ep, events, 512, 200);
    for (int k = 0; k < n; ++k) {
      const std::size_t c = events[k].data.u64;
      std::int64_t stamp = 0;
      const ssize_t got = read_stamped(fds[c], buf.data(), buf.size(), stamp);
      if (got <= 0) {
        std::fprintf(stderr, "fanout_load: the server closed connection %zu\n", c);
        return 1;
      }
      const std::int64_t read_at = now_ns();
      if (stamp == 0) ++unstamped;
      const std::int64_t t = stamp != 0 ? stamp : read_at;
      std::string& p = partial[c];
      p.append(buf.data(), static_cast<std::size_t>(got));
      std::size_t at = 0;
      for (; p.size() - at >= frame; at += frame) {
        const char* payload = p.data() + at + header;
        const std::size_t seq = std::strtoul(std::string(payload, 10).c_str(), nullptr, 10);
        if (seq == 0 || seq > messages) continue;
        sent[seq] = std::strtoll(std::string(payload + 11, 20).c_str(), nullptr, 10);
        last[seq] = std::max(last[seq], t);
        if (t - sent[seq] > 90'000'000) ++late[seq];
        last_read[seq] = std::max(last_read[seq], read_at);
        if (first[seq] == 0) first[seq] = t;
        if (++count[seq] == connections) ++complete;
        quiet_since = read_at;
      }
      p.erase(0, at);
    }
  }
  std::vector<double> lat, lat_read, to_first;
  for (std::size_t i = warmup + 1; i <= messages; ++i)
    if (count[i] == connections) {
      lat.push_back(static_cast<double>(last[i] - sent[i]) / 1e6);
      lat_read.push_back(static_cast<double>(last_read[i] - sent[i]) / 1e6);
      to_first.push_back(static_cast<double>(first[i] - sent[i]) / 1e6);
    }
  if (std::getenv("FANOUT_LOAD_EACH") != nullptr)  // every message's latency, in publish order
    for (std::size_t i = 0; i < lat.size(); ++i)
      std::fprintf(stderr, "fanout_load: message %zu last receipt %.2f ms (read %.2f ms) late %zu\n",
                   warmup + i + 1, lat[i], lat_read[i], late[warmup + i + 1]);
  std::sort(to_first.begin(), to_first.end());
  if (!to_first.empty())
    std::fprintf(stderr, "fanout_load: first receipt p50 %.2f ms\n", to_first[to_first.size() / 2]);
  if (unstamped != 0) std::fprintf(stderr, "fanout_load: %zu reads without a kernel timestamp\n", unstamped);
  std::sort(lat.begin(), lat.end());
  std::sort(lat_read.begin(), lat_read.end());
  auto pct = [](const std::vector<double>& v, double q) {
    return v.empty() ? 0.0 : v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  std::printf(
      "messages=%zu complete=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f read_p50_ms=%.2f read_p99_ms=%.2f "
      "read_max_ms=%.2f\n",
      messages > warmup ? messages - warmup : 0, lat.size(), pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1.0),
      pct(lat_read, 0.5), pct(lat_read, 0.99), pct(lat_read, 1.0));
  for (int fd : fds) ::close(fd);
  return 0;
}
