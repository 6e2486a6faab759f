// JSON input: keel::json_io::read<T> parses a document with simdjson on-demand straight into T.
#pragma once

#include "keel/config.hpp"
#include "keel/json/enum.hpp"
#include "keel/json/errors.hpp"
#include "keel/json/nullable.hpp"
#include "keel/json/read_context.hpp"
#include "keel/json/reflect.hpp"
#include "keel/json/time.hpp"
#include "keel/json/traits.hpp"
#include "keel/json/writer.hpp"
#include "keel/validate/validated.hpp"

#include <simdjson.h>

#include <array>
#include <bitset>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// T is a DTO or a container of them. The reader checks types, integer ranges, required fields, duplicates,
// depth and validators, and reports every problem with its path.
//
// Policy, per DTO (see keel/customization.hpp): unknown fields are ignored unless the DTO says
// `using keel_unknown_fields = keel::reject;`. Every field is required unless it is a std::optional or the
// DTO says `using keel_missing_fields = keel::use_defaults;` (missing fields then keep their default member
// initializers). A DTO with a `validate() const` member returning std::vector<keel::json_io::error> gets it
// called after all its fields were read without error; the returned paths are relative to the DTO.
// Duplicate keys are detected for known fields and map entries; duplicates of ignored unknown keys are not.

