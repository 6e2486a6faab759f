// The OpenAPI 3.1 document of a router: paths and operations from the route table, parameters and request
// bodies from the handlers' parameters, responses from their return types and the error model.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/http/method.hpp"
#include "keel/json/response.hpp"
#include "keel/openapi/schema.hpp"
#include "keel/respond.hpp"
#include "keel/router/handler_traits.hpp"
#include "keel/router/path_template.hpp"
#include "keel/router/route_doc.hpp"
#include "keel/router/router.hpp"

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

//   auto api = keel::router{keel::get<"/todos/{id}">(get_todo), ...};
//   std::string json = keel::openapi::document(api, {
//       .title = "Todo API", .version = "1.0.0",
//       .operations = {{"GET /todos/{id}", {.summary = "One todo", .tags = {"todos"}}}}});
//
// Operations are documented on the route itself, keel::get<"/todos/{id}">(h).doc({.summary = "One todo"}),
// or in the table above, keyed "METHOD /path" with the path as written in the route (group prefixes
// included); a table key that names no route is an error (std::invalid_argument) so that a renamed route
// cannot silently lose its documentation. Where both document one operation, the table's non-empty fields
// win.
//
// Handler parameters that are extractors describe themselves with (the list: keel/customization.hpp)
//   using keel_dto = T;                                    // the value type (a DTO for query/body/form)
//   static constexpr keel::location keel_location = keel::location::query;  // or header, cookie, body,
//                                                                          // form, multipart
//   static constexpr std::string_view keel_name = "X-Token";  // header and cookie names
// A query DTO becomes one query parameter per field; keel::body (raw) becomes an octet-stream body.
//
// Security comes from the types too: a handler parameter or a route/group middleware that declares
//   static constexpr std::string_view keel_security = "bearer" | "api_key";
// (keel::bearer<Claims>, keel::api_key<P>, the policy layer of .require<...>()) makes the operation's
// `security` name that scheme (a std::optional parameter adds `{}`: anonymous allowed) and documents a 401; a
// middleware with `keel_security_forbids = true` also documents a 403, and its keel_security_scopes() (the
// scopes and roles of keel::scope / keel::role) go into the requirement. Operations with none of these get
// `security: []` (open). components.securitySchemes holds the schemes used, as info.security describes them.

