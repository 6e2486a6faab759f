// keel::redis::reply: one RESP2 reply (status, error, integer, bulk string, nil, array) and the exceptions
// the client throws.
#pragma once

#include "keel/config.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace redis {

// The connection failed, closed, or a command outlived its timeout.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The server answered with an error reply ("-ERR ...", "-WRONGTYPE ..."); what() is its text.
class server_error : public error {
 public:
  using error::error;
};

// The bytes from the server are not RESP2; the connection is dropped and reopened.
class protocol_error : public error {
 public:
  using error::error;
};

struct reply {
  enum class kind : std::uint8_t { nil, status, error, integer, string, array };

  kind type = kind::nil;
  std::int64_t integer = 0;
  std::string text;             // status, error and (bulk) string replies
  std::vector<reply> elements;  // array replies

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_error() const noexcept { return type == kind::error; }
  bool is_string() const noexcept { return type == kind::string || type == kind::status; }
  bool is_array() const noexcept { return type == kind::array; }

  // Throws server_error for an error reply; returns *this otherwise.
  const reply& ok() const {
    if (type == kind::error) throw server_error(text);
    return *this;
  }
};

}  // namespace redis
}  // namespace v0
}  // namespace keel
