// Typed JSON messages on a WebSocket: receive_json<T>() reads a message through keel's DTO reader (with its
// validation), send_json(value) writes one with keel's writer.
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/http/response.hpp"
#include "keel/json/errors.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/writer.hpp"
#include "keel/task.hpp"
#include "keel/ws/websocket.hpp"

#include <optional>
#include <string>
#include <utility>

namespace keel {
inline namespace v0 {

template <class T>
task<std::optional<T>> websocket::receive_json() {
  for (;;) {
    ws_message msg = co_await receive();
    if (msg.closed()) co_return std::nullopt;
    auto parsed = json_io::read<T>(msg.data);
    if (parsed) co_return std::optional<T>(std::move(parsed).value());
    switch (opts_->json_errors) {
      case ws_json_errors::reply: {
        // keel's error shape, as a text message; the connection stays open.
        const http_error e = json_io::to_http_error(parsed, "message");
        keel::response res;
        json_error_formatter::format(e, {}, res);
        std::string body = std::move(res.body_buffer());
        co_await send_text(body);
        break;
      }
      case ws_json_errors::close_1007: {
        task<> c =
            close(ws_close::invalid_payload, parsed.syntax_error() ? "malformed JSON" : "invalid message");
        co_await std::move(c);
        co_return std::nullopt;
      }
      case ws_json_errors::close_1008: {
        task<> c =
            close(ws_close::policy_violation, parsed.syntax_error() ? "malformed JSON" : "invalid message");
        co_await std::move(c);
        co_return std::nullopt;
      }
    }
  }
}

template <class T>
task<> websocket::send_json(const T& value) {
  std::string text;
  json_io::write(text, value);
  co_await send_text(text);
}

}  // namespace v0
}  // namespace keel