namespace keel {
inline namespace v0 {
namespace openapi {

// The same fields a route's .doc({...}) takes (keel/router/route_doc.hpp), for the keyed table below.
using operation_doc = keel::route_doc;

// How the app's credentials look on the wire, for components.securitySchemes (match the jwt_bearer and
// api_key_auth options of the app).
struct security_options {
  std::string bearer_scheme = "Bearer";  // another word ("Token") is documented as an Authorization apiKey
  std::string bearer_format = "JWT";
  std::string api_key_header = "X-API-Key";  // "" when keys are not read from a header
  std::string api_key_query = "api_key";     // "" when keys are not read from the query
};

struct info {
  std::string title = "API";
  std::string version = "0.1.0";
  std::string description{};
  std::vector<std::pair<std::string, operation_doc>> operations{};  // "GET /todos/{id}" -> documentation
  std::vector<std::string> servers{"/"};  // base URLs; "/" is where the document is served from
  security_options security{};
  // The JSON Schema of an error body, for an app that replaced keel's shape with .errors<F>(); empty: keel's.
  std::string error_schema{};
};

namespace detail {

using keel::detail::append_json_string;

template <class T>
struct unwrap_task {
  using type = T;
};
template <class T>
struct unwrap_task<keel::task<T>> {
  using type = T;
};

template <class T>
inline constexpr bool is_created = false;
template <class T>
inline constexpr bool is_created<keel::created<T>> = true;
template <class T>
inline constexpr bool is_result = false;
template <class T>
inline constexpr bool is_result<keel::result<T>> = true;

template <class D>
concept described_extractor = requires {
  typename D::keel_dto;
  D::keel_location;
};

// What an operation's parameters and results need from the error model.
struct error_needs {
  bool bad_request = false;   // a parameter or body that may be malformed: 400
  bool validation = false;    // a DTO whose fields are checked: 422
  bool not_found = false;     // an optional result: 404
  bool any_error = false;     // result<T> / http_error: typed errors of any status
  bool unauthorized = false;  // credentials are read: 401
  bool forbidden = false;     // a policy may refuse: 403
};

// The credentials an operation takes (see the top of this file).
struct security_needs {
  bool bearer = false, bearer_optional = true;
  bool api_key = false, api_key_optional = true;
  std::vector<std::string> scopes;
};

template <class T>
concept secured_type = requires {
  std::string_view(T::keel_security);
};

// Security a handler parameter of type P declares (optional: a std::optional around it).
template <class D>
void add_param_security(security_needs& s, error_needs& needs) {
  bool optional = false;
  std::string_view kind;
  if constexpr (secured_type<D>) {
    kind = D::keel_security;
  } else if constexpr (keel::detail::is_optional<D>) {
    if constexpr (secured_type<typename D::value_type>) {
      kind = D::value_type::keel_security;
      optional = true;
    }
  }
  if (kind.empty()) return;
  needs.unauthorized = true;
  if (kind == "bearer") {
    s.bearer = true;
    s.bearer_optional = s.bearer_optional && optional;
  } else if (kind == "api_key") {
    s.api_key = true;
    s.api_key_optional = s.api_key_optional && optional;
  }
}

template <class M>
void add_middleware_security(security_needs& s, error_needs& needs) {
  if constexpr (secured_type<M>) {
    needs.unauthorized = true;
    if constexpr (requires { M::keel_security_forbids; })
      needs.forbidden = needs.forbidden || M::keel_security_forbids;
    if constexpr (requires { M::keel_security_scopes(); })
      for (auto& scope : M::keel_security_scopes()) s.scopes.push_back(std::move(scope));
    if (M::keel_security == std::string_view("bearer")) {
      s.bearer = true;
      s.bearer_optional = false;
    } else if (M::keel_security == std::string_view("api_key")) {
      s.api_key = true;
      s.api_key_optional = false;
    }
  }
}

// The security schemes an app uses, by name (for components.securitySchemes).
struct schemes_used {
  bool bearer = false, api_key_header = false, api_key_query = false;
};

inline std::string security_json(const security_needs& s, const security_options& o, schemes_used& used) {
  std::string out = "[";
  auto add = [&](std::string_view name, const std::vector<std::string>& scopes) {
    if (out.size() > 1) out.push_back(',');
    out.append("{");
    append_json_string(out, name);
    out.append(":[");
    for (std::size_t i = 0; i < scopes.size(); ++i) {
      if (i != 0) out.push_back(',');
      append_json_string(out, scopes[i]);
    }
    out.append("]}");
  };
  const std::vector<std::string> none;
  if (s.bearer) {
    used.bearer = true;
    add("bearerAuth", s.scopes);
  }
  if (s.api_key) {
    if (!o.api_key_header.empty()) {
      used.api_key_header = true;
      add("apiKeyHeader", none);
    }
    if (!o.api_key_query.empty()) {
      used.api_key_query = true;
      add("apiKeyQuery", none);
    }
  }
  if ((s.bearer && s.bearer_optional && (!s.api_key || s.api_key_optional)) ||
      (s.api_key && s.api_key_optional && !s.bearer))
    out.append(out.size() > 1 ? ",{}" : "{}");
  out.push_back(']');
  return out;
}

inline std::string security_schemes_json(const schemes_used& used, const security_options& o) {
  std::string out;
  auto member = [&](std::string_view name, const std::string& body) {
    if (!out.empty()) out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    out.append(body);
  };
  if (used.bearer) {
    if (o.bearer_scheme == "Bearer" || o.bearer_scheme == "bearer") {
      std::string b = R"({"type":"http","scheme":"bearer","bearerFormat":)";
      append_json_string(b, o.bearer_format);
      b.append(R"(,"description":"Authorization: Bearer <token>"})");
      member("bearerAuth", b);
    } else {
      std::string b = R"({"type":"apiKey","in":"header","name":"Authorization","description":)";
      append_json_string(b, "Authorization: " + o.bearer_scheme + " <token> (a " + o.bearer_format +
                                "; type the word " + o.bearer_scheme + " before it)");
      member("bearerAuth", b.append("}"));
    }
  }
  if (used.api_key_header) {
    std::string b = R"({"type":"apiKey","in":"header","name":)";
    append_json_string(b, o.api_key_header);
    member("apiKeyHeader", b.append("}"));
  }
  if (used.api_key_query) {
    std::string b = R"({"type":"apiKey","in":"query","name":)";
    append_json_string(b, o.api_key_query);
    member("apiKeyQuery", b.append("}"));
  }
  return out;
}

template <class D>
struct path_value {
  using type = D;
};
template <fixed_string N, class T>
struct path_value<keel::path<N, T>> {
  using type = T;
};

template <class M>
constexpr bool is_repeated() {
  if constexpr (keel::Validator<M>)
    return is_repeated<typename M::value_type>();
  else
    return keel::detail::json_array_like<M> && !keel::detail::string_like<M>;
}

struct operation_builder {
  schema_registry& schemas;
  std::vector<std::pair<std::size_t, std::string>> path_params;  // (slot, parameter JSON)
  std::vector<std::string> params;                               // query/header/cookie parameters
  std::string request_body;                                      // "" when none
  error_needs needs;
  security_needs security{};

  void add_param(std::string_view in, std::string_view name, bool required, const std::string& schema) {
    std::string p = "{\"name\":";
    append_json_string(p, name);
    p.append(",\"in\":\"").append(in).append("\",\"required\":").append(required ? "true" : "false");
    p.append(",\"schema\":").append(schema).append("}");
    params.push_back(std::move(p));
  }

  void set_body(std::string_view media_type, const std::string& schema, bool required) {
    request_body = "{\"required\":";
    request_body.append(required ? "true" : "false").append(",\"content\":{");
    append_json_string(request_body, media_type);
    request_body.append(":{\"schema\":").append(schema).append("}}}");
  }

  // A query DTO's absent keys keep their member initializers unless it says keel_missing_fields = reject;
  // those initial values are the parameters' defaults.
  template <Dto T>
  void add_query_fields() {
    constexpr bool rejects_missing = !keel::detail::missing_fields_use_defaults_hook<T>(true);
    const T initial{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      auto field = [&]<std::size_t N>(std::integral_constant<std::size_t, N>) {
        using M = boost::pfr::tuple_element_t<N, T>;
        constexpr bool optional = keel::detail::is_optional<M>;
        constexpr bool repeated = is_repeated<M>();
        std::string schema = schemas.schema_of<M>();
        if constexpr (!optional && !repeated && !rejects_missing) {
          schema.pop_back();
          schema.append(",\"default\":");
          json_io::write(schema, boost::pfr::get<N>(initial));
          schema.push_back('}');
        }
        add_param("query", json_field_name<T, N>, !optional && !repeated && rejects_missing, schema);
      };
      (field(std::integral_constant<std::size_t, I>{}), ...);
    }
    (std::make_index_sequence<field_count<T>>{});
  }

  template <class D>
  void add_extractor() {
    using V = typename D::keel_dto;
    constexpr keel::location where = keel::detail::location_of<D>();
    needs.bad_request = true;
    if constexpr (where == keel::location::query) {
      if constexpr (Dto<V>) {
        needs.validation = true;
        add_query_fields<V>();
      } else {
        static_assert(
            requires { std::string_view(D::keel_name); }, "keel: a single query value needs keel_name");
        add_param("query", D::keel_name, !keel::detail::is_optional<V>, schemas.schema_of<V>());
      }
    } else if constexpr (where == keel::location::header || where == keel::location::cookie) {
      add_param(keel::to_string(where), D::keel_name, !keel::detail::is_optional<V>, schemas.schema_of<V>());
    } else if constexpr (where == keel::location::body) {
      if constexpr (Dto<V> || keel::Validator<V>) needs.validation = true;
      set_body("application/json", schemas.schema_of<V>(), !keel::detail::is_optional<V>);
    } else if constexpr (where == keel::location::form) {
      needs.validation = true;
      set_body("application/x-www-form-urlencoded", schemas.schema_of<V>(), true);
    } else {
      static_assert(where == keel::location::multipart);
      needs.validation = true;
      set_body("multipart/form-data", schemas.schema_of<V>(), true);
    }
  }

  // Handler parameter I of type P, of a route with path info Info and parameters A...
  template <class Info, std::size_t I, class P, class... A>
  void add_arg() {
    using D = std::remove_cvref_t<P>;
    add_param_security<D>(security, needs);
    if constexpr (keel::detail::is_positional_path_param<P> || keel::detail::is_named_path_param<P>) {
      using T = typename path_value<D>::type;
      constexpr std::size_t slot = keel::detail::path_slot_of<Info, A...>(I);
      std::string p = "{\"name\":";
      append_json_string(p, Info::param_names[slot]);
      p.append(",\"in\":\"path\",\"required\":true");
      if (is_tail_param<Info>(slot))
        p.append(",\"description\":\"The rest of the path; it may contain '/'.\"");
      if constexpr (std::is_arithmetic_v<T>) {
        p.append(",\"schema\":").append(schemas.schema_of<T>());
        needs.bad_request = true;
      } else {
        p.append(",\"schema\":{\"type\":\"string\"}");
        needs.bad_request = needs.bad_request || !std::is_same_v<T, std::string_view>;
      }
      p.push_back('}');
      path_params.emplace_back(slot, std::move(p));
    } else if constexpr (described_extractor<D>) {
      add_extractor<D>();
    } else if constexpr (std::is_same_v<D, keel::body>) {
      set_body("application/octet-stream", "{\"type\":\"string\"}", false);
    }
    // The context, services, middleware states and the raw query string are not part of the interface.
  }

  template <class Info>
  static bool is_tail_param(std::size_t slot) {
    std::size_t n = 0;
    for (const auto& s : Info::segments) {
      if (s.kind == keel::detail::segment_kind::literal) continue;
      if (n++ == slot) return s.kind == keel::detail::segment_kind::tail;
    }
    return false;
  }
};

// The success response(s) of a handler returning R, as members of "responses" (each ending with ',').
template <class R>
void success_responses(std::string& out, schema_registry& schemas, error_needs& needs) {
  using T = std::remove_cvref_t<R>;
  auto json = [&](std::string_view code, std::string_view description, const std::string& schema,
                  bool location = false) {
    out.append("\"").append(code).append("\":{\"description\":\"").append(description).append("\"");
    if (location)
      out.append(
          ",\"headers\":{\"Location\":{\"description\":\"Where the new resource is\","
          "\"schema\":{\"type\":\"string\"}}}");
    out.append(",\"content\":{\"application/json\":{\"schema\":").append(schema).append("}}},");
  };
  if constexpr (std::is_void_v<T>) {
    out.append("\"204\":{\"description\":\"No content\"},");
  } else if constexpr (std::is_same_v<T, keel::status_only>) {
    out.append("\"2XX\":{\"description\":\"Success, without a body\"},");
  } else if constexpr (std::is_same_v<T, keel::response>) {
    out.append("\"default\":{\"description\":\"A response built by the handler\"},");
  } else if constexpr (std::is_same_v<T, keel::http_error>) {
    needs.any_error = true;
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
                       std::is_same_v<T, const char*> || std::is_array_v<std::remove_reference_t<R>> ||
                       std::is_same_v<T, keel::static_body>) {
    const char* type = std::is_same_v<T, keel::static_body> ? "*/*" : "text/plain";
    out.append("\"200\":{\"description\":\"OK\",\"content\":{\"").append(type);
    out.append("\":{\"schema\":{\"type\":\"string\"}}}},");
  } else if constexpr (keel::detail::is_optional<T>) {
    needs.not_found = true;
    success_responses<typename T::value_type>(out, schemas, needs);
  } else if constexpr (is_result<T>) {
    needs.any_error = true;
    success_responses<std::remove_cvref_t<decltype(std::declval<T&>().value())>>(out, schemas, needs);
  } else if constexpr (is_created<T>) {
    json("201", "Created", schemas.schema_of<decltype(T::value)>(), true);
  } else {
    json("200", "OK", schemas.schema_of<T>());
  }
}

template <class Route>
std::string operation_json(schema_registry& schemas, const operation_doc& doc, std::string_view operation_id,
                           std::string_view default_tag, const security_options& security,
                           schemes_used& used) {
  using traits = keel::detail::callable_traits<typename Route::handler_type>;
  using info_t = typename Route::path_info;
  operation_builder b{schemas, {}, {}, {}, {}};
  [&]<class... A>(std::tuple<A...>*) {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (b.template add_arg<info_t, I, A, A...>(), ...); }
    (std::index_sequence_for<A...>{});
  }(static_cast<typename traits::args*>(nullptr));
  [&]<class... Ms>(std::tuple<Ms...>*) {
    (add_middleware_security<Ms>(b.security, b.needs), ...);
  }(static_cast<std::remove_cvref_t<decltype(std::declval<Route&>().middleware)>*>(nullptr));

  std::string out = "{\"operationId\":";
  append_json_string(out, operation_id);
  if (!doc.summary.empty()) {
    out.append(",\"summary\":");
    append_json_string(out, doc.summary);
  }
  if (!doc.description.empty()) {
    out.append(",\"description\":");
    append_json_string(out, doc.description);
  }
  if (!doc.tags.empty() || !default_tag.empty()) {
    out.append(",\"tags\":[");
    if (doc.tags.empty()) {
      append_json_string(out, default_tag);
    } else {
      for (std::size_t i = 0; i < doc.tags.size(); ++i) {
        if (i != 0) out.push_back(',');
        append_json_string(out, doc.tags[i]);
      }
    }
    out.push_back(']');
  }
  if (doc.deprecated) out.append(",\"deprecated\":true");
  out.append(",\"security\":").append(security_json(b.security, security, used));
  if (!b.path_params.empty() || !b.params.empty()) {
    out.append(",\"parameters\":[");
    bool first = true;
    // Path parameters in path order, then the others in handler order.
    for (std::size_t slot = 0; slot < info_t::param_count; ++slot)
      for (const auto& [s, p] : b.path_params)
        if (s == slot) {
          if (!first) out.push_back(',');
          first = false;
          out.append(p);
        }
    for (const auto& p : b.params) {
      if (!first) out.push_back(',');
      first = false;
      out.append(p);
    }
    out.push_back(']');
  }
  if (!b.request_body.empty()) out.append(",\"requestBody\":").append(b.request_body);

  out.append(",\"responses\":{");
  success_responses<typename unwrap_task<typename traits::result>::type>(out, schemas, b.needs);
  if (b.needs.bad_request) out.append(R"("400":{"$ref":"#/components/responses/BadRequest"},)");
  if (b.needs.unauthorized) out.append(R"("401":{"$ref":"#/components/responses/Unauthorized"},)");
  if (b.needs.forbidden) out.append(R"("403":{"$ref":"#/components/responses/Forbidden"},)");
  if (b.needs.not_found) {
    out.append(R"("404":{"$ref":"#/components/responses/NotFound")");
    if (!doc.not_found.empty()) {  // OpenAPI 3.1: a reference may carry its own description
      out.append(",\"description\":");
      append_json_string(out, doc.not_found);
    }
    out.append("},");
  }
  if (b.needs.validation) out.append(R"("422":{"$ref":"#/components/responses/ValidationFailed"},)");
  if (b.needs.any_error) out.append(R"("default":{"$ref":"#/components/responses/Error"},)");
  out.append(R"("500":{"$ref":"#/components/responses/InternalError"}})");
  out.push_back('}');
  return out;
}

// "/files/{rest...}" -> "/files/{rest}" (OpenAPI has no tail syntax).
inline std::string openapi_path(std::string_view path) {
  std::string out(path);
  for (std::size_t at; (at = out.find("...}")) != std::string::npos;) out.erase(at, 3);
  return out;
}

// "GET /todos/{id}" -> "getTodosById"; "GET /" -> "getRoot".
inline std::string derive_operation_id(http::method m, std::string_view path) {
  std::string out;
  for (char c : http::to_string(m)) out.push_back(static_cast<char>(c - 'A' + 'a'));
  bool upper = true;
  bool any = false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '{') {
      out.append("By");
      upper = true;
      continue;
    }
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      upper = true;
      continue;
    }
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    upper = false;
    any = true;
    out.push_back(c);
  }
  if (!any && path.find('{') == std::string_view::npos) out.append("Root");
  return out;
}

inline std::string first_literal_segment(std::string_view path) {
  std::size_t at = 1;
  while (at < path.size()) {
    std::size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(at, end - at);
    if (!seg.empty() && seg.front() != '{') return std::string(seg);
    at = end + 1;
  }
  return {};
}

inline constexpr std::string_view error_schema =
    R"({"type":"object","description":"keel's error shape: every framework and handler error.",)"
    R"("properties":{"error":{"type":"object","properties":{)"
    R"("status":{"type":"integer","format":"int32"},"code":{"type":"string"},"message":{"type":"string"},)"
    R"("fields":{"type":"array","items":{"type":"object","properties":{)"
    R"("location":{"type":"string","enum":["path","query","header","cookie","body","form"]},)"
    R"("path":{"type":"string"},"reason":{"type":"string"}},"required":["location","path","reason"]}}},)"
    R"("required":["status","code","message"]},"request_id":{"type":"string"}},"required":["error"]})";

inline std::string error_responses(std::string_view error_ref, const schemes_used& used) {
  auto one = [&](std::string_view name, std::string_view description) {
    std::string r = "\"";
    r.append(name).append("\":{\"description\":\"").append(description);
    r.append("\",\"content\":{\"application/json\":{\"schema\":{\"$ref\":");
    append_json_string(r, error_ref);
    r.append("}}}}");
    return r;
  };
  std::string out =
      one("BadRequest", "A parameter or the body is malformed") + "," + one("NotFound", "Not found") + "," +
      one("ValidationFailed", "Some fields failed validation; `fields` lists each with its path and reason") +
      "," + one("Error", "An error") + "," + one("InternalError", "Internal server error");
  if (used.bearer || used.api_key_header || used.api_key_query) {
    out.append(",").append(
        one("Unauthorized",
            "No credentials, or they are not valid (WWW-Authenticate says which scheme and, "
            "for a refused token, why)"));
    out.append(",").append(one("Forbidden",
                               "The credentials are valid but do not allow this (a policy refused: "
                               "error insufficient_scope)"));
  }
  return out;
}

struct path_entry {
  std::string path;
  std::vector<std::pair<std::string, std::string>> operations;  // (method key, operation JSON)
};

// The route's own .doc({...}), with the fields a table entry for the same operation sets put over it.
inline operation_doc merged_doc(const route_doc* on_route, const operation_doc* in_table) {
  operation_doc out = on_route != nullptr ? *on_route : operation_doc{};
  if (in_table == nullptr) return out;
  if (!in_table->summary.empty()) out.summary = in_table->summary;
  if (!in_table->description.empty()) out.description = in_table->description;
  if (!in_table->tags.empty()) out.tags = in_table->tags;
  if (!in_table->operation_id.empty()) out.operation_id = in_table->operation_id;
  if (!in_table->not_found.empty()) out.not_found = in_table->not_found;
  out.deprecated = out.deprecated || in_table->deprecated;
  return out;
}

template <class Route>
void add_route(schema_registry& schemas, const info& meta, const route_doc* on_route,
               std::vector<path_entry>& paths, std::vector<bool>& used, std::vector<std::string>& ids,
               schemes_used& schemes) {
  constexpr std::string_view keel_path = Route::path.view();
  std::string path = openapi_path(keel_path);
  path_entry* entry = nullptr;
  for (auto& p : paths)
    if (p.path == path) entry = &p;
  if (entry == nullptr) entry = &paths.emplace_back(path_entry{path, {}});
  for (http::method m : http::all_methods) {
    if (!Route::methods.contains(m) || m == http::method::connect) continue;
    std::string key(http::to_string(m));
    key.append(" ").append(keel_path);
    const operation_doc* in_table = nullptr;
    for (std::size_t i = 0; i < meta.operations.size(); ++i)
      if (meta.operations[i].first == key) {
        in_table = &meta.operations[i].second;
        used[i] = true;
      }
    const operation_doc merged = merged_doc(on_route, in_table);
    const operation_doc* doc = &merged;
    std::string id = doc->operation_id.empty() ? derive_operation_id(m, keel_path) : doc->operation_id;
    for (const auto& other : ids)
      if (other == id) throw std::invalid_argument("keel::openapi: duplicate operationId '" + id + "'");
    ids.push_back(id);
    std::string method_key;
    for (char c : http::to_string(m)) method_key.push_back(static_cast<char>(c - 'A' + 'a'));
    entry->operations.emplace_back(
        std::move(method_key),
        operation_json<Route>(schemas, *doc, id, first_literal_segment(keel_path), meta.security, schemes));
  }
}

// on_route: each route's .doc({...}) in route order, or nullptr when only the types are known.
template <class... Routes>
std::string document_of(const info& meta, std::tuple<Routes...>*,
                        const route_doc* const* on_route = nullptr) {
  schema_registry schemas;
  std::vector<path_entry> paths;
  std::vector<bool> used(meta.operations.size(), false);
  std::vector<std::string> ids;
  schemes_used schemes;
  std::size_t index = 0;
  (add_route<Routes>(schemas, meta, on_route != nullptr ? on_route[index++] : nullptr, paths, used, ids,
                     schemes),
   ...);
  for (std::size_t i = 0; i < used.size(); ++i)
    if (!used[i])
      throw std::invalid_argument("keel::openapi: documentation for '" + meta.operations[i].first +
                                  "', which is no route (keys look like \"GET /todos/{id}\")");
  std::string error_ref =
      schemas.add("Error", meta.error_schema.empty() ? std::string(error_schema) : meta.error_schema);

  std::string out = R"({"openapi":"3.1.0","info":{"title":)";
  append_json_string(out, meta.title);
  out.append(",\"version\":");
  append_json_string(out, meta.version);
  if (!meta.description.empty()) {
    out.append(",\"description\":");
    append_json_string(out, meta.description);
  }
  out.append("}");
  if (!meta.servers.empty()) {
    out.append(",\"servers\":[");
    for (std::size_t i = 0; i < meta.servers.size(); ++i) {
      if (i != 0) out.push_back(',');
      out.append("{\"url\":");
      append_json_string(out, meta.servers[i]);
      out.push_back('}');
    }
    out.push_back(']');
  }
  out.append(",\"paths\":{");
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, paths[i].path);
    out.append(":{");
    for (std::size_t j = 0; j < paths[i].operations.size(); ++j) {
      if (j != 0) out.push_back(',');
      append_json_string(out, paths[i].operations[j].first);
      out.push_back(':');
      out.append(paths[i].operations[j].second);
    }
    out.push_back('}');
  }
  out.append("},\"components\":{\"schemas\":{");
  const auto& components = schemas.components();
  for (std::size_t i = 0; i < components.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, components[i].name);
    out.push_back(':');
    out.append(components[i].schema);
  }
  out.append("},\"responses\":{").append(error_responses(error_ref, schemes)).append("}");
  const std::string security_schemes = security_schemes_json(schemes, meta.security);
  if (!security_schemes.empty()) out.append(",\"securitySchemes\":{").append(security_schemes).append("}");
  out.append("}}");
  return out;
}

}  // namespace detail

// The OpenAPI 3.1 document (JSON text) of the routes of `r`. Throws std::invalid_argument when `meta`
// documents an operation that does not exist or two operations share an id. Build it once, at startup.
template <class Routes>
std::string document(const router<Routes>& r, const info& meta = {}) {
  return std::apply(
      [&](const auto&... route) {
        const route_doc* on_route[] = {&route.documentation..., nullptr};
        return detail::document_of(meta, static_cast<Routes*>(nullptr), on_route);
      },
      r.routes());
}
// From the router's type alone: the routes' own .doc({...}) are not known here, only `meta`'s table.
template <class Router>
std::string document(const info& meta = {}) {
  return detail::document_of(meta, static_cast<typename Router::routes_type*>(nullptr));
}

}  // namespace openapi
}  // namespace v0
}  // namespace keel
