// cpp-httplib peer (Debian's libcpp-httplib-dev: header plus shared library). cpp-httplib blocks a thread per
// connection, so it gets a pool as large as the connection count (64) instead of one thread; taskset still
// confines the process to the same CPU(s) as every other server.
// Usage: peer_httplib [--port N] [--threads T]   (T only scales the pool: 64 * T)
#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

// cpp-httplib sends no Date header by itself; TechEmpower requires one.
std::string http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local std::string text;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[64];
    text.assign(buffer, std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm));
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080;
  std::size_t threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--threads")) threads = std::max(1, std::atoi(argv[i + 1]));
  }
  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(64 * threads); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1u << 30);  // the default (5) would close every connection after 5 requests
  server.set_default_headers({{"Server", "httplib"}});
  server.Get("/plaintext", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Date", http_date());
    res.set_content("Hello, World!", "text/plain");
  });
  server.Get("/json", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Date", http_date());
    res.set_content(R"({"message":"Hello, World!"})", "application/json");
  });
  return server.listen("0.0.0.0", port) ? 0 : 1;
}
