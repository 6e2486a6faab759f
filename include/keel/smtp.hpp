// keel::smtp_client: sends e-mail (keel::email_message, formatted by keel/smtp/message.hpp) to an SMTP
// submission server from a coroutine, over Asio: STARTTLS (port 587) or implicit TLS (465) through OpenSSL
// with the same certificate and host name checks as keel::http_client, AUTH PLAIN or LOGIN,
// connect/read/total timeouts, dot-stuffing. One connection per send(); failures throw keel::client_error
// (kind smtp for a refused command, with the server's reply in the message).
//
//   keel::smtp_client mail(io, {.host = "smtp.example.com", .username = "app", .password = secret});
//   co_await mail.send(keel::email_message{.from = {"app@example.com"}, .to = {{"ann@example.org", "Ann"}},
//                                  .subject = "Grüße", .text = "Hello", .html = "<p>Hello</p>"});
#pragma once

#include "keel/config.hpp"
#include "keel/client/connection.hpp"
#include "keel/client/tls_context.hpp"
#include "keel/client/types.hpp"
#include "keel/server/reactor.hpp"
#include "keel/smtp/message.hpp"
#include "keel/task.hpp"

#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

enum class smtp_security {
  starttls,  // plain connect, then STARTTLS (required: a server without it is an error); port 587
  tls,       // TLS from the first byte (implicit TLS, "SMTPS"); port 465
  none,      // no TLS at all: local relays and tests only; AUTH is refused on it unless allow_plaintext_auth
};

enum class smtp_auth { automatic, plain, login };

struct smtp_options {
  std::string host = "localhost";
  std::uint16_t port = 587;
  smtp_security security = smtp_security::starttls;
  std::string username{};  // AUTH when not empty
  std::string password{};
  smtp_auth auth = smtp_auth::automatic;  // automatic: PLAIN when offered, else LOGIN
  bool allow_plaintext_auth = false;
  std::string ca_file{};  // extra trusted CA (PEM), next to the system store
  bool verify_peer = true;
  std::string helo_name = "localhost";  // the EHLO argument and the Message-ID domain
  client_timeouts timeout{};
};

