// keel::route_doc: a route's documentation, written on the route itself:
//   keel::get<"/todos/{id}">(&get_todo).doc({.summary = "One todo", .tags = {"todos"},
//                                              .not_found = "todo not found"})
// The OpenAPI document (keel/openapi/document.hpp) reads it; a rename of the path cannot leave it behind,
// as a "GET /todos/{id}"-keyed table entry can. `not_found` is also what a std::optional handler's 404
// says when it returns std::nullopt.
#pragma once

#include "keel/config.hpp"

#include <string>
#include <vector>

namespace keel {
inline namespace v0 {

struct route_doc {
  std::string summary{};
  std::string description{};
  std::vector<std::string> tags{};  // default: the first literal segment of the path
  std::string operation_id{};  // default: derived from method and path ("GET /todos/{id}" -> getTodosById)
  bool deprecated = false;
  std::string not_found{};  // a std::optional handler's 404 message (and the document's 404 description)
};

}  // namespace v0
}  // namespace keel
