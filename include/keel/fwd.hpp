// Forward declarations of keel's public types, for headers that only name them (cheap to include).
#pragma once

#include "keel/config.hpp"

#include <cstdint>

namespace keel {
inline namespace v0 {

class response;
class http_error;
struct field_error;
template <class T>
class result;

struct server_config;
struct http_limits;
struct timeouts;
struct tls_config;

namespace http {
enum class method : std::uint16_t;
enum class status : std::uint16_t;
struct method_set;
struct header_field;
class header_list;
struct request;
}  // namespace http

}  // namespace v0
}  // namespace keel
