// A keel server for an app on 127.0.0.1 (a free port, signals left alone), started when constructed and
// stopped, and waited for, when destroyed. The app must outlive it: declare the app member first.
#pragma once

#include "keel/server/server.hpp"
#include "local_server.hpp"

#include <cstdint>
#include <string>

namespace keel_test {

template <class App>
class running_server {
 public:
  explicit running_server(App& app, keel::server_config cfg = local_config(1))
      : server_(app, cfg), port_(server_.start()) {}
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;
  ~running_server() {
    server_.stop();
    server_.wait();
  }
  std::uint16_t port() const noexcept { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  keel::detail::server<App>& get() noexcept { return server_; }

 private:
  keel::detail::server<App> server_;
  std::uint16_t port_;
};

}  // namespace keel_test