namespace keel {
inline namespace v0 {
namespace json_io {

struct read_options {
  std::size_t max_depth = 64;  // objects and arrays nested deeper are an error (the reader recurses)
};

}  // namespace json_io
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

// Cross-field checks: `std::vector<keel::json_io::error> validate() const` on a DTO.
template <class T>
concept SelfValidating = requires(const T& dto) {
  { dto.validate() } -> std::convertible_to<std::vector<json_io::error>>;
};

}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace detail {

// Which JSON type a C++ type is read from; std::variant picks its alternative by it.
enum class json_kind { null, boolean, integer, number, string, array, object, any };

template <class T>
consteval json_kind json_kind_of() {
  if constexpr (JsonReadableByTraits<T>)
    return json_kind_of<typename json_traits<T>::json_type>();
  else if constexpr (Validator<T>)
    return json_kind_of<typename T::value_type>();
  else if constexpr (std::is_same_v<T, bool>)
    return json_kind::boolean;
  else if constexpr (std::is_integral_v<T>)
    return json_kind::integer;
  else if constexpr (std::is_floating_point_v<T>)
    return json_kind::number;
  else if constexpr (std::is_enum_v<T> || std::is_same_v<T, std::string> || system_time_point<T>)
    return json_kind::string;
  else if constexpr (std::is_same_v<T, std::monostate> || std::is_null_pointer_v<T>)
    return json_kind::null;
  else if constexpr (is_optional<T> || is_nullable<T>)
    return json_kind_of<typename T::value_type>();
  else if constexpr (string_keyed_map<T> || Dto<T>)
    return json_kind::object;
  else if constexpr (json_array_like<T>)
    return json_kind::array;
  else
    return json_kind::any;
}

constexpr std::string_view expected_text(json_kind kind) {
  switch (kind) {
    case json_kind::null:
      return "null";
    case json_kind::boolean:
      return "a boolean";
    case json_kind::integer:
      return "an integer";
    case json_kind::number:
      return "a number";
    case json_kind::string:
      return "a string";
    case json_kind::array:
      return "an array";
    case json_kind::object:
      return "an object";
    case json_kind::any:
      break;
  }
  return "a value";
}

template <class T>
inline constexpr bool is_growable_sequence = requires(T& c) {
  c.clear();
  c.emplace_back();
};

template <class... A>
consteval bool variant_is_unambiguous() {
  constexpr std::array<json_kind, sizeof...(A)> kinds{json_kind_of<A>()...};
  for (std::size_t i = 0; i < kinds.size(); ++i)
    for (std::size_t j = i + 1; j < kinds.size(); ++j)
      if (kinds[i] == kinds[j] || kinds[i] == json_kind::any) return false;
  return true;
}

template <class T>
void read_value(ondemand::value value, T& out, read_context& ctx);

inline constexpr std::string_view out_of_range_text = "integer out of range ";
inline constexpr std::string_view dots_text = "..";
inline constexpr std::string_view uint64_max_text = "18446744073709551615";

template <class Int>
void read_integer(ondemand::value value, Int& out, read_context& ctx) {
  using wide = std::conditional_t<std::is_signed_v<Int>, std::int64_t, std::uint64_t>;
  wide number;
  simdjson::error_code e;
  if constexpr (std::is_signed_v<Int>)
    e = value.get_int64().get(number);
  else
    e = value.get_uint64().get(number);
  static constexpr std::string_view range_reason = [] {
    if constexpr (std::is_signed_v<Int>)
      return concat<out_of_range_text, decimal<std::numeric_limits<Int>::min()>, dots_text,
                    decimal<std::numeric_limits<Int>::max()>>::value;
    else if constexpr (sizeof(Int) < 8)
      return concat<out_of_range_text, decimal<0>, dots_text,
                    decimal<std::numeric_limits<Int>::max()>>::value;
    else
      return concat<out_of_range_text, decimal<0>, dots_text, uint64_max_text>::value;
  }();
  if (!e) {
    if (std::in_range<Int>(number))
      out = static_cast<Int>(number);
    else
      ctx.fail(range_reason);
    return;
  }
  ondemand::json_type type;
  if (auto te = value.type().get(type)) return ctx.abort(te);
  if (type != ondemand::json_type::number) return reject_type(value, "an integer", ctx);
  std::string_view token = trim_json_whitespace(value.raw_json_token());
  if (!is_json_number(token)) return ctx.abort("malformed JSON: invalid number");
  if (token.find_first_of(".eE") != std::string_view::npos)
    return ctx.fail("expected an integer, got a fraction");
  ctx.fail(range_reason);
}

template <class Float>
void read_floating(ondemand::value value, Float& out, read_context& ctx) {
  double number;
  if (!value.get_double().get(number)) {
    out = static_cast<Float>(number);
    return;
  }
  ondemand::json_type type;
  if (auto te = value.type().get(type)) return ctx.abort(te);
  if (type != ondemand::json_type::number) return reject_type(value, "a number", ctx);
  if (!is_json_number(trim_json_whitespace(value.raw_json_token())))
    return ctx.abort("malformed JSON: invalid number");
  ctx.fail("number out of range");
}

inline bool read_string_view(ondemand::value value, std::string_view& out, read_context& ctx) {
  auto e = value.get_string().get(out);
  if (!e) return true;
  if (e == simdjson::INCORRECT_TYPE)
    reject_type(value, "a string", ctx);
  else
    ctx.abort(e);
  return false;
}

template <class E>
void read_enum(ondemand::value value, E& out, read_context& ctx) {
  std::string_view name;
  if (!read_string_view(value, name, ctx)) return;
  if (auto found = enum_from_name<E>(name)) {
    out = *found;
    return;
  }
  std::string reason = "must be one of: ";
  bool first = true;
  for (const auto& entry : enum_entries<E>) {
    if (!first) reason += ", ";
    first = false;
    reason += entry.second;
  }
  ctx.fail(reason);
}

template <class T>
void read_sequence(ondemand::value value, T& out, read_context& ctx) {
  ondemand::array array;
  if (auto e = value.get_array().get(array)) {
    if (e == simdjson::INCORRECT_TYPE) return reject_type(value, "an array", ctx);
    return ctx.abort(e);
  }
  if (!ctx.enter()) return;
  std::size_t index = 0;
  if constexpr (is_growable_sequence<T>) out.clear();
  for (auto element_result : array) {
    ondemand::value element;
    if (auto e = std::move(element_result).get(element)) return ctx.abort(e);
    ctx.push_index(index);
    if constexpr (is_growable_sequence<T>) {
      read_value(element, out.emplace_back(), ctx);
    } else {  // std::array
      if (index < out.size())
        read_value(element, out[index], ctx);
      else
        check_value_syntax(element, ctx);
    }
    ctx.pop();
    if (ctx.aborted()) return;
    ++index;
  }
  if constexpr (!is_growable_sequence<T>) {
    if (index != out.size()) {
      std::string reason =
          "expected " + std::to_string(out.size()) + " elements, got " + std::to_string(index);
      ctx.fail(reason);
    }
  }
  ctx.leave();
}

template <class T>
void read_map(ondemand::value value, T& out, read_context& ctx) {
  ondemand::object object;
  if (auto e = value.get_object().get(object)) {
    if (e == simdjson::INCORRECT_TYPE) return reject_type(value, "an object", ctx);
    return ctx.abort(e);
  }
  if (!ctx.enter()) return;
  out.clear();
  for (auto field_result : object) {
    ondemand::field field;
    if (auto e = std::move(field_result).get(field)) return ctx.abort(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return ctx.abort(e);
    ctx.push_key(key);
    auto [slot, inserted] = out.try_emplace(typename T::key_type(key));
    if (inserted) {
      read_value(field.value(), slot->second, ctx);
    } else {
      check_value_syntax(field.value(), ctx);
      ctx.fail("duplicate key");
    }
    ctx.pop();
    if (ctx.aborted()) return;
  }
  ctx.leave();
}

template <class T, std::size_t... I>
std::size_t match_field(ondemand::raw_json_string key, std::size_t expected, std::index_sequence<I...>) {
  constexpr const auto& names = json_field_names<T>;
  // Fields usually arrive in declaration order: try the one after the previous match first.
  if (expected < names.size() && key.unsafe_is_equal(names[expected])) return expected;
  std::size_t found = names.size();
  static_cast<void>(((key.unsafe_is_equal(names[I]) ? (found = I, true) : false) || ...));
  return found;
}

template <class T, std::size_t... I>
std::size_t match_unescaped_field(std::string_view key, std::index_sequence<I...>) {
  static_cast<void>(key);  // a DTO without fields (a job with no payload) compares nothing
  std::size_t found = sizeof...(I);
  static_cast<void>(((key == json_field_name<T, I> ? (found = I, true) : false) || ...));
  return found;
}

// A DTO member. `null` for a std::optional member is refused unless the DTO reads it as absent: an optional
// says "may be left out", and a null silently read as "left out" made `{"title": null}` a PATCH that
// answered 200 and changed nothing. keel::nullable<T> members take null as a third state.
template <class Owner, class M>
void read_member(ondemand::value value, M& member, read_context& ctx) {
  if constexpr (is_optional<M> && !null_fields_as_absent<Owner>) {
    bool is_null = false;
    if (auto e = value.is_null().get(is_null)) return ctx.abort(e);
    if (is_null) return ctx.fail("must not be null (leave the field out to keep its value)");
  }
  read_value(value, member, ctx);
}

template <class T, std::size_t... I>
void read_field_at(std::size_t index, ondemand::value value, T& out, read_context& ctx,
                   std::index_sequence<I...>) {
  static_cast<void>(value);  // unused for a DTO without fields
  static_cast<void>(
      ((index == I ? (read_member<T>(value, boost::pfr::get<I>(out), ctx), true) : false) || ...));
}

template <class M>
inline constexpr bool field_is_optional = is_optional<M> || is_nullable<M>;

template <class T>
void read_object(ondemand::value value, T& out, read_context& ctx) {
  constexpr std::size_t count = field_count<T>;
  using indices = std::make_index_sequence<count>;
  ondemand::object object;
  if (auto e = value.get_object().get(object)) {
    if (e == simdjson::INCORRECT_TYPE) return reject_type(value, "an object", ctx);
    return ctx.abort(e);
  }
  if (!ctx.enter()) return;
  const std::size_t errors_before = ctx.error_count();
  std::bitset<count> seen;
  std::size_t expected = 0;
  for (auto field_result : object) {
    ondemand::field field;
    if (auto e = std::move(field_result).get(field)) return ctx.abort(e);
    std::size_t index = match_field<T>(field.key(), expected, indices{});
    if (index == count) {  // unknown, or a known key written with escapes
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return ctx.abort(e);
      index = match_unescaped_field<T>(key, indices{});
      if (index == count) {
        check_value_syntax(field.value(), ctx);
        if constexpr (rejects_unknown_fields<T>) {
          ctx.push_key(key);
          ctx.fail("unknown field");
          ctx.pop();
        }
        if (ctx.aborted()) return;
        continue;
      }
    }
    ctx.push_key(json_field_names<T>[index]);
    if (seen.test(index)) {
      check_value_syntax(field.value(), ctx);
      ctx.fail("duplicate key");
    } else {
      seen.set(index);
      expected = index + 1;
      read_field_at(index, field.value(), out, ctx, indices{});
    }
    ctx.pop();
    if (ctx.aborted()) return;
  }
  if constexpr (!missing_fields_use_defaults<T>) {
    if (!seen.all()) {
      for_each_field(out, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, auto& member) {
        if constexpr (!field_is_optional<std::remove_cvref_t<decltype(member)>>) {
          if (!seen.test(I)) {
            ctx.push_key(json_field_name<T, I>);
            ctx.fail("field required");
            ctx.pop();
          }
        }
      });
    }
  }
  if constexpr (SelfValidating<T>) {
    if (ctx.error_count() == errors_before) {
      std::string base = ctx.path();
      for (auto& err : out.validate()) {
        std::string path = base;
        if (!err.path.empty()) {
          if (!path.empty() && err.path.front() != '[') path.push_back('.');
          path += err.path;
        }
        ctx.errors().push_back({std::move(path), std::move(err.reason)});
      }
    }
  }
  ctx.leave();
}

template <class... A>
void read_variant(ondemand::value value, std::variant<A...>& out, read_context& ctx) {
  static_assert(
      variant_is_unambiguous<A...>(),
      "keel::json_io::read: std::variant alternatives must be told apart by their JSON type (at most one "
      "string-like, one object-like, one array, one integer, one floating point ...)");
  ondemand::json_type type;
  if (auto e = value.type().get(type)) return ctx.abort(e);
  json_kind kind = json_kind::any;
  switch (type) {
    case ondemand::json_type::null:
      kind = json_kind::null;
      break;
    case ondemand::json_type::boolean:
      kind = json_kind::boolean;
      break;
    case ondemand::json_type::string:
      kind = json_kind::string;
      break;
    case ondemand::json_type::array:
      kind = json_kind::array;
      break;
    case ondemand::json_type::object:
      kind = json_kind::object;
      break;
    case ondemand::json_type::number: {
      std::string_view token = trim_json_whitespace(value.raw_json_token());
      bool integral = token.find_first_of(".eE") == std::string_view::npos;
      bool has_integer = ((json_kind_of<A>() == json_kind::integer) || ...);
      bool has_number = ((json_kind_of<A>() == json_kind::number) || ...);
      kind = (integral && has_integer) || !has_number ? json_kind::integer : json_kind::number;
      break;
    }
  }
  bool matched = false;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    static_cast<void>(
        ((json_kind_of<A>() == kind ? (read_value(value, out.template emplace<I>(), ctx), matched = true)
                                    : false) ||
         ...));
  }
  (std::index_sequence_for<A...>{});
  if (!matched) {
    static constexpr std::array<std::string_view, sizeof...(A)> options{expected_text(json_kind_of<A>())...};
    std::string expected;
    for (std::size_t i = 0; i < options.size(); ++i) {
      if (i != 0) expected += i + 1 == options.size() ? " or " : ", ";
      expected += options[i];
    }
    reject_type(value, expected, ctx);
  }
}

template <class T>
void read_value(ondemand::value value, T& out, read_context& ctx) {
  if constexpr (JsonReadableByTraits<T>) {
    typename json_traits<T>::json_type proxy{};
    std::size_t before = ctx.error_count();
    read_value(value, proxy, ctx);
    if (ctx.error_count() != before || ctx.aborted()) return;
    std::string reason;
    if (!json_traits<T>::from_json(std::move(proxy), out, reason))
      ctx.fail(reason.empty() ? "invalid value" : reason);
  } else if constexpr (Validator<T>) {
    std::size_t before = ctx.error_count();
    read_value(value, out.get(), ctx);
    if (ctx.error_count() != before || ctx.aborted()) return;
    if (std::string_view reason = out.check(); !reason.empty()) ctx.fail(reason);
  } else if constexpr (std::is_same_v<T, bool>) {
    auto e = value.get_bool().get(out);
    if (e) reject_type(value, "a boolean", ctx);
  } else if constexpr (std::is_integral_v<T>) {
    read_integer(value, out, ctx);
  } else if constexpr (std::is_floating_point_v<T>) {
    read_floating(value, out, ctx);
  } else if constexpr (std::is_enum_v<T>) {
    read_enum(value, out, ctx);
  } else if constexpr (std::is_same_v<T, std::string>) {
    std::string_view s;
    if (read_string_view(value, s, ctx)) out.assign(s.data(), s.size());
  } else if constexpr (std::is_same_v<T, std::string_view> || std::is_pointer_v<T>) {
    static_assert(
        sizeof(T) == 0,
        "keel::json_io::read: std::string_view and pointers are output-only (the input buffer is reused); "
        "use std::string");
  } else if constexpr (system_time_point<T>) {
    std::string_view s;
    if (!read_string_view(value, s, ctx)) return;
    if (auto tp = parse_rfc3339(s))
      out = std::chrono::time_point_cast<typename T::duration>(*tp);
    else
      ctx.fail("expected an RFC 3339 date-time such as 2026-11-21T12:00:00Z");
  } else if constexpr (std::is_same_v<T, std::monostate> || std::is_null_pointer_v<T>) {
    bool is_null = false;
    if (value.is_null().get(is_null) || !is_null) reject_type(value, "null", ctx);
  } else if constexpr (is_optional<T>) {
    bool is_null = false;
    if (auto e = value.is_null().get(is_null)) return ctx.abort(e);
    if (is_null) {
      out.reset();
    } else {
      read_value(value, out.emplace(), ctx);
    }
  } else if constexpr (is_nullable<T>) {
    bool is_null = false;
    if (auto e = value.is_null().get(is_null)) return ctx.abort(e);
    if (is_null) {
      out.set_null();
    } else {
      read_value(value, out.emplace(), ctx);
    }
  } else if constexpr (is_variant<T>) {
    read_variant(value, out, ctx);
  } else if constexpr (string_keyed_map<T>) {
    read_map(value, out, ctx);
  } else if constexpr (json_array_like<T>) {
    read_sequence(value, out, ctx);
  } else if constexpr (Dto<T>) {
    read_object(value, out, ctx);
  } else {
    static_assert(
        sizeof(T) == 0,
        "keel::json_io::read: this type has no JSON form. Make it a plain aggregate (a DTO) or specialize "
        "keel::json_traits<T> with json_type and from_json.");
  }
}

struct thread_reader {
  ondemand::parser parser;
  read_context ctx{64};
  simdjson::padded_string copy_buffer;  // only for inputs without padding
  bool busy = false;
};
inline thread_reader& this_thread_reader() {
  thread_local thread_reader reader;
  return reader;
}

template <class T>
json_io::read_result<T> read_document(simdjson::padded_string_view json,
                                      const json_io::read_options& options) {
  constexpr json_kind kind = json_kind_of<T>();
  static_assert(
      kind == json_kind::object || kind == json_kind::array,
      "keel::json_io::read: the document's root must be an object or an array (a DTO, map or container)");
  thread_reader& shared = this_thread_reader();
  // A json_traits::from_json that itself calls json_io::read must not reuse the parser in the middle of a
  // parse.
  std::optional<thread_reader> nested;
  thread_reader& reader = shared.busy ? nested.emplace() : shared;
  reader.busy = true;
  struct release {
    thread_reader& r;
    ~release() { r.busy = false; }
  } release_on_exit{reader};
  read_context& ctx = reader.ctx;
  ctx.reset(options.max_depth);
  // Decoded in place into the result: a T built on the side and moved in cost two moves of every field
  // (short strings are copied by a move) and two destructions.
  json_io::read_result<T> result(std::in_place);
  T& out = *result;
  ondemand::document doc;
  if (auto e = reader.parser.iterate(json).get(doc)) {
    ctx.abort(e);
  } else {
    ondemand::value root;
    if (auto e = doc.get_value().get(root)) {
      if (e == simdjson::SCALAR_DOCUMENT_AS_VALUE)
        ctx.fail(kind == json_kind::object ? "expected an object" : "expected an array");
      else
        ctx.abort(e);
    } else {
      read_value(root, out, ctx);
      // Everything up to the root's closing bracket was visited; anything after it is garbage.
      if (!ctx.aborted()) {
        const char* rest = nullptr;
        if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS)
          ctx.abort("malformed JSON: trailing content after the document");
      }
    }
  }
  if (ctx.error_count() != 0) {
    // Rebuilt rather than assigned: T need not be assignable, and the one return keeps `result` elided.
    std::destroy_at(&result);
    std::construct_at(&result, std::move(ctx.errors()), ctx.aborted());
  }
  return result;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace json_io {

// Parses `json` in place: its buffer must have SIMDJSON_PADDING (64) readable bytes after the end, as a
// connection buffer with spare room does (simdjson::padded_string_view(data, length, capacity)).
template <class T>
read_result<T> read(simdjson::padded_string_view json, const read_options& options = {}) {
  return detail::read_document<T>(json, options);
}

// Convenience for text without known padding: copied into a per-thread padded buffer (reused, so no
// allocation once it is large enough).
template <class T>
read_result<T> read(std::string_view json, const read_options& options = {}) {
  detail::thread_reader& shared = detail::this_thread_reader();
  if (shared.busy) {  // called from inside another read (a json_traits::from_json): the buffer is in use
    simdjson::padded_string copy(json);
    return detail::read_document<T>(copy, options);
  }
  auto& buffer = shared.copy_buffer;
  if (buffer.size() < json.size()) buffer = simdjson::padded_string(json.size() * 2);
  std::memcpy(buffer.data(), json.data(), json.size());
  return detail::read_document<T>(
      simdjson::padded_string_view(buffer.data(), json.size(), buffer.size() + simdjson::SIMDJSON_PADDING),
      options);
}

// A buffer of `capacity` bytes holding `length` bytes of JSON: parsed in place when the spare room is enough
// padding, otherwise copied first.
template <class T>
read_result<T> read(const char* data, std::size_t length, std::size_t capacity,
                    const read_options& options = {}) {
  if (capacity >= length + simdjson::SIMDJSON_PADDING)
    return detail::read_document<T>(simdjson::padded_string_view(data, length, capacity), options);
  return read<T>(std::string_view(data, length), options);
}

// A std::string is parsed in place when its capacity leaves room for the padding.
template <class T, class String>
requires std::same_as<String, std::string> read_result<T> read(const String& json,
                                                               const read_options& options = {}) {
  return read<T>(json.data(), json.size(), json.capacity(), options);
}

}  // namespace json_io
}  // namespace v0
}  // namespace keel
