// The C++ names of an aggregate's fields as constexpr string_views.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/reflect/static_text.hpp"

#include <boost/pfr.hpp>
#include <boost/version.hpp>

#include <array>
#include <cstddef>
#include <string_view>

// Boost.PFR >= 1.84 has them; 1.81 does not, so we read them out of __PRETTY_FUNCTION__.

namespace keel {
inline namespace v0 {
namespace detail {

#if BOOST_VERSION >= 108400

template <class T, std::size_t I>
inline constexpr std::string_view cpp_field_name = boost::pfr::get_name<I, T>();

#else

// Never defined: only the address of its members is taken, at compile time, which needs no definition. (So
// a DTO must be declared at namespace or class scope: g++ refuses an extern variable of a function-local
// type.)
template <class T>
extern const T reflected_object;

// clang 16 refuses a pointer to a subobject as a template argument; a pointer inside a struct is fine.
template <class T>
struct field_pointer {
  const T* pointer;
};

template <auto KeelFieldPointer>
consteval std::string_view pretty_function_of() {
  return __PRETTY_FUNCTION__;
}

// g++ prints "...{(& reflected_object<User>.User::email)}]", clang "...{&reflected_object.email}]": the
// member name is the identifier just before the last '}' (after skipping a ')').
consteval std::string_view member_name_in(std::string_view text) {
  std::size_t end = text.rfind('}');
  while (end > 0 && (text[end - 1] == ')' || text[end - 1] == ' ')) --end;
  std::size_t begin = end;
  while (begin > 0) {
    char c = text[begin - 1];
    bool ident = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ident) break;
    --begin;
  }
  return text.substr(begin, end - begin);
}

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wundefined-var-template"
#endif
template <class T, std::size_t I>
consteval std::string_view raw_cpp_field_name() {
  return member_name_in(pretty_function_of<
                        field_pointer<std::remove_cvref_t<decltype(boost::pfr::get<I>(reflected_object<T>))>>{
                            &boost::pfr::get<I>(reflected_object<T>)}>());
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

template <class T, std::size_t I>
struct cpp_field_name_holder {
  static constexpr std::string_view raw = raw_cpp_field_name<T, I>();
  static constexpr auto storage = to_char_array<raw.size()>(raw);
};

template <class T, std::size_t I>
inline constexpr std::string_view cpp_field_name{cpp_field_name_holder<T, I>::storage.data(),
                                                 cpp_field_name_holder<T, I>::raw.size()};

#endif

template <class T, std::size_t... I>
consteval std::array<std::string_view, sizeof...(I)> cpp_field_names_impl(std::index_sequence<I...>) {
  return {cpp_field_name<T, I>...};
}

// All field names of T, in declaration order.
template <class T>
inline constexpr auto cpp_field_names =
    cpp_field_names_impl<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});

}  // namespace detail
}  // namespace v0
}  // namespace keel
