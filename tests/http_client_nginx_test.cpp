// keel::http_client against a real nginx the test starts on 127.0.0.1 (temporary prefix, one process, plain
// and TLS ports with a certificate from a throwaway CA): keep-alive reuse seen from nginx's own connection
// counter, chunked bodies (sub_filter drops Content-Length), static files, HEAD, redirects, POST bodies.
#include "keel/http_client.hpp"

#include "support/http_client_run.hpp"
#include "support/local_server.hpp"
#include "support/test_ca.hpp"

#include <catch2/catch.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

extern char** environ;

using keel_test::run_task;

namespace http_client_nginx_test {

unsigned short free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string find_nginx() {
  for (const char* p : {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"})
    if (std::filesystem::exists(p)) return p;
  return {};
}

// nginx in the foreground, killed (SIGQUIT, then waited for) at the end of the test.
struct nginx_server {
  keel_test::test_ca ca;
  std::filesystem::path prefix = ca.dir / "nginx";
  unsigned short port = free_port(), tls_port = free_port();
  pid_t pid = -1;
  std::string big_file;

  nginx_server() {
    const std::string nginx = find_nginx();
    REQUIRE_FALSE(nginx.empty());  // scripts/install-deps installs it; without it the test fails, never skips
    std::filesystem::create_directories(prefix / "www" / "chunked");
    std::filesystem::create_directories(prefix / "www" / "files");
    std::string page;
    for (int i = 0; i < 2000; ++i) page += "line x" + std::to_string(i) + "\n";
    std::ofstream(prefix / "www" / "chunked" / "page.txt") << page;
    big_file.assign(1 << 20, 'f');
    for (std::size_t i = 0; i < big_file.size(); i += 4096)
      big_file[i] = static_cast<char>('a' + (i / 4096) % 26);
    std::ofstream(prefix / "www" / "files" / "big.bin", std::ios::binary) << big_file;
    const std::string p = prefix.string();
    std::ofstream(prefix / "nginx.conf")
        << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
        << "pid " << p << "/nginx.pid;\nerror_log " << p << "/error.log warn;\n"
        << "events { worker_connections 256; }\nhttp {\n  access_log off;\n"
        << "  keepalive_requests 1000;\n  keepalive_timeout 65;\n"
        << "  client_body_temp_path " << p << "/body;\n  proxy_temp_path " << p
        << "/proxy;\n  fastcgi_temp_path " << p << "/fastcgi;\n  uwsgi_temp_path " << p
        << "/uwsgi;\n  scgi_temp_path " << p << "/scgi;\n  server {\n"
        << "    listen 127.0.0.1:" << port << ";\n"
        << "    listen 127.0.0.1:" << tls_port << " ssl;\n"
        << "    ssl_certificate " << ca.cert << ";\n"
        << "    ssl_certificate_key " << ca.key << ";\n"
        << "    root " << p << "/www;\n"
        << "    location = /plain { default_type text/plain; return 200 'Hello from nginx'; }\n"
        << "    location = /conn { default_type text/plain; return 200 "
           "'$connection:$connection_requests'; }\n"
        << "    location = /redirect { return 301 /plain; }\n"
        << "    location = /sni { default_type text/plain; return 200 'sni=$ssl_server_name'; }\n"
        << "    location /chunked/ { sub_filter_types text/plain; sub_filter 'x' 'y';"
           " sub_filter_once off; }\n"
        << "    location /files/ { }\n  }\n}\n";
    const std::string conf = p + "/nginx.conf";
    std::vector<std::string> args{nginx, "-p", p, "-e", p + "/error.log", "-c", conf};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(::posix_spawn(&pid, nginx.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      asio::io_context io;
      asio::ip::tcp::socket s(io);
      std::error_code ec;
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
      up = !ec;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    INFO(keel_test::run_command("cat " + p + "/error.log"));
    REQUIRE(up);
  }
  nginx_server(const nginx_server&) = delete;
  nginx_server& operator=(const nginx_server&) = delete;
  ~nginx_server() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

}  // namespace http_client_nginx_test

using namespace http_client_nginx_test;

TEST_CASE("nginx sees one kept-alive connection serve every request", "[http_client][nginx]") {
  nginx_server nginx;
  asio::io_context io;
  keel::http_client client(io);
  std::string first_connection;
  for (int i = 1; i <= 5; ++i) {
    const keel::client_response r = run_task(io, client.get(nginx.url("/conn")));
    REQUIRE(r.status == 200);
    const auto colon = r.body.find(':');
    if (i == 1) first_connection = r.body.substr(0, colon);
    CHECK(r.body.substr(0, colon) == first_connection);
    CHECK(r.body.substr(colon + 1) == std::to_string(i));  // nginx's request count on that connection
    CHECK(r.header("Server").find("nginx") == 0);
  }
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("nginx: chunked, static, HEAD, POST and redirects on one connection", "[http_client][nginx]") {
  nginx_server nginx;
  asio::io_context io;
  keel::http_client client(io);

  const keel::client_response chunked = run_task(io, client.get(nginx.url("/chunked/page.txt")));
  CHECK(chunked.header("Transfer-Encoding") == "chunked");
  std::string expected;
  for (int i = 0; i < 2000; ++i) expected += "line y" + std::to_string(i) + "\n";
  CHECK(chunked.body == expected);

  const keel::client_response file = run_task(io, client.get(nginx.url("/files/big.bin")));
  CHECK(file.header("Content-Length") == std::to_string(nginx.big_file.size()));
  CHECK(file.body == nginx.big_file);

  keel::client_request head;
  head.method = keel::http::method::head;
  head.url = nginx.url("/files/big.bin");
  const keel::client_response headed = run_task(io, client.send(head));
  CHECK(headed.status == 200);
  CHECK(headed.header("Content-Length") == std::to_string(nginx.big_file.size()));
  CHECK(headed.body.empty());

  keel::client_request post;
  post.method = keel::http::method::post;
  post.url = nginx.url("/plain");
  post.body = std::string(100000, 'p');
  CHECK(run_task(io, client.send(post)).body == "Hello from nginx");

  keel::client_request follow;
  follow.url = nginx.url("/redirect");
  follow.max_redirects = 1;
  const keel::client_response followed = run_task(io, client.send(follow));
  CHECK(followed.body == "Hello from nginx");
  CHECK(followed.redirects == 1);

  const keel::client_response conn = run_task(io, client.get(nginx.url("/conn")));
  CHECK(conn.body.substr(conn.body.find(':') + 1) == "7");  // all seven requests on the first connection
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("nginx over TLS with the test CA", "[http_client][nginx][tls]") {
  nginx_server nginx;
  asio::io_context io;
  keel::client_options opts;
  opts.ca_file = nginx.ca.ca_cert;
  keel::http_client client(io, opts);
  const std::string base = "https://localhost:" + std::to_string(nginx.tls_port);
  CHECK(run_task(io, client.get(base + "/plain")).body == "Hello from nginx");
  CHECK(run_task(io, client.get(base + "/sni")).body == "sni=localhost");  // the client sent SNI
  CHECK(run_task(io, client.get(base + "/files/big.bin")).body == nginx.big_file);
  CHECK(client.connections_opened() == 1);
  keel::http_client untrusting(io);
  CHECK_THROWS_AS(run_task(io, untrusting.get(base + "/plain")), keel::client_error);
}
