// keel::email_message and keel::format_email: an e-mail message as its RFC 5322 / MIME text, ready for SMTP
// DATA.
//
// - Headers with non-ASCII text (Subject, display names) become RFC 2047 encoded words (UTF-8, base64),
//   never splitting a UTF-8 sequence, folded to stay under 78 characters a line.
// - Line ends in bodies are normalised to CRLF (bare LF and bare CR alike).
// - A body that is 7-bit with lines of at most 998 bytes goes as it is; any other as quoted-printable.
// - Text with HTML becomes multipart/alternative (the text part first, as RFC 2046 orders preference).
// - Bcc recipients get the message but no header naming them.
// - CR or LF in a header value, or <, > or CR/LF in an address, is refused (header injection).
// Dot-stuffing is SMTP's business, not the message's: keel::smtp_client does it when sending.
#pragma once

#include "keel/config.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

struct mail_address {
  std::string address;  // user@example.com
  std::string name{};   // display name, any UTF-8
};

struct email_message {
  mail_address from;
  std::vector<mail_address> to{}, cc{}, bcc{};
  std::string subject{};
  std::string text{};  // the plain-text body (always sent)
  std::string html{};  // optional: sent with `text` as its alternative
  std::vector<std::pair<std::string, std::string>>
      headers{};  // extra headers (Reply-To, List-Unsubscribe...)
};

namespace detail {

inline std::string base64(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const auto v = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    auto v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

inline bool is_ascii(std::string_view s) noexcept {
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

inline void refuse_line_breaks(std::string_view what, std::string_view value) {
  if (value.find_first_of("\r\n") != std::string_view::npos)
    throw std::invalid_argument("keel: CR or LF in " + std::string(what));
}

// RFC 2047 encoded words for non-ASCII text, each at most 75 characters, joined by a fold (CRLF SP).
inline std::string encode_words(std::string_view text) {
  if (is_ascii(text)) return std::string(text);
  constexpr std::string_view open = "=?UTF-8?B?", close = "?=";
  constexpr std::size_t max_raw = 36;  // 36 bytes -> 48 base64 characters; 60 with the delimiters
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = std::min(text.size(), at + max_raw);
    while (end < text.size() && end > at && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
      --end;  // do not split a UTF-8 sequence between two words
    if (!out.empty()) out += "\r\n ";
    out.append(open).append(base64(text.substr(at, end - at))).append(close);
    at = end;
  }
  return out;
}

// A display name as a header phrase: plain when it is safe atoms, quoted when ASCII with specials, encoded
// words when not ASCII.
inline std::string phrase(std::string_view name) {
  if (!is_ascii(name)) return encode_words(name);
  bool plain = true;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ' ' ||
          std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos))
      plain = false;
  if (plain) return std::string(name);
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out += '"';
}

inline void check_address(std::string_view address) {
  if (address.empty() || address.find_first_of("<>\r\n\t ,") != std::string_view::npos ||
      address.find('@') == std::string_view::npos)
    throw std::invalid_argument("keel: not a usable e-mail address: '" + std::string(address) + "'");
}

inline std::string format_address(const mail_address& a) {
  check_address(a.address);
  refuse_line_breaks("a display name", a.name);
  if (a.name.empty()) return "<" + a.address + ">";
  return phrase(a.name) + " <" + a.address + ">";
}

inline std::string format_address_list(const std::vector<mail_address>& list) {
  std::string out;
  for (const auto& a : list) {
    if (!out.empty()) out += ",\r\n ";
    out += format_address(a);
  }
  return out;
}

// Bare LF and bare CR become CRLF.
inline std::string normalize_crlf(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (in[i] == '\n') {
      out += "\r\n";
    } else {
      out += in[i];
    }
  }
  return out;
}

inline bool needs_encoding(std::string_view crlf_text) noexcept {
  if (!is_ascii(crlf_text)) return true;
  std::size_t line = 0;
  for (const char c : crlf_text) {
    if (c == '\n') {
      line = 0;
    } else if (++line > 998 || c == '\0') {
      return true;
    }
  }
  return false;
}

// Quoted-printable (RFC 2045 section 6.7) of CRLF text: line breaks stay hard breaks, lines soft-broken
// at 76.
inline std::string quoted_printable(std::string_view crlf_text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  std::size_t column = 0;
  auto put = [&](std::string_view piece) {
    if (column + piece.size() > 75) {
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += piece.size();
  };
  for (std::size_t i = 0; i < crlf_text.size(); ++i) {
    const auto c = static_cast<unsigned char>(crlf_text[i]);
    if (c == '\r' && i + 1 < crlf_text.size() && crlf_text[i + 1] == '\n') {
      out += "\r\n";
      column = 0;
      ++i;
      continue;
    }
    const bool line_end = i + 1 == crlf_text.size() || crlf_text[i + 1] == '\r';
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
    if (literal) {
      const char ch = static_cast<char>(c);
      put(std::string_view(&ch, 1));
    } else {
      const char escaped[3] = {'=', hex[c >> 4], hex[c & 15]};
      put(std::string_view(escaped, 3));
    }
  }
  return out;
}

inline std::string body_part(std::string_view type, std::string_view body) {
  const std::string crlf = normalize_crlf(body);
  std::string out = "Content-Type: " + std::string(type) + "; charset=utf-8\r\n";
  if (needs_encoding(crlf)) {
    out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + quoted_printable(crlf);
  } else {
    out += "Content-Transfer-Encoding: 7bit\r\n\r\n" + crlf;
  }
  return out;
}

inline std::string random_token(std::size_t n) {
  static constexpr char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out(n, 'x');
  for (char& c : out) c = chars[rng() % 36];
  return out;
}

inline std::string rfc5322_date(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace detail

// The message's text (headers, blank line, body; CRLF line ends; not dot-stuffed). `domain` goes into the
// Message-ID.
inline std::string format_email(
    const email_message& m, std::string_view domain = "localhost",
    std::chrono::system_clock::time_point when = std::chrono::system_clock::now()) {
  if (m.to.empty() && m.cc.empty() && m.bcc.empty())
    throw std::invalid_argument("keel: an e-mail needs a recipient");
  detail::refuse_line_breaks("the subject", m.subject);
  std::string out;
  out += "From: " + detail::format_address(m.from) + "\r\n";
  if (!m.to.empty()) out += "To: " + detail::format_address_list(m.to) + "\r\n";
  if (!m.cc.empty()) out += "Cc: " + detail::format_address_list(m.cc) + "\r\n";
  for (const auto& a : m.bcc) detail::check_address(a.address);
  out += "Subject: " + detail::encode_words(m.subject) + "\r\n";
  out += "Date: " + detail::rfc5322_date(when) + "\r\n";
  out += "Message-ID: <" + detail::random_token(24) + "@" + std::string(domain) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  for (const auto& [name, value] : m.headers) {
    detail::refuse_line_breaks("a header", name);
    detail::refuse_line_breaks("a header", value);
    out += name + ": " + detail::encode_words(value) + "\r\n";
  }
  if (m.html.empty()) return out + detail::body_part("text/plain", m.text);
  // "=_" cannot occur in quoted-printable text; 28 random characters make a 7-bit body holding it unlikely.
  const std::string boundary = "=_keel_" + detail::random_token(28);
  out += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary + "\"\r\n\r\n";
  out += "--" + boundary + "\r\n" + detail::body_part("text/plain", m.text) + "\r\n";
  out += "--" + boundary + "\r\n" + detail::body_part("text/html", m.html) + "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace v0
}  // namespace keel
