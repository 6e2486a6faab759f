// keel::smtp_client against a real SMTP server the test starts (npm smtp-server; each message parsed by npm
// mailparser into a JSON file read back here): STARTTLS and implicit TLS with a throwaway CA, AUTH PLAIN and
// LOGIN, refusals, and what arrived: RFC 2047 headers, multipart/alternative, dot-stuffing, CRLF line ends.
// The npm packages come from the smtp_npm_install fixture (KEEL_SMTP_NODE_DIR).
#include "keel/smtp.hpp"

#include "keel/json.hpp"
#include "support/http_client_run.hpp"
#include "support/local_server.hpp"
#include "support/test_ca.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using keel_test::run_task;
using namespace std::chrono_literals;

namespace smtp_test {

struct parsed_address {
  std::string name;
  std::string address;
};
// What tests/smtp_server/server.js writes for each message.
struct received_mail {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  bool secure = false;
  std::string user;
  std::string auth_method;
  std::string subject;
  std::vector<parsed_address> from, to, cc;
  std::string text;
  std::string html;
  std::string content_type;
  std::string message_id;
  bool has_date = false;
  bool has_bcc_header = false;
  std::string raw;
};

unsigned short free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// node tests/smtp_server/server.js, killed at the end of the test.
struct smtp_server {
  keel_test::test_ca ca;  // certificate for DNS:localhost
  std::filesystem::path out = ca.dir / "mail";
  unsigned short port = free_port();
  pid_t pid = -1;

  explicit smtp_server(const std::string& mode, const std::string& user = {}, const std::string& pass = {},
                       const std::string& methods = {}) {
    const char* node_dir = std::getenv("KEEL_SMTP_NODE_DIR");
    REQUIRE(node_dir != nullptr);  // set by ctest (tests/CMakeLists.txt)
    REQUIRE(std::filesystem::exists(std::filesystem::path(node_dir) / "node_modules" / "smtp-server"));
    std::filesystem::create_directories(out);
    const std::string script = std::string(KEEL_SOURCE_DIR) + "/tests/smtp_server/server.js";
    std::vector<std::string> args{"node", script, std::to_string(port), mode, out.string(), ca.key, ca.cert};
    if (!user.empty()) {
      args.push_back(user);
      args.push_back(pass);
      if (!methods.empty()) args.push_back(methods);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string node_path = "NODE_PATH=" + std::string(node_dir) + "/node_modules";
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
    env.push_back(const_cast<char*>(node_path.c_str()));
    env.push_back(nullptr);
    REQUIRE(::posix_spawnp(&pid, "node", nullptr, nullptr, argv.data(), env.data()) == 0);
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      asio::io_context io;
      asio::ip::tcp::socket s(io);
      std::error_code ec;
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
      up = !ec;
      if (!up) std::this_thread::sleep_for(50ms);
    }
    REQUIRE(up);
  }
  smtp_server(const smtp_server&) = delete;
  smtp_server& operator=(const smtp_server&) = delete;
  ~smtp_server() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }

  // The n-th message (1-based), waiting for the harness to have written it.
  received_mail message(int n = 1) const {
    const auto file = out / (std::to_string(n) + ".json");
    for (int i = 0; i < 200 && !std::filesystem::exists(file); ++i) std::this_thread::sleep_for(25ms);
    REQUIRE(std::filesystem::exists(file));
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = keel::json_io::read<received_mail>(text.str());
    REQUIRE(parsed);
    return std::move(parsed).value();
  }

  keel::smtp_options options(keel::smtp_security security) const {
    keel::smtp_options o;
    o.host = "localhost";
    o.port = port;
    o.security = security;
    o.ca_file = ca.ca_cert;
    o.timeout.total = 20s;
    return o;
  }
};

