// HTTP status codes and their reason phrases (RFC 9110 section 15).
#pragma once

#include "keel/config.hpp"

#include <cstdint>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace http {

enum class status : std::uint16_t {
  continue_ = 100,
  switching_protocols = 101,
  ok = 200,
  created = 201,
  accepted = 202,
  no_content = 204,
  partial_content = 206,
  moved_permanently = 301,
  found = 302,
  see_other = 303,
  not_modified = 304,
  temporary_redirect = 307,
  permanent_redirect = 308,
  bad_request = 400,
  unauthorized = 401,
  payment_required = 402,
  forbidden = 403,
  not_found = 404,
  method_not_allowed = 405,
  not_acceptable = 406,
  request_timeout = 408,
  conflict = 409,
  gone = 410,
  length_required = 411,
  precondition_failed = 412,
  payload_too_large = 413,
  uri_too_long = 414,
  unsupported_media_type = 415,
  range_not_satisfiable = 416,
  expectation_failed = 417,
  unprocessable_content = 422,
  upgrade_required = 426,
  too_many_requests = 429,
  request_header_fields_too_large = 431,
  internal_server_error = 500,
  not_implemented = 501,
  bad_gateway = 502,
  service_unavailable = 503,
  gateway_timeout = 504,
  http_version_not_supported = 505,
};

constexpr std::uint16_t to_int(status s) { return static_cast<std::uint16_t>(s); }

constexpr std::string_view reason_phrase(status s) {
  switch (s) {
    case status::continue_:
      return "Continue";
    case status::switching_protocols:
      return "Switching Protocols";
    case status::ok:
      return "OK";
    case status::created:
      return "Created";
    case status::accepted:
      return "Accepted";
    case status::no_content:
      return "No Content";
    case status::partial_content:
      return "Partial Content";
    case status::moved_permanently:
      return "Moved Permanently";
    case status::found:
      return "Found";
    case status::see_other:
      return "See Other";
    case status::not_modified:
      return "Not Modified";
    case status::temporary_redirect:
      return "Temporary Redirect";
    case status::permanent_redirect:
      return "Permanent Redirect";
    case status::bad_request:
      return "Bad Request";
    case status::unauthorized:
      return "Unauthorized";
    case status::payment_required:
      return "Payment Required";
    case status::forbidden:
      return "Forbidden";
    case status::not_found:
      return "Not Found";
    case status::method_not_allowed:
      return "Method Not Allowed";
    case status::not_acceptable:
      return "Not Acceptable";
    case status::request_timeout:
      return "Request Timeout";
    case status::conflict:
      return "Conflict";
    case status::gone:
      return "Gone";
    case status::length_required:
      return "Length Required";
    case status::precondition_failed:
      return "Precondition Failed";
    case status::payload_too_large:
      return "Content Too Large";
    case status::uri_too_long:
      return "URI Too Long";
    case status::unsupported_media_type:
      return "Unsupported Media Type";
    case status::range_not_satisfiable:
      return "Range Not Satisfiable";
    case status::expectation_failed:
      return "Expectation Failed";
    case status::unprocessable_content:
      return "Unprocessable Content";
    case status::upgrade_required:
      return "Upgrade Required";
    case status::too_many_requests:
      return "Too Many Requests";
    case status::request_header_fields_too_large:
      return "Request Header Fields Too Large";
    case status::internal_server_error:
      return "Internal Server Error";
    case status::not_implemented:
      return "Not Implemented";
    case status::bad_gateway:
      return "Bad Gateway";
    case status::service_unavailable:
      return "Service Unavailable";
    case status::gateway_timeout:
      return "Gateway Timeout";
    case status::http_version_not_supported:
      return "HTTP Version Not Supported";
  }
  return "Unknown";
}

// A short machine-readable code for the JSON error body ("not_found", "payload_too_large", ...).
constexpr std::string_view error_code(status s) {
  switch (s) {
    case status::bad_request:
      return "bad_request";
    case status::unauthorized:
      return "unauthorized";
    case status::forbidden:
      return "forbidden";
    case status::not_found:
      return "not_found";
    case status::method_not_allowed:
      return "method_not_allowed";
    case status::request_timeout:
      return "request_timeout";
    case status::conflict:
      return "conflict";
    case status::length_required:
      return "length_required";
    case status::payload_too_large:
      return "payload_too_large";
    case status::uri_too_long:
      return "uri_too_long";
    case status::unsupported_media_type:
      return "unsupported_media_type";
    case status::expectation_failed:
      return "expectation_failed";
    case status::unprocessable_content:
      return "validation_failed";
    case status::upgrade_required:
      return "upgrade_required";
    case status::too_many_requests:
      return "too_many_requests";
    case status::request_header_fields_too_large:
      return "header_fields_too_large";
    case status::not_implemented:
      return "not_implemented";
    case status::service_unavailable:
      return "service_unavailable";
    case status::http_version_not_supported:
      return "http_version_not_supported";
    default:
      return to_int(s) >= 500 ? "internal_error" : "error";
  }
}

}  // namespace http
}  // namespace v0
}  // namespace keel
