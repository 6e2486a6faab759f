// The RealWorld error shape through keel's ErrorFormatter: {"errors":{"body":["message"]}}, and for an error
// that names fields (validation, "has already been taken"), one key per field with its reasons:
// {"errors":{"email":["must be a valid e-mail address"],"username":["has already been taken"]}}.
#pragma once

#include <keel/error.hpp>
#include <keel/http/response.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conduit {

// "user.email" -> "email", "article.tagList[2]" -> "tagList": the name a form shows the reason next to.
inline std::string_view field_key(std::string_view path) {
  if (std::size_t dot = path.rfind('.'); dot != std::string_view::npos) path.remove_prefix(dot + 1);
  if (std::size_t bracket = path.find('['); bracket != std::string_view::npos) path = path.substr(0, bracket);
  return path.empty() ? std::string_view("body") : path;
}

struct error_format {
  static void format(const keel::http_error& e, std::string_view /*request_id*/, keel::response& res) {
    std::string& out = res.body_buffer();
    out.assign("{\"errors\":{");
    // A refused token names the Authorization header as its field: RealWorld shows it as a body message.
    if (e.fields().empty() || e.status() == keel::http::status::unauthorized) {
      out.append("\"body\":[");
      keel::detail::append_json_string(out, e.message());
      out.append("]");
    } else {
      // Keys in first-seen order, each with every reason given for it (a handful: quadratic is fine).
      std::vector<std::string_view> keys;
      for (const keel::field_error& f : e.fields()) {
        std::string_view key = field_key(f.path);
        bool seen = false;
        for (std::string_view k : keys) seen = seen || k == key;
        if (!seen) keys.push_back(key);
      }
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i != 0) out.push_back(',');
        keel::detail::append_json_string(out, keys[i]);
        out.append(":[");
        bool first = true;
        for (const keel::field_error& f : e.fields()) {
          if (field_key(f.path) != keys[i]) continue;
          if (!first) out.push_back(',');
          first = false;
          keel::detail::append_json_string(out, f.reason);
        }
        out.push_back(']');
      }
    }
    out.append("}}");
    res.content_type("application/json");
  }
};
static_assert(keel::ErrorFormatter<error_format>);

// The same shape as a JSON Schema, for the OpenAPI document (openapi::info::error_schema).
inline constexpr const char* error_schema =
    R"({"type":"object","description":"RealWorld's error shape: {\"errors\":{\"body\":[message]}}, or one key per )"
    R"(invalid field with its reasons.","properties":{"errors":{"type":"object","properties":{"body":{"type":)"
    R"("array","items":{"type":"string"}}},"additionalProperties":{"type":"array","items":{"type":"string"}}}},)"
    R"("required":["errors"]})";

// 422 {"errors":{"<field>":["<reason>"]}}
inline keel::http_error field_error(std::string field, std::string reason) {
  keel::http_error e = keel::unprocessable(reason);
  e.add_field("body", std::move(field), std::move(reason));
  return e;
}

}  // namespace conduit