keel::email_message sample() {
  keel::email_message m;
  m.from = {"app@example.com", "Keel App"};
  m.to = {{"ann@example.org", "Ann Müller"}, {"bob@example.org", ""}};
  m.cc = {{"carol@example.org", "Carol, Accounts"}};
  m.bcc = {{"audit@example.org", ""}};
  m.subject = "Grüße aus Köln — your order №42 is ready for pickup at the front desk today";
  m.text = "Hello Ann,\n.leading dot line\n..two dots\n.\nbare CR\rhere\r\nünïcödé line\nend";
  m.html = "<p>Hello <b>Ann</b></p>\n.<p>dot</p>";
  return m;
}

std::string expected_text() {
  return "Hello Ann,\n.leading dot line\n..two dots\n.\nbare CR\nhere\nünïcödé line\nend";
}

// The error send() ends with (the test fails if it succeeds).
keel::client_error send_failure(asio::io_context& io, keel::smtp_client& client) {
  try {
    run_task(io, client.send(sample()));
  } catch (const keel::client_error& e) {
    return e;
  }
  FAIL("the message was sent");
  return keel::client_error(keel::client_error_kind::connect, "");
}

}  // namespace smtp_test

using namespace smtp_test;

TEST_CASE("format_email: encoded words, line ends, multipart, injection refused", "[smtp]") {
  const std::string text = keel::format_email(sample(), "example.com");
  CHECK(text.find("Subject: =?UTF-8?B?") != std::string::npos);
  CHECK(text.find("To: =?UTF-8?B?") != std::string::npos);  // Ann Müller
  CHECK(text.find("\"Carol, Accounts\" <carol@example.org>") != std::string::npos);
  CHECK(text.find("audit@example.org") == std::string::npos);  // Bcc: no header
  CHECK(text.find("multipart/alternative") != std::string::npos);
  CHECK(text.find("@example.com>") != std::string::npos);  // Message-ID domain
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') REQUIRE((i > 0 && text[i - 1] == '\r'));
    if (text[i] == '\r') REQUIRE((i + 1 < text.size() && text[i + 1] == '\n'));
  }
  std::size_t line = 0;
  std::size_t longest = 0;
  for (const char c : text) {
    line = c == '\n' ? 0 : line + 1;
    longest = std::max(longest, line);
  }
  CHECK(longest <= 78);
  CHECK(keel::detail::dot_stuff("a\r\n.b\r\n..c") == "a\r\n..b\r\n...c\r\n.\r\n");

  keel::email_message bad = sample();
  bad.subject = "hi\r\nBcc: victim@example.org";
  CHECK_THROWS_AS(keel::format_email(bad), std::invalid_argument);
  bad = sample();
  bad.to = {{"x@example.org>\r\nRCPT TO:<y@example.org", ""}};
  CHECK_THROWS_AS(keel::format_email(bad), std::invalid_argument);
  bad = sample();
  bad.headers = {{"X-Note", "a\nb"}};
  CHECK_THROWS_AS(keel::format_email(bad), std::invalid_argument);
}

TEST_CASE("STARTTLS + AUTH PLAIN: the message arrives as sent", "[smtp]") {
  smtp_server server("starttls", "mailer", "p@ss wörd");
  asio::io_context io;
  keel::smtp_options o = server.options(keel::smtp_security::starttls);
  o.username = "mailer";
  o.password = "p@ss wörd";
  keel::smtp_client client(io, o);
  run_task(io, client.send(sample()));
  const received_mail m = server.message();
  CHECK(m.secure);
  CHECK(m.user == "mailer");
  CHECK(m.auth_method == "PLAIN");
  CHECK(m.mail_from == "app@example.com");
  CHECK(m.rcpt_to == std::vector<std::string>{"ann@example.org", "bob@example.org", "carol@example.org",
                                              "audit@example.org"});
  CHECK_FALSE(m.has_bcc_header);
  CHECK(m.subject == sample().subject);
  REQUIRE(m.from.size() == 1);
  CHECK(m.from[0].name == "Keel App");
  REQUIRE(m.to.size() == 2);
  CHECK(m.to[0].name == "Ann Müller");
  CHECK(m.to[0].address == "ann@example.org");
  REQUIRE(m.cc.size() == 1);
  CHECK(m.cc[0].name == "Carol, Accounts");
  CHECK(m.content_type == "multipart/alternative");
  CHECK(m.text == expected_text());
  CHECK(m.html == "<p>Hello <b>Ann</b></p>\n.<p>dot</p>");
  CHECK(m.has_date);
  CHECK_FALSE(m.message_id.empty());
}