namespace detail {

struct smtp_reply {
  int code = 0;
  std::vector<std::string> lines;  // text after "NNN-" / "NNN "
  std::string text() const {
    std::string out = std::to_string(code);
    for (const auto& l : lines) out += " " + l;
    return out;
  }
  bool offers(std::string_view extension) const {
    for (const auto& l : lines) {
      const std::string_view word = std::string_view(l).substr(0, l.find(' '));
      if (keel::detail::iequals(word, extension)) return true;
    }
    return false;
  }
  // The AUTH mechanisms an EHLO reply lists.
  bool offers_auth(std::string_view mechanism) const {
    for (const auto& l : lines) {
      if (l.size() < 5 || !keel::detail::iequals(std::string_view(l).substr(0, 5), "AUTH ")) continue;
      std::string_view rest = std::string_view(l).substr(5);
      while (!rest.empty()) {
        const std::size_t space = rest.find(' ');
        if (keel::detail::iequals(rest.substr(0, space), mechanism)) return true;
        if (space == std::string_view::npos) break;
        rest.remove_prefix(space + 1);
      }
    }
    return false;
  }
};

// The DATA payload: lines starting with '.' get a second one, and the terminating "." line is added.
inline std::string dot_stuff(std::string_view crlf_message) {
  std::string out;
  out.reserve(crlf_message.size() + 64);
  bool line_start = true;
  for (const char c : crlf_message) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  if (!out.empty() && !(out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0)) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace detail

class smtp_client {
 public:
  smtp_client(asio::io_context& io, smtp_options options) : io_(io), options_(std::move(options)) {}
  // On the current reactor thread; throws when there is none.
  explicit smtp_client(smtp_options options) : smtp_client(current_io(), std::move(options)) {}

  const smtp_options& options() const noexcept { return options_; }

  // Sends one message on a new connection (EHLO, STARTTLS, AUTH, MAIL, RCPT per recipient, DATA, QUIT).
  task<void> send(const email_message& message) {
    const std::string text = format_email(message, options_.helo_name);  // validates before connecting
    const auto deadline = detail::client_clock::now() + options_.timeout.total;
    detail::client_connection c(io_);
    const auto connect_deadline = std::min(deadline, detail::client_clock::now() + options_.timeout.connect);
    co_await c.connect(options_.host, options_.port, connect_deadline);
    if (options_.security == smtp_security::tls)
      co_await c.start_tls(tls_context(), options_.host, connect_deadline);
    session s{c, deadline, options_.timeout.read};

    co_await s.expect(220, "greeting");
    detail::smtp_reply ehlo = co_await s.command("EHLO " + options_.helo_name, 250);
    if (options_.security == smtp_security::starttls) {
      if (!ehlo.offers("STARTTLS"))
        throw client_error(client_error_kind::smtp,
                           "keel: the SMTP server does not offer STARTTLS: " + ehlo.text());
      co_await s.command("STARTTLS", 220);
      c.buffer.used = 0;  // nothing sent before TLS may be read after it (RFC 3207 section 4.2)
      co_await c.start_tls(tls_context(), options_.host, connect_deadline);
      ehlo = co_await s.command("EHLO " + options_.helo_name, 250);
    }
    if (!options_.username.empty()) co_await authenticate(s, ehlo, c.is_tls());

    co_await s.command("MAIL FROM:<" + message.from.address + ">", 250);
    std::vector<std::string> recipients;
    for (const auto& a : message.to) recipients.push_back(a.address);
    for (const auto& a : message.cc) recipients.push_back(a.address);
    for (const auto& a : message.bcc) recipients.push_back(a.address);
    for (const std::string& rcpt : recipients) co_await s.command("RCPT TO:<" + rcpt + ">", 250, 251);
    co_await s.command("DATA", 354);
    const std::string data = detail::dot_stuff(text);
    co_await s.write(data);
    co_await s.expect(250, "message accepted");
    co_await s.quit();
  }

 private:
  struct session {
    detail::client_connection& c;
    detail::client_clock::time_point deadline;
    std::chrono::milliseconds read_timeout;

    detail::client_clock::time_point step_deadline() const {
      return std::min(deadline, detail::client_clock::now() + read_timeout);
    }

    task<void> write(const std::string& bytes) { co_await c.write_all(bytes, step_deadline()); }

    // One (multi-line) reply.
    task<detail::smtp_reply> read_reply() {
      detail::client_read_buffer& buf = c.buffer;
      detail::smtp_reply reply;
      std::size_t at = 0;
      for (;;) {
        const std::string_view have(buf.bytes.data(), buf.used);
        const std::size_t eol = have.find("\r\n", at);
        if (eol == std::string_view::npos) {
          if (buf.used > 64 * 1024)
            throw client_error(client_error_kind::protocol, "keel: an SMTP reply over 64 KiB");
          if (buf.used == buf.bytes.size()) buf.bytes.resize(buf.bytes.size() * 2);
          const std::size_t n =
              co_await c.read_some(buf.bytes.data() + buf.used, buf.bytes.size() - buf.used, step_deadline());
          if (n == 0)
            throw client_error(client_error_kind::closed, "keel: the SMTP server closed the connection");
          buf.used += n;
          continue;
        }
        const std::string_view line = have.substr(at, eol - at);
        if (line.size() < 3 || line[0] < '2' || line[0] > '5' ||
            (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
          throw client_error(client_error_kind::protocol, "keel: malformed SMTP reply: " + std::string(line));
        const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (reply.code != 0 && code != reply.code)
          throw client_error(client_error_kind::protocol, "keel: SMTP reply codes differ within one reply");
        reply.code = code;
        reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
        at = eol + 2;
        if (line.size() == 3 || line[3] == ' ') break;
      }
      buf.bytes.erase(0, at);
      buf.used -= at;
      if (buf.bytes.size() < 4096) buf.bytes.resize(4096);
      co_return reply;
    }

    task<detail::smtp_reply> expect(int code, std::string_view what, int alternative = 0) {
      task<detail::smtp_reply> reading = read_reply();
      detail::smtp_reply reply = co_await std::move(reading);
      if (reply.code != code && (alternative == 0 || reply.code != alternative))
        throw client_error(client_error_kind::smtp,
                           "keel: SMTP " + std::string(what) + " refused: " + reply.text());
      co_return reply;
    }

    // `shown` names the command in an error (credentials must never be quoted); default: the line itself.
    task<detail::smtp_reply> command(std::string line, int code, int alternative = 0,
                                     std::string shown = {}) {
      if (shown.empty()) shown = line.substr(0, 64);
      line += "\r\n";
      co_await c.write_all(line, step_deadline());
      task<detail::smtp_reply> expecting = expect(code, shown, alternative);
      co_return co_await std::move(expecting);
    }

    task<void> quit() {
      std::optional<client_error> ignored;
      try {
        co_await c.write_all("QUIT\r\n", step_deadline());
        task<detail::smtp_reply> reading = read_reply();
        (void)co_await std::move(reading);
      } catch (const client_error& e) {
        ignored.emplace(e);  // the message was accepted; a rude goodbye changes nothing
      }
      c.close();
    }
  };

  task<void> authenticate(session& s, const detail::smtp_reply& ehlo, bool encrypted) {
    if (!encrypted && !options_.allow_plaintext_auth)
      throw client_error(client_error_kind::smtp, "keel: refusing SMTP AUTH on an unencrypted connection");
    smtp_auth method = options_.auth;
    if (method == smtp_auth::automatic)
      method = ehlo.offers_auth("PLAIN")   ? smtp_auth::plain
               : ehlo.offers_auth("LOGIN") ? smtp_auth::login
                                           : smtp_auth::automatic;
    if (method == smtp_auth::automatic)
      throw client_error(client_error_kind::smtp,
                         "keel: the SMTP server offers neither AUTH PLAIN nor LOGIN");
    if (method == smtp_auth::plain) {
      std::string credentials;
      credentials += '\0';
      credentials += options_.username;
      credentials += '\0';
      credentials += options_.password;
      co_await s.command("AUTH PLAIN " + detail::base64(credentials), 235, 0, "AUTH PLAIN");
    } else {
      co_await s.command("AUTH LOGIN", 334);
      co_await s.command(detail::base64(options_.username), 334, 0, "AUTH LOGIN (user name)");
      co_await s.command(detail::base64(options_.password), 235, 0, "AUTH LOGIN (password)");
    }
  }

  static asio::io_context& current_io() {
    asio::io_context* io = detail::current_reactor();
    if (io == nullptr)
      throw std::logic_error("keel::smtp_client(): no reactor on this thread; pass an io_context");
    return *io;
  }

  asio::ssl::context& tls_context() {
    if (!tls_) tls_.emplace(detail::make_client_tls_context(options_.ca_file, options_.verify_peer));
    return *tls_;
  }

  asio::io_context& io_;
  smtp_options options_;
  std::optional<asio::ssl::context> tls_;
};

}  // namespace v0
}  // namespace keel
