// How an exception that escaped a handler or a middleware becomes a response: an http_error answers with
// itself, anything else is logged and answered with a 500 carrying the request id and no internals.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/error.hpp"
#include "keel/http/status.hpp"

#include <cstdio>
#include <exception>
#include <string>

namespace keel {
inline namespace v0 {
namespace detail {

// Logs an exception that escaped a handler; the client sees a 500 with the request id only.
inline void log_handler_exception(request_context& ctx, const char* what) {
  // Escaped: an exception's text (and a client-chosen id) must not break the JSON log line.
  std::string line = R"({"level":"error","event":"handler_exception","request_id":)";
  append_json_string(line, ctx.request_id());
  line.append(R"(,"route":)");
  append_json_string(line, ctx.route_path());
  line.append(R"(,"what":)");
  append_json_string(line, what);
  // With keel::traceparent: the W3C trace id, as keel::access_log and keel/log.hpp lines carry it.
  if (!ctx.trace_id().empty()) line.append(R"(,"trace_id":")").append(ctx.trace_id()).push_back('"');
  line.append("}\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

inline void fail_internal(request_context& ctx) {
  ctx.fail(http_error(http::status::internal_server_error, "internal server error", "internal_error"));
}

// Turns the in-flight exception into a response.
inline void respond_to_exception(request_context& ctx) {
  try {
    throw;
  } catch (const http_error& e) {
    ctx.fail(e);
  } catch (const stream_closed&) {
    // The client is gone: nobody reads this answer, and a disconnect is no server error.
    fail_internal(ctx);
  } catch (const std::exception& e) {
    log_handler_exception(ctx, e.what());
    fail_internal(ctx);
  } catch (...) {
    log_handler_exception(ctx, "unknown exception");
    fail_internal(ctx);
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