TEST_CASE("implicit TLS + AUTH LOGIN, plain text only, dots and long lines", "[smtp]") {
  smtp_server server("tls", "mailer", "secret", "LOGIN");
  asio::io_context io;
  keel::smtp_options o = server.options(keel::smtp_security::tls);
  o.username = "mailer";
  o.password = "secret";
  keel::smtp_client client(io, o);
  keel::email_message m;
  m.from = {"app@example.com", ""};
  m.to = {{"ann@example.org", ""}};
  m.subject = "plain ascii";
  m.text = ".\n..\n.x\n" + std::string(2000, 'L') + "\nlast";
  run_task(io, client.send(m));
  const received_mail got = server.message();
  CHECK(got.secure);
  CHECK(got.auth_method == "LOGIN");
  CHECK(got.subject == "plain ascii");
  CHECK(got.content_type == "text/plain");
  const std::string sent = ".\n..\n.x\n" + std::string(2000, 'L') + "\nlast";
  CHECK(got.text == sent + "\n");  // SMTP ends the last line of a message with CRLF, so the body gains one
  CHECK(got.html.empty());
}

TEST_CASE("refusals: wrong password, untrusted certificate, wrong host name, no STARTTLS", "[smtp]") {
  asio::io_context io;
  SECTION("a wrong password is kind::smtp, and the password is not in the message") {
    smtp_server server("starttls", "mailer", "right");
    keel::smtp_options o = server.options(keel::smtp_security::starttls);
    o.username = "mailer";
    o.password = "wrong-password";
    keel::smtp_client client(io, o);
    const keel::client_error e = send_failure(io, client);
    CHECK(e.kind() == keel::client_error_kind::smtp);
    CHECK(std::string(e.what()).find("535") != std::string::npos);
    CHECK(std::string(e.what()).find(keel::detail::base64(std::string("\0mailer\0wrong-password", 22))) ==
          std::string::npos);
  }
  SECTION("without the CA the STARTTLS handshake fails") {
    smtp_server server("starttls");
    keel::smtp_options o = server.options(keel::smtp_security::starttls);
    o.ca_file.clear();
    keel::smtp_client client(io, o);
    CHECK(send_failure(io, client).kind() == keel::client_error_kind::tls);
  }
  SECTION("a host name the certificate does not name") {
    smtp_server server("tls");
    keel::smtp_options o = server.options(keel::smtp_security::tls);
    o.host = "127.0.0.1";
    keel::smtp_client client(io, o);
    CHECK(send_failure(io, client).kind() == keel::client_error_kind::tls);
  }
  SECTION("a server without STARTTLS is refused when STARTTLS is required; AUTH never goes out in clear") {
    smtp_server server("plain");
    keel::smtp_options o = server.options(keel::smtp_security::starttls);
    keel::smtp_client client(io, o);
    CHECK_THROWS_WITH(run_task(io, client.send(sample())), Catch::Contains("STARTTLS"));
    o.security = keel::smtp_security::none;
    o.username = "u";
    o.password = "p";
    keel::smtp_client clear(io, o);
    CHECK_THROWS_WITH(run_task(io, clear.send(sample())), Catch::Contains("unencrypted"));
    o.username.clear();
    keel::smtp_client anonymous(io, o);
    run_task(io, anonymous.send(sample()));
    CHECK_FALSE(server.message().secure);
  }
}

TEST_CASE("a server that never answers times out", "[smtp][timeout]") {
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  keel::smtp_options o;
  o.host = "127.0.0.1";
  o.port = silent.local_endpoint().port();
  o.timeout.read = 300ms;
  keel::smtp_client client(io, o);
  CHECK(send_failure(io, client).kind() == keel::client_error_kind::timeout);
}
