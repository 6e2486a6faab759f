// A real redis-server for the tests: started on 127.0.0.1 on a free port with its own temporary directory,
// no persistence; stop() kills it, start() brings it back on the same port. Throws (the test fails) when it
// cannot start.
#pragma once

#include "keel/redis/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace keel_test_support {

class redis_server {
 public:
  explicit redis_server(std::string password = {}) : password_(std::move(password)) {
    char tmpl[] = "/tmp/keel-redis-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("redis_server: mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    start();
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;
  ~redis_server() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::uint16_t port() const noexcept { return port_; }
  std::string url(int db = 0) const {
    std::string u = "redis://";
    if (!password_.empty()) u += ":" + password_ + "@";
    u += "127.0.0.1:" + std::to_string(port_);
    if (db != 0) u += "/" + std::to_string(db);
    return u;
  }

  void start() {
    if (pid_ > 0) return;
    std::vector<std::string> args = {
        "redis-server",     "--port", std::to_string(port_), "--bind", "127.0.0.1",   "--dir", dir_,
        "--save",           "",       "--appendonly",        "no",     "--daemonize", "no",    "--logfile",
        dir_ + "/redis.log"};
    if (!password_.empty()) {
      args.push_back("--requirepass");
      args.push_back(password_);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("redis_server: fork failed");
    if (pid == 0) {
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    // Ready once it accepts connections (it binds before it serves; a refused connect means not yet).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error(
            "redis_server: redis-server exited at start (is it installed? "
            "scripts/install-deps)");
      }
      if (accepts()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("redis_server: redis-server did not start listening");
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("redis_server: no free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  bool accepts() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  std::string password_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// The server's address with short timeouts and quick reconnects, so restart tests take milliseconds, not
// the defaults' seconds.
inline keel::redis::config quick_config(const redis_server& server) {
  keel::redis::config c = keel::redis::parse_url(server.url());
  c.command_timeout = std::chrono::milliseconds(2000);
  c.reconnect_min = std::chrono::milliseconds(20);
  c.reconnect_max = std::chrono::milliseconds(200);
  return c;
}

}  // namespace keel_test_support
